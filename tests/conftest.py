# SPDX-License-Identifier: MIT
"""Shared pytest helpers: build C programs against libdefer, and find what
`make test` built before pytest started.

`compile_program(src, cc=..., opt=..., link=...)` (also the `build`
fixture) compiles one scenario program (a path, or C source text) against
the runtime built by `make` and returns the executable's path.  Every test
directory (runtime/, gdb/, reader/) uses it, so a program is compiled the
same way everywhere.  `built(path)` is a file make builds; a test never
runs make for it.  Test helpers import this module by name (`from conftest
import ...`): pytest.ini puts tests/ on sys.path.
"""
import hashlib
import os
import platform
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
INCLUDE = ROOT / "libdefer" / "include"
OUT = BUILD / "tests"

# DEFER_TEST_ARCH=aarch64 runs the same tests against `make ARCH=aarch64`'s
# runtime (build/aarch64) on this x86-64 machine: programs are cross-built
# (gcc as aarch64-linux-gnu-gcc, clang with --target=aarch64-linux-gnu)
# (C++ with aarch64-linux-gnu-g++ and clang++ likewise) and run() runs
# them under qemu-aarch64-static; builds there is no aarch64 set-up for
# here (the sanitizers, valgrind) are skipped.
# compile_program(arch="aarch64") builds one program so from any run (the
# portability matrix).
HOST_ARCH = platform.machine()
ARCH = os.environ.get("DEFER_TEST_ARCH", HOST_ARCH)
if ARCH not in ("x86_64", "aarch64"):
    raise pytest.UsageError("DEFER_TEST_ARCH=%s: x86_64 or aarch64" % ARCH)
AARCH64_BUILD = BUILD / "aarch64"
AARCH64_SYSROOT = "/usr/aarch64-linux-gnu"
# The command that runs an aarch64 program here (the loader and libraries
# of a dynamic one come from the cross sysroot).
QEMU = ["qemu-aarch64-static", "-L", AARCH64_SYSROOT]


def cross(arch):
    """Whether `arch` is run under qemu here."""
    return arch != HOST_ARCH


def cross_cc(cc, arch):
    """The compiler command that builds for `arch`."""
    if not cross(arch):
        return [cc]
    if cc in ("gcc", "g++"):
        return ["aarch64-linux-gnu-" + cc]
    if cc.startswith("clang"):
        return [cc, "--target=aarch64-linux-gnu"]
    pytest.skip("%s: no %s set-up for it here" % (cc, arch))


def compiler(cc, arch=None):
    """The command that compiles C (or C++) for arch against defer.h, as
    compile_program does, for a test that builds an object of its own."""
    arch = arch or ARCH
    cmd = cross_cc(cc, arch) + ["-I", str(INCLUDE)]
    if cross(arch):
        # <sys/sdt.h>, as the runtime's cross build finds it (libdefer/build.mk).
        cmd += ["-idirafter", str(AARCH64_BUILD / "sysinclude")]
    return cmd


def build_dir(arch=None):
    """Where make builds the runtime (and make bench's programs) for arch."""
    return AARCH64_BUILD if cross(arch or ARCH) else BUILD


def binutil(name, arch=None):
    """The binutils command `name` (strip, objcopy) for arch's files: the
    host's handle only the host's machine."""
    return ["aarch64-linux-gnu-" + name] if cross(arch or ARCH) else [name]


def on_host(what):
    """Skip the test in a cross run: it needs a native program (ptrace, the
    host's gdb, perf...)."""
    if cross(ARCH):
        pytest.skip("%s: %s" % (ARCH, what))


# DEFER_TEST_LIBC=musl runs the same tests against `make LIBC=musl`'s
# runtime (build/musl): programs are built by musl-gcc with the flags of
# build/musl/libdefer.pc, "static" is a fully static program and "shared"
# a musl-dynamic one; compilers and builds musl has no set-up for here
# (clang, C++, the sanitizers) are skipped.  compile_program(libc="musl")
# builds one program so from any run (the portability matrix).
LIBC = os.environ.get("DEFER_TEST_LIBC", "glibc")
if LIBC not in ("glibc", "musl"):
    raise pytest.UsageError("DEFER_TEST_LIBC=%s: glibc or musl" % LIBC)
MUSL_BUILD = BUILD / "musl"

COMPILERS = ["gcc"] if LIBC == "musl" else ["gcc", "clang"]
OPTS = ["-O0", "-O2"]
LINKS = ["static", "shared"]
SAN_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
             "-fno-omit-frame-pointer"]


def not_on_musl(reason):
    """Skip the test in a musl run: what it checks needs something musl
    does not do (docs/runtime.md, "musl")."""
    if LIBC == "musl":
        pytest.skip("musl: " + reason)


# The reason a recovery from a signal raised inside a libc call cannot work
# with musl (docs/runtime.md, "musl").
MUSL_NO_LIBC_UNWIND = ("musl's libc is built without unwind tables: a panic from a signal "
                       "raised inside a libc call cannot unwind through it")


