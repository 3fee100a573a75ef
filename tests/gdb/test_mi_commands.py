# SPDX-License-Identifier: MIT
"""-defer-list-defers and -defer-list-panics over gdb --interpreter=mi3."""
import re

import pexpect
import pytest

from gdbtest import ENTRY, clean_env, step_line, step_prog
from libdefer_session import parse_mi


class MI:
    def __init__(self, exe, *args):
        self.p = pexpect.spawn("gdb", ["-nx", "-q", "--interpreter=mi3", "-iex",
                                       "source %s" % ENTRY, "--args", str(exe)] +
                               [str(a) for a in args], env=clean_env(), encoding="utf-8",
                               timeout=60)
        self.p.expect_exact("(gdb) ")

    def cmd(self, line):
        """Send one MI command; return its result record (^done... / ^error...)."""
        self.p.sendline(line)
        self.p.expect(r"\n(\^(done|error|running)[^\r\n]*)\r?\n")
        rec = self.p.match.group(1)
        assert "Traceback" not in self.p.before and "Python Exception" not in self.p.before
        return rec

    def run_to_stop(self, line):
        assert self.cmd(line).startswith("^running")
        # Up to the line's end: pexpect matches what has arrived so far, and
        # gdb may write a long record in more than one piece.
        self.p.expect(r"\*stopped,([^\r\n]*)\r?\n")
        return self.p.match.group(1)

    def close(self):
        self.p.sendline("-gdb-exit")
        self.p.expect(pexpect.EOF)
        self.p.close(force=True)


@pytest.fixture
def mi():
    opened = []

    def start(*a):
        m = MI(*a)
        opened.append(m)
        return m
    yield start
    for m in opened:
        m.close()


def parse(rec):
    """An MI record's results as Python data (dicts, lists, strings), read
    by the parser users' scripts use (gdb/libdefer_session.py)."""
    return parse_mi(rec)[2]


def test_list_defers_during_a_panic(mi):
    m = mi(step_prog(), "panic")
    m.cmd("-break-insert seen_middle")
    m.run_to_stop("-exec-run")
    r = parse(m.cmd("-defer-list-defers"))
    assert r["thread-id"] == "1"
    d1, d2 = r["defers"]
    assert d1["index"] == "1" and d1["function"] == "seen_middle"
    assert d1["call"] == "seen_middle(n=2)" and d1["args"] == [{"name": "n", "value": "2"}]
    assert d1["state"] == "run by panic 1"
    assert d1["site"]["func"] == "middle" and d1["site"]["line"] == str(
        step_line("defer(seen_middle, 2)"))
    assert d2["function"] == "recover_it" and d2["state"] == "pending"
    assert d2["site"]["func"] == "top" and d2["args"][0]["name"] == "status"
    # frame numbers are those of -stack-list-frames
    frames = m.cmd("-stack-list-frames")
    assert re.search(r'frame=\{level="%s",[^}]*func="middle"' % d1["frame"], frames), frames
    assert re.search(r'frame=\{level="%s",[^}]*func="top"' % d2["frame"], frames), frames


def test_list_panics_with_running_defer(mi):
    m = mi(step_prog(), "nested")
    m.cmd("-break-insert seen_bottom")
    m.run_to_stop("-exec-run")
    r = parse(m.cmd("-defer-list-panics"))
    p1, p2 = r["panics"]
    assert p1["message"] == "second panic 2" and p1["state"] == "running"
    assert p1["raised"]["func"] == "panic_again" and p1["raised"]["line"] == str(
        step_line("panic_again line"))
    assert p2["message"] == "first panic" and p2["state"] == "aborted"
    defers = parse(m.cmd("-defer-list-defers"))["defers"]
    running = [d for d in defers if d["index"] == p1["running-defer"]]
    assert running and running[0]["function"] == "seen_bottom"


def test_panic_value_is_reported(mi):
    from gdbtest import scen
    m = mi(scen(), "panic")
    m.cmd("-break-insert in_second")
    m.run_to_stop("-exec-run")
    panics = parse(m.cmd("-defer-list-panics"))["panics"]
    assert "value" not in panics[0] and re.match(r"0x[0-9a-f]+$", panics[1]["value"])


