# SPDX-License-Identifier: MIT
"""stepping.py - `defer step`: resume the selected thread until the next
point of interest in its defer/panic control flow.

The points of interest, and the probe that announces each (docs/abi.md):

  run      a deferred call is about to run: stop on the first line of the
           function (d->fn), after its prologue, as `step` would
  recover  recover() succeeded: stop in the deferred call, where recover()
           returns (gorecover's return address)
  resume   a recovered panic resumes a frame: stop where execution goes on
           (defer_result's line, or the owner's caller after the call)
  finish   none of these before the selected frame returns: stop where
           `finish` would (its return address, once the frame is gone)

The loop, in the `defer step` command (a breakpoint's stop() may not create
breakpoints or resume, so it only decides and records):

  1. thread-specific internal breakpoints on the run/recover/resume probes
     and one on the selected frame's return address, all silent;
  2. `continue`; a probe's stop() says whether the event is of interest
     (the records layer decodes the record) and records where to go;
  3. a temporary thread-specific breakpoint on that place, the probes
     disabled, `continue` again: the thread stops in user code, never in
     the runtime, and the usual source display is printed.

Only the selected thread's events stop it: every breakpoint is
thread-specific, and other threads run freely (as with `finish`); a user
breakpoint hit by another thread ends the step like it ends `next`.

Deferred calls into functions without line information (fclose from libc)
and the runtime's own functions are stepped over, as `step` steps over
them.  `set defer step-normal-exits off` makes defer step skip the calls a
normal scope exit runs and stop only in those a panic runs (Delve's `next`).
"""

import gdb

from . import (catchpoints, errors, escape, formatting, frames, layout, memory, params, regs,
               snapshot, symbols, validity)

# Runtime functions: defer step never stops in them.
RUNTIME_FUNCTIONS = frozenset((
    "deferproc", "deferreturn", "gopanic", "gorecover", "recover", "recovery",
    "fatalpanic", "nildefer", "rundefer", "defer_goexit", "freedefer", "throw",
    "__defer_invoke", "__defer_jump", "__defer_setresume", "__defer_frame_exit",
    "__defer_refill", "__defer_checkstale"))


def is_runtime_pc(pc):
    """Is pc in libdefer's own code (defer.h's inline helper included)?"""
    b = symbols.function_block_at(pc)
    name = b.function.name if b is not None else None
    if name is None:
        name = (symbols.minimal_symbol(pc) or "").split("+")[0] or None
    if name in RUNTIME_FUNCTIONS:
        return True
    sal = gdb.find_pc_line(pc)
    path = sal.symtab.filename if sal.symtab is not None else ""
    return "libdefer/src/" in path or path.endswith("libdefer/include/defer.h")


def is_runtime_frame(f):
    """Is frame f libdefer's code?  By the frame's own function, so that an
    inlined __defer_frame_exit (defer.h) counts as the runtime but the
    function it is inlined in does not."""
    try:
        fn = f.function()
    except (gdb.error, RuntimeError):
        fn = None
    if fn is None:
        return is_runtime_pc(f.pc())
    if fn.name in RUNTIME_FUNCTIONS:
        return True
    path = fn.symtab.filename if fn.symtab is not None else ""
    return "libdefer/src/" in path or path.endswith("libdefer/include/defer.h")


def at_address(pc):
    """The location of the instruction at pc (gdb.Breakpoint keywords)."""
    return {"spec": "*%#x" % pc}


def entry_spec(fn):
    """The location of the first line of function fn after its prologue
    (what `break FUNC` uses), as gdb.Breakpoint keywords, or None when fn
    has no line information or is the runtime's: `step` would not stop in
    it either.  An explicit location, never a spec string: the file and
    function names come from the program's debug info, and a name with a
    space or a '-function' in it must not be parsed as a location."""
    if not fn or is_runtime_pc(fn):
        return None
    sal = gdb.find_pc_line(fn)
    if sal.symtab is None or not sal.line:
        return None
    b = symbols.function_block(fn)
    if b is None:
        return at_address(fn)
    return {"source": b.function.symtab.fullname(), "function": b.function.name}


