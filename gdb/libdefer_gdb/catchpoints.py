# SPDX-License-Identifier: MIT
"""catchpoints.py - `catch defer`, `catch panic`, `catch recover`, `catch
deferreturn`, and the stop before an unrecovered panic kills the process.

Modelled on gdb's `catch throw`, which breaks on libstdc++'s SDT probe
(libstdcxx:throw) and falls back to __cxa_throw.  gdb 13 cannot make a
catchpoint type from Python, so a catchpoint here is a breakpoint (listed,
disabled, deleted and given conditions... by gdb's own commands) with:

  - a location: the runtime's SDT probe (provider libdefer) when a loaded
    objfile has it, else the runtime function, else the probe as a pending
    location that resolves when the program or libdefer.so is loaded;
  - a stop() method that decodes the event through the records layer and
    decides whether to stop (`catch panic REGEX` filters on the message);
  - `silent`: gdb's "Breakpoint N, gopanic (...)" is replaced by one line
    printed from the stop event, like "Catchpoint N (exception thrown)".

| catchpoint   | probe            | fallback     | stops                                   |
|--------------|------------------|--------------|-----------------------------------------|
| defer        | libdefer:defer   | deferproc    | once a deferred call is on the chain    |
| panic        | libdefer:panic   | gopanic      | after the panic is pushed               |
| recover      | libdefer:recover | gorecover    | when recover() succeeds                 |
| deferreturn  | libdefer:deferreturn | deferreturn | a scope exit with calls to run       |
| fatal stop   | libdefer:fatal   | fatalpanic   | before an unrecovered panic exits       |

A defer whose arguments already have the parameters' types is open-coded
(defer.h: a frame's first from its mark, later ones from the pool): it
never enters deferproc, and its probe is in the program, at the defer()
line.  gdb's
`-probe-stap libdefer:defer` finds every copy, in every objfile.

The `deferreturn` probe sits at the function's first instruction, where
the first argument register (rdi, x0: regs.argument(0)) is still the
frame's mark; the function itself is documented as entered on every frame
exit with pending calls.
"""

import re

import gdb

from . import (commands, dap, errors, escape, formatting, frames, interp, memory, params, regs,
               snapshot)

# kind -> (probe, fallback function)
POINTS = {
    "defer": ("libdefer:defer", "deferproc"),
    "panic": ("libdefer:panic", "gopanic"),
    "recover": ("libdefer:recover", "gorecover"),
    "deferreturn": ("libdefer:deferreturn", "deferreturn"),
    "fatal": ("libdefer:fatal", "fatalpanic"),
    "run": ("libdefer:run", None),
    "resume": ("libdefer:resume", None),
}


def _has_probe(probe):
    provider, name = probe.split(":")
    try:
        text = gdb.execute("info probes stap %s %s" % (provider, name), to_string=True)
    except gdb.error:
        return False
    return any(line.split()[:3] == ["stap", provider, name] for line in text.splitlines())


def _has_function(name):
    """Is the function itself loaded (not only a PLT stub that calls it)?"""
    try:
        addr = int(gdb.parse_and_eval("(unsigned long)&'%s'" % name))
        return "@plt" not in gdb.format_address(addr)
    except (gdb.error, RuntimeError):
        return False


def location(kind):
    """(breakpoint spec, "probe" or "function") for one of POINTS."""
    probe, func = POINTS[kind]
    if probe and _has_probe(probe):
        return "-probe-stap " + probe, "probe"
    if func and _has_function(func):
        return "-function " + func, "function"
    if probe:
        return "-probe-stap " + probe, "probe"      # pending until loaded
    return "-function " + func, "function"


_pending = {}


def _run_pending():
    """Called through `python ...` by make_quietly."""
    try:
        _pending["result"] = _pending["factory"]()
    except (gdb.error, ValueError, RuntimeError) as e:
        _pending["error"] = e


def make_quietly(factory):
    """Run factory() (which creates gdb breakpoints) with gdb's own chatter
    ("Breakpoint 2 at ...", "No probe matching ...") captured: the caller
    prints one line of its own.  Returns factory's result; its failure is
    a one-line gdb.GdbError."""
    _pending.clear()
    _pending["factory"] = factory
    try:
        gdb.execute("python import %s as _m; _m._run_pending()" % __name__, False, True)
        if "error" in _pending:
            raise gdb.GdbError(str(_pending["error"]))
        if _pending.get("result") is None:
            raise gdb.GdbError("libdefer: could not create the breakpoint.")
        return _pending["result"]
    finally:
        _pending.clear()


