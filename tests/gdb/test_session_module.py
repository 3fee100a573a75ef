# SPDX-License-Identifier: MIT
"""libdefer_session (gdb/libdefer_session.py), the module users script gdb
with: its MI parsing and its targets.  (examples/test_engine_in_gdb.py is
the copyable example; make test runs it too.)"""
import subprocess
import time

from gdbtest import SCEN, compile_program, scen
from libdefer_session import Session, parse_mi


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
