# SPDX-License-Identifier: MIT
"""defer step, driven interactively (pexpect) as a user would type it."""
import re

import pytest

from gdbtest import Prompt, gdb, step_line, step_prog, stop_line


@pytest.fixture
def session(request):
    opened = []

    def start(*args, **kw):
        s = Prompt(*args, **kw)
        opened.append(s)
        return s
    yield start
    for s in opened:
        s.close()


def test_normal_return_enters_each_of_three_deferred_calls_newest_first(session):
    s = session(step_prog(), "normal")
    s.cmd("break here")
    s.cmd("run")
    out = s.cmd("defer step")
    # here() returns first: defer step stops where finish would.
    assert "here returned" in out and stop_line(out)[0] == "normal", out
    seen = []
    for _ in range(3):
        out = s.cmd("defer step")
        assert "run by the scope's exit" in out, out
        seen.append(stop_line(out))
    assert seen == [("third_call", step_line("third_call body")),
                    ("second_call", step_line("second_call body")),
                    ("first_call", step_line("first_call body"))], s.log
    out = s.cmd("defer step")
    assert "normal returned" in out and stop_line(out)[0] == "main", out


def test_panic_seen_by_two_frames_recovered_by_the_third(session):
    s = session(step_prog(), "panic")
    s.cmd("catch panic")
    out = s.cmd("run")
    assert re.search(r'Catchpoint 1 \(panic\), "bottom failed: 42" raised in bottom at '
                     r'\S+:%d' % step_line("bottom panic line"), out), out
    expect = [("seen_bottom", step_line("seen_bottom body"), 'run by panic "bottom failed: 42"'),
              ("seen_middle", step_line("seen_middle body"), 'run by panic "bottom failed: 42"'),
              ("recover_it", step_line("recover_it recover"), 'run by panic "bottom failed: 42"'),
              ("recover_it", step_line("recover_it recover"), 'recovered panic "bottom failed: 42"'),
              ("top", step_line("top resume line"), "resumes here (defer_result)"),
              ("main", step_line("main top call"), "top returned")]
    for func, line, what in expect:
        out = s.cmd("defer step")
        assert what in out, s.log
        assert stop_line(out) == (func, line), s.log
    out = s.cmd("continue")
    assert "status 500" in out


@pytest.mark.parametrize("cc,opt,link", [("gcc", "-O2", "static"), ("clang", "-O0", "static"),
                                         ("clang", "-O2", "shared")])
def test_panic_walk_other_compilers_and_links(cc, opt, link):
    """The same walk (batch: one defer step per -ex)."""
    out = gdb("catch panic", "run", *["defer step"] * 5, exe=step_prog(cc, opt, link),
              args=["panic"])
    funcs = re.findall(r"^defer step: .*\n(?:0x[0-9a-f]+ in )?(\w+) \(", out, re.M)
    assert funcs == ["seen_bottom", "seen_middle", "recover_it", "recover_it", "top"], out


def test_nested_panic_walk(session):
    s = session(step_prog(), "nested")
    s.cmd("break inner_panics")
    s.cmd("run")
    out = s.cmd("defer step")      # inner_panics panics: its newest call runs
    assert 'run by panic "first panic"' in out and stop_line(out) == (
        "panic_again", step_line("panic_again line")), s.log
    out = s.cmd("defer step")      # panic_again panics again: the next call
    assert 'run by panic "second panic 2"' in out and stop_line(out)[0] == "seen_bottom", s.log
    out = s.cmd("defer step")
    assert 'run by panic "second panic 2"' in out and stop_line(out)[0] == "recover_it", s.log
    out = s.cmd("defer step")
    assert 'recovered panic "second panic 2"' in out, s.log
    out = s.cmd("info panics")
    assert "[recovered]" in out and "[aborted]" in out, out
    out = s.cmd("defer step")
    assert stop_line(out) == ("nested", step_line("nested resume line")), s.log
    assert "status 500" in s.cmd("continue")


def test_recovery_without_defer_result_resumes_in_the_caller(session):
    s = session(step_prog(), "plain")
    s.cmd("catch recover")
    out = s.cmd("run")
    assert 'Catchpoint 1 (recover), recover_it recovered panic "plain"' in out, out
    out = s.cmd("defer step")
    assert "resumes here (return of plain_owner)" in out, s.log
    # Right after the call: the rest of the call's line, or the next line.
    func, line = stop_line(out)
    assert func == "plain" and line - step_line("plain call line") in (0, 1), s.log


def test_two_threads_deferring_at_once_each_step_stays_on_its_thread(session):
    s = session(step_prog(), "threads")
    s.cmd("break here")
    out = s.cmd("run")
    m = re.search(r'Thread (\d+) "[^"]*" hit Breakpoint 1', out)
    assert m, out
    me = m.group(1)
    myid = re.search(r"thread_calls \(id=(\d)\)", s.cmd("bt")).group(1)
    s.cmd("delete")     # the other thread's here() must not interfere either
    s.cmd("defer step")     # here returns
    for func in ("third_call", "second_call", "first_call"):
        out = s.cmd("defer step")
        assert stop_line(out)[0] == func, s.log
        assert re.search(r"\(id=%s\)" % myid, out), s.log
        cur = re.search(r"^\* (\d+) ", s.cmd("info threads"), re.M).group(1)
        assert cur == me, s.log


