#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench.py - timings of the gdb extension (make bench-gdb).

Builds tests/gdb/scenarios/scen.c (gcc -O2, static), stops it with N
pending deferred calls, and times `info defers` and `bt` inside gdb (the
command alone, output written to gdb's stdout, which goes to a file), and
gdb's peak resident memory (VmHWM, the whole gdb process).  Prints
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

TIMER = ("python import time; gdb.set_convenience_variable('_t0', time.perf_counter())",
         "python gdb.write('ELAPSED %.6f\\n' % (time.perf_counter() - "
         "float(gdb.convenience_variable('_t0'))), gdb.STDERR); "
         "gdb.write('PEAK %s\\n' % [l.split()[1] for l in open('/proc/self/status') "
         "if l.startswith('VmHWM:')][0], gdb.STDERR)")


# bt's floor: a frame filter that puts 10,000 elided frames returning
# constants under frame 1, libdefer's own filter off.  What gdb itself
# takes to print them, whatever the extension does.
FLOOR = """
import gdb
from gdb.FrameDecorator import FrameDecorator
class Arg:
    def symbol(self): return "i"
    def value(self): return VALUE
VALUE = gdb.Value(5)
class Call(FrameDecorator):
    def __init__(self, base, i): FrameDecorator.__init__(self, base); self.i = i
    def function(self): return "defer %d: step_many" % self.i
    def address(self): return None
    def frame_args(self): return [Arg()]
    def frame_locals(self): return None
    def filename(self): return "scen.c"
    def line(self): return 190
    def elided(self): return None
class Owner(FrameDecorator):
    def __init__(self, base, calls): FrameDecorator.__init__(self, base); self.calls = calls
    def elided(self): return iter(self.calls)
class Floor:
    name, priority, enabled = "floor", 100, True
    def filter(self, frames):
        for i, fd in enumerate(frames):
            yield Owner(fd, [Call(fd.inferior_frame(), j + 1) for j in range(N)]) if i == 1 else fd
N = 10000
gdb.execute("set defer backtrace off")
gdb.frame_filters["floor"] = Floor()
"""


def one(exe, args, command, expect_lines, remote=False, setup=()):
    """(seconds taken by `command`, gdb's peak RSS in MB) in one gdb
    session; checks its output size."""
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
    return float(el[0].split()[1]), int(peak[0].split()[1]) / 1024


def median(exe, args, command, expect, runs, remote=False, setup=()):
    """(median seconds, median peak MB)."""
    res = [one(exe, args, command, expect, remote, setup) for _ in range(runs)]
    return (statistics.median(t for t, _ in res), statistics.median(m for _, m in res))


def main():
    exe = scen("gcc", "-O2", "static")
    rows = []
    t, m, bt = {}, {}, {}
    for n, runs in ((10000, 5), (100000, 5), (1000000, 3)):
        t[n], m[n] = median(exe, ["many", str(n)], "info defers", n, runs)
    rows.append(("info defers, 10,000 pending calls (1 thread)", "%.3f s" % t[10000],
                 "linear (Delve stack -defer: ~1 s)"))
    rows.append(("info defers, 100,000 pending calls (1 thread)", "%.3f s" % t[100000],
                 "<= 1 s (Delve: ~124 s)"))
    rows.append(("info defers, 1,000,000 pending calls (1 thread), set defer max-entries "
                 "unlimited", "%.3f s" % t[1000000], "<= 3 s"))
    rows.append(("gdb peak memory, info defers of 1,000,000 calls", "%.0f MB" % m[1000000],
                 "<= 250 MB"))
    rows.append(("gdb peak memory, 10,000 / 100,000 calls",
                 "%.0f MB / %.0f MB" % (m[10000], m[100000]), "(gdb alone: the first)"))
    rows.append(("growth 100k -> 1M, time (ratio)", "%.1fx" % (t[1000000] / t[100000]),
                 "~10x (linear)"))
    rows.append(("growth 100k -> 1M, memory above 10k's (ratio)",
                 "%.1fx" % ((m[1000000] - m[10000]) / max(m[100000] - m[10000], 1)),
                 "<= 10x (linear or better)"))
    for n in (1000, 10000):
        bt[n], _ = median(exe, ["many", str(n)], "bt", n, 5)
    rows.append(("bt, 10,000 pending calls under one frame", "%.3f s" % bt[10000], "<= 0.2 s"))
    with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
        f.write(FLOOR)
        f.flush()
        floor, _ = median(exe, ["many", "10"], "bt", 10000, 5, setup=("source " + f.name,))
    rows.append(("bt floor: gdb printing 10,000 constant elided frames", "%.3f s" % floor,
                 "(what gdb alone takes)"))
    rows.append(("growth bt 1k -> 10k, time (ratio)", "%.1fx" % (bt[10000] / bt[1000]),
                 "~10x (linear)"))
    tall, _ = median(exe, ["threads", "256", "100"], "info defers all", 256 * 100 + 1, 5)
    rows.append(("info defers all, 256 threads x 100 pending", "%.3f s" % tall, "<= 1 s"))
    trem, _ = median(exe, ["many", "100000"], "info defers", 100000, 3, remote=True)
    rows.append(("info defers, 100,000 pending, gdbserver on loopback", "%.3f s" % trem,
                 "(no target; bulk reads)"))
    print("## gdb extension (info defers, bt; medians)")
    print()
    print("| what | measured | target |")
    print("|---|---|---|")
    for r in rows:
        print("| %s | %s | %s |" % r)


if __name__ == "__main__":
    main()
