# SPDX-License-Identifier: MIT
"""Untrusted input: malformed ELF, corrupt DWARF, cores with missing
segments, cyclic and wild chains, and every input the fuzzers kept.  The
tool gives an error or a partial result with a warning, never a crash or a
hang; run under AddressSanitizer and UBSan (build/defer-inspect-asan)."""
import json
import re
import struct
import subprocess

import pytest

from dr_util import BUILD, OUT, ROOT, TOOL_ASAN, Running, require_tools, gcore, inspect, prog, vaddr_to_offset

REGRESSIONS = ROOT / "dwarf-reader" / "fuzz" / "regressions"
OUR_CODES = {0, 3, 4, 5, 6, 7, 8, 9}
FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (\S+)(.*)$")


def sanitizer_blame(stderr):
    """None if no sanitizer report; else 'libdwarf' or the function to blame."""
    if "ERROR: AddressSanitizer" not in stderr and "runtime error:" not in stderr:
        return None
    for line in stderr.splitlines():
        m = FRAME.match(line)
        if not m:
            continue
        func, rest = m.groups()
        if "__interceptor" in func or func.startswith(("__asan", "__ubsan", "__sanitizer")) \
                or "libc.so" in rest or func in ("raise", "abort"):
            continue
        return "libdwarf" if "libdwarf" in rest else func
    return "unknown"


