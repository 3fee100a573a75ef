# SPDX-License-Identifier: MIT
"""The panic history (issue 17 point 3): each thread's last recovered
panics, kept by the runtime on the recovery path and shown by
`info panics -history` and `-defer-list-panics --history` from a live
process, a core and a gdbserver target.  scenarios/history.c: main
recovers N panics "main failure I", worker k recovers k panics."""
import re

import pytest

from gdbtest import SCEN, compile_program, gdb, gdbserver, section
from test_mi_commands import mi, parse  # noqa: F401 (mi is a fixture)

HIST_C = SCEN / "history.c"
SRC = HIST_C.read_text().splitlines()
RING = 16   # DEFER_HISTORY's default


def line_of(mark):
    return next(i for i, line in enumerate(SRC, 1) if "/* @%s */" % mark in line)


def history_prog(link="static"):
    return compile_program(HIST_C, link=link)


def recovered(out):
    """[(seq, message)] of an `info panics -history` listing, in order."""
    return [(int(n), m) for n, m in re.findall(r'^  recovered (\d+): "([^"]*)"', out, re.M)]


def main_section(out):
    """The listing of the thread that ran main (thread 1)."""
    return section(out, 1)


def check_main(out, n):
    want = [(i, "main failure %d" % i) for i in range(n, max(n - RING, 0), -1)]
    sec = main_section(out)
    assert recovered(sec) == want, out
    assert re.search(r"^  %d panics? recovered" % n, sec, re.M), out
    # Where it was raised and which deferred call recovered it, and where.
    assert re.search(r"raised in fail at \S+\.c:%d\n\s+recovered by catcher \(deferred by "
                     r"attempt at \S+\.c:%d\)" % (line_of("raise"), line_of("defer")), sec), out
    assert re.search(r'"main failure %d" value=0x[0-9a-f]+ <values\+%d>' % (n, 4 * n), sec), out


@pytest.mark.parametrize("link", ["static", "shared"])
def test_live_process_lists_recovered_panics_newest_first(link):
    out = gdb("break checkpoint", "run", "info panics -history", exe=history_prog(link),
              args=[3])
    check_main(out, 3)


def test_ring_keeps_the_last_sixteen_after_more_recoveries():
    out = gdb("break checkpoint", "run", "info panics -history", exe=history_prog(), args=[40])
    check_main(out, 40)
    assert "40 panics recovered; the last 16, newest first:" in out


def test_threads_keep_separate_histories():
    out = gdb("break checkpoint", "run", "info panics -history all", exe=history_prog(),
              args=[2, 3])
    check_main(out, 2)
    workers = {}
    for n in re.findall(r"^Thread (\d+) \(", out, re.M):
        msgs = recovered(section(out, n))
        if n != "1" and msgs:
            workers[msgs[0][1].split(" failure")[0]] = msgs
    assert workers == {
        "worker %d" % k: [(j, "worker %d failure %d" % (k, j)) for j in range(k, 0, -1)]
        for k in (1, 2, 3)}, out


def test_thread_without_recoveries_says_so():
    out = gdb("break checkpoint", "run", "info panics -history", exe=history_prog(), args=[0])
    assert "No recovered panic." in out, out


def test_core_keeps_the_history(tmp_path):
    exe = history_prog()
    core = tmp_path / "history.core"
    gdb("break checkpoint", "run", "gcore %s" % core, exe=exe, args=[20, 2])
    out = gdb("info panics -history all", exe=exe, core=core)
    check_main(out, 20)
    assert sum(1 for n in re.findall(r"^Thread (\d+) \(", out, re.M)
               if recovered(section(out, n))) == 3, out


def test_core_of_a_crash_after_recoveries(tmp_path):
    exe = history_prog()
    core = tmp_path / "crash.core"
    gdb("run", "generate-core-file %s" % core, exe=exe, args=[5, 0, "crash"],
        pre=["set defer stop-on-fatal-panic off"], env={"DEFER_TRACEBACK": "crash"})
    out = gdb("info panics -history", exe=exe, core=core)
    check_main(out, 5)


def test_gdbserver_target_shows_the_history():
    exe = history_prog()
    with gdbserver(exe, 17, 1) as target:
        out = gdb("target remote %s" % target, "break checkpoint", "continue",
                  "info panics -history 1", "kill", exe=exe)
    check_main(out, 17)


def test_mi_lists_the_history(mi):  # noqa: F811 (the fixture)
    m = mi(history_prog(), 18)
    m.cmd("-break-insert checkpoint")
    m.run_to_stop("-exec-run")
    r = parse(m.cmd("-defer-list-panics --history"))
    assert r["recovered"] == "18"
    hist = r["history"]
    assert [h["seq"] for h in hist] == [str(i) for i in range(18, 2, -1)]
    h = hist[0]
    assert h["message"] == "main failure 18" and h["recovered-by"] == "catcher"
    assert h["raised"]["func"] == "fail" and h["raised"]["line"] == str(line_of("raise"))
    assert h["deferred"]["func"] == "attempt" and h["deferred"]["line"] == str(line_of("defer"))
    assert re.match(r"0x[0-9a-f]+$", h["value"])
    # Monotonic: each newer record recovered no earlier.
    times = [int(x["time-ns"]) for x in hist]
    assert times == sorted(times, reverse=True) and times[-1] > 0


def test_unknown_option_is_one_line():
    out = gdb("break checkpoint", "run", "info panics -histroy", exe=history_prog(), args=[1])
    assert "Unknown option -histroy (usage: info panics [-history]" in out
