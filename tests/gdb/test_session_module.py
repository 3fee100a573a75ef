# SPDX-License-Identifier: MIT
"""libdefer_session (gdb/libdefer_session.py), the module users script gdb
with: its MI parsing and its targets.  (examples/test_engine_in_gdb.py is
the copyable example; make test runs it too.)"""
import subprocess
import time

import pytest

from gdbtest import SCEN, compile_program, scen
from libdefer_session import Session, SessionError, parse_mi

# The program shares gdb's stdout: it prints text without a newline before
# a stop, a line that looks like a stream record cut short, lines that
# start with digits as gdb's answers do, and last one that looks like a
# stop record cut short.
CHATTY = r"""
#include <string.h>
#include <unistd.h>
__attribute__((noinline)) void stop_here(int n) { __asm__ volatile("" : : "r"(n)); }
static void say(const char *s) { ssize_t r = write(1, s, strlen(s)); (void)r; }
int main(void)
{
	say("partial");
	stop_here(1);
	say("~\"a stream record cut sh\n2^done,x=\"\n7 apples\n");
	stop_here(2);
	say("*stopped,reason=\"breakpoint-hit\",frame={func=\"ma\n");
	stop_here(3);
	return 0;
}
"""


def test_mi_strings_come_back_exactly_as_the_program_holds_them():
    exe = compile_program(SCEN / "hostile.c", extra=[str(SCEN / "hostile_names.S")])
    with Session(exe) as s:
        s.run_to("checkpoint")
        (t,) = s.threads()
        assert t.panics[0].message == '\x1b]0;pwned\x07\n  panic 9: "forged"  [recovered]'
        assert t.name.startswith("\x1b[2J")       # gdb reads comm up to its newline
        assert [d.call for d in t.defers][0].startswith("stop_here(x=3, buf=0x")


def test_nested_mi_values_parse_into_dicts_and_lists():
    kind, cls, r = parse_mi('^done,a="x\\"y\\n",b={c="1",d=["2","3"]},e=[{f="4"},{f="5"}]')
    assert (kind, cls) == ("^", "done")
    assert r == {"a": 'x"y\n', "b": {"c": "1", "d": ["2", "3"]}, "e": [{"f": "4"}, {"f": "5"}]}


def test_every_cut_mi_record_is_a_session_error_never_a_python_one():
    line = ('*stopped,reason="breakpoint-hit",disp="keep",bkptno="1",frame={addr="0x401136",'
            'func="stop_here",args=[{name="n",value="1"}],file="p.c",line="3"},'
            'thread-id="1",stopped-threads="all",core="1"')
    assert parse_mi(line)[2]["frame"]["args"] == [{"name": "n", "value": "1"}]
    for cut in range(len(line)):
        try:
            parse_mi(line[:cut])
        except SessionError as e:
            assert repr(line[:cut]) in str(e), e
    for bad in ('~"x', '~"x\\', '~"\\0', "&", "^", "*stopped,reason=", '^done,a=["1",'):
        with pytest.raises(SessionError):
            parse_mi(bad)


def test_the_programs_output_on_gdbs_pipe_neither_hides_a_stop_nor_breaks_the_session():
    exe = compile_program(CHATTY, name="chatty", link="none")
    with Session(exe) as s:
        s.run_to("main")
        # "partial" then, on the same line, the stop of the step over it.
        s.command("-exec-next")
        assert s.wait_stop()["reason"] == "end-stepping-range"
        assert s.transcript[-1].startswith("partial*stopped,")
        # gdb's answer after text printed without a newline (here a shell's).
        s.cli("shell printf partial")
        assert s.transcript[-1].startswith("partial") and "^done" in s.transcript[-1]
        assert s.run_to("stop_here")["frame"]["func"] == "stop_here"
        assert s.command("-data-evaluate-expression n") == {"value": "1"}
        # A stream record cut short and lines starting with digits: skipped.
        assert s.cont()["frame"]["func"] == "stop_here"
        assert s.command("-data-evaluate-expression n") == {"value": "2"}
        # Something that reads as a cut stop record: a SessionError that says
        # so, not a stop lost (a timeout) nor an IndexError.
        with pytest.raises(SessionError, match="stop record gdb printed was cut"):
            s.cont()


def test_attach_to_a_pid_reads_and_detaches():
    exe = scen()
    p = subprocess.Popen([str(exe), "sleep"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        with Session(pid=p.pid) as s:
            calls = [d.call for t in s.threads() for d in t.defers]
            assert calls, calls
        time.sleep(0.3)
        assert p.poll() is None                 # detached, still running
    finally:
        p.kill()
        p.wait()
