# SPDX-License-Identifier: MIT
"""bench.py - defer-inspect against gdb -batch on the same questions.

  layout  a program with >= 15 MB of DWARF (generated: many units full of
          struct types and functions, linked with libdefer.a): symbols and
          record layouts, against gdb's ptype /o and info address.
  dump    a core of 256 threads x 100 pending calls, against gdb's
          `info defers all` (the libdefer extension) on the same core.
  sites   a unit of 3,000 functions with one defer() each (gdb has no
          equivalent: `info probes` lists the open-coded probes only).

Prints markdown rows: | what | measured | target | ratio |, medians of
several runs, gdb measured in the same session.
"""
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
B = ROOT / "build"
OUT = B / "bench-reader"
TOOL = B / "defer-inspect"
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "reader"))

NFILES, NTYPES, NMEMBERS = 56, 600, 30
TYPES = ["int", "long", "double", "char *", "unsigned short", "float"]


def unit(k):
    out = []
    for i in range(NTYPES):
        out.append("struct s%d_%d {" % (k, i))
        out += ["  %s m%d;" % (TYPES[(i + j) % 6], j) for j in range(NMEMBERS)]
        out.append("};")
    for i in range(NTYPES):
        out.append("long f%d_%d(struct s%d_%d *p, int k) { long r = k; struct s%d_%d l = *p;"
                   " r += (long)l.m0 + (long)l.m2; for (int q = 0; q < k; q++) r += q * %d;"
                   " return r; }" % (k, i, k, i, k, i, i))
    return "\n".join(out) + "\n"


def big_program():
    exe = OUT / "big"
    if exe.exists() and exe.stat().st_mtime > (B / "libdefer.a").stat().st_mtime:
        return exe
    src = OUT / "big-src"
    src.mkdir(parents=True, exist_ok=True)

    def cc(k):
        c = src / ("u%d.c" % k)
        c.write_text(unit(k))
        subprocess.run(["gcc", "-std=gnu11", "-g", "-O0", "-w", "-c", str(c), "-o",
                        str(c.with_suffix(".o"))], check=True)
        return str(c.with_suffix(".o"))

    with ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        objs = list(ex.map(cc, range(NFILES)))
    main = src / "main.c"
    main.write_text('#include "defer.h"\n#include <stdlib.h>\nint main(void) { defer_frame;'
                    ' defer(free, (void *)0); return 0; }\n')
    subprocess.run(["gcc", "-std=gnu11", "-g", "-O2", "-I", str(ROOT / "libdefer" / "include"),
                    str(main), *objs, str(B / "libdefer.a"), "-lpthread", "-o", str(exe)], check=True)
    return exe


def big_clang_program():
    """The same units and the runtime itself compiled by clang: no
    .debug_aranges, so the reader's fallback index is what finds units."""
    exe = OUT / "big-clang"
    if exe.exists() and exe.stat().st_mtime > (B / "libdefer.a").stat().st_mtime:
        return exe
    src = OUT / "big-src"

    def cc(k):
        c = src / ("u%d.c" % k)
        o = src / ("u%d.clang.o" % k)
        subprocess.run(["clang", "-std=gnu11", "-g", "-O0", "-w", "-c", str(c), "-o", str(o)], check=True)
        return str(o)

    with ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        objs = list(ex.map(cc, range(NFILES)))
    rt = sorted(str(p) for p in (ROOT / "libdefer" / "src").glob("*.c"))
    # defer.S includes build/libdefer/asm_offsets.h, which make generates;
    # gdb_autoload.c names the extension's entry script, as gdb/build.mk says.
    script = '-DLIBDEFER_GDB_SCRIPT="%s"' % (ROOT / "gdb" / "libdefer-gdb.py")
    subprocess.run(["clang", "-std=gnu11", "-g", "-O2", "-I", str(ROOT / "libdefer" / "include"),
                    "-I", str(ROOT / "build" / "libdefer"), "-fvisibility=hidden", script,
                    str(src / "main.c"), *objs, *rt,
                    str(ROOT / "libdefer" / "src" / "x86_64" / "defer.S"), "-lpthread", "-lgcc_s",
                    "-o", str(exe)], check=True)
    return exe