def test_step_normal_exits_off_skips_calls_of_a_normal_exit(session):
    s = session(step_prog(), "normal")
    s.cmd("break normal")
    s.cmd("run")
    s.cmd("set defer step-normal-exits off")
    out = s.cmd("defer step")
    assert "normal returned" in out and stop_line(out)[0] == "main", s.log
    assert "entering" not in out


def test_step_normal_exits_off_still_stops_in_calls_a_panic_runs(session):
    s = session(step_prog(), "panic")
    s.cmd("set defer step-normal-exits off")
    s.cmd("break bottom")
    s.cmd("run")
    out = s.cmd("defer step")
    assert stop_line(out)[0] == "seen_bottom", s.log


def test_no_process_is_one_line():
    out = gdb("defer step", exe=step_prog(), args=["normal"])
    assert "defer step: the program is not being run." in out


def test_thread_that_never_deferred_says_so_and_stops_where_finish_would():
    out = gdb("break here", "run", "defer step", exe=step_prog(), args=["never"])
    assert re.search(r"^defer step: thread 1 has never deferred a call; stopping where "
                     r"finish would unless it defers or panics first\.$", out, re.M), out
    assert "defer step: here returned" in out and stop_line(out)[0] == "main", out


def test_program_without_libdefer_is_one_line():
    from gdbtest import plain_program
    out = gdb("break stop", "run", "defer step", exe=plain_program())
    assert re.search(r"^defer step: This program does not use libdefer", out, re.M), out


def test_core_file_is_one_line(tmp_path):
    exe = step_prog()
    core = tmp_path / "core"
    gdb("break here", "run", "gcore %s" % core, "kill", exe=exe, args=["normal"])
    out = gdb("defer step", exe=exe, core=core)
    assert "defer step: this is a core file: there is no process to run." in out, out


def test_argument_is_rejected():
    out = gdb("break here", "run", "defer step now", exe=step_prog(), args=["normal"])
    assert "defer step takes no argument (got 'now')." in out


def test_still_works_after_rerun_and_kill(session):
    s = session(step_prog(), "normal")
    s.cmd("break third_call")
    s.cmd("run")
    s.cmd("kill")
    s.cmd("run")
    out = s.cmd("defer step")
    assert stop_line(out)[0] == "second_call", s.log


def test_after_exec(session):
    s = session(step_prog(), "exec")
    s.cmd("break normal")
    out = s.cmd("run")
    assert "process" in out and "is executing new program" in out, out
    s.cmd("break here")
    s.cmd("continue")
    s.cmd("defer step")
    out = s.cmd("defer step")
    assert stop_line(out)[0] == "third_call", s.log


def test_help_has_an_example():
    out = gdb("help defer step")
    assert "Example" in out and "defer step" in out


def test_at_the_unrecovered_panic_stop_it_refuses_in_one_line(session):
    s = session(step_prog(), "fatal")
    s.cmd("break fatal")
    s.cmd("run")
    out = s.cmd("defer step")
    assert stop_line(out)[0] == "seen_bottom", s.log
    out = s.cmd("defer step")      # the panic runs out of calls: the fatal stop
    assert "Unrecovered panic in thread 1" in out, s.log
    out = s.cmd("defer step")
    assert out.strip() == ("defer step: this panic was not recovered: no deferred call is "
                           "left to run; continue lets the process exit."), s.log
    assert "exited with code 02" in s.cmd("continue")


def test_in_main_without_events_it_runs_to_the_end_like_finish_cannot(session):
    s = session(step_prog(), "never")
    s.cmd("break %d" % step_line('here("never")'))
    s.cmd("run")
    out = s.cmd("defer step")
    assert "exited normally" in out, s.log


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_normal_exit_walk_at_O2(cc):
    """At -O2 defer.h's __defer_frame_exit is inlined into the frame: neither
    the finish of here() nor the return of the last call (reached by a
    jump) may be lost or stop in it."""
    out = gdb("break here", "run", *["defer step"] * 5, exe=step_prog(cc, "-O2"),
              args=["normal"])
    funcs = re.findall(r"^defer step: .*\n(?:0x[0-9a-f]+ in )?(\w+) \(", out, re.M)
    assert funcs[:4] == ["normal", "third_call", "second_call", "first_call"], out
    assert funcs[4] in ("normal", "main") and "__defer_frame_exit" not in out, out
    assert out.count("Breakpoint 1, here") == 1, out


def test_non_stop_mode_is_refused_in_one_line():
    out = gdb("break here", "run", "defer step", pre=("set non-stop on",), exe=step_prog(),
              args=["normal"])
    assert "defer step: not available in non-stop mode (set non-stop off before starting " \
        "the program)." in out, out


def test_scheduler_locking_keeps_other_threads_breakpoints_out():
    # The other thread hits `third_call if id == 2` all the time; with
    # step-scheduler-locking on it does not run while thread 1's calls run.
    out = gdb("break here", "run", "break third_call if id == 2",
              "set defer step-scheduler-locking on", *["defer step"] * 4,
              exe=step_prog(), args=["race"])
    assert "hit Breakpoint 2" not in out, out
    calls = re.findall(r"^defer step: entering (\w+\(id=\d\))", out, re.M)
    assert calls == ["third_call(id=1)", "second_call(id=1)", "first_call(id=1)"], out
    out = gdb("show defer step-scheduler-locking")
    assert "Running only the stepped thread during defer step is off." in out
