# SPDX-License-Identifier: MIT
"""catch panic / recover / deferreturn, and the stop before an unrecovered
panic kills the process (batch gdb, as CPython's test_gdb does)."""
import re
import subprocess

import pytest

from gdbtest import compile_program, gdb, step_line, step_prog


def test_catch_panic_stops_once_per_panic_with_one_line():
    out = gdb("catch panic", "run", "bt 2", "continue", "continue",
              exe=step_prog(), args=["nested"])
    assert "Catchpoint 1 (panic)\n" in out
    hits = re.findall(r"^Catchpoint 1 \(panic\), (.*)$", out, re.M)
    assert hits == ['"first panic" raised in inner_panics at %s:%d' % (
        _src(out), step_line("inner_panics line")),
        '"second panic 2" raised in panic_again at %s:%d' % (
        _src(out), step_line("panic_again line"))], out
    # gdb's own "Breakpoint 1, gopanic (...)" is not printed.
    assert "Breakpoint 1," not in out
    assert "#0  gopanic" in out and "status 500" in out


def _src(out):
    return re.search(r"raised in \w+ at (\S+):\d+", out).group(1)


def test_catch_panic_regex_filters_on_the_message():
    out = gdb("catch panic ^second", "run", "continue", exe=step_prog(), args=["nested"])
    assert "Catchpoint 1 (panic matching '^second')" in out
    hits = re.findall(r"^Catchpoint 1 \(panic\), (.*)$", out, re.M)
    assert len(hits) == 1 and hits[0].startswith('"second panic 2"'), out


def test_catch_panic_invalid_regex_is_one_line():
    out = gdb("catch panic (unclosed", exe=step_prog())
    assert re.search(r"^catch panic: invalid regular expression '\(unclosed': ", out, re.M), out
    assert "Num" not in gdb("catch panic (x", "info breakpoints", exe=step_prog())


def test_catch_recover_names_the_call_and_the_panic():
    out = gdb("catch recover", "run", "bt 1", exe=step_prog(), args=["panic"])
    assert re.search(r'^Catchpoint 1 \(recover\), recover_it recovered panic "bottom failed: '
                     r'42" \(raised in bottom at \S+:%d\)$' % step_line("bottom panic line"),
                     out, re.M), out
    assert "#0  gorecover" in out


OPEN_CODED = r"""
#include <defer.h>
volatile int sink;
__attribute__((noinline)) void use(int id) { sink += id; }
__attribute__((noinline)) void twice(int id)
{
	defer_frame;
	defer(use, id);                              /* the defer line */
	defer(use, 10 * id);
}
__attribute__((noinline)) void half(double x) { sink += (int)(2 * x); }
__attribute__((noinline)) void pick(int c)
{
	defer_frame;
	if (c)
		defer(use, c);                       /* the if arm */
	else
		defer(half, 1.5);                    /* the else arm */
}
int main(void)
{
	twice(1);   /* the thread has no g yet: deferproc's slow path makes it */
	twice(2);   /* now the first defer is open-coded */
	pick(3);
	pick(0);
	return 0;
}
"""


def _line(text):
    return next(n for n, t in enumerate(OPEN_CODED.splitlines(), 1) if text in t)


@pytest.mark.parametrize("cc,opt", [("gcc", "-O0"), ("gcc", "-O2"), ("clang", "-O2")])
def test_catch_defer_sees_open_coded_defers_that_skip_deferproc(cc, opt):
    exe = compile_program(OPEN_CODED, cc=cc, opt=opt, name="opencoded")
    out = gdb("catch defer", "break deferproc", "run", *["continue"] * 9, exe=exe)
    events = re.findall(r"^(?:Breakpoint 2, .*deferproc|Catchpoint 1 \(defer\), (.*))", out, re.M)
    events = [e or "deferproc" for e in events]
    at = r" in (?:twice|pick) at \S+\.c:(\d+)$"
    # twice(1): the first defer enters deferproc (twice: the slow path
    # re-enters it once the g exists, and fills the pool); the second, and
    # every later one, is open-coded: the first into the mark's record, the
    # second from the pool; nor do pick()'s enter deferproc.
    assert [re.sub(at, "", e) for e in events] == [
        "deferproc", "deferproc", "deferred use(id=1)", "deferred use(id=10)",
        "deferred use(id=2)", "deferred use(id=20)",
        "deferred use(id=3)", "deferred half(x=1.5)"], out
    # Each at its own line: the optimiser may not merge the two arms'
    # open code into one probe and one pc.
    line = _line("the defer line")
    lines = [int(m) for m in re.findall(r"^Catchpoint 1 \(defer\), .*" + at, out, re.M)]
    assert lines == [line, line + 1, line, line + 1, _line("the if arm"),
                     _line("the else arm")], out


