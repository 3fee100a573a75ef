# SPDX-License-Identifier: MIT
"""libdefer_session - drive gdb from a Python script or test, and get a
program's deferred calls and panics back as Python objects.

Runs gdb over GDB/MI with libdefer's extension loaded (the file next to
this one), on a program you start, a live pid or a core file.  Plain
Python 3 and gdb 12 or newer: nothing from PyPI.

    import sys; sys.path.insert(0, "/usr/local/share/libdefer/gdb")
    from libdefer_session import Session

    with Session("build/examples/engine", args=["3", "--hold"]) as s:
        s.run_to("engine_parked")          # break there, run, wait for the stop
        for t in s.threads():
            for d in t.defers:             # newest first, as info defers lists them
                print(t.name, d.call, d.state, d.site.func, d.site.line)
        assert not s.thread(1).panics

    Session(core="prog.core", program="prog")    # a core file
    Session(pid=1234)                            # attach (and detach at close)

Objects: Thread(id, lwp, name, defers, panics); Defer(index, function, call,
args [(name, value)], state, site, frame); Panic(index, message, state,
raised, value, running_defer); Site(func, file, line, fullname).  Failures
raise SessionError with gdb's message.  The gdb run is `gdb` on PATH (or
Session(gdb="...")).
"""

import os
import re
import select
import subprocess
import time
from collections import namedtuple

__all__ = ["Session", "SessionError", "Thread", "Defer", "Panic", "Site", "parse_mi"]

Site = namedtuple("Site", "func file line fullname")
Defer = namedtuple("Defer", "index function call args state site frame")
Panic = namedtuple("Panic", "index message state raised value running_defer")
Thread = namedtuple("Thread", "id lwp name defers panics")

_ENTRY = os.path.join(os.path.dirname(os.path.realpath(__file__)), "libdefer-gdb.py")


class SessionError(Exception):
    """gdb refused a command, exited, or did not answer in time."""


# ---------------------------------------------------------------------------
# GDB/MI output: records are `token? class (, name=value)*`, values are
# "c-strings", {tuples} or [lists] (of values or of name=value results).

def parse_mi(line):
    """('^'|'*'|'='|'~'|'@'|'&', class or text, {results}) for one MI line.
    A line that is not a whole record (cut short, or not MI at all) raises
    SessionError naming it; text after a whole record is ignored."""
    try:
        return _record(line)
    except IndexError:
        # _value and _cstring index past the end of a record cut short.
        why = "cut short"
    except SessionError as e:
        why = str(e)
    raise SessionError("not a whole MI record (%s): %r" % (why, line))


def _record(line):
    if not line:
        raise SessionError("empty MI line")
    kind, rest = line[0], line[1:]
    if kind in "~@&":
        text, _ = _cstring(rest, 0)
        return kind, text, {}
    m = re.match(r"[\w-]+", rest)
    if m is None:
        raise SessionError("no record class")
    results, pos = {}, m.end()
    while pos < len(rest) and rest[pos] == ",":
        name, value, pos = _result(rest, pos + 1)
        results[name] = value
    return kind, m.group(0), results


def _result(s, pos):
    m = re.compile(r"[\w-]+=").match(s, pos)
    if m is None:
        raise SessionError("no result at %d" % pos)
    value, pos = _value(s, m.end())
    return m.group(0)[:-1], value, pos


def _value(s, pos):
    c = s[pos]
    if c == '"':
        return _cstring(s, pos)
    close = {"{": "}", "[": "]"}.get(c)
    if close is None:
        raise SessionError("no value at %d" % pos)
    pos += 1
    named, items = {}, []
    while s[pos] != close:
        if re.compile(r"[\w-]+=").match(s, pos):
            name, value, pos = _result(s, pos)
            named[name] = value
            items.append(value)
        else:
            value, pos = _value(s, pos)
            items.append(value)
        if s[pos] == ",":
            pos += 1
    return (named if c == "{" else items), pos + 1


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v", "e": "\x1b"}


_STOPPED = re.compile(r"\*stopped(?=,|$)")


def _cstring(s, pos):
    if s[pos] != '"':
        raise SessionError("no string at %d" % pos)
    out, pos = [], pos + 1
    while s[pos] != '"':
        if s[pos] == "\\":
            nxt = s[pos + 1]
            if nxt in "01234567":
                out.append(chr(int(s[pos + 1:pos + 4], 8)))
                pos += 4
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            pos += 2
        else:
            out.append(s[pos])
            pos += 1
    return "".join(out), pos + 1


# ---------------------------------------------------------------------------

def _site(d):
    d = d or {}
    line = d.get("line")
    return Site(d.get("func"), d.get("file"), int(line) if line else None, d.get("fullname"))


