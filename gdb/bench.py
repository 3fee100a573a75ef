#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench.py - timings of the gdb extension (make bench-gdb).

Builds tests/gdb/scenarios/scen.c (gcc -O2, static), stops it with N
pending deferred calls, and times `info defers` inside gdb (the command
alone, output written to gdb's stdout, which goes to a file).  Prints
markdown table rows `| what | measured | target |` with medians.
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
         "float(gdb.convenience_variable('_t0'))), gdb.STDERR)")


def one(exe, args, command, expect_lines, remote=False):
    """Seconds taken by `command` in one gdb session; checks its output size."""
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
            argv = pre + ["-ex", "break checkpoint", "-ex", "run", "-ex", TIMER[0], "-ex",
                          command, "-ex", TIMER[1], "--args", str(exe)] + args
        r = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, text=True, timeout=900)
        if srv:
            srv.kill()
            srv.wait()
        out.seek(0)
        lines = sum(1 for line in out if line.startswith("  defer "))
    el = [l for l in r.stderr.splitlines() if l.startswith("ELAPSED ")]
    if not el or lines != expect_lines:
        raise SystemExit("bench: %s %s: expected %d entries, got %d\n%s" % (
            command, args, expect_lines, lines, r.stderr[-2000:]))
    return float(el[0].split()[1])


def median(exe, args, command, expect, runs, remote=False):
    return statistics.median(one(exe, args, command, expect, remote) for _ in range(runs))


def main():
    exe = scen("gcc", "-O2", "static")
    rows = []
    t = {}
    for n, runs in ((10000, 5), (100000, 5), (1000000, 3)):
        t[n] = median(exe, ["many", str(n)], "info defers", n, runs)
    rows.append(("info defers, 10,000 pending calls (1 thread)", "%.3f s" % t[10000],
                 "linear (Delve stack -defer: ~1 s)"))
    rows.append(("info defers, 100,000 pending calls (1 thread)", "%.3f s" % t[100000],
                 "<= 1 s (Delve: ~124 s)"))
    rows.append(("info defers, 1,000,000 pending calls (1 thread)", "%.3f s" % t[1000000],
                 "linear: ~10x the 100k time"))
    rows.append(("growth 100k -> 1M (ratio)", "%.1fx" % (t[1000000] / t[100000]), "~10x"))
    tall = median(exe, ["threads", "256", "100"], "info defers all", 256 * 100 + 1, 5)
    rows.append(("info defers all, 256 threads x 100 pending", "%.3f s" % tall, "<= 1 s"))
    trem = median(exe, ["many", "100000"], "info defers", 100000, 3, remote=True)
    rows.append(("info defers, 100,000 pending, gdbserver on loopback", "%.3f s" % trem,
                 "(no target; bulk reads)"))
    print("## gdb extension (info defers; medians)")
    print()
    print("| what | measured | target |")
    print("|---|---|---|")
    for r in rows:
        print("| %s | %s | %s |" % r)


if __name__ == "__main__":
    main()