def many_sites_program(n=3000):
    """One unit, n functions with one defer() each: what made call-site and
    line look-ups quadratic in a unit's size."""
    exe = OUT / "sites-3000"
    if exe.exists() and exe.stat().st_mtime > (B / "libdefer.a").stat().st_mtime:
        return exe
    src = OUT / "sites-3000.c"
    lines = ['#include <stdio.h>', '#include "defer.h"',
             'static void use(int x) { printf("%d\\n", x); }']
    lines += ["__attribute__((noinline)) void f%d(int x) { defer_frame; defer(use, x); }" % i
              for i in range(n)]
    lines.append("int main(void) { %s return 0; }" % " ".join("f%d(%d);" % (i, i) for i in range(n)))
    src.write_text("\n".join(lines) + "\n")
    subprocess.run(["gcc", "-std=gnu11", "-g", "-O2", "-I", str(ROOT / "libdefer" / "include"),
                    str(src), str(B / "libdefer.a"), "-lpthread", "-o", str(exe)], check=True)
    return exe


def dwarf_bytes(exe):
    out = subprocess.run(["size", "-A", str(exe)], capture_output=True, text=True).stdout
    return sum(int(l.split()[1]) for l in out.splitlines() if l.startswith(".debug_"))


def timed(cmd, n, env=None):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        ts.append(time.perf_counter() - t)
        assert r.returncode == 0, (cmd, r.stderr[-2000:])
    return statistics.median(ts), r.stdout


def row(what, ours, target, gdb):
    print("| %s | %.1f ms | <= %d ms | gdb %.0f ms, %.0fx faster |" % (
        what, ours * 1e3, target, gdb * 1e3, gdb / ours), flush=True)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    print("building the benchmark programs (cached in %s)..." % OUT, flush=True)
    exe = big_program()
    mb = dwarf_bytes(exe) / 1e6
    print("| what | measured | target | ratio |")
    print("|---|---|---|---|")
    ours, out = timed([str(TOOL), "layout", "--json", str(exe)], 11)
    assert '"source": "dwarf"' in out
    gdb, gout = timed(["gdb", "-batch", "-nx", "-ex", "ptype /o struct _defer", "-ex",
                       "ptype /o struct _panic", "-ex", "ptype /o struct g", "-ex",
                       "info address allgs", str(exe)], 5)
    assert "total size" in gout
    row("layout, %.1f MB of DWARF (gcc)" % mb, ours, 50, gdb)
    exe2 = big_clang_program()
    ours, out = timed([str(TOOL), "layout", "--json", str(exe2)], 11)
    assert '"source": "dwarf"' in out
    gdb, gout = timed(["gdb", "-batch", "-nx", "-ex", "ptype /o struct _defer", "-ex",
                       "ptype /o struct _panic", "-ex", "ptype /o struct g", "-ex",
                       "info address allgs", str(exe2)], 5)
    row("layout, %.1f MB of DWARF (clang, no aranges)" % (dwarf_bytes(exe2) / 1e6), ours, 50, gdb)

    import conftest
    from dr_util import Running, gcore
    prog = conftest.compile_program(ROOT / "tests" / "reader" / "progs" / "threads.c",
                                    cc="gcc", opt="-O2", link="static")
    core = OUT / "threads-256x100.core"
    if not core.exists() or core.stat().st_mtime < prog.stat().st_mtime:
        with Running(prog, 256, 100) as p:
            gcore(p.pid, core)
    ours, out = timed([str(TOOL), "dump", "--core", str(core), str(prog)], 11)
    n = out.count("  defer ")
    assert n == 25600, n
    ext = ROOT / "gdb" / "libdefer-gdb.py"
    gdb, gout = timed(["gdb", "-batch", "-nx", "-iex", "source %s" % ext, "-ex",
                       "set defer max-entries unlimited", "-ex", "info defers all",
                       str(prog), str(core)], 3)
    assert gout.count("  defer ") == 25600, gout.count("  defer ")
    row("dump, core of 256 threads x 100 calls", ours, 100, gdb)

    exe3 = many_sites_program()
    ours, out = timed([str(TOOL), "sites", str(exe3)], 11)
    assert out.count("[sdt-probe") == 3000, out.count("[sdt-probe")
    gdb, gout = timed(["gdb", "-batch", "-nx", "-ex", "info probes stap libdefer defer",
                       str(exe3)], 3)
    print("| sites, 3,000 defer() lines in one unit | %.1f ms | <= 500 ms | (gdb lists only "
          "the probes, with `info probes`: %.0f ms) |" % (ours * 1e3, gdb * 1e3), flush=True)


if __name__ == "__main__":
    main()
