# SPDX-License-Identifier: MIT
"""info panics: the chain, states, values, running call, raise sites."""
import re

import pytest

from gdbtest import MATRIX, at_line, gdb, scen, section


@pytest.mark.parametrize("cc,opt", MATRIX)
def test_nested_panics_newest_first_with_running_call(cc, opt):
    out = gdb("break in_second", "run", "info panics", exe=scen(cc, opt), args=["panic"])
    m1 = re.search(r'^  panic 1: "second panic, level 2"  \[running\]\n'
                   r'\s+raised in repanic at (\S+)\n'
                   r'\s+running defer 1: in_second\(\) \(deferred by panicky at (\S+)\)', out, re.M)
    assert m1, out
    assert at_line(m1.group(1), 'panic("second panic') and at_line(m1.group(2), "defer(in_second)")
    m2 = re.search(r'^  panic 2: "first panic: boom" value=0x[0-9a-f]+ <error_object>  '
                   r'\[aborted\]\n\s+value = \(int \*\) 0x[0-9a-f]+ <error_object>\n'
                   r'\s+raised in panicky at (\S+)\n'
                   r'\s+was running repanic\(level=2\)', out, re.M)
    assert m2, out
    assert at_line(m2.group(1), "panic_value(&error_object")


def test_recovered_panic_is_marked():
    out = gdb("break %d" % _line("*status = 500"), "run", "info panics",
              exe=scen(), args=["recover"])
    assert re.search(r'panic 1: "will be recovered"  \[recovered\]', out), out
    assert "running defer 1: recoverer(status=0x" in out


def test_no_panic_and_never_deferred():
    out = gdb("break checkpoint", "run", "info panics all", exe=scen(), args=["threads", "2", "1"])
    assert "No panic." in section(out, 1)
    assert "No panics: this thread never deferred a call." in out


def _line(text):
    from gdbtest import line_of
    return line_of(text)


def test_goexit_is_shown_and_is_not_a_panic():
    out = gdb("break in_goexit", "run", "info defers", "info panics", "print $_panicking()",
              exe=scen(), args=["goexit"])
    assert re.search(r"defer 1: in_goexit\(step=1\)  \[run by defer_goexit\]", out), out
    assert re.search(r'defer 2: release\(id=9, what=0x[0-9a-f]+ "goexit-outer"\)  \[pending\]',
                     out)
    assert "goexit 1: defer_goexit() is running this thread's deferred calls" in out
    assert "$1 = 0" in out



def test_a_100kb_panic_message_is_shown_whole():
    """ABI 2: the whole message (struct _panic.text), not msg's 255 bytes."""
    from gdbtest import ROOT, compile_program
    exe = compile_program(ROOT / "tests" / "reader" / "progs" / "longmsg.c")
    out = gdb("break checkpoint", "run", "info panics",
              'python m = gdb.parse_and_eval("$_panic_message()").string(); print("LEN", len(m), m[-3:])',
              "set max-value-size unlimited",
              'python m = gdb.parse_and_eval("$_panic_message()").string(); print("ALL", len(m), m[-3:])',
              'interpreter-exec mi "-defer-list-panics"', exe=exe)
    assert '  panic 1: "' + "x" * 99999 + 'E%"  [running]' in out
    # A gdb value is at most max-value-size (64 KiB): cut there, and said.
    assert "LEN 65505 wn]" in out, out[-500:]
    assert "ALL 100001 xE%" in out, out[-500:]
    assert 'message="' + "x" * 99999 + 'E%"' in out