class _Probe(gdb.Breakpoint):
    """A silent, internal, thread-specific breakpoint on a libdefer probe
    that reports to the stepper."""

    def __init__(self, stepper, kind):
        self.stepper, self.kind = stepper, kind
        spec, self.mode = catchpoints.location(kind)
        gdb.Breakpoint.__init__(self, spec, internal=True)
        self.silent = True
        self.thread = stepper.thread.global_num

    def stop(self):
        try:
            return self.stepper.on_event(self.kind)
        except (errors.NotLinked, memory.Fault, gdb.error, gdb.MemoryError,
                ValueError) as e:
            self.stepper.event = ("error", str(e))
            return True


class _Target(gdb.Breakpoint):
    """Where the thread is to stop: temporary, thread-specific, silent."""

    def __init__(self, stepper, location):
        self.stepper = stepper
        gdb.Breakpoint.__init__(self, internal=True, temporary=True, **location)
        self.silent = True
        self.thread = stepper.thread.global_num

    def stop(self):
        self.stepper.arrived = True
        return True


class _Finish(gdb.Breakpoint):
    """Where `finish` would stop: the return address of the start frame, once
    that frame is gone (the stack pointer is back at its CFA; a deeper
    recursive call returning to the same address does not count).

    Not gdb.FinishBreakpoint: when the caller is an inlined frame (defer.h's
    __defer_frame_exit at -O2 calls a frame's last deferred call) it waits
    for that inline frame's id, which the stop after the return does not
    have, and never stops."""

    def __init__(self, stepper, pc, cfa):
        self.stepper, self.cfa = stepper, cfa
        gdb.Breakpoint.__init__(self, "*%#x" % pc, internal=True)
        self.silent = True
        self.thread = stepper.thread.global_num

    def stop(self):
        try:
            sp = int(gdb.selected_frame().read_register(regs.SP))
        except gdb.error:
            return False
        if sp < self.cfa:
            return False
        if self.stepper.event is None:
            self.stepper.event = ("finish", None)
        return True