def survive(*args):
    """Run the sanitizer build; it must end with one of our statuses, and a
    sanitizer report may only come from libdwarf (isolated in a child)."""
    r = subprocess.run([str(TOOL_ASAN), *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode in OUR_CODES, (r.returncode, r.stderr[-3000:])
    assert sanitizer_blame(r.stderr) in (None, "libdwarf"), r.stderr[-3000:]
    return r


@pytest.fixture(scope="module", autouse=True)
def tools():
    require_tools()


@pytest.fixture(scope="module")
def sample():
    exe = prog("threads.c", "gcc", "-O0", "static")
    OUT.mkdir(parents=True, exist_ok=True)
    core = OUT / "malformed-base.core"
    with Running(exe, 2, 8) as p:
        gcore(p.pid, core)
    dump = json.loads(inspect("dump", "--json", "--core", core, exe).stdout)
    return exe, core, dump


def test_truncated_elf(tmp_path):
    exe = prog("threads.c")
    for n in (10, 64, 200, 4096, 20000):
        f = tmp_path / ("t%d" % n)
        f.write_bytes(exe.read_bytes()[:n])
        for cmd in ("layout", "sites"):
            survive(cmd, f)


def test_garbage_section_headers(tmp_path):
    data = bytearray(prog("threads.c").read_bytes())
    for field, value in ((40, 1 << 62), (58, 0xffff), (60, 0xffff), (62, 0xfffe)):
        d = bytearray(data)
        size = 8 if field == 40 else 2
        d[field:field + size] = value.to_bytes(size, "little")
        f = tmp_path / ("h%d" % field)
        f.write_bytes(bytes(d))
        survive("layout", f)
        survive("sites", f)


def corrupt_section(src, dst, name, seed):
    import random
    out = subprocess.run(["readelf", "-SW", str(src)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.search(r"\]\s+(\S+)\s+\S+\s+[0-9a-f]{16}\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m and m.group(1) == name:
            off, size = int(m.group(2), 16), int(m.group(3), 16)
            break
    d = bytearray(src.read_bytes())
    rnd = random.Random(seed)
    for _ in range(max(8, size // 200)):
        i = off + rnd.randrange(size)
        d[i] = rnd.randrange(256)
    dst.write_bytes(bytes(d))


@pytest.mark.parametrize("section", [".debug_info", ".debug_abbrev", ".debug_line", ".debug_str",
                                     ".debug_aranges", ".debug_rnglists", ".debug_loclists"])
def test_corrupt_dwarf_sections(section, tmp_path):
    for seed in range(4):
        lib = tmp_path / ("lib-%d" % seed)
        corrupt_section(BUILD / "libdefer.so.1", lib, section, seed)
        r = survive("layout", lib)
        # The library still has its offsets table: an answer either way.
        assert r.returncode == 0, r.stderr
        exe = tmp_path / ("exe-%d" % seed)
        corrupt_section(prog("threads.c"), exe, section, seed)
        survive("layout", exe)
        survive("sites", exe)


def test_core_with_missing_segments(sample, tmp_path):
    exe, core, _ = sample
    data = core.read_bytes()
    for frac in (0.05, 0.3, 0.6, 0.9):
        f = tmp_path / ("cut-%d.core" % int(frac * 100))
        f.write_bytes(data[:int(len(data) * frac)])
        survive("dump", "--core", f, exe)


def test_cyclic_defer_chain_stops_at_first_repeat(sample, tmp_path):
    exe, core, dump = sample
    t = [t for t in dump["threads"] if len(t["defers"]) == 8][0]
    # The 5th record's link points back at the 2nd: a cycle.
    d = bytearray(core.read_bytes())
    off = vaddr_to_offset(d, t["defers"][4]["record"])
    d[off:off + 8] = struct.pack("<Q", t["defers"][1]["record"])
    f = tmp_path / "cycle.core"
    f.write_bytes(bytes(d))
    r = survive("dump", "--json", "--core", f, exe)
    out = json.loads(r.stdout)
    t2 = [x for x in out["threads"] if x["tid"] == t["tid"]][0]
    assert "cycle" in t2["warning"] and "cycle" in r.stderr
    # Stops at the first repeated record: records 1..5, never a repeat.
    assert [d["record"] for d in t2["defers"]] == [d["record"] for d in t["defers"][:5]]
    assert t2["corrupt"] and r.returncode == 9


def test_wild_pointers(sample, tmp_path):
    exe, core, dump = sample
    t = [t for t in dump["threads"] if len(t["defers"]) == 8][0]
    d = bytearray(core.read_bytes())
    off = vaddr_to_offset(d, t["defers"][2]["record"])
    d[off:off + 8] = struct.pack("<Q", 0x7ead0000bee8)          # link: aligned, unmapped
    d[off + 8:off + 16] = struct.pack("<Q", 0x7fffdeadbeef)     # fn
    f = tmp_path / "wild.core"
    f.write_bytes(bytes(d))
    r = survive("dump", "--json", "--core", f, exe)
    t2 = [x for x in json.loads(r.stdout)["threads"] if x["tid"] == t["tid"]][0]
    assert len(t2["defers"]) == 3 and "unreadable" in t2["warning"]
    assert t2["defers"][2]["function"]["function"] is None
    survive("dump", "--core", f, exe)   # the text form too


def test_cyclic_thread_list(sample, tmp_path):
    exe, core, dump = sample
    gs = [t["g"] for t in dump["threads"]]
    d = bytearray(core.read_bytes())
    off = vaddr_to_offset(d, gs[-1])
    d[off:off + 8] = struct.pack("<Q", gs[0])   # g.alllink (offset 0)
    f = tmp_path / "gcycle.core"
    f.write_bytes(bytes(d))
    r = survive("dump", "--json", "--core", f, exe)
    assert "allgs: cycle: entry %d links back to %#x" % (len(gs), gs[0]) in r.stderr
    assert [t["g"] for t in json.loads(r.stdout)["threads"]] == gs
    assert r.returncode == 9


def test_regression_inputs_from_fuzzing():
    files = sorted(REGRESSIONS.iterdir()) if REGRESSIONS.exists() else []
    if not files:
        pytest.skip("no fuzz regressions kept yet")
    seed = prog(ROOT / "dwarf-reader" / "fuzz" / "seed.c", "gcc", "-O2", "static")
    for f in files:
        if "-elf-" in f.name or f.name.startswith("elf-"):
            r = survive("layout", f)
            if f.name.startswith("libdwarf-"):
                # kept because libdwarf crashes on it: the crash is contained
                # in the child and the tool retries without DWARF
                assert "retrying with symbol tables" in r.stderr, (f.name, r.stderr[-2000:])
            survive("sites", f)
        elif "core64-" in f.name:
            # fuzzed from the aarch64 seed's qemu core (fuzz/run.sh)
            survive("dump", "--core", f, prog(ROOT / "dwarf-reader" / "fuzz" / "seed.c", "gcc", "-O2",
                                               "shared", arch="aarch64"))
        else:
            survive("dump", "--core", f, seed)
