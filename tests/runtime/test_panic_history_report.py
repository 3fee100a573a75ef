# SPDX-License-Identifier: MIT
"""The crash report's panic-history line (issue 17 point 3): how many
panics the dying thread recovered before, and with DEFER_TRACEBACK=all the
ones its ring still holds, newest first."""
import re
from pathlib import Path

from conftest import compile_program, run

SRC = Path(__file__).parents[1] / "gdb" / "scenarios" / "history.c"


def crash(*args, env=None):
    r = run(compile_program(SRC), *args, "crash", env=env)
    assert r.returncode == 2, r.stderr
    return r.stderr


def test_report_ends_with_how_many_panics_the_thread_recovered():
    err = crash("7", "2")
    assert err.rstrip("\n").splitlines()[-1] == "this thread recovered 7 panics before", err


def test_report_counts_only_the_dying_threads_recoveries():
    err = crash("1", "3")
    assert err.rstrip("\n").splitlines()[-1] == "this thread recovered 1 panic before", err


def test_report_without_recoveries_has_no_history_line():
    assert "recovered" not in crash("0", "0")


def test_traceback_all_lists_the_recovered_panics_newest_first():
    err = crash("20", "0", env={"DEFER_TRACEBACK": "all"})
    tail = err[err.index("this thread recovered 20 panics before, newest first:"):]
    seqs = [int(n) for n in re.findall(r"^recovered panic (\d+), \d+\.\d{6}s ago: main "
                                       r"failure \1\n\traised in fail\(\.\.\.\)\n\t/\S+\.c:\d+ "
                                       r"\+0x[0-9a-f]+\n\trecovered by catcher, deferred by "
                                       r"attempt at /\S+\.c:\d+\n", tail, re.M)]
    assert seqs == list(range(20, 4, -1)), tail