# Why a panic cannot cross a musl-dynamic program's landing pads when it
# links libdefer.so (docs/runtime.md, "musl").
MUSL_TWO_UNWINDERS = ("no shared libgcc unwinder for musl: the program and libdefer.so each "
                      "link their own, which cannot share an unwind")


def musl_link(link):
    """musl-gcc's link flags for build/musl's runtime, from its libdefer.pc
    (so the tests check what pkg-config gives users)."""
    pc = built(MUSL_BUILD / "libdefer.pc", "LIBC=musl")
    if link not in ("static", "shared"):
        pytest.skip("%s: no such runtime for musl here" % link)
    flags = subprocess.run(["pkg-config", "--libs", "--static", str(pc)], capture_output=True,
                           text=True, check=True).stdout.split()
    # The header-only system headers musl-gcc does not search (<sys/sdt.h>),
    # as the runtime's build finds them (libdefer/build.mk).
    flags += ["-idirafter", str(MUSL_BUILD / "sysinclude")]
    # musl-gcc's specs also drop Debian gcc's --build-id, by which the
    # crash report finds a stripped program's debug file.
    flags += ["-Wl,--build-id"]
    if link == "static":
        return ["-static"] + flags
    return flags + ["-Wl,-rpath,%s" % MUSL_BUILD]


def compile_program(src, cc="gcc", opt="-O0", link="static", extra=(), name=None, std="gnu11",
                    libc=None, arch=None):
    """Compile `src` (a Path, or C source text; C++ when cc is g++ or a
    clang++) with -std=`std` and return the binary's Path.

    libc="musl" (default: DEFER_TEST_LIBC, else glibc) builds it with
    musl-gcc against build/musl's runtime, "static" fully static; other
    compilers and link modes are skipped there.

    arch="aarch64" (default: DEFER_TEST_ARCH, else this machine's) builds
    it for aarch64 against build/aarch64's runtime; run() runs it under
    qemu (the binary's ELF machine says so).

    link="static" links build/libdefer.a, "shared" links build/libdefer.so
    with an rpath so the program runs from the build tree, "sanitize" links
    build/san/libdefer.a and builds with AddressSanitizer and UBSan, "tsan"
    links build/tsan/libdefer.a and builds with ThreadSanitizer, "none"
    links no libdefer (a program that dlopens a plugin that uses it).
    """
    if isinstance(src, Path):
        text = src.read_text()
        stem = src.stem
    else:
        text = src
        stem = name or "prog"
    extra = list(extra)
    libc = libc or LIBC
    arch = arch or ARCH
    out = OUT
    lib = BUILD
    libs = (BUILD / "libdefer.a", BUILD / "libdefer.so.1", BUILD / "san" / "libdefer.a",
            BUILD / "tsan" / "libdefer.a")
    if libc == "musl":
        if cross(arch):
            pytest.skip("musl: no %s musl toolchain here (Debian's musl-tools is the host's)"
                        % arch)
        if cc != "gcc":
            pytest.skip("%s: the musl build is musl-gcc's (no musl set-up for it here)" % cc)
        out = MUSL_BUILD / "tests"
        libs = (MUSL_BUILD / "libdefer.a", MUSL_BUILD / "libdefer.so.1")
    elif cross(arch):
        if link not in ("static", "shared", "none"):
            pytest.skip("%s: no %s runtime here" % (link, arch))
        lib = built(AARCH64_BUILD / "libdefer.a", "ARCH=aarch64").parent
        out = lib / "tests"
        libs = (lib / "libdefer.a", lib / "libdefer.so.1")
    # The runtime is part of the key: a rebuilt header or library means a
    # fresh binary.
    deps = [f"{p}:{p.stat().st_mtime_ns}" for p in sorted(INCLUDE.glob("*.h"))]
    deps += [f"{p}:{p.stat().st_mtime_ns}" for p in libs if p.exists()]
    key = [text, cc, opt, link] + ([std] if std != "gnu11" else []) + \
        (["musl"] if libc == "musl" else []) + ([arch] if cross(arch) else [])
    key = hashlib.sha1("\0".join(key + extra + deps).encode()).hexdigest()[:10]
    out.mkdir(parents=True, exist_ok=True)
    exe = out / f"{stem}-{cc}{opt}-{link}-{key}"
    if exe.exists():
        return exe
    csrc = out / f"{stem}-{key}.{'cc' if '++' in cc else 'c'}"
    csrc.write_text(text)
    cmd = (["musl-gcc", "-I", str(INCLUDE)] if libc == "musl" else compiler(cc, arch)) + [
        f"-std={std}", opt, "-g", "-Wall", "-Wextra", "-Werror", str(csrc),
        "-o", str(exe) + ".tmp"] + extra
    if libc == "musl":
        cmd += musl_link(link)
    elif link == "static":
        cmd += [str(lib / "libdefer.a")]
    elif link == "sanitize":
        cmd += SAN_FLAGS + [str(BUILD / "san" / "libdefer.a")]
    elif link == "tsan":
        cmd += ["-fsanitize=thread", str(BUILD / "tsan" / "libdefer.a")]
    elif link == "none":
        pass
    else:
        cmd += ["-L", str(lib), "-ldefer", f"-Wl,-rpath,{lib}"]
    if libc != "musl":
        cmd += ["-lpthread"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"compile failed: {' '.join(cmd)}\n{r.stderr}")
    os.replace(str(exe) + ".tmp", exe)
    return exe


