# SPDX-License-Identifier: MIT
"""functions.py - convenience functions for conditions and scripts.

  $_defer_count([THREAD])   pending deferred calls of the selected (or the
                            given gdb-numbered) thread
  $_panicking([THREAD])     1 if the thread has a panic that is neither
                            recovered nor a defer_goexit, else 0
  $_panic_message([THREAD]) the newest panic's message, "" if none
  $_panic_value([THREAD])   the newest panic's value (panic_value's pointer)
                            typed as at the panic site, (void *) 0 if none

They answer 0 / "" in a program that does not use libdefer, so a condition
like `break foo if $_panicking()` never fails.
"""

import gdb

from . import errors, layout, snapshot, values


def _g(thread_arg):
    """The record of the selected thread or of gdb thread number thread_arg."""
    try:
        rt = layout.runtime()
    except errors.NotLinked:
        return None, None
    t = gdb.selected_thread()
    if thread_arg is not None:
        try:
            n = int(thread_arg)
        except gdb.error:
            raise gdb.GdbError("THREAD must be a gdb thread number, as in $_defer_count(2)")
        t = next((x for x in gdb.selected_inferior().threads() if x.num == n), None)
        if t is None:
            raise gdb.GdbError("No thread %d." % n)
    if t is None:
        return None, None
    snap = snapshot.Snapshot(rt)
    return snap, snap.g_for_tid(t.ptid[1])


def _fit_value_size(msg):
    """The message as a gdb string value: the program's very bytes (not
    UTF-8 ones included), cut to `max-value-size` (64 KiB by default) with
    the runtime's marker when longer."""
    raw = msg.encode("utf-8", "surrogateescape")
    limit = gdb.parameter("max-value-size")
    if limit is not None and limit >= 0 and len(raw) >= limit:     # -1: unlimited
        keep = max(limit - 64, 0)
        raw = raw[:keep] + b" [... %d more bytes not shown]" % (len(raw) - keep)
    return gdb.Value(raw + b"\0", gdb.lookup_type("char").array(len(raw)))


def _empty_string():
    """The empty string as a gdb value (a Python "" becomes a char[0], printed 0x0)."""
    return gdb.Value(b"\0", gdb.lookup_type("char").array(0))


class DeferCount(gdb.Function):
    """$_defer_count([THREAD]) - number of pending deferred calls.
Counts the selected thread's calls, or those of gdb thread THREAD.
Example:
  break step_many if $_defer_count() > 1000"""

    def __init__(self):
        gdb.Function.__init__(self, "_defer_count")

    @errors.memory_errors_as_gdb_errors
    def invoke(self, thread=None):
        snap, g = _g(thread)
        if g is None:
            return 0
        return sum(1 for _ in snap.iter_defers(g))


class Panicking(gdb.Function):
    """$_panicking([THREAD]) - 1 if the thread is panicking, else 0.
A panic counts until it is recovered; defer_goexit does not count.
Example:
  break fclose if $_panicking()"""

    def __init__(self):
        gdb.Function.__init__(self, "_panicking")

    @errors.memory_errors_as_gdb_errors
    def invoke(self, thread=None):
        snap, g = _g(thread)
        if g is None:
            return 0
        return int(any(not p.recovered and not p.goexit for p in snap.panics(g)))


class PanicMessage(gdb.Function):
    """$_panic_message([THREAD]) - the newest panic's message, or "".
Example:
  break release if $_streq($_panic_message(), "disk full")"""

    def __init__(self):
        gdb.Function.__init__(self, "_panic_message")

    @errors.memory_errors_as_gdb_errors
    def invoke(self, thread=None):
        snap, g = _g(thread)
        if g is None:
            return _empty_string()
        chain = snap.panics(g)
        return _fit_value_size(chain[0].msg) if chain else _empty_string()


class PanicValue(gdb.Function):
    """$_panic_value([THREAD]) - the newest panic's value, typed.
panic_value's pointer with the static type it had at the panic site (from
the site's debug information; void * without it), or (void *) 0 when the
panic has no value.  Dereference it, print its fields, ptype it.
Example:
  print *$_panic_value()
  print $_panic_value()->code"""

    def __init__(self):
        gdb.Function.__init__(self, "_panic_value")

    @errors.memory_errors_as_gdb_errors
    def invoke(self, thread=None):
        snap, g = _g(thread)
        chain = snap.panics(g) if g is not None else []
        if not chain or not chain[0].arg:
            return gdb.Value(0).cast(gdb.lookup_type("void").pointer())
        return values.typed_value(chain[0], chain)[0]


def register():
    DeferCount()
    Panicking()
    PanicMessage()
    PanicValue()
