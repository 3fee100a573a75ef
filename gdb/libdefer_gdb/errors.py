# SPDX-License-Identifier: MIT
"""errors.py - the exceptions and one-line errors the records layer raises.

Every failure a user sees is one gdb error line, never a Python traceback:
no libdefer in the program (NotLinked), nothing to read (NoTarget), and
running out of Python memory while reading (out_of_memory).  Unreadable
addresses are memory.Fault; damaged records are not exceptions at all
(validity.py, reported in a Chain's `error`).
"""

import gdb

from . import params


class NotLinked(gdb.GdbError):
    """The program does not use libdefer (or its symbols cannot be found)."""


class NoTarget(gdb.GdbError):
    """No process and no core file."""


def require_target():
    """Raise NoTarget unless there is a live process or a core to read."""
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0 or not inf.threads():
        raise NoTarget("No process and no core file: start the program (run, "
                       "attach PID, target remote) or load a core (core FILE).")
    return inf


def out_of_memory():
    """The error for a MemoryError (gdb under `ulimit -v`, a huge budget)."""
    return gdb.GdbError("libdefer: out of memory while reading the records: set defer "
                        "max-entries lower (now %s)" % params.max_entries_text())


def memory_errors_as_gdb_errors(fn):
    """A gdb entry point (MI command, convenience function) whose MemoryError
    is one readable gdb error, not a Python traceback."""
    def wrapped(*args, **kw):
        try:
            return fn(*args, **kw)
        except MemoryError:
            raise out_of_memory() from None
    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped
