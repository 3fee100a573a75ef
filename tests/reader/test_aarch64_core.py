# SPDX-License-Identifier: MIT
"""defer-inspect on this x86-64 machine reads an aarch64 program's core
(qemu writes it): the reader chooses the core's layout (NT_PRSTATUS) and
the relocations by the file's machine, never by its own.  qemu's cores
have no NT_FILE note: the mapped files come from the executable's
program headers and the dynamic linker's list in the core's memory."""
import json
import os
import shutil
import struct
import subprocess

import pytest

from conftest import BUILD, QEMU, built, compile_program
from dr_util import PROGS, prog, qemu_core, vaddr_to_offset

HOLD = r"""
#include <stdlib.h>
#include <defer.h>
static void release(int n) { (void)n; }
__attribute__((noinline)) static void hold(int n)
{
	defer_frame;
	defer(release, n);
	defer(release, n + 1);
	abort();
}
int main(void) { hold(7); return 0; }
"""


def dump(core, exe, env=None, *opts):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(built(BUILD / "defer-inspect")), "dump", *opts, "--core", str(core),
                           str(exe)], capture_output=True, text=True, timeout=60, env=e)


def calls(out):
    """The dump's (call, site) pairs, newest first."""
    lines = [l.strip() for l in out.splitlines()]
    return [(l, lines[i + 1]) for i, l in enumerate(lines) if l.startswith("defer ")]


def source_of(exe):
    """The C file compile_program wrote for exe (its key ends both names)."""
    return next(exe.parent.glob("%s-%s.c" % (exe.name.split("-", 1)[0], exe.name.rsplit("-", 1)[1])))


def held(out, src):
    """hold()'s two calls, by name, argument and defer() line."""
    return calls(out) == [("defer 1: release(n=8)  [pending]", "deferred by hold at %s:9" % src),
                          ("defer 2: release(n=7)  [pending]", "deferred by hold at %s:8" % src)]


# A shared program's qemu core has no NT_FILE: the executable is found by
# its bias, libdefer.so by the dynamic linker's list in the core's memory.
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("link", ["static", "shared"])
@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_dump_reads_an_aarch64_qemu_core_on_x86_64_with_names_and_sites(cc, link, opt, tmp_path):
    exe = compile_program(HOLD, cc=cc, opt=opt, link=link, name="hold", arch="aarch64")
    r = dump(qemu_core(exe, tmp_path), exe)
    assert r.returncode == 0, r.stdout + r.stderr
    src = source_of(exe)
    assert held(r.stdout, src), r.stdout
    # The core keeps no header of the program, but its relocated data
    # says it is this build.
    assert "cannot check" not in r.stderr, r.stderr


@pytest.mark.parametrize("link", ["static", "shared"])
def test_a_qemu_core_read_with_another_build_is_refused(link, tmp_path):
    """gcc's program, clang's binary: the relocated read-only data differ."""
    exe = compile_program(HOLD, cc="gcc", opt="-O0", link=link, name="hold", arch="aarch64")
    other = compile_program(HOLD, cc="clang", opt="-O0", link=link, name="hold", arch="aarch64")
    r = dump(qemu_core(exe, tmp_path), other)
    assert r.returncode == 7 and "different relocated data" in r.stderr, r.stdout + r.stderr


@pytest.mark.parametrize("how", ["-no-pie", "-static", "-static-pie"])
def test_dump_reads_qemu_cores_of_non_pie_and_fully_static_aarch64_programs(how, tmp_path):
    """At its link-time address, and without a dynamic linker's list
    (-static has no DT_DEBUG, -static-pie relocates itself)."""
    exe = compile_program(HOLD, cc="gcc", opt="-O0", link="static", name="hold", arch="aarch64",
                          extra=[how])
    r = dump(qemu_core(exe, tmp_path), exe)
    assert r.returncode == 0, r.stdout + r.stderr
    src = source_of(exe)
    assert held(r.stdout, src), r.stdout


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_dump_reads_every_thread_of_an_aarch64_qemu_core(cc, tmp_path):
    """Three workers holding four calls each (one of them libc's free)
    and main's fatal panic, from one NT_PRSTATUS per thread."""
    exe = prog("threads.c", cc, "-O2", "shared", arch="aarch64")
    core = qemu_core(exe, tmp_path, ["3", "4", "crash"], {"DEFER_TRACEBACK": "crash"})
    r = dump(core, exe, {"DEFER_INSPECT_SYSROOT": QEMU[QEMU.index("-L") + 1]})
    assert r.returncode == 0, r.stderr
    threads = json.loads(dump(core, exe, {"DEFER_INSPECT_SYSROOT": QEMU[QEMU.index("-L") + 1]},
                              "--json").stdout)["threads"]
    src = (PROGS / "threads.c").read_text().splitlines()
    line = {f: next(n for n, t in enumerate(src, 1) if "defer(%s," % f in t)
            for f in ("note", "flags", "wide", "free")}
    workers = sorted((t for t in threads if t["name"].startswith("worker-")), key=lambda t: t["name"])
    assert [t["name"] for t in workers] == ["worker-1", "worker-2", "worker-3"], threads
    for k, t in enumerate(workers, 1):
        got = [(d["function"]["function"], [a["value"] for a in d["args"]], d["site"]["line"])
               for d in t["defers"]]
        assert got == [("free", ["0x0"], line["free"]),
                       ("wide", [str(-k), str(7 << 40), got[1][1][2], "-1", "2", "120"], line["wide"]),
                       ("flags", ["true", "200", "1.5", "-3"], line["flags"]),
                       ("note", [got[3][1][0], str(1000 * k), "0.0"], line["note"])], got
        assert got[3][1][0].endswith(' "held"')
    main = [t for t in threads if t["panics"]]
    assert len(main) == 1 and main[0]["panics"][0]["message"] == "fatal error 42 in main" and \
        main[0]["panics"][0]["where"]["function"] == "die"
    assert "panic: fatal error 42 in main" in r.stdout


