# SPDX-License-Identifier: MIT
"""bt frame filter, pretty-printers, convenience functions."""
import re

import pytest

from gdbtest import MATRIX, bt_levels, gdb, scen


@pytest.mark.parametrize("cc,opt", MATRIX)
def test_bt_shows_calls_under_their_frames(cc, opt):
    out = gdb("break checkpoint", "run", "bt", exe=scen(cc, opt), args=["basic"])
    lines = out.splitlines()
    i_inner = next(i for i, l in enumerate(lines) if re.match(r"#\d+ .* in inner ", l))
    i_outer = next(i for i, l in enumerate(lines) if re.match(r"#\d+ .* in outer ", l))
    under_inner = lines[i_inner + 1:i_outer]
    assert len(under_inner) == 2 and all(l.startswith("    defer ") for l in under_inner), out
    assert re.match(r"    defer 1: (__)?printf \(", under_inner[0])
    assert re.match(r"    defer 2: close_conn \(c=0x[0-9a-f]+ <[^>]*conn[^>]*>, flags=3 '\\003', "
                    r"force=true\) at \S+scen\S*\.c:\d+$", under_inner[1]), under_inner[1]
    after = lines[i_outer + 1:i_outer + 5]
    assert [re.match(r"    defer (\d+): (\w+)", l).group(2) for l in after] == \
        ["note", "scale", "release", after[3].split(": ")[1].split(" ")[0]]
    assert "fclose" in after[3]


def test_bt_switch_and_no_filters():
    out = gdb("break checkpoint", "run", "set defer backtrace off", "bt", "echo ==\\n",
              "set defer backtrace on", "bt -no-filters", exe=scen(), args=["basic"])
    assert "defer 1:" not in out
    assert len(bt_levels(out)) >= 4


def test_bt_marks_call_run_by_panic():
    out = gdb("break in_second", "run", "bt", exe=scen(), args=["panic"])
    assert re.search(r"^    defer 1 \(run by panic 1\): in_second \(\)", out, re.M), out


def test_printers_for_g_defer_panic():
    out = gdb("break in_second", "run", "print *allgs", "print *allgs->_defer",
              "print *allgs->_panic", "set var $rec = *allgs", "print $rec",
              exe=scen(), args=["panic"])
    assert re.search(r'\$1 = thread LWP \d+ "[^"]*" running: 3 deferred calls pending, '
                     r'panicking: "second panic, level 2" \[running\] = \{alllink = ', out), out
    assert re.search(r"\$2 = defer in_second\(\) \[run by the panic at 0x[0-9a-f]+\], deferred by "
                     r"panicky at \S+:\d+ = \{link = ", out), out
    assert re.search(r'\$3 = panic "second panic, level 2" \[running\], raised in repanic at \S+:\d+ '
                     r'= \{link = ', out), out
    assert re.search(r'\$4 = thread LWP \d+ "[^"]*" running: 3 deferred calls pending', out), out


def test_convenience_functions():
    out = gdb("break checkpoint", "run", "print $_defer_count()", "print $_panicking()",
              'print $_streq($_panic_message(), "")', exe=scen(), args=["basic"])
    assert "$1 = 6" in out and "$2 = 0" in out and '$3 = 1' in out
    out = gdb("break in_second", "run", "print $_defer_count()", "print $_panicking()",
              "print $_panic_message()", "print $_defer_count(99)", exe=scen(), args=["panic"])
    assert "$1 = 3" in out and "$2 = 1" in out and '$3 = "second panic, level 2"' in out
    assert "No thread 99." in out


def test_break_if_panicking_stops_only_in_a_panic():
    out = gdb("break release if $_panicking()", "run", "print id", exe=scen(), args=["panic"])
    assert re.search(r"Breakpoint 1, release \(id=1, ", out), out
    out = gdb("break release if $_panicking()", "run", exe=scen(), args=["basic"])
    assert "exited normally" in out and "Breakpoint 1, release" not in out


def test_functions_answer_zero_without_libdefer():
    from gdbtest import plain_program
    out = gdb("break stop", "run", "print $_panicking()", "print $_defer_count()",
              exe=plain_program())
    assert "$1 = 0" in out and "$2 = 0" in out