# ---------------------------------------------------------------------------
# Decoding an event at the stop: plain text, never an exception.

def _thread_g(snap, t):
    g = snap.g_for_tid(t.ptid[1])
    if g is None:
        raise errors.NotLinked("this thread has no libdefer record")
    return g


def _format_argument():
    """gopanic's fmt at its entry (the fallback without probes)."""
    try:
        v = gdb.selected_frame().read_var("fmt")
        if v.is_optimized_out:
            raise ValueError
        addr = int(v)
    except (gdb.error, ValueError):
        addr = memory.register(regs.argument(1))
    return snapshot.Snapshot().c_string(addr, 256)


def panic_text(p):
    value = formatting.panic_value_text(p.arg)
    return "%s%s raised in %s" % (escape.quoted(p.msg), value, formatting.format_site(p.pc))


def newest_panic(t):
    """The newest panic of thread t (a snapshot.Panic) or None."""
    snap = snapshot.Snapshot()
    chain = snap.panics(_thread_g(snap, t))
    return chain[0] if chain else None


def frame_calls(snap, g, mark):
    """The head records of g's chain that belong to the frame `mark`: what
    deferreturn(mark) is about to run, newest first."""
    out = []
    for d in snap.defers(g, 1024):
        if d.sp != mark:
            break
        out.append(d)
    return out


def _caller_line():
    """'func at file:line' of the frame that called into the runtime."""
    f = gdb.newest_frame().older()
    while f is not None and f.type() == gdb.INLINE_FRAME:
        f = f.older()
    if f is None:
        return "??"
    return _frame_line(f)


def _frame_line(f):
    sal = f.find_sal()
    name = f.name() or "??"
    if sal.symtab is not None and sal.line:
        return escape.printable("%s at %s:%d" % (name, sal.symtab.filename, sal.line))
    return escape.printable("%s at %#x" % (name, f.pc()))


def owner_line(sp):
    """'func at file:line' of the frame that owns records with this sp (the
    frame being left, at its closing brace or return)."""
    fm = frames.FrameMap()
    level = fm.owner(sp)
    if level is None:
        return _caller_line()
    f = fm.frames[fm.levels.index(level)]
    return _frame_line(f)


# ---------------------------------------------------------------------------
# Catchpoints.

class Catchpoint(gdb.Breakpoint):
    """A libdefer catchpoint: a breakpoint whose stop() decides and whose
    stop event prints one line.  Silent on the command line (that line says
    it all); under MI and DAP gdb's own stop record is kept: front ends need
    its reason, breakpoint number, frame and thread."""

    def __init__(self, kind, regex=None, temporary=False):
        self.kind = kind
        self.regex = regex
        self.message = None
        spec, self.mode = location(kind)
        gdb.Breakpoint.__init__(self, spec, internal=False, temporary=temporary)
        self.silent = interp.top_level() == "console"

    def title(self):
        if self.kind == "panic" and self.regex:
            return "panic matching %r" % self.regex.pattern
        return self.kind

    def stop(self):
        self.message = None
        try:
            text = self.describe(gdb.selected_thread())
        except (errors.NotLinked, memory.Fault, gdb.error, gdb.MemoryError,
                ValueError, UnicodeError) as e:
            # A damaged record should not hide the event: stop and say why.
            text = "(cannot decode the event: %s)" % e
        if text is None:
            return False
        self.message = text
        if self.kind == "panic":
            dap.note_stop("panic", gdb.selected_thread(), self)
        return True

    def describe(self, t):
        """One line for this stop, or None not to stop."""
        if self.kind == "defer":
            if self.mode == "function":
                return ("defer() in %s (no SDT probes: the record is not made yet, and "
                        "open-coded defers are not seen)" % _caller_line())
            d = snapshot.Snapshot().defer_at(memory.probe_arg(0))
            if d is None:
                return "(cannot read the record at %#x)" % memory.probe_arg(0)
            return "deferred %s in %s" % (formatting.format_call(d), formatting.format_site(d.pc))
        if self.kind == "panic":
            if self.mode == "function":
                # gopanic's entry: the message is not formatted yet.
                fmt = _format_argument()
                if self.regex and not self.regex.search(fmt):
                    return None
                return ("panic with format %s in %s (no SDT probes: message not formatted "
                        "yet)" % (escape.quoted(fmt), _caller_line()))
            p = newest_panic(t)
            if p is None:
                return "(no panic on this thread's chain)"
            if self.regex and not self.regex.search(p.msg):
                return None
            return panic_text(p)
        if self.kind == "recover":
            if self.mode == "function":
                return "recover() called in %s (no SDT probes: success unknown)" % _caller_line()
            p = newest_panic(t)
            snap = snapshot.Snapshot()
            d = snap.defer_at(memory.probe_arg(1))
            who = "a deferred call" if d is None else formatting.format_call(d, with_args=False)
            if p is None:
                return "%s recovered a panic" % who
            return "%s recovered panic %s (raised in %s)" % (who, escape.quoted(p.msg),
                                                             formatting.format_site(p.pc))
        if self.kind == "deferreturn":
            snap = snapshot.Snapshot()
            g = _thread_g(snap, t)
            calls = frame_calls(snap, g, memory.register(regs.argument(0)))
            if not calls:
                return None     # the frame's calls already ran (a panic ran them)
            return "leaving %s: runs %s" % (
                owner_line(calls[0].sp), ", then ".join(formatting.format_call(d) for d in calls))
        return None


