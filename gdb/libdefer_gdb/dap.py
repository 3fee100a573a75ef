# SPDX-License-Identifier: MIT
"""dap.py - libdefer in gdb's own DAP server (`gdb -i dap`, gdb 14 and newer).

gdb's DAP server (python/lib/gdb/dap/) builds stack traces from frame
filters and scopes from frame decorators, and answers from fixed tables:
its requests (gdb.dap.server._commands), its capabilities, among them the
exception filters (Ada, C++), and its scopes (Arguments, Locals,
Registers).  There is no documented hook for an extension, so this module
wraps the registered handlers, keeping gdb's answers and adding libdefer's:

  scopes                   a "Deferred calls" scope on each frame that owns
                           pending calls: one variable per call (value: the
                           call as `info defers` prints it; children: its
                           arguments, where it was deferred, its state)
  setExceptionBreakpoints  filters "libdefer-panic" (every panic) and
                           "libdefer-unrecovered" (before an unrecovered
                           panic ends the process); gdb's own filters go
                           to gdb's handler, in the order the client sent
  stopped                  a stop at one of them has reason "exception",
                           description "panic" and the message as text
  exceptionInfo            the panic: message, value, where it was raised,
                           the older panics of the chain

The frame filter's part (framefilter.py) is an address for deferred calls
(stackTrace with format.includeAll) and Locals without libdefer's marker
variables.  Checked against Debian 13's gdb 16.3 by make test
(tests/gdb/test_dap.py, with Microsoft's DAP test client); on a gdb whose
DAP module lacks what is wrapped, install() changes nothing and says so.
"""

import gdb

from . import errors, escape, formatting, interp, memory, snapshot, values

FILTERS = (
    {"filter": "libdefer-panic", "label": "Panics (libdefer)", "default": False,
     "description": "Stop when any panic starts, recovered or not"},
    {"filter": "libdefer-unrecovered", "label": "Unrecovered panics (libdefer)",
     "default": True,
     "description": "Stop before a panic nobody recovered ends the process"},
)
_OURS = {f["filter"] for f in FILTERS}

_server = _events = _varref = None
_panic_bp = None            # the catchpoint behind libdefer-panic, or None
_unrecovered = True         # libdefer-unrecovered is on
_stop = None                # (kind, Panic) of a stop at one of ours, for exceptionInfo
_pending = None             # the same, for the stopped event being sent


def _dap_modules():
    """gdb.dap's modules (by sys.modules: `gdb.dap.server`, the attribute,
    is the running Server object, not the module)."""
    import importlib
    return tuple(importlib.import_module("gdb.dap." + m) for m in ("server", "events", "varref"))


def install():
    """Wrap gdb's DAP handlers (only when gdb runs as a DAP server)."""
    global _server, _events, _varref
    if interp.top_level() != "dap" or _server is not None:
        return
    try:
        server, events, varref = _dap_modules()
        commands, caps = server._commands, server._capabilities
        for name in ("scopes", "setExceptionBreakpoints"):
            commands[name]
        events.send_event_maybe_later, varref.BaseReference, server.send_gdb_with_response
    except (ImportError, AttributeError, KeyError) as e:
        gdb.write("libdefer: this gdb's DAP server is not one libdefer knows (%s): "
                  "no deferred-call scopes or panic filters\n" % e, gdb.STDERR)
        return
    _server, _events, _varref = server, events, varref
    caps["exceptionBreakpointFilters"] = tuple(caps.get("exceptionBreakpointFilters", ())) + \
        FILTERS
    caps["supportsExceptionInfoRequest"] = True
    commands["scopes"] = _wrap_scopes(commands["scopes"])
    commands["setExceptionBreakpoints"] = _wrap_exception_filters(
        commands["setExceptionBreakpoints"])
    commands["exceptionInfo"] = _exception_info
    events.send_event_maybe_later = _wrap_stopped(events.send_event_maybe_later)
    gdb.events.cont.connect(_forget_stop)


def _in_gdb(fn):
    """Run fn() on gdb's thread (requests arrive on the DAP thread)."""
    return _server.send_gdb_with_response(fn)


