# SPDX-License-Identifier: MIT
"""defer-inspect layout: record layouts and addresses read from DWARF agree
with gdb's `ptype /o`, for the runtime compiled by gcc and clang, DWARF 2
(gcc, strict), 4 and 5, -O0 and -O2; the offsets table is checked against
them and is enough on its own for a stripped library."""
import re
import shutil
import subprocess

import pytest

import conftest
from dr_util import BUILD, OUT, ROOT, inspect, inspect_json, prog

RUNTIME = sorted(str(p) for p in (ROOT / "libdefer" / "src").glob("*.c")) + [
    str(ROOT / "libdefer" / "src" / "x86_64" / "defer.S")]
MAIN = "#include \"defer.h\"\nstatic void f(int x) { (void)x; }\n" \
       "int main(void) { defer_frame; defer(f, 1); return 0; }\n"
CASES = [(cc, dw, opt) for cc in ("gcc", "clang") for dw in ("-gdwarf-4", "-gdwarf-5")
         for opt in ("-O0", "-O2")] + [("gcc", "-gdwarf-2 -gstrict-dwarf", "-O2")]
ABI = conftest.load_abi()
# Every record of the spec, by its C tag (layout's JSON keys).
RECORDS = {tag: tag for tag in ABI.DWARF_STRUCTS.values()}
# Table names that differ from the C member names.
RENAME = {"flags": "started"}