class Stepper:
    """One `defer step` of `thread`, started in `frame`: its breakpoints,
    and the event the last stop recorded (kind, data)."""

    def __init__(self, thread, frame):
        self.thread = thread
        self.start = frame
        self.start_name = frame.name() or "the function"
        self.event = None
        self.arrived = False
        self.bps = []

    # -- called from stop() methods: decide, record, never resume --
    def on_event(self, kind):
        snap = snapshot.Snapshot()
        if kind == "run":
            d = snap.defer_at(memory.probe_arg(0))
            panic = memory.probe_arg(1)
            if d is None:
                return False
            if not panic and not params_step_normal_exits():
                return False
            if not panic and not self._owned_by_start_or_outer(d.sp):
                return False        # a callee's own scope exit: step over it
            spec = entry_spec(d.fn)
            if spec is None:
                return False        # no line info (libc) or the runtime: as `step`
            why = self._run_reason(snap, d, panic)
            self.event = ("run", (spec, d, why))
            return True
        if kind == "recover":
            g = snap.g_for_tid(self.thread.ptid[1])
            chain = snap.panics(g) if g is not None else []
            p = chain[0] if chain else None
            d = snap.defer_at(memory.probe_arg(1))
            caller = gdb.newest_frame().older()
            if caller is None:
                return False
            self.event = ("recover", (at_address(caller.pc()), p, d))
            return True
        if kind == "resume":
            mark = memory.probe_arg(0)
            pc, how = self._resume_pc(snap, mark)
            if pc is None:
                return False
            self.event = ("resume", (at_address(pc), how))
            return True
        return False

    def _owned_by_start_or_outer(self, sp):
        """Does the record with this sp belong to the frame defer step started
        in, or to one of its callers (not to a function it called)?"""
        f = gdb.newest_frame()
        for _ in range(validity.MAX_FRAMES):
            if f is None:
                return True         # the start frame is gone: we are further out
            if f == self.start:
                return sp >= int(f.read_register(regs.SP))
            f = f.older()
        return True

    def _run_reason(self, snap, d, panic):
        call = formatting.format_call(d)
        site = formatting.format_site(d.pc)
        if not panic:
            return "%s, deferred by %s, run by the scope's exit" % (call, site)
        g = snap.g_for_tid(self.thread.ptid[1])
        for p in (snap.panics(g) if g is not None else []):
            if p.addr == panic:
                if p.goexit:
                    return "%s, deferred by %s, run by defer_goexit" % (call, site)
                return "%s, deferred by %s, run by panic %s" % (call, site,
                                                                escape.quoted(p.msg))
        return "%s, deferred by %s, run by a panic" % (call, site)

    def _resume_pc(self, snap, mark):
        pc = snap.resume_point(mark)
        if pc is not None:
            return pc, "defer_result"
        # No defer_result: the owner returns to its caller, right after the call.
        fm = frames.FrameMap()
        level = fm.owner(mark)
        if level is None:
            return None, None
        owner = fm.frames[fm.levels.index(level)]
        caller = owner.older()
        if caller is None:
            return None, None
        return caller.pc(), "return of %s" % (owner.name() or "??")

    # -- the command's loop --
    def arm(self):
        for kind in ("run", "recover", "resume"):
            self.bps.append(catchpoints.make_quietly(lambda k=kind: _Probe(self, k)))
        caller = self.start.older()
        if caller is not None:      # None: main, the outermost frame for gdb
            pc, cfa = caller.pc(), int(caller.read_register(regs.SP))
            self.bps.append(catchpoints.make_quietly(lambda: _Finish(self, pc, cfa)))
        self.probes = self.bps[:3]

    def disarm(self):
        for bp in self.bps:
            try:
                if bp.is_valid():
                    bp.delete()
            except (gdb.error, RuntimeError):
                pass
        self.bps = []

    def resume(self):
        """continue; True if the thread stopped for one of our breakpoints."""
        self.event, self.arrived = None, False
        if params_locking():
            # Only this thread runs: no other thread's event can end the step.
            with gdb.with_parameter("scheduler-locking", "on"):
                gdb.execute("continue", False, False)
        else:
            gdb.execute("continue", False, False)
        return self._still_ours()

    def _still_ours(self):
        if not self.thread.is_valid() or gdb.selected_inferior().pid == 0:
            return False
        return gdb.selected_thread() == self.thread and (self.event is not None or self.arrived)

    def go_to(self, spec):
        """Stop at spec (thread-specific), the probes disabled meanwhile."""
        for bp in self.probes:
            bp.enabled = False
        target = catchpoints.make_quietly(lambda: _Target(self, spec))
        self.bps.append(target)
        ok = self.resume() and self.arrived
        for bp in self.probes:
            if bp.is_valid():
                bp.enabled = True
        if not ok and self._still_ours() and self.event[0] == "finish":
            # The frame returned before the target was reached.
            _show("defer step: %s returned" % self.start_name)
        return ok

    def run(self):
        # A deferred call that returns lands in the runtime (deferreturn,
        # __defer_invoke): never stop there; go on as if stepping out of the
        # first user frame above it.  Bounded: each round leaves a frame.
        for _ in range(64):
            self.arm()
            try:
                if not self.resume():
                    if gdb.selected_inferior().pid == 0:
                        # main has no caller to stop in: say where the step went.
                        _show("defer step: %s returned and the program exited, with no "
                              "deferred call left to step into" % self.start_name)
                    return
                kind, data = self.event
                if kind == "finish" and is_runtime_frame(gdb.newest_frame()):
                    self.start = _start_frame(gdb.newest_frame())
                    self.start_name = self.start.name() or "the function"
                    continue
                self.report(kind, data)
                return
            finally:
                self.disarm()

    def report(self, kind, data):
        if kind == "error":
            raise gdb.GdbError("defer step: cannot decode the event: %s" % data)
        if kind == "finish":
            _show("defer step: %s returned (no deferred call, recover or resume "
                  "on the way)" % self.start_name)
        elif kind == "run":
            spec, d, why = data
            if self.go_to(spec):
                _show("defer step: entering %s" % why)
        elif kind == "recover":
            spec, p, d = data
            who = formatting.format_call(d, with_args=False) if d is not None else \
                "the deferred call"
            what = escape.quoted(p.msg) if p is not None else "the panic"
            if self.go_to(spec):
                _show("defer step: %s recovered panic %s" % (who, what))
        elif kind == "resume":
            spec, how = data
            if self.go_to(spec):
                _show("defer step: the recovered panic resumes here (%s)" % how)