def test_thread_option_selects_another_thread(mi):
    m = mi(step_prog(), "threads")
    m.cmd("-break-insert here")
    stop = m.run_to_stop("-exec-run")
    me = re.search(r'thread-id="(\d+)"', stop).group(1)
    threads = re.findall(r'\{id="(\d+)"', m.cmd("-thread-info"))
    others = [t for t in threads if t not in (me, "1")]
    assert others, threads
    mine = parse(m.cmd("-defer-list-defers"))
    other = parse(m.cmd("-defer-list-defers --thread %s" % others[0]))
    assert other["thread-id"] == others[0] and mine["thread-id"] == me
    assert [d["function"] for d in other["defers"]] == ["third_call", "second_call",
                                                        "first_call"]
    assert mine["defers"][0]["args"] != other["defers"][0]["args"]      # ids 1 and 2
    main_thread = parse(m.cmd("-defer-list-defers --thread 1"))
    assert main_thread == {"thread-id": "1", "defers": []}      # never deferred


def test_errors_are_mi_errors(mi):
    m = mi(step_prog(), "normal")
    assert m.cmd("-defer-list-defers").startswith('^error,msg="No process and no core file')
    m.cmd("-break-insert here")
    m.run_to_stop("-exec-run")
    assert m.cmd("-defer-list-panics --thread 42").startswith('^error,msg="Invalid thread id: 42')
    assert m.cmd("-defer-list-panics --bogus").startswith('^error,msg="Unknown argument --bogus')
    r = parse(m.cmd("-defer-list-panics"))
    assert r == {"thread-id": "1", "panics": []}


@pytest.mark.parametrize("kind,arg", [("panic", "panic"), ("recover", "panic"),
                                      ("deferreturn", "normal"), ("defer", "normal")])
def test_a_catchpoint_stop_is_a_full_breakpoint_stop_record(mi, kind, arg):
    """IDEs (Emacs gdb-mi, Eclipse CDT) need reason, bkptno, frame and
    thread-id to show where the program stopped."""
    m = mi(step_prog(), arg)
    created = m.cmd('-interpreter-exec console "catch %s"' % kind)
    assert created.startswith("^done"), created
    stop = parse("*stopped," + m.run_to_stop("-exec-run"))
    assert stop["reason"] == "breakpoint-hit" and stop["disp"] == "keep", stop
    assert stop["bkptno"] == "1" and stop["thread-id"] == "1", stop
    assert stop["stopped-threads"] == "all", stop
    frame = stop["frame"]
    assert frame["func"] and frame["addr"].startswith("0x"), frame
    assert frame.get("fullname", "/").startswith("/"), frame
    # Our own line follows, on the console stream.
    m.p.expect_exact('~"\\nCatchpoint 1 (%s), ' % kind)


def test_every_site_has_a_fullname(mi):
    m = mi(step_prog(), "panic")
    m.cmd("-break-insert seen_middle")
    m.run_to_stop("-exec-run")
    for d in parse(m.cmd("-defer-list-defers"))["defers"]:
        assert d["site"]["fullname"].startswith("/") and d["site"]["fullname"].endswith(".c"), d
    for p in parse(m.cmd("-defer-list-panics"))["panics"]:
        assert p["raised"]["fullname"] == d["site"]["fullname"], p


def test_front_ends_can_probe_for_libdefers_commands(mi):
    """gdb lets no extension add to -list-features; -info-gdb-mi-command is
    gdb's own way to ask whether a command exists."""
    m = mi(step_prog(), "normal")
    assert parse(m.cmd("-info-gdb-mi-command defer-list-defers")) == {
        "command": {"exists": "true"}}
    assert parse(m.cmd("-info-gdb-mi-command defer-list-panics")) == {
        "command": {"exists": "true"}}


def test_the_fatal_panic_stop_is_a_full_stop_record(mi):
    m = mi(step_prog(), "fatal")
    stop = parse("*stopped," + m.run_to_stop("-exec-run"))
    assert stop["reason"] == "breakpoint-hit" and stop["thread-id"] == "1", stop
    assert stop["frame"]["func"] == "gopanic" and stop["frame"]["fullname"].startswith("/"), stop
    m.p.expect_exact("Unrecovered panic in thread 1")
