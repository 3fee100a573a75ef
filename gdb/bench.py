#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench.py - timings of the gdb extension (make bench-gdb).

Builds tests/gdb/scenarios/scen.c (gcc -O2, static), stops it with N
pending deferred calls, and times `info defers` and `bt` inside gdb (the
command alone, output written to gdb's stdout, which goes to a file): gdb's
CPU time (user and system) and wall time, and gdb's peak resident memory
(VmHWM, the whole gdb process).  Prints
markdown table rows `| what | measured | target |` with medians; the
growth rows say whether time and memory stay linear in N.
"""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Outside pytest: the test helpers' directories by hand (pytest.ini lists them).
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "gdb")]
from gdbtest import ENTRY, free_port, scen  # noqa: E402

TIMER = ("python import time; gdb.set_convenience_variable('_t0', time.perf_counter()); "
         "gdb.set_convenience_variable('_c0', time.process_time())",
         "python gdb.write('ELAPSED %.6f %.6f\\n' % (time.perf_counter() - "
         "float(gdb.convenience_variable('_t0')), time.process_time() - "
         "float(gdb.convenience_variable('_c0'))), gdb.STDERR); "
         "gdb.write('PEAK %s\\n' % [l.split()[1] for l in open('/proc/self/status') "
         "if l.startswith('VmHWM:')][0], gdb.STDERR)")


# bt's floor: the same lines as libdefer's bt of the chain (the calls'
# names, arguments as gdb.Values and sites, read beforehand through the
# extension), printed by gdb from a frame filter that hands it constant
# elided frames under frame 1, libdefer's own filter off.  What gdb itself
# takes to print them, whatever the extension does.
FLOOR = """
import gdb
from gdb.FrameDecorator import FrameDecorator
from libdefer_gdb import formatting, snapshot, symbols
snap = snapshot.Snapshot()
CALLS = [("defer %d: %s" % (d.index, symbols.Symbols.function_name(d.fn)),
          formatting.argument_values(d), symbols.Symbols.site(d.pc)[1:])
         for d in snap.defers(snap.g_for_tid(gdb.selected_thread().ptid[1]))]
class Arg:
    def __init__(self, name, value): self.name, self.v = name, value
    def symbol(self): return self.name
    def value(self): return self.v
class Call(FrameDecorator):
    def __init__(self, base, call): FrameDecorator.__init__(self, base); self.call = call
    def function(self): return self.call[0]
    def address(self): return None
    def frame_args(self): return [Arg(n, v) for n, v in self.call[1]]
    def frame_locals(self): return None
    def filename(self): return self.call[2][0]
    def line(self): return self.call[2][1]
    def elided(self): return None
class Owner(FrameDecorator):
    def __init__(self, base, calls): FrameDecorator.__init__(self, base); self.calls = calls
    def elided(self): return iter(self.calls)
class Floor:
    name, priority, enabled = "floor", 100, True
    def filter(self, frames):
        for i, fd in enumerate(frames):
            yield Owner(fd, [Call(fd.inferior_frame(), c) for c in CALLS]) if i == 1 else fd
gdb.execute("set defer backtrace off")
gdb.frame_filters["floor"] = Floor()
"""


def one(exe, args, command, expect_lines, remote=False, setup=()):
    """(CPU seconds gdb took for `command`, wall seconds, gdb's peak RSS in
    MB) in one gdb session; checks its output size."""
    with tempfile.TemporaryFile("w+") as out:
        pre = ["gdb", "-nx", "-batch", "-iex", "set pagination off", "-iex",
               "source %s" % ENTRY, "-ex", "set defer max-entries unlimited"]
        srv = None
        if remote:
            port = free_port()
            srv = subprocess.Popen(["gdbserver", "--once", "127.0.0.1:%d" % port, str(exe)] +
                                   args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)
            argv = pre + ["-ex", "target remote 127.0.0.1:%d" % port, "-ex", "break checkpoint",
                          "-ex", "continue", "-ex", TIMER[0], "-ex", command, "-ex", TIMER[1],
                          "-ex", "kill", str(exe)]
        else:
            argv = pre + ["-ex", "break checkpoint", "-ex", "run"]
            for c in setup:
                argv += ["-ex", c]
            argv += ["-ex", TIMER[0], "-ex", command, "-ex", TIMER[1], "--args", str(exe)] + args
        r = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, text=True, timeout=900)
        if srv:
            srv.kill()
            srv.wait()
        out.seek(0)
        lines = sum(1 for line in out if line.lstrip().startswith("defer "))
    el = [l for l in r.stderr.splitlines() if l.startswith("ELAPSED ")]
    peak = [l for l in r.stderr.splitlines() if l.startswith("PEAK ")]
    if not el or not peak or lines != expect_lines:
        raise SystemExit("bench: %s %s: expected %d entries, got %d\n%s" % (
            command, args, expect_lines, lines, r.stderr[-2000:]))
    wall, cpu = (float(x) for x in el[0].split()[1:])
    return cpu, wall, int(peak[0].split()[1]) / 1024


def median(exe, args, command, expect, runs, remote=False, setup=()):
    """(median CPU seconds, median wall seconds, median peak MB)."""
    res = [one(exe, args, command, expect, remote, setup) for _ in range(runs)]
    return tuple(statistics.median(r[i] for r in res) for i in range(3))


def both(cpu, wall):
    """A time as the table gives it: gdb's CPU time (user and system: the
    figure load on a shared machine changes least), then wall time."""
    return "%.3f s CPU (%.3f s wall)" % (cpu, wall)


def main():
    exe = scen("gcc", "-O2", "static")
    rows = []
    t, w, m, bt = {}, {}, {}, {}
    for n, runs in ((10000, 5), (100000, 5), (1000000, 3)):
        t[n], w[n], m[n] = median(exe, ["many", str(n)], "info defers", n, runs)
    rows.append(("info defers, 10,000 pending calls (1 thread)", both(t[10000], w[10000]),
                 "linear (Delve stack -defer: ~1 s)"))
    rows.append(("info defers, 100,000 pending calls (1 thread)", both(t[100000], w[100000]),
                 "<= 1 s (Delve: ~124 s)"))
    rows.append(("info defers, 1,000,000 pending calls (1 thread), set defer max-entries "
                 "unlimited", both(t[1000000], w[1000000]), "<= 3 s"))
    rows.append(("gdb peak memory, info defers of 1,000,000 calls", "%.0f MB" % m[1000000],
                 "<= 250 MB"))
    rows.append(("gdb peak memory, 10,000 / 100,000 calls",
                 "%.0f MB / %.0f MB" % (m[10000], m[100000]), "(gdb alone: the first)"))
    rows.append(("growth 100k -> 1M, CPU time (ratio)", "%.1fx" % (t[1000000] / t[100000]),
                 "~10x (linear)"))
    rows.append(("growth 100k -> 1M, memory above 10k's (ratio)",
                 "%.1fx" % ((m[1000000] - m[10000]) / max(m[100000] - m[10000], 1)),
                 "<= 10x (linear or better)"))
    bt[1000] = median(exe, ["many", "1000"], "bt", 1000, 5)[0]
    # bt and its floor side by side: alternate runs, so that load on the
    # machine falls on both alike.
    with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
        f.write(FLOOR)
        f.flush()
        pairs = [(one(exe, ["many", "10000"], "bt", 10000),
                  one(exe, ["many", "10000"], "bt", 10000, setup=("source " + f.name,)))
                 for _ in range(5)]
    bt[10000] = statistics.median(a[0] for a, _ in pairs)
    floor = statistics.median(b[0] for _, b in pairs)
    share = statistics.median(a[0] / b[0] for a, b in pairs)
    rows.append(("bt, 10,000 pending calls under one frame",
                 both(bt[10000], statistics.median(a[1] for a, _ in pairs)), "<= 0.2 s"))
    rows.append(("bt floor: gdb printing the same 10,000 lines from constant frame decorators",
                 both(floor, statistics.median(b[1] for _, b in pairs)),
                 "(what gdb alone takes: the bound on bt)"))
    rows.append(("bt / its floor (median of the pairs' ratios)", "%.2fx" % share,
                 "(the extension's share: above 1x)"))
    rows.append(("growth bt 1k -> 10k, CPU time (ratio)", "%.1fx" % (bt[10000] / bt[1000]),
                 "~10x (linear)"))
    tall, wall, _ = median(exe, ["threads", "256", "100"], "info defers all", 256 * 100 + 1, 5)
    rows.append(("info defers all, 256 threads x 100 pending", both(tall, wall), "<= 1 s"))
    trem, wall, _ = median(exe, ["many", "100000"], "info defers", 100000, 3, remote=True)
    rows.append(("info defers, 100,000 pending, gdbserver on loopback", both(trem, wall),
                 "(no target; bulk reads)"))
    print("## gdb extension (info defers, bt; medians)")
    print()
    print("| what | measured | target |")
    print("|---|---|---|")
    for r in rows:
        print("| %s | %s | %s |" % r)


if __name__ == "__main__":
    main()
