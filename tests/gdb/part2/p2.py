# SPDX-License-Identifier: MIT
"""Helpers for the part-2 tests (catchpoints, defer step, TUI, MI): the
scenario program, batch gdb (from ../gdbtest.py) and an interactive gdb
driven with pexpect, as a user types at the prompt."""
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import pexpect  # noqa: E402  (python3-pexpect, Debian)

from gdbtest import ENTRY, compile_program, gdb  # noqa: E402,F401

STEP_C = HERE / "scenarios" / "step.c"
PROMPT = "(gdb) "


def step_prog(cc="gcc", opt="-O0", link="static"):
    return compile_program(STEP_C, cc=cc, opt=opt, link=link)


def line_of(text, path=STEP_C):
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if text in line:
            return i
    raise AssertionError("%r not in %s" % (text, path))


def clean_env():
    e = dict(os.environ)
    e.pop("DEFER_TRACEBACK", None)
    e.pop("LIBDEFER_GDB_DIR", None)
    e["TERM"] = "dumb"
    return e


class Session:
    """An interactive gdb: cmd() types a line and returns what gdb printed
    before the next prompt."""

    def __init__(self, exe, *args, timeout=60, extra=()):
        argv = ["-nx", "-q", "-iex", "set pagination off", "-iex", "set width 0",
                "-iex", "set confirm off", "-iex", "source %s" % ENTRY]
        for e in extra:
            argv += ["-iex", e]
        argv += ["--args", str(exe)] + [str(a) for a in args]
        self.p = pexpect.spawn("gdb", argv, env=clean_env(), encoding="utf-8",
                               timeout=timeout, dimensions=(50, 200))
        self.p.expect_exact(PROMPT)
        self.log = self.p.before

    def cmd(self, line):
        self.p.sendline(line)
        self.p.expect_exact(PROMPT)
        out = self.p.before
        # The echo of the command itself comes first.
        out = out.split("\n", 1)[1] if "\n" in out else ""
        out = out.replace("\r", "")
        self.log += "\n(gdb) %s\n%s" % (line, out)
        assert "Traceback" not in out and "Python Exception" not in out, self.log
        return out

    def close(self):
        if self.p.isalive():
            self.p.sendline("kill")
            self.p.sendline("quit")
            self.p.expect(pexpect.EOF, timeout=20)
        self.p.close(force=True)


def stop_line(out):
    """(function, line) of the location a stop printed: the last
    `func (args) at file:line` and the source line after it."""
    locs = re.findall(r"(?:0x[0-9a-f]+ in )?(\w+) \(.*\) at \S+:(\d+)\n", out)
    assert locs, out
    return locs[-1][0], int(locs[-1][1])