# ---------------------------------------------------------------------------
# Scopes

def _call_children(d, by_addr):
    out = []
    try:
        out.extend(formatting.argument_values(d))
    except gdb.error as e:
        out.append(("arguments", "<%s>" % e))
    out.append(("deferred by", formatting.format_site(d.pc, raw=True)))
    out.append(("state", d.state(by_addr)))
    return [(n or "arg%d" % (i + 1), v) for i, (n, v) in enumerate(out)]


def _make_refs():
    """BaseReference subclasses, made once gdb's DAP module is loaded."""
    base = _varref.BaseReference

    class Node(base):
        """A reference with a fixed list of children (`kids`)."""

        def __init__(self, name, kids, extra):
            super().__init__(name)
            self.kids, self.extra = kids, extra

        def to_object(self):
            result = super().to_object()
            result.update(self.extra)
            result["namedVariables"] = len(self.kids)
            return result

        def has_children(self):
            return True

        def child_count(self):
            return len(self.kids)

    class Call(Node):
        """One deferred call: value `fn(args)`, children its details."""

        def __init__(self, d, by_addr):
            super().__init__("defer %d: %s" % (d.index, escape.mi_text(
                formatting.format_call(d, False, raw=True))), _call_children(d, by_addr),
                {"value": escape.mi_text(formatting.format_call(d, raw=True))})

        def fetch_one_child(self, idx):
            name, value = self.kids[idx]
            return name, value if isinstance(value, gdb.Value) else gdb.Value(str(value))

    class Scope(Node):
        """The "Deferred calls" scope of one frame: its children are Calls
        (references of their own, not gdb values)."""

        def __init__(self, calls, by_addr):
            super().__init__("Deferred calls", [Call(d, by_addr) for d in calls],
                             {"presentationHint": "locals", "expensive": False})

        def fetch_one_child(self, idx):      # not used: fetch_children gives ours
            raise IndexError(idx)

        def fetch_children(self, start, count):
            end = len(self.kids) if count == 0 else start + count
            return self.kids[start:end]

    return Scope


_Scope = None


def _deferred_scope(frame_id):
    """The scope object for DAP frame frame_id, or None."""
    global _Scope
    import importlib
    frame = importlib.import_module("gdb.dap.frames").frame_for_id(frame_id)
    owned = getattr(frame, "libdefer_calls", None)
    if not owned:
        return None
    if _Scope is None:
        _Scope = _make_refs()
    calls, by_addr = owned
    return _Scope(calls, by_addr).to_object()


def _wrap_scopes(original):
    def scopes(**args):
        result = original(**args)
        try:
            extra = _in_gdb(lambda: _deferred_scope(args["frameId"]))
        except (gdb.error, errors.NotLinked, memory.Fault, KeyError):
            extra = None
        if extra is not None:
            scopes = list(result["scopes"])
            at = next((i for i, s in enumerate(scopes) if s.get("name") == "Registers"),
                      len(scopes))
            result["scopes"] = scopes[:at] + [extra] + scopes[at:]
        return result
    return scopes


# ---------------------------------------------------------------------------
# Exception filters and the stops they make

def _wrap_exception_filters(original):
    def set_exception_breakpoints(*, filters=(), filterOptions=(), **args):
        asked = [{"filterId": f} for f in filters] + list(filterOptions)
        theirs = [o for o in asked if o.get("filterId") not in _OURS]
        result = original(filters=[], filterOptions=theirs, **args)
        gdb_bps = iter(result.get("breakpoints", ()))
        mine = _in_gdb(lambda: _set_ours({o["filterId"]: o.get("condition") for o in asked
                                          if o.get("filterId") in _OURS}))
        out = []
        for o in asked:                      # the order the client sent
            out.append(mine[o["filterId"]] if o["filterId"] in _OURS else next(gdb_bps))
        return {"breakpoints": out}
    return set_exception_breakpoints