FREE = r"""
#include <stdlib.h>
#include <defer.h>
__attribute__((noinline)) static void hold(void *p)
{
	defer_frame;
	defer(free, p);
	abort();
}
int main(void) { hold(malloc(8)); return 0; }
"""


def test_dump_names_libc_functions_under_the_sysroot(tmp_path):
    """libc is /lib/libc.so.6 to the program: the host has none of that
    machine, DEFER_INSPECT_SYSROOT says where the target's root is."""
    exe = compile_program(FREE, cc="gcc", opt="-O0", link="shared", name="hold_free", arch="aarch64")
    core = qemu_core(exe, tmp_path)
    bare = calls(dump(core, exe).stdout)
    assert len(bare) == 1 and bare[0][0].startswith("defer 1: 0x"), bare
    r = dump(core, exe, {"DEFER_INSPECT_SYSROOT": QEMU[QEMU.index("-L") + 1]})
    assert r.returncode == 0, r.stderr
    got = calls(r.stdout)
    assert len(got) == 1 and got[0][0].startswith("defer 1: free(") and \
        got[0][1].startswith("deferred by hold at "), r.stdout


def test_a_mapped_file_for_another_machine_is_not_read(tmp_path):
    """Under a sysroot that holds this machine's (x86-64) libdefer.so.1 at
    the path the aarch64 program loaded its own from, the reader skips it
    and takes the file of the core's machine."""
    exe = compile_program(HOLD, cc="gcc", opt="-O0", link="shared", name="hold", arch="aarch64")
    core = qemu_core(exe, tmp_path)
    lib = exe.parent.parent / "libdefer.so.1"
    root = tmp_path / "root"
    (root / str(lib.parent).lstrip("/")).mkdir(parents=True)
    shutil.copy(built(BUILD / "libdefer.so.1"), root / str(lib).lstrip("/"))
    r = dump(core, exe, {"DEFER_INSPECT_SYSROOT": str(root)})
    assert r.returncode == 0, r.stdout + r.stderr
    src = source_of(exe)
    assert held(r.stdout, src), r.stdout


def test_a_core_for_another_machine_than_the_binary_is_refused(tmp_path):
    exe = compile_program(HOLD, cc="gcc", opt="-O0", link="static", name="hold", arch="aarch64")
    host = compile_program(HOLD, cc="gcc", opt="-O0", link="static", name="hold", arch="x86_64")
    r = dump(qemu_core(exe, tmp_path), host)
    assert r.returncode == 7 and "core is for ELF machine 183, the file for 62" in r.stderr, r.stderr


def u64(data, off):
    return struct.unpack_from("<Q", data, off)[0]


