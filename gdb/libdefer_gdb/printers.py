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

from . import records


def _fields(val):
    for f in val.type.strip_typedefs().fields():
        if f.name:
            yield f.name, val[f.name]


def _defer_from_value(val):
    f = {"link": int(val["link"]), "fn": int(val["fn"]), "pc": int(val["pc"]),
         "sp": int(val["sp"]), "panic": int(val["_panic"]), "nargs": int(val["nargs"]),
         "started": int(val["started"]), "heap": int(val["heap"])}
    if not f["started"]:
        f["panic"] = 0
    kind = bytes(int(val["kind"][i]) & 0xFF for i in range(records.MAXARGS))
    iregs = tuple(int(val["iregs"][i]) for i in range(records.MAXARGS))
    fregs = tuple(int(val["fregs"][i]) for i in range(records.MAXARGS))
    addr = int(val.address) if val.address is not None else 0
    return records.Defer.from_fields(addr, f, kind, iregs, fregs, 0)


class DeferPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        try:
            d = _defer_from_value(self.val)
            if d.nargs > records.MAXARGS:
                return "<libdefer: garbage record, nargs=%d>" % d.nargs
            state = d.state()
            if d.started and d.panic:
                state = "run by the panic at %#x" % d.panic
            return "defer %s [%s], deferred by %s" % (
                records.format_call(d), state, records.format_site(d.pc))
        except (gdb.error, gdb.MemoryError, RuntimeError, MemoryError) as e:
            return "<libdefer: %s>" % e

    def children(self):
        return _fields(self.val)


class PanicPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        try:
            v = self.val
            flags = {"recovered": int(v["recovered"]), "aborted": int(v["aborted"]),
                     "goexit": int(v["goexit"])}
            if max(flags.values()) > 1:
                return "<libdefer: not a panic record (%s)>" % " ".join(
                    "%s=%d" % kv for kv in sorted(flags.items()))
            msg = v["msg"].string(length=records.PANIC_MSG, errors="surrogateescape")
            msg = msg.split("\0")[0]
            p = records.Panic(0, flags, msg, 0)
            if p.goexit:
                return "goexit"
            arg = int(v["arg"])
            value = records.panic_value_text(arg)
            return "panic %s%s [%s], raised in %s" % (
                records.quoted(msg), value, p.state(), records.format_site(int(v["pc"])))
        except (gdb.error, gdb.MemoryError, RuntimeError, UnicodeDecodeError, MemoryError) as e:
            return "<libdefer: %s>" % e

    def children(self):
        return _fields(self.val)


class GPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        try:
            v = self.val
            status = {records.G_RUNNING: "running", records.G_DEAD: "dead"}.get(
                int(v["status"]))
            if status is None:
                return "<libdefer: not a thread record (status %d)>" % int(v["status"])
            name = v["name"].string(length=16, errors="backslashreplace").split("\0")[0]
            head = "thread LWP %d %s %s" % (int(v["tid"]), records.quoted(name), status)
            try:
                snap = records.Snapshot()
            except records.NotLinked:
                return head
            g = records.G(int(v.address) if v.address is not None else 0,
                          {"defer": int(v["_defer"]), "panic": int(v["_panic"])}, name)
            defers = snap.defers(g)
            panics = snap.panics(g)
            n = "%d%s" % (len(defers), "+" if defers.truncated or defers.error else "")
            head += ": %s deferred call%s pending" % (n, "" if n == "1" else "s")
            if defers.error:
                head += " (%s)" % defers.error
            if panics:
                head += ", panicking: %s [%s]" % (records.quoted(panics[0].msg),
                                                  panics[0].state())
            else:
                head += ", no panic"
            return head
        except (gdb.error, gdb.MemoryError, RuntimeError, MemoryError) as e:
            return "<libdefer: %s>" % e

    def children(self):
        return _fields(self.val)


_PRINTERS = {"_defer": DeferPrinter, "_panic": PanicPrinter, "g": GPrinter}


def _is_libdefer_g(t):
    names = {f.name for f in t.fields()}
    return {"alllink", "_defer", "_panic", "tid"} <= names


def lookup(val):
    """gdb pretty-printer lookup: None for anything that is not ours."""
    t = val.type.strip_typedefs()
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
