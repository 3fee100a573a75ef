# SPDX-License-Identifier: MIT
"""printers.py - pretty-printers for struct g, struct _defer, struct _panic.

Each prints a one-line summary (what a person wants to read) followed by
the struct's own fields (so nothing is hidden):

  (gdb) print *allgs
  $1 = thread LWP 4724 "scen" running: 6 deferred calls pending, no panic = {...}
  (gdb) print *allgs->_defer
  $2 = defer close_conn(c=0x... <conn>, flags=3 '\\003', force=true) [pending],
       deferred by inner at scen.c:59 = {...}

The summaries decode through the records layer; a record that cannot be
read prints as `<libdefer: ...>` plus whatever fields gdb can show.
"""

import gdb

from . import errors, escape, formatting, memory, snapshot


def _fields(val):
    for f in val.type.strip_typedefs().fields():
        if f.name:
            yield f.name, val[f.name]


def _address(snap, val):
    """Where the value is in the program's memory, or, for one that gdb
    holds elsewhere (a convenience variable), where snap serves its bytes:
    summaries are decoded from there, by the walks' own decoder and rules
    (snapshot.py)."""
    if val.address is not None:
        return int(val.address)
    return snap.mem.pin(memory.value_bytes(val))


def _only(chain):
    """The record a one-record read gave, or ValueError saying what is wrong."""
    if not chain:
        raise ValueError(chain.why or chain.error)
    return chain[0]


class _Printer:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        try:
            snap = snapshot.Snapshot()
            return self.summary(snap, _address(snap, self.val))
        except (errors.NotLinked, gdb.error, gdb.MemoryError, RuntimeError, ValueError) as e:
            return "<libdefer: %s>" % e
        except MemoryError:
            return "<%s>" % errors.out_of_memory()

    def children(self):
        return _fields(self.val)


class DeferPrinter(_Printer):
    def summary(self, snap, addr):
        d = _only(snap.read_defer(addr))
        state = d.state()
        if d.started and d.panic:
            state = "run by the panic at %#x" % d.panic
        return "defer %s [%s], deferred by %s" % (
            formatting.format_call(d), state, formatting.format_site(d.pc))


class PanicPrinter(_Printer):
    def summary(self, snap, addr):
        p = _only(snap.read_panic(addr))
        if p.goexit:
            return "goexit"
        return "panic %s%s [%s], raised in %s" % (
            escape.quoted(p.msg), formatting.panic_value_text(p.arg), p.state(),
            formatting.format_site(p.pc))


class GPrinter(_Printer):
    def summary(self, snap, addr):
        g, why = snap.g_at(addr)
        if g is None:
            raise ValueError(why)
        status = "dead" if g.dead else "running"
        head = "thread LWP %d %s %s" % (g.tid, escape.quoted(g.name), status)
        defers = snap.defers(g)
        panics = snap.panics(g)
        n = "%d%s" % (len(defers), "+" if defers.truncated or defers.error else "")
        head += ": %s deferred call%s pending" % (n, "" if n == "1" else "s")
        if defers.error:
            head += " (%s)" % defers.error
        if panics:
            head += ", panicking: %s [%s]" % (escape.quoted(panics[0].msg), panics[0].state())
        else:
            head += ", no panic"
        return head


_PRINTERS = {"_defer": DeferPrinter, "_panic": PanicPrinter, "g": GPrinter}


def _is_libdefer_g(t):
    names = {f.name for f in t.fields()}
    return {"alllink", "_defer", "_panic", "tid"} <= names


_MAYBE_OURS = (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_TYPEDEF)


def lookup(val):
    """gdb pretty-printer lookup: None for anything that is not ours."""
    t = val.type
    if t.code not in _MAYBE_OURS:
        return None         # PERF: bt asks for every argument of 10,000 calls
    t = t.strip_typedefs()
    if t.code != gdb.TYPE_CODE_STRUCT or t.tag is None:
        return None
    cls = _PRINTERS.get(t.tag)
    if cls is None:
        return None
    if cls is GPrinter and not _is_libdefer_g(t):
        return None     # another library's `struct g`
    return cls(val)


lookup.name = "libdefer"
lookup.enabled = True


def register(objfile):
    """One entry per objfile (or one global entry when objfile is None)."""
    target = objfile.pretty_printers if objfile is not None else gdb.pretty_printers
    if any(getattr(p, "name", None) == "libdefer" for p in target):
        return
    target.append(lookup)