def link_map_head(data, exe):
    """Where in the core's bytes the first link_map's l_next is: the
    executable's DT_DEBUG (bias from NT_AUXV's AT_ENTRY) -> r_debug.r_map."""
    elf = exe.read_bytes()
    bias = auxv(data)[9] - u64(elf, 24)
    phoff, = struct.unpack_from("<Q", elf, 32)
    phnum, = struct.unpack_from("<H", elf, 56)
    for i in range(phnum):
        p_type, _, _, p_va, _, _, p_msz = struct.unpack_from("<IIQQQQQ", elf, phoff + 56 * i)
        if p_type == 2:   # PT_DYNAMIC
            for k in range(p_msz // 16):
                o = vaddr_to_offset(data, bias + p_va + 16 * k)
                if u64(data, o) == 21:   # DT_DEBUG
                    lm = u64(data, vaddr_to_offset(data, u64(data, o + 8) + 8))
                    return lm, vaddr_to_offset(data, lm + 24)
    raise AssertionError("no DT_DEBUG in the core")


def auxv(data):
    """NT_AUXV of a core, as {key: value}."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    for i in range(phnum):
        p_type, _, p_off, _, _, p_fsz = struct.unpack_from("<IIQQQQ", data, phoff + 56 * i)
        off = p_off
        while p_type == 4 and off < p_off + p_fsz:
            nsz, dsz, typ = struct.unpack_from("<III", data, off)
            desc = off + 12 + (nsz + 3) // 4 * 4
            if typ == 6:
                return dict(struct.unpack_from("<QQ", data, desc + j) for j in range(0, dsz, 16))
            off = desc + (dsz + 3) // 4 * 4
    raise AssertionError("no NT_AUXV")


@pytest.mark.parametrize("tool", ["defer-inspect", "defer-inspect-asan"])
def test_a_looping_list_of_loaded_objects_is_bounded(tool, tmp_path):
    """The executable's link_map pointing at itself: the walk stops at its
    bound and says so; the records are still read."""
    exe = compile_program(HOLD, cc="gcc", opt="-O0", link="static", name="hold", arch="aarch64")
    core = qemu_core(exe, tmp_path)
    data = bytearray(open(core, "rb").read())
    lm, at = link_map_head(data, exe)
    data[at:at + 8] = struct.pack("<Q", lm)
    open(core, "wb").write(data)
    r = subprocess.run([str(built(BUILD / tool)), "dump", "--core", core, str(exe)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "list of loaded objects is longer than 4096" in r.stderr, r.stderr
    src = source_of(exe)
    assert held(r.stdout, src), r.stdout


def link_maps(data, exe):
    """Each link_map on the chain: (its address, the core offsets of
    l_addr, l_name, l_next)."""
    lm, _ = link_map_head(data, exe)
    out = []
    while lm and len(out) < 64:
        o = vaddr_to_offset(data, lm)
        out.append((lm, o, o + 8, o + 24))
        lm = u64(data, o + 24)
    return out


def unterminated(data):
    """An address whose bytes run to the end of a dumped segment without
    a NUL (made so)."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    segs = [struct.unpack_from("<IIQQQQQ", data, phoff + 56 * i) for i in range(phnum)]
    p_type, _, p_off, p_va, _, p_fsz, _ = max((x for x in segs if x[0] == 1 and x[5]), key=lambda x: x[3])
    data[p_off + p_fsz - 64:p_off + p_fsz] = b"A" * 64
    return p_va + p_fsz - 64


def corrupt(case, data, exe):
    maps = link_maps(data, exe)
    assert len(maps) >= 3, maps   # the program, libdefer, libc, ...
    for lm, a, n, nx in maps[1:]:
        if case == "wild l_addr":
            data[a:a + 8] = struct.pack("<Q", 2 ** 64 - 4096)
        elif case == "unterminated l_name":
            data[n:n + 8] = struct.pack("<Q", unterminated(data))
        elif case == "wild l_name":
            data[n:n + 8] = struct.pack("<Q", 0xdead0000)
        elif case == "wild l_next":
            data[nx:nx + 8] = struct.pack("<Q", 0xfffffffffffffff8)


@pytest.mark.parametrize("case", ["wild l_addr", "unterminated l_name", "wild l_name", "wild l_next"])
def test_a_damaged_list_of_loaded_objects_is_survived(case, tmp_path):
    """Under the sanitizers: a bias that wraps, a name without its NUL or
    outside the core, a link outside the address space.  libdefer is then
    not found (exit 5) or found where the damage left it; nothing crashes."""
    exe = compile_program(HOLD, cc="gcc", opt="-O0", link="shared", name="hold", arch="aarch64")
    core = qemu_core(exe, tmp_path)
    data = bytearray(open(core, "rb").read())
    corrupt(case, data, exe)
    open(core, "wb").write(data)
    r = subprocess.run([str(built(BUILD / "defer-inspect-asan")), "dump", "--core", core, str(exe)],
                       capture_output=True, text=True, timeout=60)
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    if case == "wild l_next":
        # The damage is past the last object: the list still names libdefer.
        src = source_of(exe)
        assert r.returncode == 0 and held(r.stdout, src), r.stdout + r.stderr
    else:
        assert r.returncode == 5 and "not linked with libdefer" in r.stderr, r.stderr
    if case == "wild l_addr":
        assert "past the end of the address space: not read" in r.stderr, r.stderr


def test_a_qemu_core_whose_executable_header_names_another_build_is_refused(tmp_path):
    """The executable's first page, which qemu does not dump, put in the
    core from another build (clang's): a different build-id, exit 7, and
    the files mapped from the program headers are let go safely."""
    exe = compile_program(HOLD, cc="gcc", opt="-O0", link="static", name="hold", arch="aarch64")
    other = compile_program(HOLD, cc="clang", opt="-O0", link="static", name="hold", arch="aarch64")
    core = qemu_core(exe, tmp_path)
    data = bytearray(open(core, "rb").read())
    base = auxv(data)[9] - u64(exe.read_bytes(), 24)   # the bias: the exe's first page
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    at = next(phoff + 56 * i for i in range(phnum)
              if struct.unpack_from("<IIQQ", data, phoff + 56 * i)[::3] == (1, base))
    data += bytes(-len(data) % 4096)
    struct.pack_into("<QQ", data, at + 8, len(data), base)              # p_offset, p_vaddr
    struct.pack_into("<Q", data, at + 32, 4096)                         # p_filesz
    data += other.read_bytes()[:4096]
    open(core, "wb").write(data)
    r = subprocess.run([str(built(BUILD / "defer-inspect-asan")), "dump", "--core", core, str(exe)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 7 and "different build-id" in r.stderr, r.stderr
    assert "Sanitizer" not in r.stderr, r.stderr

