# SPDX-License-Identifier: MIT
"""The defer-shape table of `make bench`: instructions per operation.

Each program (shapes.c as built, shapes.c built with DEFER_NO_OPEN_CODE,
shapes.go, anchors.cc) runs one shape N and 2N times under callgrind,
counting only the benchmark loop and what it calls (--toggle-collect=run:
Go's background threads run by the clock, not by the loop); the difference
over N is the shape's instructions per operation, with its start-up and
warm-up cancelled.  Times come from the programs' own `time` mode: the
median ns per operation, and the median of the per-round ratios to the
shape's direct twin, measured back to back.

    instructions.py SHAPES SHAPES_DEFERPROC [--go SHAPES_GO] [--cxx ANCHORS]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

N = 2000
# Go's heap defers come from per-P pools that its garbage collector empties
# now and then: more operations average that in.
N_GO = 10000
COLLECTED = re.compile(r"Collected : (\d+)")


def total_ir(prog, shape, n, toggle):
    env = dict(os.environ, GODEBUG="asyncpreemptoff=1")
    # Address-space randomisation off: where the stack and the libraries
    # land changes the paths of alignment-dependent code (memcpy, the
    # unwinder's searches), so two runs of one count could differ.
    norand = ["setarch", os.uname().machine, "-R"] if shutil.which("setarch") else []
    r = subprocess.run(
        norand + ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         # N zero-padded to one width: the N and 2N runs then start with
         # the same stack layout (argv's length moves it, and one-time
         # code with alignment-dependent paths would not cancel).
         "--toggle-collect=" + toggle, prog, "ir", shape, "%012d" % n],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = COLLECTED.search(r.stderr)
    if r.returncode != 0 or not m:
        sys.exit("instructions.py: %s ir %s %d failed: %s"
                 % (prog, shape, n, r.stderr.strip().splitlines()[-1:]))
    return int(m.group(1))


def ir(prog, shape, toggle, n):
    """Instructions per operation of one shape."""
    return (total_ir(prog, shape, 2 * n, toggle) - total_ir(prog, shape, n, toggle)) / n


def times(prog):
    """{shape: (ns per operation, ratio to its direct twin)}."""
    out = subprocess.run([prog, "time", "2000000"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return {name: (float(ns), float(ratio))
            for name, ns, ratio in (line.split() for line in out.splitlines())}


class Program:
    """One program's shapes: Ir measured on demand, once each."""

    def __init__(self, path, toggle="run", n=N):
        self.path, self.toggle, self.n, self.cache = path, toggle, n, {}

    def __getitem__(self, shape):
        if shape not in self.cache:
            self.cache[shape] = ir(self.path, shape, self.toggle, self.n)
        return self.cache[shape]

    # The derived shapes: a later defer, and one defer of a loop's hundred.
    def shape(self, row):
        if row == "later":
            return (self["eight"] - self["one"]) / 7
        if row == "later.direct":
            return (self["eight.direct"] - self["one.direct"]) / 7
        if row.startswith("loop100"):
            return self[row] / 100
        return self[row]


# (shape, what the row is, goal in Ir or None, the time mode's shape)
ROWS = [
    ("one", "a frame's only defer + run, 1 pointer argument", 45, "one"),
    ("later", "a frame's 2nd..8th defer, each", 30, "eight"),
    ("loop100", "defer in a loop of 100, each", None, "loop100"),
    ("six", "6 arguments incl. 3 doubles", 68, "six"),
    ("variadic", "variadic (`log(p, \"%d\", x)`)", 64, "variadic"),
]