def _show(header):
    """The header, then the stop location as `step` shows it."""
    gdb.write(header + "\n")
    try:
        # `print symbol off`: a pointer argument's <symbol> (the program's
        # bytes, newlines included) is not part of gdb's line at all.
        with gdb.with_parameter("print symbol", False):
            text = gdb.execute("frame", False, True)
    except gdb.error as e:
        gdb.write("(%s)\n" % e)
        return
    if text.startswith("#0  "):
        text = text[4:]
    # gdb's own frame line holds the program's names and source line raw.
    gdb.write("".join(escape.printable(ln, tabs=True) + "\n" for ln in text.splitlines()))


def params_locking():
    return params.flag(_locking, False)


def params_step_normal_exits():
    return params.flag(_normal_exits, True)


def _check_thread():
    """The thread to step, or a one-line GdbError saying why not."""
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0:
        raise gdb.GdbError("defer step: the program is not being run.")
    conn = getattr(inf, "connection", None)
    if conn is not None and conn.type == "core":
        raise gdb.GdbError("defer step: this is a core file: there is no process to run.")
    if gdb.parameter("non-stop"):
        # Its `continue` returns at once and the stops arrive later, as
        # events: the synchronous loop here cannot follow them.
        raise gdb.GdbError("defer step: not available in non-stop mode (set non-stop off "
                           "before starting the program).")
    t = gdb.selected_thread()
    if t is None or not t.is_valid() or t.is_exited():
        raise gdb.GdbError("defer step: no thread selected.")
    if t.is_running():
        raise gdb.GdbError("defer step: thread %s is running: interrupt it first." %
                           frames.thread_id_string(t))
    if catchpoints.at_fatal_stop(t):
        raise gdb.GdbError("defer step: this panic was not recovered: no deferred call is "
                           "left to run; continue lets the process exit.")
    snap = snapshot.Snapshot()
    if snap.g_for_tid(t.ptid[1]) is None:
        # Not an error: the selected function may be about to defer.
        gdb.write("defer step: thread %s has never deferred a call; stopping where "
                  "finish would unless it defers or panics first.\n" %
                  frames.thread_id_string(t))
    return t


def _start_frame(frame=None):
    """The selected frame, or, if that is the runtime's code (after catch
    panic, say), the first user frame above it."""
    first = frame if frame is not None else gdb.selected_frame()
    f = first
    while f is not None and is_runtime_frame(f):
        f = f.older()
    if f is None:
        f = first
    # An inlined function's calls belong to the function it is inlined in,
    # and only a real frame can be finished.
    while f.type() == gdb.INLINE_FRAME and f.older() is not None:
        f = f.older()
    return f


class DeferPrefix(gdb.Command):
    """Commands for libdefer's deferred calls and panics.
Example:
  defer step"""

    def __init__(self):
        gdb.Command.__init__(self, "defer", gdb.COMMAND_RUNNING, gdb.COMPLETE_COMMAND, True)

    def invoke(self, arg, from_tty):
        if arg.strip():
            raise gdb.GdbError('Undefined defer command: "%s".  Try "help defer".' %
                               arg.split()[0])
        gdb.execute("help defer", from_tty)


