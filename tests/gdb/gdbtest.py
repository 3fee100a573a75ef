# SPDX-License-Identifier: MIT
"""Helpers for the gdb extension's tests: build scenario programs, drive gdb
in batch mode (as CPython's test_gdb does), parse what it prints."""
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

def _top_conftest():
    """tests/conftest.py (compile_program), loaded under its own name."""
    import importlib.util
    path = Path(__file__).resolve().parent.parent / "conftest.py"
    mod = sys.modules.get("libdefer_tests_conftest")
    if mod is None:
        spec = importlib.util.spec_from_file_location("libdefer_tests_conftest", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules["libdefer_tests_conftest"] = mod
    return mod


_top = _top_conftest()
BUILD, ROOT, compile_program = _top.BUILD, _top.ROOT, _top.compile_program

GDB_DIR = ROOT / "gdb"
ENTRY = GDB_DIR / "libdefer-gdb.py"
SCEN = Path(__file__).resolve().parent / "scenarios"
SCEN_C = SCEN / "scen.c"

MATRIX = [("gcc", "-O0"), ("gcc", "-O2"), ("clang", "-O0"), ("clang", "-O2")]


def scen(cc="gcc", opt="-O0", link="static"):
    return compile_program(SCEN_C, cc=cc, opt=opt, link=link)


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
