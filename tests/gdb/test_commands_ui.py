# SPDX-License-Identifier: MIT
"""Help text, completion, parameters."""

import re

import pytest

from gdbtest import gdb, scen


@pytest.mark.parametrize("cmd", ["info defers", "info panics", "set defer backtrace",
                                 "set defer max-entries", "function _defer_count",
                                 "function _panicking", "function _panic_message",
                                 "function _panic_value"])
def test_help_has_an_example(cmd):
    out = gdb("help %s" % cmd)
    assert "Example" in out and len(out.strip().splitlines()) >= 3, out


def test_completion_of_options_and_thread_ids():
    out = gdb("break checkpoint", "run", "complete info defers ", "complete info defers -f",
              "complete info panics a", exe=scen(), args=["threads", "2", "1"])
    for word in ("-frame", "-full", "all", "1", "2", "3", "4"):
        assert "info defers %s" % word in out, out
    assert "info panics all" in out


def test_completing_a_dash_option_offers_what_the_command_accepts():
    """gdb's completion word starts after '-': candidates must not double it."""
    out = gdb("break checkpoint", "run", "complete info defers -", "complete info defers -fu",
              "complete info defers -frame ", exe=scen(), args=["threads", "2", "1"])
    lines = [ln for ln in out.splitlines() if ln.startswith("info defers")]
    assert lines == ["info defers -frame", "info defers -full", "info defers -full"], out


def test_completion_of_parameter_values():
    out = gdb("complete set defer backtrace o", "complete set defer max-entries u",
              "complete set defer ")
    assert "set defer backtrace on" in out and "set defer backtrace off" in out
    assert "set defer max-entries unlimited" in out
    assert "set defer backtrace" in out and "set defer max-entries" in out


def test_show_and_set_parameters():
    out = gdb("show defer backtrace", "show defer max-entries", "set defer max-entries unlimited",
              "show defer max-entries", "set defer backtrace off", "show defer")
    assert "Showing deferred calls in backtraces is on." in out
    assert "The maximum number of records one command reads is 100000." in out
    assert "The maximum number of records one command reads is unlimited." in out
    assert "Showing deferred calls in backtraces is off." in out
    # `show defer` names each parameter and words unlimited as show NAME does.
    assert "max-entries:  The maximum number of records one command reads is unlimited." in out
    assert "backtrace:  Showing deferred calls in backtraces is off." in out
    assert "-1" not in out


def test_set_and_show_defer_have_help_in_apropos():
    out = gdb("apropos libdefer gdb extension")
    assert re.search(r"^set defer -- \S", out, re.M), out
    assert re.search(r"^show defer -- \S", out, re.M), out


def test_unknown_defer_subcommand_is_an_error():
    out = gdb("defer bogus")
    assert 'Undefined defer command: "bogus".  Try "help defer".' in out, out
    assert "defer step" not in out, out     # not the help page


def test_an_inverted_thread_range_is_an_error():
    out = gdb("break checkpoint", "run", "info defers 3-2", exe=scen(), args=["threads", "2", "1"])
    assert "Inverted range: 3-2" in out, out


def test_empty_panic_message_is_an_empty_string():
    out = gdb("break checkpoint", "run", "print $_panic_message()",
              "print $_streq($_panic_message(), \"\")", exe=scen(), args=["basic"])
    assert re.search(r'^\$1 = ""$', out, re.M) and re.search(r"^\$2 = 1$", out, re.M), out


def test_info_panics_without_libdefer_does_not_speak_of_deferred_calls():
    from gdbtest import plain_program
    out = gdb("break stop", "run", "info panics", exe=plain_program())
    assert "This program does not use libdefer" in out and "deferred calls" not in out, out


MAIN_RETURNS = r'''#include <defer.h>
volatile int sink;
static void done(int x)
{
	sink = x;
}
int main(void)
{
	defer_frame;
	defer(done, 1);
	sink = 2;		/* line 12 */
	return 0;
}
'''


def test_defer_step_out_of_main_says_the_program_exited():
    from gdbtest import compile_program
    exe = compile_program(MAIN_RETURNS, name="mainreturns")
    out = gdb("break 12", "run", "defer step", "defer step", "defer step", exe=exe)
    assert "defer step: entering done(x=1)" in out, out
    assert "returned and the program exited" in out, out