class DeferStep(gdb.Command):
    """Run the selected thread to the next point of its defer/panic control flow.
Usage: defer step

Resumes the selected thread and stops at the first of:
  - the first line of the next deferred call to run, at a scope exit of the
    selected frame (or of a caller), or during a panic (any frame's calls);
  - the deferred call that recovered a panic, where recover() returns;
  - after a recovery, the place where execution resumes (the owner's
    defer_result line, or its caller right after the call);
  - otherwise where `finish` would stop when the selected frame returns.
Repeating it walks a whole panic: each deferred call, the recover, the
resume point.  It never stops in libdefer's own code, steps over deferred
calls without line information (as `step` does), and only this thread's
events stop it (other threads keep running, as with `finish`).

`set defer step-normal-exits off` skips calls run by normal scope exits
(Delve's `next`): only calls a panic runs stop.  See docs/gdb-stepping.md.

Example:
  catch panic
  run
  defer step"""

    def __init__(self):
        gdb.Command.__init__(self, "defer step", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        if arg.strip():
            raise gdb.GdbError("defer step takes no argument (got %r)." % arg.strip())
        try:
            t = _check_thread()
            layout.runtime()
        except errors.NotLinked as e:
            raise gdb.GdbError("defer step: %s" % e)
        Stepper(t, _start_frame()).run()


_normal_exits = None
_locking = None


def _has_command(name):
    """Does gdb have this (one-word) command?  By completion: a failing
    gdb.execute while gdb loads an objfile (auto-load) would leave the
    inferior's thread marked as running, so nothing here may raise."""
    try:
        text = gdb.execute("complete %s" % name, False, True)
    except gdb.error:
        return False
    return name in text.split()


# The runtime's assembly, as a glob gdb matches against a source file's
# trailing path components (libdefer/src/ARCH/defer.S in the tree, the
# installed libraries and Debian's package alike).
RUNTIME_ASSEMBLY = "libdefer/src/*/defer.S"


def _skip_runtime_assembly():
    """defer.S carries line information (so that addr2line, perf and the
    crash report name it), which makes plain `step` at a scope exit walk
    deferreturn one instruction line at a time.  Skipping the file gives
    `step` back what it did before: step over the runtime, the deferred calls
    included; `defer step` enters them.  `info skip` shows the entry, `skip
    delete N` removes it."""
    try:
        gdb.execute("skip -gfile %s" % RUNTIME_ASSEMBLY, to_string=True)
    except gdb.error:
        pass


def register():
    global _normal_exits, _locking
    if not _has_command("defer"):
        DeferPrefix()
    DeferStep()
    _skip_runtime_assembly()
    _normal_exits = params.define(
        "step-normal-exits", gdb.COMMAND_RUNNING, gdb.PARAM_BOOLEAN, True,
        """Whether defer step stops in calls run by a normal scope exit.
When on (the default), defer step enters every deferred call, like Delve's
step.  When off, it stops only in calls a panic runs, and at recoveries
(Delve's next and stepout).

Example:
  set defer step-normal-exits off""",
        "Set whether defer step stops in calls run by normal scope exits.",
        "Show whether defer step stops in calls run by normal scope exits.",
        "Stopping in deferred calls run by normal scope exits is %s.")
    _locking = params.define(
        "step-scheduler-locking", gdb.COMMAND_RUNNING, gdb.PARAM_BOOLEAN, False,
        """Whether only the stepped thread runs during defer step.
Off (the default): other threads run meanwhile, as with finish; defer step
only stops for the selected thread's deferred calls, recover and resume,
but a user breakpoint another thread reaches ends it, as it ends next.
On: defer step runs with scheduler-locking on, so no other thread moves;
a thread that waits for another one (a lock, a barrier) then waits forever
(interrupt with Ctrl-C).

Example:
  set defer step-scheduler-locking on""",
        "Set whether only the stepped thread runs during defer step.",
        "Show whether only the stepped thread runs during defer step.",
        "Running only the stepped thread during defer step is %s.")
