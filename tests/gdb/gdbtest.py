# SPDX-License-Identifier: MIT
"""Helpers for the gdb extension's tests: build the scenario programs
(scenarios/scen.c, scenarios/step.c), drive gdb in batch mode (as CPython's
test_gdb does) or at its prompt (pexpect, as a user types), parse what it
prints."""
import os
import re
import socket
import subprocess
from pathlib import Path

from conftest import BUILD, ROOT, compile_program  # tests/conftest.py (pytest.ini: pythonpath)

GDB_DIR = ROOT / "gdb"
ENTRY = GDB_DIR / "libdefer-gdb.py"
SCEN = Path(__file__).resolve().parent / "scenarios"
SCEN_C = SCEN / "scen.c"
STEP_C = SCEN / "step.c"    # nested deferred calls and panics to step through
PROMPT = "(gdb) "

MATRIX = [("gcc", "-O0"), ("gcc", "-O2"), ("clang", "-O0"), ("clang", "-O2")]


def scen(cc="gcc", opt="-O0", link="static"):
    return compile_program(SCEN_C, cc=cc, opt=opt, link=link)


def step_prog(cc="gcc", opt="-O0", link="static"):
    return compile_program(STEP_C, cc=cc, opt=opt, link=link)


def plain_program():
    """A C program that does not use libdefer."""
    out = BUILD / "tests" / "plain-nodefer"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        src = out.with_suffix(".c")
        src.write_text("#include <stdio.h>\nvolatile int x;\n"
                       "__attribute__((noinline)) void stop(void) { x++; }\n"
                       "int main(void) { stop(); return 0; }\n")
        subprocess.run(["gcc", "-g", "-O0", str(src), "-o", str(out)], check=True)
    return out


def gdb(*cmds, exe=None, args=(), core=None, load="source", pre=(), env=None,
        timeout=120, check_clean=True, wrapper=()):
    """Run gdb -nx -batch with -ex commands; return stdout+stderr as text.

    load="source": -iex 'source gdb/libdefer-gdb.py' (most tests);
    load="autoload": only trust the extension's directory, as deferdb and
    make install do (tests of auto-loading);
    load=None: nothing.  check_clean: fail on any Python traceback.
    wrapper: a command gdb runs under (e.g. /usr/bin/time)."""
    argv = list(wrapper) + ["gdb", "-nx", "-batch", "-iex", "set pagination off",
            "-iex", "set width 0", "-iex", "set confirm off"]
    if load == "source":
        argv += ["-iex", "source %s" % ENTRY]
    elif load == "autoload":
        argv += ["-iex", "add-auto-load-safe-path %s" % ENTRY]
    for p in pre:
        argv += ["-iex", p]
    for c in cmds:
        argv += ["-ex", c]
    if exe is not None:
        if core is not None:
            argv += [str(exe), str(core)]
        else:
            argv += ["--args", str(exe)] + [str(a) for a in args]
    e = dict(os.environ)
    e.pop("DEFER_TRACEBACK", None)
    e.pop("LIBDEFER_GDB_DIR", None)
    if env:
        e.update(env)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=e,
                       stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    if check_clean:
        assert "Traceback" not in out and "Python Exception" not in out, out
    return out


def defers_of(out, thread=None):
    """Parse `info defers` output: [(index, call, state, func, site, frame)],
    optionally only under the header of gdb thread `thread`."""
    if thread is not None:
        out = section(out, thread)
    rx = re.compile(r"^  defer (\d+): (.*)  \[(.*)\]\n\s+deferred by (\S+) at (\S+), "
                    r"frame (#(\d+)|unknown)", re.M)
    return [(int(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5),
             int(m.group(7)) if m.group(7) else None) for m in rx.finditer(out)]


def section(out, thread):
    """The lines under `Thread N (...):` up to the next thread header."""
    m = re.search(r"^Thread %s \(.*\):$" % re.escape(str(thread)), out, re.M)
    assert m, "no header for thread %s in:\n%s" % (thread, out)
    rest = out[m.end():]
    n = re.search(r"^Thread \d", rest, re.M)
    return rest[:n.start()] if n else rest


def line_of(text, path=SCEN_C):
    """Line number of the first source line containing `text`."""
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if text in line:
            return i
    raise AssertionError("%r not in %s" % (text, path))


def step_line(text):
    """Line number of the first line of step.c containing `text`."""
    return line_of(text, STEP_C)


def bt_levels(out):
    """{function: level} from bt lines `#N  ... in func (` or `#N  func (`."""
    res = {}
    for m in re.finditer(r"^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S+) \(", out, re.M):
        res.setdefault(m.group(2), int(m.group(1)))
    return res


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def at_line(site, text):
    """Does a printed site `file:line` point at the scenario line containing text?"""
    return re.search(r"scen[-\w]*\.c:%d$" % line_of(text), site) is not None


class gdbserver:
    """`with gdbserver(exe, *args) as target:` a gdbserver on loopback, ready
    for gdb's `target remote TARGET`; killed on the way out."""

    def __init__(self, exe, *args):
        self.port = free_port()
        self.argv = ["gdbserver", "--once", "127.0.0.1:%d" % self.port, str(exe)] + \
            [str(a) for a in args]

    def __enter__(self):
        import time
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 10
        line = ""
        while "Listening" not in line and time.time() < deadline:
            line = self.proc.stdout.readline()
        return "127.0.0.1:%d" % self.port

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def clean_env():
    """The environment gdb runs in at its prompt: no DEFER_TRACEBACK, no
    installed extension's directory, a terminal without escape codes."""
    e = dict(os.environ)
    e.pop("DEFER_TRACEBACK", None)
    e.pop("LIBDEFER_GDB_DIR", None)
    e["TERM"] = "dumb"
    return e


class Prompt:
    """An interactive gdb: cmd() types a line and returns what gdb printed
    before the next prompt."""

    def __init__(self, exe, *args, timeout=60, extra=()):
        import pexpect  # python3-pexpect (Debian); only the prompt tests need it
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
        import pexpect
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