def fmt_ir(x):
    return "%.0f" % x if x >= 1000 else "%.1f" % x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shapes")
    ap.add_argument("deferproc")
    ap.add_argument("--go")
    ap.add_argument("--cxx")
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("instructions.py: valgrind is not installed (make deps)")
    c, dp = Program(a.shapes), Program(a.deferproc)
    go = Program(a.go, "main.run", N_GO) if a.go else None
    cxx = Program(a.cxx) if a.cxx else None
    tc, tgo = times(a.shapes), times(a.go) if go else {}
    tcxx = times(a.cxx) if cxx else {}

    def t(table, shape, twin=True):
        if shape not in table:
            return "-"
        ns, ratio = table[shape]
        return "%.1f ns (%.2fx direct)" % (ns, ratio) if twin else "%.0f ns" % ns

    unmet = []
    print("| shape | libdefer Ir (open-coded) | through `deferproc` | Go 1.19 Ir | direct call Ir"
          " | goal (Ir) | libdefer time | Go time |")
    print("|---|---|---|---|---|---|---|---|")
    for shape, what, goal, tshape in ROWS:
        own, via = c.shape(shape), dp.shape(shape)
        ok = goal is None or own <= goal
        if not ok:
            unmet.append(what)
        if own > via:
            unmet.append(what + ": worse open-coded than through deferproc")
        print("| %s | **%s** | %s | %s | %s | %s | %s | %s |" % (
            what, fmt_ir(own), fmt_ir(via), fmt_ir(go.shape(shape)) if go else "-",
            fmt_ir(c.shape(shape + ".direct")),
            "-" if goal is None else "<= %d %s" % (goal, "met" if ok else "**not met**"),
            t(tc, tshape), t(tgo, tshape)))
    def judged(what, ok):
        if not ok:
            unmet.append(what)
        return "met" if ok else "**not met**"

    # Recoveries: libdefer's two ways, against Go's one and C's and C++'s.
    # Without Go in the run, the unwinding row is judged by the issue's
    # figure for Go 1.19 (2,255).
    rp, ru, ru10 = c["recover_point"], c["recover_unwind"], c["recover_unwind10"]
    goru = go["recover_unwind"] if go else 2255
    print("| panic + recover, 1 frame, with `defer_result` | **%s** | | %s | setjmp/longjmp %s"
          " | <= 500 %s | %s | %s |" % (
              fmt_ir(rp), fmt_ir(go["recover_point"]) if go else "-",
              fmt_ir(c["recover_point.direct"]),
              judged("panic + recover with `defer_result`", rp <= 500),
              t(tc, "recover_point", False), t(tgo, "recover_point", False)))
    print("| the same without `defer_result` (unwinding); through 10 frames | **%s**; %s | | %s; %s"
          " | C++ throw/catch %s; %s | <= Go's %s | %s; %s | %s; %s |" % (
              fmt_ir(ru), fmt_ir(ru10),
              fmt_ir(go["recover_unwind"]) if go else "-",
              fmt_ir(go["recover_unwind10"]) if go else "-",
              fmt_ir(cxx["throw_catch"]) if cxx else "-",
              fmt_ir(cxx["throw_catch10"]) if cxx else "-",
              judged("panic + recover without `defer_result`", ru <= goru),
              t(tc, "recover_unwind", False), t(tc, "recover_unwind10", False),
              t(tgo, "recover_unwind", False), t(tgo, "recover_unwind10", False)))
    size = subprocess.run([a.shapes, "size"], check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()
    gosize = subprocess.run([a.go, "size"], check=True, stdout=subprocess.PIPE,
                            text=True).stdout.strip() if go else "-"
    print("| bytes per pending call | %s B | | %s B | | <= 96 %s | | |" % (
        size, gosize, judged("bytes per pending call", int(size) <= 96)))
    if tcxx:
        print("\nC++ throw/catch time: 1 frame %s, 10 frames %s." % (
            t(tcxx, "throw_catch", False), t(tcxx, "throw_catch10", False)))
    print("\nIr: callgrind, instructions per operation ((2N - N runs) / N, N = %d, Go %d),"
          " counted from the benchmark loop (indirect call included) down; the defer-shape goals"
          " are judged by them.  Times: medians on this"
          " machine, the ratio to the shape's direct twin measured back to back." % (N, N_GO))
    if unmet:
        print("Goals not met: " + "; ".join(unmet) + ".")


if __name__ == "__main__":
    main()