def test_sourcing_twice_is_harmless():
    """Everything is installed once: one stop handler (one catchpoint line
    per stop), one pretty-printer entry, the commands."""
    out = gdb("source %s" % __import__("gdbtest").ENTRY, "help info defers",
              "info pretty-printer", "catch deferreturn", "run", exe=scen(), args=["basic"])
    assert "List pending deferred calls" in out
    assert len(re.findall(r"^Catchpoint 1 \(deferreturn\), ", out, re.M)) == 1, out
    printers = out[out.index("global pretty-printers:"):out.index("Catchpoint 1 (deferreturn)\n")]
    assert len(re.findall(r"^\s+libdefer\b", printers, re.M)) == 1, printers


def test_tab_completion_in_an_interactive_session():
    """A real terminal: TAB TAB lists thread ids and options; TAB completes
    a setting's value."""
    import pexpect
    from gdbtest import ENTRY
    exe = scen()
    child = pexpect.spawn("gdb", ["-nx", "-q", "-iex", "set pagination off", "-iex", "set confirm off",
                                  "-iex", "source %s" % ENTRY, "--args", str(exe),
                                  "threads", "2", "1"],
                          encoding="utf-8", timeout=30, dimensions=(50, 200))
    try:
        child.expect_exact("(gdb) ")
        child.sendline("break checkpoint")
        child.expect_exact("(gdb) ")
        child.sendline("run")
        child.expect("hit Breakpoint 1")
        child.expect_exact("(gdb) ")
        child.send("info defers \t\t")
        child.expect(r"-frame\s+-full\s+1\s+2\s+3\s+4\s+all")
        child.sendcontrol("u")
        child.send("info defers -f\t\t")
        child.expect(r"frame\s+full")
        child.sendcontrol("u")
        child.send("info defers -fu\t")
        child.expect_exact("info defers -full ")
        child.sendcontrol("u")
        child.send("set defer backtrace of\t")
        child.expect_exact("set defer backtrace off")
        child.sendcontrol("u")
        child.sendline("info defers 2")
        child.expect(r"defer 1: step_many\(i=0\)")
        child.expect_exact("(gdb) ")
        child.sendline("kill")
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_pager_q_stops_a_long_listing_cleanly():
    import pexpect
    from gdbtest import ENTRY
    child = pexpect.spawn("gdb", ["-nx", "-q", "-iex", "set confirm off", "-iex",
                                  "source %s" % ENTRY, "--args", str(scen()), "many", "5000"],
                          encoding="utf-8", timeout=30, dimensions=(24, 120))
    try:
        child.expect_exact("(gdb) ")
        child.sendline("break checkpoint")
        child.expect_exact("(gdb) ")
        child.sendline("run")
        child.expect_exact("(gdb) ")
        for cmd in ("info defers", "bt"):
            child.sendline(cmd)
            child.expect("Type <RET> for more, q to quit")
            child.sendline("q")
            child.expect_exact("Quit")
            child.expect_exact("(gdb) ")
            assert "Traceback" not in child.before and "Python Exception" not in child.before
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_the_interpreter_is_read_from_gdbs_own_options_only():
    """-i/--interp[reter] in gdb's options, abbreviated as gdb accepts; never
    a program's argument after --args, nor an option's value."""
    cases = [(["-i", "dap"], "dap"), (["--interp=mi3"], "mi"), (["--interpreter", "mi"], "mi"),
             (["-interpreter=mi2"], "mi"), (["-q", "--args", "p", "-i", "mi"], "console"),
             (["-ex", "-i", "p"], "console"), (["--in=mi"], "console"), ([], "console")]
    out = gdb("python from libdefer_gdb import interp\n"
              "for argv, want in %r:\n"
              "    print('INTERP', argv, interp.parse(argv), want)" % (cases,))
    rows = re.findall(r"^INTERP (\[.*\]) (\w+) (\w+)$", out, re.M)
    assert len(rows) == len(cases) and all(got == want for _, got, want in rows), out
