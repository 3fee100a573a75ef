# SPDX-License-Identifier: MIT
"""The records' layout is written once, in defer_abi.h's lists (docs/abi.md,
"The spec"): a field changed there reaches every reader with no other edit,
no reader hard-codes a record offset, and what defer.h still lays out by
hand (the flags byte's bits) matches the spec."""
import json
import re
import shutil
import subprocess

import pytest

from conftest import (AARCH64_SYSROOT, ARCH, BUILD, HOST_ARCH, QEMU, ROOT, binutil,
                      compile_program, cross, cross_cc, elf_machine, load_abi, qemu_core, run,
                      table_offset)

FLAGS_CHECK = r"""
#include <stdio.h>
#include <string.h>
#include <defer.h>
int main(void)
{
	struct _defer d;
	unsigned char *flags = (unsigned char *)&d + _defer_debug_offsets.d.flags;

	memset(&d, 0, sizeof d);
	d.started = 1;
	int started = *flags;
	d.started = 0;
	d.heap = 1;
	int heap = *flags;
	printf("%s\n", started == DEFER_FLAG_STARTED && heap == DEFER_FLAG_HEAP ? "agree" : "DISAGREE");
	return 0;
}
"""


def test_flags_byte_bits_are_the_spec_flag_values():
    """started and heap are bit-fields: C cannot take their offsetof, so the
    byte the table names and the bits DEFER_FLAG_* give are checked here."""
    r = run(compile_program(FLAGS_CHECK, name="flagbits"))
    assert r.stdout.strip() == "agree", r.stdout + r.stderr


# The offsets table as version 2 laid it out (defer_abi.h of ABI 2): blocks
# of uint32 after a 24-byte header.
TABLE_V2 = (("g", ("size", "alllink", "defer", "panic", "tid", "status", "name")),
            ("d", ("size", "link", "fn", "pc", "sp", "panic", "nargs", "kind", "flags",
                   "iregs", "fregs")),
            ("mark", ("size", "armed", "resumable", "resume", "rec")),
            ("p", ("size", "link", "arg", "argp", "pc", "defer", "recovered", "aborted",
                   "goexit", "msg")),
            ("ptext", ("text",)))


def test_version_3_table_keeps_every_version_2_field_in_place():
    """ABI 3 only appends to the table (p.textlen, the resume block), so a
    program built against the version-2 header that reads the table finds
    every field where it was (ptext.text is now p.text): no soname change."""
    abi = load_abi()
    pos = 24
    for block, fields in TABLE_V2:
        for f in fields:
            now = ("p", "text") if block == "ptext" else (block, f)
            assert table_offset(abi, *now) == pos, (block, f)
            pos += 4


# ---------------------------------------------------------------------------
# A field changed in the spec, in a copy of the tree.

PROGRAM = r"""
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "defer.h"

static int trap;
static void show(int a, double b, const char *c) { printf("show %d %.1f %s\n", a, b, c); }
static void note(long n) { printf("note %ld\n", n); }
static void catcher(int *status) { if (recover()) *status = 42; }

static int guarded(void)
{
	int status = 0;
	defer_frame;
	defer_result(status);             /* resumed through struct defer_resume */
	defer(catcher, &status);
	panic("boom");
	return -1;
}

__attribute__((noinline)) static void stop_here(void)
{
	if (trap)
		raise(SIGTRAP);
}

static void hold(void)
{
	defer_frame;
	defer(note, 5);                   /* int for long: deferproc, the mark's own record */
	defer(show, 7, 2.5, "seven");     /* a pool record */
	stop_here();
}

static void outer(void)
{
	defer_frame;
	defer(show, 1, 0.5, "one");       /* exact types: open-coded in defer.h */
	hold();
}

int main(int argc, char **argv)
{
	trap = argc > 1 && !strcmp(argv[1], "trap");
	printf("guarded %d\n", guarded());
	outer();
	return 0;
}
"""

NEW_FIELD = "\tFIELD(x_, uint64_t, spec_probe, , spec_probe, Q) \\\n"