def build_runtime(cc, dwarf, opt):
    """The runtime compiled from source with these flags, linked into a
    small program (the runtime's own DWARF is what layout reads)."""
    OUT.mkdir(parents=True, exist_ok=True)
    tag = "%s%s%s" % (cc, dwarf.replace(" ", ""), opt)
    exe = OUT / ("layout-%s" % tag)
    src = OUT / "layout-main.c"
    src.write_text(MAIN)
    # gdb_autoload.c wants the extension's path (gdb/build.mk): any will do.
    # defer.S includes the offsets make generated (build/libdefer/asm_offsets.h).
    cmd = [cc, "-std=gnu11", opt, *dwarf.split(), "-I", str(ROOT / "libdefer" / "include"),
           "-I", str(BUILD / "libdefer"),
           "-fvisibility=hidden", '-DLIBDEFER_GDB_SCRIPT="%s"' % (ROOT / "gdb" / "libdefer-gdb.py"),
           str(src), *RUNTIME, "-lpthread", "-lgcc_s", "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return exe


def ptype(exe, names):
    """{record: (size, {member: byte offset})} from gdb's ptype /o."""
    cmds = []
    for n in names:
        cmds += ["-ex", "echo @@%s\\n" % n, "-ex", "ptype /o struct %s" % n]
    cmds += ["-ex", "info address allgs"]
    out = subprocess.run(["gdb", "-batch", "-nx", *cmds, str(exe)], capture_output=True,
                         text=True, timeout=120).stdout
    res, cur, depth, pending = {}, None, 0, []
    for line in out.splitlines():
        if line.startswith("@@"):
            cur, depth = line[2:], 0
            res[cur] = [None, {}]
            continue
        if cur is None:
            continue
        m = re.match(r"^/\*\s+(\d+)(?::\s*\d+)?\s+\|\s+\d+ \*/\s+(\S.*)$", line)
        body = m.group(2) if m else line.strip()
        if "type = " in line:
            depth = 1
            continue
        if m and body.endswith("{"):        # a nested struct member opens
            pending.append((depth, int(m.group(1))))
            depth += 1
            continue
        c = re.match(r"^\}\s*(\w+)?;$", body)
        if c:                               # ... and closes with its name
            depth -= 1
            if pending and pending[-1][0] == depth:
                lvl, off = pending.pop()
                if lvl == 1 and c.group(1):
                    res[cur][1].setdefault(c.group(1), off)
            continue
        if m and depth == 1 and body.endswith(";"):
            decl = body[:-1].split(" : ")[0]
            fp = re.search(r"\(\*\s*(\w+)\)", decl)   # void (*fn)(void)
            name = fp.group(1) if fp else re.sub(r"\[.*\]", "", decl).split()[-1].lstrip("*")
            res[cur][1].setdefault(name, int(m.group(1)))
            continue
        t = re.search(r"total size \(bytes\):\s+(\d+)", line)
        if t:   # the outer struct's total comes last
            res[cur][0] = int(t.group(1))
    m = re.search(r'Symbol "allgs" is static storage at address (0x[0-9a-f]+)', out)
    return res, int(m.group(1), 16) if m else None


@pytest.mark.parametrize("cc,dwarf,opt", CASES, ids=["%s%s%s" % (c, d.split()[0][2:], o) for c, d, o in CASES])
def test_layout_agrees_with_gdb_ptype(cc, dwarf, opt):
    exe = build_runtime(cc, dwarf, opt)
    lay = inspect_json("layout", exe)
    assert lay["have_dwarf"] and lay["source"] == "dwarf"
    ref, allgs = ptype(exe, RECORDS)
    assert lay["dwarf"]["allgs"] == allgs
    for rec, cname in RECORDS.items():
        size, members = ref[cname]
        ours = lay["dwarf"][rec]
        assert ours["size"] == size, rec
        for field, off in ours.items():
            if field == "size":
                continue
            assert members[RENAME.get(field, field)] == off, (rec, field)
    want = "5" if "5" in dwarf else "4" if "4" in dwarf else "2"
    assert str(lay["dwarf_version"]) == want


def test_layout_agrees_with_offsets_table():
    lay = inspect_json("layout", BUILD / "libdefer.so.1")
    assert lay["have_table"] and lay["have_dwarf"] and lay["agree"] is True
    assert lay["abi_version"] == 3
    for rec in RECORDS:
        assert lay["dwarf"][rec] == lay["table"][rec]
    assert lay["dwarf"]["allgs"] == lay["table"]["allgs"] == lay["symbols"]["allgs"]


def test_layout_reports_table_disagreement(tmp_path):
    """A table that says _defer.fn is elsewhere: reported, DWARF kept."""
    lib = tmp_path / "libdefer.so.1"
    shutil.copy(BUILD / "libdefer.so.1", lib)
    lay = inspect_json("layout", lib)
    off = lay["symbols"]["_defer_debug_offsets"]
    data = bytearray(lib.read_bytes())
    # File offset of the table: its section maps vaddr to offset.
    sec = subprocess.run(["readelf", "-SW", str(lib)], capture_output=True, text=True).stdout
    for line in sec.splitlines():
        m = re.search(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]{16})\s+([0-9a-f]{6,})\s+([0-9a-f]+)", line)
        if m and int(m.group(2), 16) <= off < int(m.group(2), 16) + int(m.group(4), 16):
            fileoff = off - int(m.group(2), 16) + int(m.group(3), 16)
            break
    pos = fileoff + conftest.table_offset(ABI, "d", "fn")
    assert int.from_bytes(data[pos:pos + 4], "little") == lay["table"]["_defer"]["fn"]
    data[pos:pos + 4] = (99).to_bytes(4, "little")
    lib.write_bytes(bytes(data))
    r = inspect("layout", "--json", lib)
    assert r.returncode == 0
    assert "disagree" in r.stderr and "_defer.fn" in r.stderr
    import json
    lay2 = json.loads(r.stdout)
    assert lay2["agree"] is False and lay2["layout"]["_defer"]["fn"] == 8
    assert "DISAGREES" in inspect("layout", lib).stdout


def test_stripped_library_layout_from_table(tmp_path):
    lib = tmp_path / "libdefer.so.1"
    subprocess.run(["strip", "-o", str(lib), str(BUILD / "libdefer.so.1")], check=True)
    full = inspect_json("layout", BUILD / "libdefer.so.1")
    lay = inspect_json("layout", lib)
    assert lay["source"] == "table" and not lay["have_dwarf"]
    for rec in RECORDS:
        assert lay["layout"][rec] == full["dwarf"][rec]
    assert lay["layout"]["allgs"] == full["dwarf"]["allgs"]
    assert "layouts from  _defer_debug_offsets" in inspect("layout", lib).stdout