def test_catch_deferreturn_lists_the_calls_about_to_run():
    out = gdb("catch deferreturn", "run", exe=step_prog(), args=["normal"])
    m = re.search(r"^Catchpoint 1 \(deferreturn\), leaving normal at \S+:(\d+): runs "
                  r"third_call\(id=7\), then second_call\(id=7\), then first_call\(id=7\)$",
                  out, re.M)
    assert m, out


def test_catch_deferreturn_does_not_stop_for_frames_a_panic_emptied():
    # In `panic` every call is run by the panic: no scope exit has any to run.
    out = gdb("catch deferreturn", "run", exe=step_prog(), args=["panic"])
    assert "Catchpoint 1 (deferreturn)," not in out and "status 500" in out, out


def test_catchpoints_are_listed_disabled_and_deleted_like_breakpoints():
    out = gdb("catch panic", "catch recover", "catch deferreturn", "info breakpoints",
              "disable 1", "delete 2", "info breakpoints", "run",
              exe=step_prog(), args=["panic"])
    first, second = out.split("Num ")[1:3]
    assert re.search(r"^1\s+breakpoint\s+keep y .*libdefer:panic", first, re.M), out
    assert re.search(r"^2\s+breakpoint\s+keep y .*libdefer:recover", first, re.M), out
    assert re.search(r"^3\s+breakpoint\s+keep y .*deferreturn", first, re.M), out
    assert re.search(r"^1\s+breakpoint\s+keep n", second, re.M), out
    assert not re.search(r"^2\s+breakpoint", second, re.M), out
    # 1 disabled, 2 deleted, 3 never has calls to run here: the program ends.
    assert "Catchpoint" not in second and "status 500" in second, out


def test_break_gopanic_and_deferreturn_stay_plain_breakpoints():
    out = gdb("catch panic", "break gopanic", "run", "continue",
              exe=step_prog(), args=["fatal"])
    assert re.search(r"^Breakpoint 2, (0x[0-9a-f]+ in )?gopanic \(", out, re.M), out
    assert re.search(r'^Catchpoint 1 \(panic\), "nobody recovers this"', out, re.M), out
    out = gdb("catch deferreturn", "break deferreturn", "run", "continue",
              exe=step_prog(), args=["normal"])
    assert re.search(r"^Breakpoint 2, (0x[0-9a-f]+ in )?deferreturn \(", out, re.M), out
    assert re.search(r"^Catchpoint 1 \(deferreturn\), leaving normal", out, re.M), out


def test_catchpoint_set_before_the_shared_library_loads_is_pending():
    exe = step_prog(link="shared")
    out = gdb("catch panic", "catch recover", "info breakpoints", "run",
              exe=exe, args=["panic"])
    assert "Catchpoint 1 (panic) pending: set when libdefer is loaded." in out, out
    assert re.search(r"^1\s+breakpoint\s+keep y\s+<PENDING>\s+-probe-stap libdefer:panic", out,
                     re.M), out
    assert 'Catchpoint 1 (panic), "bottom failed: 42"' in out, out


def test_catchpoints_survive_rerun_and_exec():
    out = gdb("catch deferreturn", "run", "kill", "run", exe=step_prog(), args=["normal"])
    assert len(re.findall(r"^Catchpoint 1 \(deferreturn\), leaving normal", out, re.M)) == 2, out
    out = gdb("catch deferreturn", "run", exe=step_prog(), args=["exec"])
    assert "is executing new program" in out
    assert re.search(r"^Catchpoint 1 \(deferreturn\), leaving normal", out, re.M), out


def test_without_probes_the_function_fallback_is_used(tmp_path):
    exe = tmp_path / "noprobes"
    subprocess.run(["objcopy", "--remove-section", ".note.stapsdt", str(step_prog()), str(exe)],
                   check=True)
    out = gdb("info probes stap libdefer", "catch panic", "catch recover", "run", "continue",
              exe=exe, args=["panic"])
    assert "No probes matched" in out, out
    assert re.search(r'^Catchpoint 1 \(panic\), panic with format "bottom failed: %d" in '
                     r'bottom at \S+:\d+ \(no SDT probes: message not formatted yet\)$', out, re.M), out
    assert re.search(r"^Catchpoint 2 \(recover\), recover\(\) called in recover_it", out, re.M), out


# ---------------------------------------------------------------------------
# The unrecovered-panic stop.

def test_unrecovered_panic_stops_before_exit_and_shows_the_chain():
    out = gdb("run", "bt 1", "continue", exe=step_prog(), args=["fatal"])
    head = out.index("Unrecovered panic in thread 1")
    assert re.search(r'^  panic 1: "nobody recovers this"  \[running\]\n\s+raised in fatal at '
                     r'\S+:%d' % step_line("fatal panic line"), out[head:], re.M), out
    # Stopped before the report and the exit: bt runs in gopanic, then the
    # runtime prints and exits with status 2.
    assert out.index("#0  ") > head and out.index("#0  ") < out.index("panic: nobody recovers")
    assert "exited with code 02" in out