def _thread_prefix(t):
    """gdb's "Thread 2 "name" hit " when the program has several threads."""
    if t is None or len(t.inferior.threads()) < 2:
        return ""
    return "Thread %s %s hit " % (frames.thread_id_string(t), escape.quoted(t.name or ""))


def _on_stop(event):
    bps = getattr(event, "breakpoints", None)
    if not bps:
        return
    t = gdb.selected_thread()
    for bp in bps:
        if isinstance(bp, Catchpoint) and bp.is_valid() and bp.message:
            gdb.write("\n%sCatchpoint %d (%s), %s\n" % (_thread_prefix(t), bp.number,
                                                        bp.kind, bp.message))
            if hasattr(gdb, "notify_mi"):       # gdb 14+: =libdefer-catchpoint,...
                gdb.notify_mi("libdefer-catchpoint", {
                    "bkptno": str(bp.number), "kind": bp.kind, "message": bp.message,
                    "thread-id": frames.thread_id_string(t) if t is not None else ""})
            bp.message = None
        elif isinstance(bp, FatalStop) and bp.is_valid() and bp.hit_now:
            bp.hit_now = False
            bp.report(t)


class _CatchCommand(gdb.Command):
    kind = None

    def __init__(self):
        gdb.Command.__init__(self, "catch " + self.kind, gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        regex = self.parse(arg.strip())
        bp = make_quietly(lambda: Catchpoint(self.kind, regex))
        if bp.pending:
            gdb.write("Catchpoint %d (%s) pending: set when libdefer is loaded.\n" % (
                bp.number, bp.title()))
        else:
            gdb.write("Catchpoint %d (%s)\n" % (bp.number, bp.title()))

    def parse(self, arg):
        if arg:
            raise gdb.GdbError("catch %s takes no argument (got %r)." % (self.kind, arg))
        return None


class CatchPanic(_CatchCommand):
    """Stop when a libdefer panic starts.
Usage: catch panic [REGEX]

Stops right after panic() or panic_value() formatted its message and pushed
the panic, before any deferred call runs, and prints the message, the value
and where it was raised.  With REGEX (Python syntax), stops only for panics
whose message matches.  The catchpoint is a breakpoint on the libdefer:panic
SDT probe (gopanic without probes): `info breakpoints`, `disable`, `delete`
work on its number.  Then `defer step` follows the panic.

Examples:
  catch panic
  catch panic disk full
  catch panic ^render:"""
    kind = "panic"

    def parse(self, arg):
        if not arg:
            return None
        try:
            return re.compile(arg)
        except re.error as e:
            raise gdb.GdbError("catch panic: invalid regular expression %r: %s" % (arg, e))


class CatchRecover(_CatchCommand):
    """Stop when recover() stops a libdefer panic.
Usage: catch recover

Stops in gorecover once it has marked the panic recovered, and prints which
deferred call recovered which panic.  `finish` returns to the deferred call;
`defer step` goes on to where execution resumes.

Example:
  catch recover"""
    kind = "recover"


class CatchDefer(_CatchCommand):
    """Stop when a call is deferred.
Usage: catch defer

Stops once defer() has put the call on the thread's chain, and prints the
function, its arguments as evaluated at the defer, and the defer() line.
The catchpoint is a breakpoint on the libdefer:defer SDT probe: the one in
deferproc and the one at each open-coded defer() site (a defer whose
arguments need no conversion never calls deferproc while the thread's
pool has records, so `break deferproc` misses it).

Example:
  catch defer"""
    kind = "defer"


class CatchDeferreturn(_CatchCommand):
    """Stop when a scope exit is about to run deferred calls.
Usage: catch deferreturn

Stops at the entry of deferreturn when a defer_frame is left (end of block,
return, break, goto) with calls pending, and prints the calls it will run,
newest first.  Calls a panic runs do not stop here (use catch panic).
`defer step` enters the first of them.

Example:
  catch deferreturn"""
    kind = "deferreturn"


# ---------------------------------------------------------------------------
# The stop before an unrecovered panic kills the process (Delve's
# built-in `unrecovered-panic` breakpoint).

class FatalStop(gdb.Breakpoint):
    """The internal breakpoint on libdefer:fatal (fatalpanic without
    probes); `last` is (inferior, lwp, pc) of its last stop."""

    def __init__(self, spec, made):
        made.append(self)
        gdb.Breakpoint.__init__(self, spec, internal=True)
        self.silent = interp.top_level() == "console"      # as Catchpoint
        self.hit_now = False
        self.last = None

    def stop(self):
        self.hit_now = params.flag(_stop_on_fatal, True)
        if self.hit_now:
            t = gdb.selected_thread()
            self.last = (t.inferior.num, t.ptid[1], gdb.selected_frame().pc())
            dap.note_stop("fatal", t, self)
        return self.hit_now

    def report(self, t):
        lines = ["", "Unrecovered panic in thread %s %s: the process exits when it "
                 "continues." % (frames.thread_id_string(t), escape.quoted(t.name or ""))]
        try:
            commands.list_thread_panics(snapshot.Snapshot(), t, lines.append)
        except (errors.NotLinked, memory.Fault, gdb.error) as e:
            lines.append("  (cannot read the panic chain: %s)" % e)
        lines.append("(set defer stop-on-fatal-panic off: do not stop here)")
        gdb.write("\n".join(lines) + "\n")


_fatal = None
_stop_on_fatal = None


def set_stop_on_fatal(on):
    """set defer stop-on-fatal-panic (DAP's "Unrecovered panics" filter)."""
    if _stop_on_fatal is not None:
        _stop_on_fatal.value = bool(on)


def at_fatal_stop(t):
    """Is thread t stopped at the unrecovered-panic stop?"""
    if _fatal is None or not _fatal.is_valid() or getattr(_fatal, "last", None) is None:
        return False
    try:
        with frames.ThreadSwitch(t):
            pc = gdb.newest_frame().pc()
    except gdb.error:
        return False
    return _fatal.last == (t.inferior.num, t.ptid[1], pc)


def _ensure_fatal(_event=None):
    """Create the internal breakpoint once a loaded objfile has the runtime.

    This runs while gdb loads objfiles (auto-load, new_objfile), where
    gdb.execute must not be used: running a command there leaves the
    inferior's thread marked as running.  So no make_quietly and no `info
    probes` here: the probe location is tried first (an internal
    breakpoint is not announced), and the function if the probe is
    missing.  Once made, gdb re-sets it on run, kill and exec."""
    global _fatal
    if _fatal is not None and _fatal.is_valid():
        return
    if not _has_function("fatalpanic"):
        return
    for spec in ("-probe-stap libdefer:fatal", "-function fatalpanic"):
        bp = _make_fatal(spec)
        if bp is not None and bp.is_valid() and not bp.pending:
            _fatal = bp
            return
        if bp is not None and bp.is_valid():
            bp.delete()


def _make_fatal(spec):
    """A FatalStop at spec, or None.  When gdb attaches to a process it
    reports the executable before relocating it, and inserting the new
    breakpoint at the unrelocated address fails: the constructor raises, but
    the breakpoint exists (gdb relocates and inserts it in a moment), so the
    object is kept from inside __init__."""
    made = []
    try:
        FatalStop(spec, made)
    except gdb.error:
        pass
    return made[0] if made else None


def register():
    global _stop_on_fatal
    _stop_on_fatal = params.define(
        "stop-on-fatal-panic", gdb.COMMAND_BREAKPOINTS, gdb.PARAM_BOOLEAN, True,
        """Stop before an unrecovered panic kills the process.
When on (the default), a panic that no deferred call recovered stops the
program in gopanic just before libdefer prints its report and exits
(status 2), and the panic chain is shown (Delve's unrecovered-panic
breakpoint).  `continue` lets the process exit.

Example:
  set defer stop-on-fatal-panic off""",
        "Set whether to stop before an unrecovered panic exits.",
        "Show whether to stop before an unrecovered panic exits.",
        "Stopping before an unrecovered panic exits the process is %s.")
    CatchDefer()
    CatchPanic()
    CatchRecover()
    CatchDeferreturn()
    gdb.events.stop.connect(_on_stop)
    gdb.events.new_objfile.connect(_ensure_fatal)
    _ensure_fatal()
