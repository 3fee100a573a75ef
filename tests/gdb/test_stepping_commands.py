# SPDX-License-Identifier: MIT
"""The stepping table of docs/gdb-stepping.md, cell by cell: what gdb's
step, next and finish do at a scope exit with pending deferred calls and at
a panic(...) line, and what defer step does in the same places."""
import re

import pytest

from gdbtest import gdb, step_line, step_prog

DEFERRED = ("third_call (", "second_call (", "first_call (")


def at_scope_exit(*cmds, opt="-O0"):
    """Stop on the last statement of normal(), `next` onto its exit (the
    cleanup that calls deferreturn), then run cmds."""
    return gdb("break %d" % step_line('here("normal");'), "run", "next", *cmds,
               exe=step_prog(opt=opt), args=["normal"])


def at_panic_line(*cmds, opt="-O0"):
    return gdb("break %d" % step_line("bottom panic line"), "run", *cmds,
               exe=step_prog(opt=opt), args=["panic"])


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_step_at_scope_exit_steps_over_the_runtime_and_its_calls(opt):
    # With the extension, defer.S (which has line information) is skipped:
    # step steps over deferreturn, calls and all, to the caller.
    out = at_scope_exit(*["step"] * 8, opt=opt)
    assert "defer.S" not in out, out
    assert not any(d in out for d in DEFERRED), out
    assert re.search(r"^main \(", out, re.M), out


def test_without_the_extension_step_enters_deferreturn_in_the_runtimes_assembly():
    # What the skip undoes: defer.S has line information (-g), so plain gdb's
    # step enters deferreturn, one instruction line at a time.
    out = gdb("break %d" % step_line('here("normal");'), "run", "next", *["step"] * 5,
              exe=step_prog(opt="-O0"), args=["normal"], load=None)
    assert re.search(r"^deferreturn \(\) at \S*libdefer/src/x86_64/defer\.S:\d+$", out, re.M), out
    assert not any(d in out for d in DEFERRED), out


def test_the_runtime_assembly_skip_is_listed_and_can_be_deleted():
    out = gdb("info skip")
    assert re.search(r"libdefer/src/\*/defer\.S", out), out
    out = at_scope_exit("skip delete", *["step"] * 5)
    assert "defer.S" in out, out


def test_next_at_scope_exit_runs_the_calls_and_stops_in_the_caller():
    out = at_scope_exit("next", "next")
    assert not any(d in out for d in DEFERRED), out
    assert re.search(r"^main \(.*\n%d\t" % step_line('here("after normal")'), out, re.M), out


def test_finish_at_scope_exit_runs_the_calls_and_returns():
    out = at_scope_exit("finish")
    assert not any(d in out for d in DEFERRED), out
    assert re.search(r"^main \(.*\n%d\t" % step_line('here("after normal")'), out, re.M), out


def test_defer_step_at_scope_exit_enters_the_newest_call():
    out = at_scope_exit("defer step")
    assert re.search(r"^third_call \(id=7\) at \S+:%d$" % step_line("third_call body"), out, re.M)


def test_defer_step_with_normal_exits_off_is_delves_next():
    out = at_scope_exit("set defer step-normal-exits off", "defer step")
    assert not any(d in out for d in DEFERRED) and "defer step: normal returned" in out, out


def test_step_at_a_panic_line_enters_the_runtime():
    out = at_panic_line("step")
    assert re.search(r"^gopanic \(.*\) at \S*libdefer/src/panic\.c:\d+$", out, re.M), out


@pytest.mark.parametrize("cmd", ["next", "finish"])
def test_next_and_finish_at_a_panic_line_lose_control(cmd):
    # The recovery jumps past gdb's step-resume breakpoint: the program runs
    # on to its end without stopping in any deferred call.
    out = at_panic_line(cmd)
    assert "status 500" in out and "exited normally" in out, out
    assert "seen_bottom (" not in out


def test_defer_step_at_a_panic_line_stops_in_the_first_call_the_panic_runs():
    out = at_panic_line("defer step")
    assert re.search(r"^seen_bottom \(n=1\) at \S+:%d$" % step_line("seen_bottom body"), out, re.M)
    assert "exited" not in out