def change_the_spec(spec):
    """A published field first in struct _defer and in struct defer_resume,
    _defer's pc and sp swapped, and private padding first in struct g."""
    def record(name):
        start = spec.index("#define %s(" % name)
        body = spec.index("\n", start) + 1
        return body, spec.index("\n\n", start)

    b, e = record("DEFER_DEFER_FIELDS")
    block = spec[b:e]
    pc = re.search(r"^\tFIELD\(x_, uintptr_t, pc, , pc, Q\).*\n", block, re.M).group(0)
    sp = re.search(r"^\tFIELD\(x_, uintptr_t, sp, , sp, Q\).*\n", block, re.M).group(0)
    block = block.replace(pc, "@PC@").replace(sp, pc).replace("@PC@", sp)
    spec = spec[:b] + NEW_FIELD + block + spec[e:]
    b, _ = record("DEFER_RESUME_FIELDS")
    spec = spec[:b] + NEW_FIELD + spec[b:]
    b, _ = record("DEFER_G_FIELDS")
    return spec[:b] + "\tPRIVATE(x_, uint64_t, spec_pad, [2]) \\\n" + spec[b:]


def layout(tool, exe):
    r = subprocess.run([str(tool), "layout", "--json", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def gdb(tree, exe, *cmds):
    """gdb with tree's extension, at the program's SIGTRAP (an aarch64
    program: gdb-multiarch over qemu's gdbstub)."""
    cmd = ["gdb", "-nx", "-batch", "-iex", "set auto-load python-scripts off",
           "-iex", "source %s" % (tree / "gdb" / "libdefer-gdb.py")]
    q = None
    if elf_machine(exe) != HOST_ARCH:
        from gdbtest import free_port
        port = free_port()
        q = subprocess.Popen(QEMU[:1] + ["-g", str(port)] + QEMU[1:] + [str(exe), "trap"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cmd[0] = "gdb-multiarch"
        cmd += ["-ex", "set sysroot " + AARCH64_SYSROOT, "-ex", "file %s" % exe,
                "-ex", "target remote :%d" % port, "-ex", "continue"]
    else:
        cmd += ["-ex", "run trap"]
    for c in cmds:
        cmd += ["-ex", c]
    cmd += ["-ex", "kill"] + ([] if q else [str(exe)])
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        if q:
            q.kill()
            q.wait()
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def changed_tree(tmp_path_factory):
    """A copy of the tree (no build/, no tests, no generated abi.py) whose
    spec has the changes above, built with its own make."""
    tree = tmp_path_factory.mktemp("spec") / "tree"
    shutil.copytree(ROOT, tree, symlinks=True, ignore=shutil.ignore_patterns(
        "build", ".git", "tests", "__pycache__", ".pytest_cache", "abi.py"))
    spec = tree / "libdefer" / "include" / "defer_abi.h"
    spec.write_text(change_the_spec(spec.read_text()))
    r = subprocess.run(["make", "-j2", "INSTALL_DEPS=true", "build/libdefer.a", "build/defer-inspect",
                        "gdb/libdefer_gdb/abi.py"], cwd=tree, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # An aarch64 run checks the aarch64 defer.S against the changed spec.
    lib, cc = tree / "build" / "libdefer.a", ["gcc"]
    if cross(ARCH):
        lib = tree / "build" / "aarch64" / "libdefer.a"
        r = subprocess.run(["make", "-j2", "ARCH=aarch64", str(lib.relative_to(tree))], cwd=tree,
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        cc = cross_cc("gcc", ARCH) + ["-idirafter", str(lib.parent / "sysinclude")]
    src = tree / "prog.c"
    src.write_text(PROGRAM)
    exe = tree / "prog"
    subprocess.run(cc + ["-std=gnu11", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
                         "-I", str(tree / "libdefer" / "include"), str(src),
                         str(lib), "-lpthread", "-o", str(exe)], check=True)
    stripped = tree / "prog-stripped"
    subprocess.run(binutil("strip") + ["-o", str(stripped), str(exe)], check=True)
    return tree, exe, stripped


def test_the_changed_spec_reaches_the_offsets_table_and_the_reader(changed_tree):
    tree, exe, stripped = changed_tree
    tool = tree / "build" / "defer-inspect"
    ours = layout(BUILD / "defer-inspect", BUILD / "libdefer.so.1")["table"]
    lay = layout(tool, exe)
    assert lay["have_table"] and lay["agree"] is True, lay["mismatch"]
    d, g, r = lay["table"]["_defer"], lay["table"]["g"], lay["table"]["defer_resume"]
    assert d["spec_probe"] == 0 and d["link"] == 8 and d["sp"] < d["pc"]
    assert d["size"] == ours["_defer"]["size"] + 8
    assert g["alllink"] == ours["g"]["alllink"] + 16 and r["pc"] == ours["defer_resume"]["pc"] + 8
    assert lay["dwarf"] == lay["table"] == lay["layout"]
    # Stripped: the table alone, read through the changed struct dr_layout.
    bare = layout(tool, stripped)
    assert bare["source"] == "table" and bare["layout"] == lay["table"]
    text = subprocess.run([str(tool), "layout", str(stripped)], capture_output=True,
                          text=True).stdout
    assert re.search(r"^  spec_probe +0$", text, re.M), text


def test_the_changed_spec_reaches_defer_s(changed_tree):
    """deferproc, deferreturn and the resume of a recovered frame use the
    changed offsets: every call runs with its arguments, the recovery
    returns the frame's result."""
    _, exe, stripped = changed_tree
    for prog in (exe, stripped):
        r = run(prog)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == ["guarded 42", "show 7 2.5 seven", "note 5",
                                         "show 1 0.5 one"]


def test_the_changed_spec_reaches_defer_inspect_dump(changed_tree, tmp_path):
    tree, exe, _ = changed_tree
    if cross(ARCH):
        # The core qemu writes at the program's SIGTRAP (gdb's
        # generate-core-file over qemu's gdbstub has no ELF headers).
        core = qemu_core(exe, tmp_path, "trap")
    else:
        core = tmp_path / "core"
        gdb(tree, exe, "generate-core-file %s" % core)
    r = subprocess.run([str(tree / "build" / "defer-inspect"), "dump", "--json", "--core", str(core),
                        str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (thread,) = json.loads(r.stdout)["threads"]
    calls = [(d["function"]["function"], [a["value"] for a in d["args"]])
             for d in thread["defers"]]
    assert [(f, args[:2]) for f, args in calls] == [("show", ["7", "2.5"]), ("note", ["5"]),
                                                    ("show", ["1", "0.5"])], calls
    assert calls[0][1][2].endswith(' "seven"') and calls[2][1][2].endswith(' "one"'), calls


def test_the_changed_spec_reaches_gdb_through_the_generated_abi_py(changed_tree):
    tree, exe, stripped = changed_tree
    abi = load_abi(tree)
    assert ("d", ("size", "spec_probe", "link", "fn", "sp", "pc", "panic", "nargs", "kind",
                  "flags", "iregs", "fregs")) in abi.TABLE_BLOCKS
    assert abi.TABLE_SIZE == load_abi().TABLE_SIZE + 8
    show = "python print('resume rip', __import__('libdefer_gdb.layout').layout.runtime().resume['pc'])"
    rip = layout(tree / "build" / "defer-inspect", exe)["table"]["defer_resume"]["pc"]
    # The table through gdb's view of its type, and (stripped) as raw bytes
    # laid out by abi.py's TABLE_BLOCKS.
    for prog in (exe, stripped):
        out = gdb(tree, prog, "info defers", "python print('source', "
                  "__import__('libdefer_gdb.layout').layout.runtime().source)", show)
        assert "source _defer_debug_offsets" in out, out
        assert "resume rip %d" % rip in out, out
        # With debug info: show(a=7, b=2.5, c=0x... "seven"); stripped, the
        # recorded kinds: 0x...(7, 2.5, 0x...).
        lines = [l for l in out.splitlines() if re.match(r"\s*defer \d+:", l)]
        assert len(lines) == 3, out
        assert re.search(r"\((a=)?7, (b=)?2\.5, (c=)?0x[0-9a-f]+", lines[0]), out
        assert re.search(r"\((n=)?5\)", lines[1]), out
        assert re.search(r"\((a=)?1, (b=)?0\.5, (c=)?0x[0-9a-f]+", lines[2]), out


def test_readers_refuse_a_table_version_they_do_not_know_in_one_line(tmp_path):
    """A stripped program whose table says ABI 99: defer-inspect and gdb
    each say which version it is and which they read, in one line."""
    abi = load_abi()
    exe = tmp_path / "prog"
    subprocess.run(binutil("strip") + ["-o", str(exe),
                                       str(compile_program(PROGRAM, name="spec-prog"))], check=True)
    data = bytearray(exe.read_bytes())
    at = data.index(abi.MAGIC.to_bytes(8, "little")) + table_offset(abi, None, "version")
    assert int.from_bytes(data[at:at + 4], "little") == abi.VERSION
    data[at:at + 4] = (99).to_bytes(4, "little")
    exe.write_bytes(bytes(data))
    r = subprocess.run([str(BUILD / "defer-inspect"), "layout", str(exe)], capture_output=True,
                       text=True)
    said = [l for l in r.stderr.splitlines() if "version 99" in l]
    assert said == ["defer-inspect: warning: %s: libdefer ABI version 99 is not supported "
                    "(this reader knows %d)" % (exe, abi.VERSION)], r.stderr
    out = gdb(ROOT, exe, "info defers")
    said = [l for l in out.splitlines() if "version 99" in l]
    assert said == ["libdefer: this program's _defer_debug_offsets is ABI version 99; this "
                    "extension reads version %d (and there is no debug info for the records)."
                    % abi.VERSION], out


# ---------------------------------------------------------------------------
# No hand-written offsets.

# What a hard-coded record offset looks like, honestly limited to the forms
# this code base writes layouts in (each found in the tree before the spec):
HARD_CODED = [
    # assembly: a literal displacement off a register holding a record
    # (stack slots off %rsp and %rip-relative addresses are not records)
    (r"(?<![\w+$])[0-9]+\(%r(?!sp\b|ip\b)[a-z0-9]+\)", ["*.S", "*.c", "*.h"]),
    # C: a record member's offset pinned to a number
    (r"offsetof\s*\(\s*struct\s+(g|_defer|_panic|defer_mark|defer_resume|defer_tls|"
     r"defer_debug_offsets)\b[^)]*\)\s*[=!]=\s*[0-9]", ["*.c", "*.h"]),
    # C: #define NAME number for a record field (defer.S's old constants)
    (r"^#define\s+(TLS|G|D|M|P|R)_[A-Z0-9]+\s+[0-9]+\b", ["*.S", "*.c", "*.h"]),
    # Python: an offset constant, or inferior memory read at address + number
    (r"^\s*[A-Z_]*(RIP|RSP|OFF|OFFSET)\w*\s*=\s*[0-9]+", ["*.py"]),
    (r"(read_memory|\.u64|\.u32|\.read)\(\s*[\w.]+\s*\+\s*[0-9]+", ["*.py"]),
    (r"unpack_from\([^)]*,\s*[0-9]+\s*\)", ["*.py"]),
]
# The code that reads or writes records (tests build damaged records by
# name, through the table or abi.py).
SOURCES = ["libdefer", "dwarf-reader/src", "dwarf-reader/tool", "dwarf-reader/include", "gdb"]


def test_no_record_offset_is_hard_coded_outside_generated_files():
    if not (ROOT / ".git").exists():
        pytest.skip("git grep needs a git checkout")
    found = []
    for pattern, globs in HARD_CODED:
        # (a pathspec's * matches across directories)
        r = subprocess.run(["git", "grep", "-nP", pattern, "--",
                            *["%s/%s" % (d, g) for d in SOURCES for g in globs]],
                           cwd=ROOT, capture_output=True, text=True)
        assert r.returncode in (0, 1), r.stderr
        found += r.stdout.splitlines()
    assert found == []


def test_hard_coded_offset_patterns_catch_what_the_tree_used_to_hold():
    """The patterns above match the forms the spec replaced (so the test
    above can fail)."""
    old = {".S": "movq\t56(%rdi), %rcx\n#define D_FLAGS    47\n",
           ".c": "_Static_assert(offsetof(struct defer_resume, pc) == 56, \"r\");\n",
           ".py": "RESUME_RIP = 56\nv = snap.mem.u64(r + 56)\n"
                  "x = struct.unpack_from(\"<I\", head, 8)\n"}
    hits = [(ext, pattern) for pattern, globs in HARD_CODED for ext, text in old.items()
            if "*" + ext in globs and re.search(pattern, text, re.M)]
    assert len(hits) == 6, hits