def built(path, target=None):
    """`path` (under build/), which `make test` builds before pytest starts;
    if it is missing the test fails saying which make target builds it."""
    path = Path(path)
    if not path.exists():
        pytest.fail("%s is missing: `make %s` builds it (make test does, before pytest starts)"
                    % (path, target or path.relative_to(ROOT)), pytrace=False)
    return path


def header_version(path=INCLUDE / "defer.h"):
    """LIBDEFER_VERSION_MAJOR.MINOR.PATCH of defer.h, where the version is
    written once."""
    text = Path(path).read_text()
    return ".".join(re.search(r"^#define LIBDEFER_VERSION_%s (\d+)$" % k, text, re.M).group(1)
                    for k in ("MAJOR", "MINOR", "PATCH"))


def run(exe, *args, env=None, timeout=60, input=None):
    """Run a program; return CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    e.pop("DEFER_TRACEBACK", None)
    if env:
        e.update(env)
    return subprocess.run(command(exe) + list(map(str, args)), capture_output=True, text=True,
                          env=e, timeout=timeout, input=input)


def qemu_core(exe, cwd, *args):
    """Run an aarch64 exe under qemu until a signal kills it; the guest core
    qemu writes in cwd (the kernel's core of qemu itself, if any, is
    removed)."""
    subprocess.run(["sh", "-c", 'ulimit -c unlimited; exec "$@"', "sh", *QEMU, str(exe),
                    *map(str, args)], cwd=cwd, capture_output=True, timeout=120)
    cores = sorted(p for p in os.listdir(cwd) if p.startswith("qemu_") and p.endswith(".core"))
    for p in os.listdir(cwd):
        if p == "core" or p.startswith("core."):
            os.unlink(os.path.join(cwd, p))
    if not cores:
        pytest.fail("qemu wrote no core in %s" % cwd, pytrace=False)
    return os.path.join(cwd, cores[0])


def elf_machine(path):
    """"x86_64" or "aarch64": the ELF file's e_machine."""
    with open(path, "rb") as f:
        head = f.read(20)
    return {62: "x86_64", 183: "aarch64"}.get(int.from_bytes(head[18:20], "little"), "?")


def comm(name, arch=None):
    """The kernel's name for a thread of the program called name: under
    qemu the process is qemu's, and so is its comm."""
    return Path(QEMU[0]).name[:15] if cross(arch or ARCH) else name


# qemu's own helper thread is one of the process's threads; the crash
# report lists it as a thread whose stack it cannot take.
QEMU_THREAD = re.compile(r'\nthread \d+ "%s" \[\w+\]:\n\tstack unavailable \(SIGURG blocked\?\)\n'
                         % re.escape(Path(QEMU[0]).name[:15]))


def program_threads(report, arch=None):
    """A crash report without the sections of the emulator's own threads
    (none on the host)."""
    return QEMU_THREAD.sub("", report) if cross(arch or ARCH) else report


def command(exe):
    """The command line that runs the program exe here: itself, or under
    qemu when it is another architecture's."""
    return (QEMU if cross(elf_machine(exe)) else []) + [str(exe)]


def load_abi(root=ROOT):
    """gdb/libdefer_gdb/abi.py of the tree at root, which make generates from
    the spec (defer_abi.h): its constants and the offsets table's layout.
    A plain module (it imports nothing), loaded without gdb."""
    import runpy
    import types
    return types.SimpleNamespace(**runpy.run_path(str(root / "gdb" / "libdefer_gdb" / "abi.py")))


def table_offset(abi, block, field):
    """Byte offset of one field of struct defer_debug_offsets: a uint32 of
    a block, or (block None) a field of the header."""
    import struct
    if block is None:
        names = [name for name, _ in abi.TABLE_HEADER]
        return struct.calcsize("<" + "".join(c for _, c in abi.TABLE_HEADER[:names.index(field)]))
    pos = struct.calcsize("<" + "".join(code for _, code in abi.TABLE_HEADER))
    for name, fields in abi.TABLE_BLOCKS:
        if name == block:
            return pos + 4 * fields.index(field)
        pos += 4 * len(fields)
    raise KeyError(block)


@pytest.fixture
def build():
    return compile_program


# The portability matrix (tests/reliability/test_matrix.py) records what
# each cell checked; the table is printed at the end of the run.
MATRIX_RESULTS = {}


def pytest_terminal_summary(terminalreporter):
    if not MATRIX_RESULTS:
        return
    w = terminalreporter
    w.section("portability matrix")
    w.write_line("| compiler | opt | libdefer | PIE | target | checked |")
    w.write_line("|---|---|---|---|---|---|")
    for cell in sorted(MATRIX_RESULTS):
        w.write_line("| %s | %s |" % (" | ".join(cell.split()), "; ".join(MATRIX_RESULTS[cell])))
    w.write_line("%d cells passed" % len(MATRIX_RESULTS))