class Session:
    """One gdb, over MI.  A context manager: close() ends gdb (killing a
    program it started, detaching from an attached one)."""

    def __init__(self, program=None, args=(), core=None, pid=None, gdb="gdb", timeout=60,
                 env=None):
        self.timeout = timeout
        self._token = 0
        self._buf = b""
        self.console = []               # console stream text, in order
        self.transcript = []            # every MI line, "> " before a command sent
        self.stops = []                 # every *stopped record's results
        self._attached = pid is not None
        argv = [gdb, "-q", "-nx", "--interpreter=mi3", "-iex", "set pagination off",
                "-iex", "set confirm off", "-ix", _ENTRY]
        self._p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, env=env)
        self._wait_prompt()
        if program is not None:
            self.command("-file-exec-and-symbols %s" % _quote(program))
        if args:
            self.command("-exec-arguments %s" % " ".join(_quote(a) for a in args))
        if core is not None:
            self.cli("core-file %s" % core)       # the rest of the line, spaces and all
        if pid is not None:
            self.command("-target-attach %d" % int(pid))

    # -- MI plumbing --
    def _line(self, deadline):
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SessionError("gdb did not answer within %s s" % self.timeout)
            r, _, _ = select.select([self._p.stdout], [], [], left)
            chunk = os.read(self._p.stdout.fileno(), 65536) if r else b""
            if r and not chunk:
                raise SessionError("gdb exited")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        line = line.decode("utf-8", "replace").rstrip("\r")
        self.transcript.append(line)
        return line

    def _wait_prompt(self):
        deadline = time.monotonic() + self.timeout
        while self._line(deadline) != "(gdb) ":
            pass

    def _take(self, line):
        """Keep stream text and stop records seen on the way; the line from
        its MI record on, or None.

        The program writes to gdb's stdout too, so a line can be its output,
        which may look like a cut record (skipped), or start with text it
        printed without a newline before gdb's record (`partial*stopped,...`).
        A *stopped record that does not parse is an error: skipping it would
        lose the stop and wait_stop would only time out."""
        if not line or line == "(gdb) ":
            return None
        if line[0] in "~@&":
            try:
                self.console.append(parse_mi(line)[1])
            except SessionError:
                pass                    # the program's output, not gdb's
            return None
        if line[0] not in "^*=" and not re.match(r"\d+\^", line):
            at = _STOPPED.search(line)          # after the program's text?
            if at is None:
                return line
            line = line[at.start():]
        if _STOPPED.match(line):
            try:
                self.stops.append(parse_mi(line)[2])
            except SessionError as e:
                raise SessionError("a stop record gdb printed was cut, maybe by the "
                                   "program's output on the same pipe: %s" % e) from None
        return line

    def command(self, text):
        """Send one MI command; its ^done/^running results (a dict)."""
        self._token += 1
        tok = str(self._token)
        self.transcript.append("> %s%s" % (tok, text))
        self._p.stdin.write(("%s%s\n" % (tok, text)).encode())
        self._p.stdin.flush()
        deadline = time.monotonic() + self.timeout
        while True:
            line = self._take(self._line(deadline))
            if line is None:
                continue
            m = re.match(r"(\d*)\^", line)
            # Our answer starts the line, or follows the program's text
            # printed without a newline (then "tok^" is ours: later tokens
            # have not been sent yet).
            if m:
                at = 0 if m.group(1) == tok else -1
            else:
                at = line.find(tok + "^") if line[0] not in "*=" else -1
            if at < 0:
                continue
            kind, cls, results = parse_mi(line[at + len(tok):])
            if cls == "error":
                raise SessionError(results.get("msg", line))
            return results

    def wait_stop(self):
        """The next *stopped record (its results)."""
        seen = len(self.stops)
        deadline = time.monotonic() + self.timeout
        while len(self.stops) == seen:
            self._take(self._line(deadline))
        return self.stops[seen]

    def cli(self, text):
        """A CLI command; the console text it printed."""
        start = len(self.console)
        self.command("-interpreter-exec console %s" % _quote(text))
        return "".join(self.console[start:])

    # -- what a test asks --
    def run_to(self, location):
        """Break at location, run (or continue), wait for the stop."""
        self.command("-break-insert %s" % _quote(location))
        started = any(s.get("reason") for s in self.stops) or self._attached
        self.command("-exec-continue" if started else "-exec-run")
        return self.wait_stop()

    def run(self):
        """Start the program; wait for its first stop."""
        self.command("-exec-run")
        return self.wait_stop()

    def cont(self):
        self.command("-exec-continue")
        return self.wait_stop()

    def threads(self):
        """Every thread with its deferred calls and panics, highest id first."""
        info = self.command("-thread-info")
        out = []
        for t in sorted(info.get("threads", []), key=lambda t: -int(t["id"])):
            out.append(self._thread(t))
        return out

    def thread(self, gdb_id):
        for t in self.threads():
            if t.id == int(gdb_id):
                return t
        raise SessionError("no thread %s" % gdb_id)

    def _thread(self, t):
        tid = t["id"]
        m = re.search(r"LWP (\d+)", t.get("target-id", ""))
        defers = self.command("-defer-list-defers --thread %s" % tid).get("defers", [])
        panics = self.command("-defer-list-panics --thread %s" % tid).get("panics", [])
        return Thread(
            int(tid), int(m.group(1)) if m else None, t.get("name"),
            [Defer(int(d["index"]), d["function"], d["call"],
                   [(a["name"], a["value"]) for a in d.get("args", [])], d["state"],
                   _site(d.get("site")), int(d["frame"]) if "frame" in d else None)
             for d in defers],
            [Panic(int(p["index"]), p["message"], p["state"], _site(p.get("raised")),
                   p.get("value"), int(p["running-defer"]) if "running-defer" in p else None)
             for p in panics])

    def close(self):
        if self._p.poll() is None:
            try:
                self.command("-target-detach" if self._attached else "-gdb-set confirm off")
            except SessionError:
                pass
            try:
                self._p.stdin.write(b"-gdb-exit\n")
                self._p.stdin.flush()
                self._p.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self._p.kill()
                self._p.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _quote(s):
    """An MI c-string argument."""
    s = str(s)
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