def _set_ours(wanted):
    """Make libdefer's filters exactly `wanted` ({filter: condition or
    None}); their DAP breakpoints."""
    global _panic_bp, _unrecovered
    from . import catchpoints
    out = {}
    if "libdefer-panic" in wanted:
        if _panic_bp is None or not _panic_bp.is_valid():
            _panic_bp = catchpoints.make_quietly(lambda: catchpoints.Catchpoint("panic"))
        # Verified even while pending (the program is loaded only at launch,
        # after this request): gdb's DAP server tells clients of changes
        # only for breakpoints it made, so an unverified one would stay so.
        bp = {"id": _panic_bp.number, "verified": True}
        try:
            _panic_bp.condition = wanted["libdefer-panic"] or None
        except gdb.error as e:
            bp.update(verified=False, message=str(e))
        out["libdefer-panic"] = bp
    elif _panic_bp is not None:
        if _panic_bp.is_valid():
            _panic_bp.delete()
        _panic_bp = None
    _unrecovered = "libdefer-unrecovered" in wanted
    catchpoints.set_stop_on_fatal(_unrecovered)
    if _unrecovered:
        out["libdefer-unrecovered"] = (
            {"verified": False, "message": "this filter takes no condition"}
            if wanted["libdefer-unrecovered"] else {"verified": True})
    return out


def note_stop(kind, t, bp):
    """Called from a libdefer stop() (catch panic, the fatal stop) on gdb's
    thread, when it asks gdb to stop: under DAP, the stopped event that
    follows is an exception, if gdb does stop for bp (a condition or an
    ignore count can still say no: _wrap_stopped checks)."""
    global _pending
    if _events is None:
        return
    if kind == "panic" and bp is not _panic_bp:
        return                               # a user's own `catch panic`
    p = None
    try:
        snap = snapshot.Snapshot()
        g = snap.g_for_tid(t.ptid[1])
        chain = snap.panics(g) if g is not None else []
        p = chain[0] if chain else None
        older = list(chain[1:])
    except (errors.NotLinked, memory.Fault, gdb.error):
        older = []
    typed = None
    if p is not None and p.arg:
        try:
            typed = values.typed_value(p, chain)
        except gdb.error:
            pass
    _pending = (kind, p, older, bp, typed)


def _forget_stop(_event=None):
    global _stop, _pending
    _stop = _pending = None


def _ours(pending, body):
    """Is this stop the one note_stop saw coming?"""
    from . import catchpoints
    kind, _p, _older, bp, _typed = pending
    if kind == "fatal":
        return catchpoints.at_fatal_stop(gdb.selected_thread())
    return bp.is_valid() and bp.number in body.get("hitBreakpointIds", ())


def _wrap_stopped(original):
    def send_event_maybe_later(event, body=None):
        global _pending, _stop
        if event == "stopped" and body is not None:
            pending, _pending = _pending, None
            _stop = None
            if pending is not None and _ours(pending, body):
                kind, p, older, _bp, typed = pending
                _stop = (kind, p, older, typed)
                body["reason"] = "exception"
                body["description"] = "unrecovered panic" if kind == "fatal" else "panic"
                if p is not None:
                    body["text"] = escape.mi_text(p.msg)
        return original(event, body)
    return send_event_maybe_later


def _exception_info(**args):
    def info():
        if _stop is None:
            raise gdb.GdbError("not stopped at a libdefer panic")
        kind, p, older, typed = _stop
        details = {"typeName": "panic"}
        if p is not None:
            details["message"] = escape.mi_text(p.msg)
            details["stackTrace"] = "raised in " + formatting.format_site(p.pc, raw=True)
            if p.arg:
                details["evaluateName"] = "(void *)%#x" % p.arg
            if typed is not None and typed[1] is None:
                # The value's static type at the panic site (values.py);
                # $_panic_value() is the typed value, for evaluate.
                details["fullTypeName"] = str(typed[0].type)
                details["evaluateName"] = "$_panic_value()"
            details["innerException"] = [
                {"typeName": "panic", "message": escape.mi_text(q.msg),
                 "stackTrace": "raised in " + formatting.format_site(q.pc, raw=True)}
                for q in older]
        return {"exceptionId": "panic",
                "description": escape.mi_text(p.msg) if p is not None else "panic",
                "breakMode": "unhandled" if kind == "fatal" else "always",
                "details": details}
    return _in_gdb(info)