def test_program_on_shared_libdefer_finds_the_library():
    exe = prog("threads.c", "gcc", "-O2", "shared")
    lay = inspect_json("layout", exe)
    assert lay["shared"] and lay["runtime"].endswith("libdefer.so.1")
    text = inspect("layout", exe).stdout
    assert "(shared library)" in text and "struct _defer" in text


def test_layout_lists_symbols_and_probes():
    exe = prog("threads.c", "gcc", "-O0", "static")
    lay = inspect_json("layout", exe)
    nm = subprocess.run(["nm", str(exe)], capture_output=True, text=True).stdout
    syms = {l.split()[2]: int(l.split()[0], 16) for l in nm.splitlines() if len(l.split()) == 3}
    for s in ("allgs", "deferproc", "deferreturn", "gopanic", "gorecover"):
        assert lay["symbols"][s] == syms[s], s
    names = {p["name"] for p in lay["probes"]}
    assert {"defer", "panic", "recover", "fatal"} <= names
    # The program's open-coded defer() sites are counted, not listed as
    # the runtime's: one defer probe, deferproc's.
    assert [p["name"] for p in lay["probes"]].count("defer") == 1
    sites = inspect_json("sites", exe)["sites"]
    assert lay["open_coded_sites"] == sum("sdt-probe" in s["how"] for s in sites) > 0


def test_stripped_static_program_still_lists_the_runtimes_defer_probe(tmp_path):
    """Without symbols a probe cannot be told to be an open-coded site's:
    every libdefer:defer probe is listed, none is lost."""
    exe = tmp_path / "threads"
    subprocess.run(["strip", "-o", str(exe), str(prog("threads.c", "gcc", "-O2", "static"))],
                   check=True)
    lay = inspect_json("layout", exe)
    assert "defer" in {p["name"] for p in lay["probes"]} and lay["open_coded_sites"] == 0


# ---- aarch64 files, read on this machine ----

@pytest.mark.parametrize("link", ["static", "shared"])
@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_layout_of_an_aarch64_program_agrees_with_its_table(cc, link):
    exe = prog("threads.c", cc, "-O2", link, arch="aarch64")
    lay = inspect_json("layout", exe)
    assert lay["have_table"] and lay["have_dwarf"] and lay["agree"] is True, lay["mismatch"]
    assert lay["shared"] == (link == "shared")
    if link == "shared":
        assert lay["runtime"] == str(BUILD / "aarch64" / "libdefer.so.1")
    # The probes' arguments are in aarch64's registers.
    args = " ".join(p["args"] for p in lay["probes"])
    assert re.search(r"\b8@x\d+\b", args) and "%" not in args, args


def test_stripped_aarch64_library_layout_from_table(tmp_path):
    lib = tmp_path / "libdefer.so.1"
    subprocess.run(["aarch64-linux-gnu-strip", "-o", str(lib), str(BUILD / "aarch64" / "libdefer.so.1")],
                   check=True)
    full = inspect_json("layout", BUILD / "aarch64" / "libdefer.so.1")
    lay = inspect_json("layout", lib)
    assert lay["source"] == "table" and not lay["have_dwarf"]
    for rec in RECORDS:
        assert lay["layout"][rec] == full["dwarf"][rec]


def test_library_search_skips_a_libdefer_for_another_machine():
    """An aarch64 program whose DT_RUNPATH names first a directory holding
    this machine's libdefer.so.1: the dynamic linker would skip that file,
    and so does layout."""
    other = OUT / "x86_64-libdefer"
    other.mkdir(parents=True, exist_ok=True)
    shutil.copy(conftest.built(BUILD / "libdefer.so.1"), other / "libdefer.so.1")
    exe = prog("threads.c", "gcc", "-O0", "shared", extra=["-Wl,-rpath,%s" % other], arch="aarch64")
    assert str(other) in subprocess.run(["readelf", "-d", str(exe)], capture_output=True,
                                        text=True).stdout
    lay = inspect_json("layout", exe)
    assert lay["runtime"] == str(BUILD / "aarch64" / "libdefer.so.1") and lay["agree"] is True