def test_stop_on_fatal_panic_off_lets_the_process_exit():
    out = gdb("set defer stop-on-fatal-panic off", "show defer stop-on-fatal-panic", "run",
              exe=step_prog(), args=["fatal"])
    assert "Stopping before an unrecovered panic exits the process is off." in out
    assert "Unrecovered panic" not in out and "exited with code 02" in out


def test_recovered_panics_do_not_trigger_the_fatal_stop():
    out = gdb("run", exe=step_prog(), args=["nested"])
    assert "Unrecovered panic" not in out and "status 500" in out


def test_fatal_stop_after_rerun_and_in_a_shared_build():
    out = gdb("run", "kill", "run", exe=step_prog(link="shared"), args=["fatal"])
    assert out.count("Unrecovered panic in thread 1") == 2, out


# What `info breakpoints` would list, counted without its wording (which
# differs between gdb versions).
_USER_BREAKPOINTS = ("python print('user breakpoints: %d' % "
                     "sum(1 for b in gdb.breakpoints() if b.visible))")


def test_fatal_stop_not_listed_as_a_user_breakpoint():
    out = gdb("run", _USER_BREAKPOINTS, exe=step_prog(), args=["fatal"])
    assert "user breakpoints: 0" in out, out


@pytest.mark.parametrize("cmd", ["catch panic", "catch recover", "catch deferreturn",
                                 "set defer stop-on-fatal-panic",
                                 "set defer step-normal-exits",
                                 "set defer step-scheduler-locking"])
def test_help_has_an_example(cmd):
    out = gdb("help %s" % cmd)
    assert "Example" in out, out


def test_ignore_counts_and_commands_work_on_catchpoints(tmp_path):
    script = tmp_path / "cmds.gdb"
    script.write_text("catch panic\ncommands 1\nbt 1\nend\nignore 1 1\nrun\n")
    out = gdb("source %s" % script, exe=step_prog(), args=["nested"])
    hits = re.findall(r"^Catchpoint 1 \(panic\), (.*)$", out, re.M)
    assert len(hits) == 1 and hits[0].startswith('"second panic 2"'), out
    assert re.search(r"^#0  gopanic ", out, re.M), out


@pytest.mark.parametrize("link", ["shared", "static"])
def test_auto_loaded_extension_leaves_the_stop_intact(link):
    """Installed while gdb loads an objfile (auto-load): nothing done there may
    make gdb believe the thread is still running."""
    exe = step_prog(link=link)
    out = gdb("break here", "run", "info threads", "defer step", exe=exe, args=["normal"],
              load="autoload")
    if 'Undefined command: "defer"' in out:
        pytest.skip("the extension was not auto-loaded (no .debug_gdb_scripts entry)")
    assert "(running)" not in out, out
    assert re.search(r"^\* 1 .* here \(why=", out, re.M), out
    assert "defer step: here returned" in out, out


def test_set_before_any_program_is_loaded():
    exe = step_prog()
    out = gdb("catch panic", "file %s" % exe, "run panic", exe=None)
    assert "Catchpoint 1 (panic) pending: set when libdefer is loaded." in out, out
    assert 'Catchpoint 1 (panic), "bottom failed: 42"' in out, out
    out = gdb("file %s" % exe, "run fatal", exe=None)
    assert "Unrecovered panic in thread 1" in out, out


def test_fatal_stop_after_exec():
    out = gdb("run", exe=step_prog(), args=["exec", "fatal"])
    assert "is executing new program" in out and "Unrecovered panic in thread 1" in out, out


def test_catch_recover_and_deferreturn_take_no_argument():
    out = gdb("catch recover now", "catch deferreturn x", _USER_BREAKPOINTS, exe=step_prog())
    assert "catch recover takes no argument (got 'now')." in out
    assert "catch deferreturn takes no argument (got 'x')." in out
    assert "user breakpoints: 0" in out, out


def test_catch_panic_in_a_program_without_libdefer_stays_pending():
    from gdbtest import plain_program
    out = gdb("catch panic", "run", exe=plain_program())
    assert "Catchpoint 1 (panic) pending: set when libdefer is loaded." in out
    assert "exited normally" in out


def test_fatal_stop_after_attach():
    exe = step_prog()
    p = subprocess.Popen([str(exe), "sleepfatal"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().startswith("ready")
        out = gdb("attach %d" % p.pid, "continue", "info panics", load="source")
        assert "Unrecovered panic in thread 1" in out, out
        assert 'panic 1: "nobody recovers this"  [running]' in out, out
    finally:
        p.kill()
        p.wait()
