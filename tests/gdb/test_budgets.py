# SPDX-License-Identifier: MIT
"""Every walk of the extension honours one budget (`set defer max-entries`,
records read per command, all threads together), reaching it says so, and
hostile numbers of records cost bounded time and memory.

The bounds asserted are generous (a loaded 2-core machine); the figures
measured on an idle one are in docs/gdb.md, "Hostile programs"."""
import re

import pytest

from gdbtest import SCEN, compile_program, defers_of, gdb, scen

FLOOD = SCEN / "flood.c"


def _measured(tmp_path, *cmds, exe, args):
    """gdb's output, wall seconds and peak resident memory (MB)."""
    stats = tmp_path / "time.txt"
    out = gdb(*cmds, exe=exe, args=args, timeout=600,
              wrapper=["/usr/bin/time", "-f", "%e %M", "-o", str(stats)])
    secs, kb = stats.read_text().split()[-2:]
    return out, float(secs), int(kb) / 1024


def test_every_view_honours_max_entries():
    out = gdb("break checkpoint", "run", "set defer max-entries 5",
              "info defers", "print $_defer_count()", "print *allgs", "bt",
              "interpreter-exec mi \"-defer-list-defers\"",
              "python from libdefer_gdb import tui; print('\\n'.join(tui._lines()))",
              exe=scen(), args=["many", "20"])
    assert len(defers_of(out)) == 5 * 2, out         # info defers and the TUI's lines
    assert out.count("stopped after 5 records: set defer max-entries (now 5)") >= 3, out
    assert re.search(r"^\$1 = 5$", out, re.M), out
    assert "5+ deferred calls pending" in out, out
    assert len(re.findall(r"^    defer \d+: step_many", out, re.M)) == 5, out
    assert out.count('function="step_many"') == 5 and 'truncated="1"' in out, out


def test_max_entries_zero_says_stopped_not_empty():
    out = gdb("break checkpoint", "run", "set defer max-entries 0", "info defers",
              exe=scen(), args=["many", "5"])
    assert "No deferred calls pending" not in out, out
    assert "stopped after 0 records" in out, out


def test_budget_is_shared_by_all_threads_of_one_command():
    """65,536 thread records sharing one 4,097-panic cycle and a 1,000-call
    chain: the cost is that of max-entries records, not 65,536 times it."""
    exe = compile_program(FLOOD)
    out = gdb("break checkpoint", "run", "set defer max-entries 3000", "info defers all",
              exe=exe, args=["60000", "4097", "1000"])
    assert "thread records not listed: set defer max-entries (now 3000)" in out, out
    assert out.count("Thread record of LWP") <= 4, out


@pytest.mark.parametrize("what", ["info defers all", "info panics all", "print *allgs"])
def test_a_flood_of_thread_records_costs_bounded_time_and_memory(tmp_path, what):
    exe = compile_program(FLOOD)
    out, secs, mb = _measured(tmp_path, "break checkpoint", "run", what,
                              exe=exe, args=["70000", "4097", "100000"])
    assert secs < 120 and mb < 600, (secs, mb, out[-2000:])
    if what == "info defers all":
        assert "more than 65536 thread records: stopped" in out, out[-3000:]
        assert "wild pointer" not in out, out[-3000:]


def test_a_panic_cycle_is_called_a_cycle():
    out = gdb("break checkpoint", "run", "set var allgs->_panic = &((struct _panic *)"
              "malloc(sizeof(struct _panic)))[0]", "set var allgs->_panic->link = allgs->_panic",
              "info panics", exe=scen(), args=["many", "2"])
    assert "cycle" in out and "wild pointer" not in out, out


def test_running_out_of_memory_is_one_line_in_every_entry_point():
    """Fault injection: a walk that raises MemoryError (as under ulimit -v
    with max-entries unlimited) gives gdb's one-line error, no traceback."""
    out = gdb("break checkpoint", "run",
              "python import libdefer_gdb.snapshot as r\n"
              "def oom(*a, **k): raise MemoryError()\n"
              "r.Snapshot.defer_batches = oom",
              "info defers", "print $_defer_count()", 'interpreter-exec mi "-defer-list-defers"',
              "print *allgs", exe=scen(), args=["many", "5"])
    assert out.count("out of memory while reading the records") >= 4, out
    assert "MemoryError" not in out, out


def test_a_budget_never_makes_a_running_call_look_freed():
    from gdbtest import step_prog
    step = step_prog()
    out = gdb("break seen_bottom", "run", "set defer max-entries 1", "info panics",
              exe=step, args=["panic"])
    assert "that record is freed" not in out, out
    assert "running a deferred call past the records read" in out, out
