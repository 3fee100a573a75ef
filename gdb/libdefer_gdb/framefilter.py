# SPDX-License-Identifier: MIT
"""framefilter.py - `bt` shows each frame's deferred calls under it.

A frame filter wraps every frame that owns deferred calls in a decorator
whose elided() items are those calls, newest first; gdb prints elided items
indented under their frame.  `set defer backtrace off` or `bt -no-filters`
gives the plain backtrace.  Nothing here may raise into bt: on any problem
the frames pass through undecorated.
"""

import itertools

import gdb
from gdb.FrameDecorator import FrameDecorator

from . import (errors, escape, formatting, frames, interp, layout, params, snapshot,
               symbols)


class _Arg:
    def __init__(self, name, value):
        self._name, self._value = name, value

    def symbol(self):
        return self._name

    def value(self):
        return self._value


def _safe(value):
    """A value as bt may print it: gdb writes a pointer's <symbol> raw, and
    symbol names are the program's bytes.  When gdb's text of it is not
    printable, bt gets that text escaped instead (printed as a string)."""
    if interp.top_level() != "console" or not isinstance(value, gdb.Value):
        return value
    try:
        # Only a pointer's text holds a <symbol>; gdb escapes string
        # contents itself.  Other values are not formatted twice.
        if value.type.strip_typedefs().code != gdb.TYPE_CODE_PTR:
            return value
        text = value.format_string()
    except (gdb.error, gdb.MemoryError, RuntimeError):
        return value
    return value if text.isprintable() else escape.printable(text)


class DeferredCall(FrameDecorator):
    """One deferred call, printed like a frame: `defer N: fn (args) at site`.
    PERF: bt asks each of 10,000 calls for its name and site; the escaped
    texts are made once per function and per site (symbols.add_cache)."""

    def __init__(self, owner, d, state):
        FrameDecorator.__init__(self, owner)
        self._d, self._state = d, state

    def function(self):
        fn = self._d.fn
        name = _names.get(fn)
        if name is None:
            name = _names[fn] = escape.printable(symbols.Symbols.function_name(fn))
        if self._state != "pending":    # the state is the extension's own text
            return "defer %d (%s): %s" % (self._d.index, self._state, name)
        return "defer %d: %s" % (self._d.index, name)

    def address(self):
        # gdb's DAP server needs an address for every frame it lists
        # (stackTrace with format.includeAll); bt prints none for a call.
        return self._d.fn if interp.top_level() == "dap" else None

    def frame_args(self):
        try:
            values = formatting.argument_values(self._d)
            if not formatting.has_pointer_argument(self._d):
                return [_Arg(n, v) for n, v in values]      # PERF: nothing for _safe
            return [_Arg(n, _safe(v)) for n, v in values]
        except gdb.error:
            return None

    def frame_locals(self):
        return None

    def filename(self):
        return self._site()[0]

    def line(self):
        return self._site()[1]

    def _site(self):
        pc = self._d.pc
        site = _sites.get(pc)
        if site is None:
            _, name, line = symbols.Symbols.site(pc)
            site = _sites[pc] = (escape.printable(name) if name else name, line)
        return site

    def elided(self):
        return None


_names = symbols.add_cache({})      # function address -> escaped name
_sites = symbols.add_cache({})      # return address -> (escaped file name, line)


def _printable(text):
    return escape.printable(text) if isinstance(text, str) else text


class Plain(FrameDecorator):
    """Every frame of a backtrace that has deferred calls (and, under gdb's
    DAP server, of every backtrace): function and file names printed
    escaped, like the calls' (the program's debug info may hold any bytes),
    and Locals without libdefer's own marker variables (__defer_fr, ...)."""

    libdefer_calls = None       # ([Defer], panics by address) when it owns some

    def function(self):
        return _printable(self._base.function())

    def filename(self):
        return _printable(self._base.filename())

    def frame_args(self):
        args = self._base.frame_args()
        if not args or interp.top_level() != "console":
            return args
        frame, out = self.inferior_frame(), []
        for a in args:
            sym, v = a.symbol(), a.value()
            try:
                if v is None and isinstance(sym, gdb.Symbol):
                    v = sym.value(frame)
            except (gdb.error, RuntimeError, TypeError):
                v = None
            out.append(_Arg(sym, _safe(v)) if isinstance(v, gdb.Value) else a)
        return out

    def frame_locals(self):
        locs = self._base.frame_locals()
        if not locs:
            return locs
        return [v for v in locs if not str(v.symbol()).startswith("__defer")]


class Owner(Plain):
    """A frame with deferred calls under it.  Its function and file names
    are printed escaped, like the calls' (the program's debug info may hold
    any bytes)."""

    def __init__(self, fobj, calls, records_=None):
        FrameDecorator.__init__(self, fobj)
        self._calls = calls
        self.libdefer_calls = records_

    def elided(self):
        inner = self._base.elided() if hasattr(self._base, "elided") else None
        mine = iter(self._calls)
        return itertools.chain(inner, mine) if inner else mine


class DeferFrameFilter:
    """Puts libdefer's deferred calls under their frames in bt."""

    def __init__(self):
        self.name = "libdefer"
        self.priority = 50
        self.enabled = True

    def filter(self, frame_iter):
        dap = interp.top_level() == "dap"
        if not params.backtrace() and not dap:
            return frame_iter
        try:
            owners, by_addr = _owners()
        except (gdb.error, RuntimeError):
            owners, by_addr = None, None
        if not owners and not dap:
            return frame_iter
        return self._decorate(frame_iter, owners or {}, by_addr, dap)

    @staticmethod
    def _decorate(frame_iter, owners, by_addr, dap):
        for fd in frame_iter:
            try:
                level = fd.inferior_frame().level()
            except (gdb.error, RuntimeError):
                level = None
            calls = owners.get(level)
            if calls:
                yield Owner(fd, [DeferredCall(fd.inferior_frame(), d, s) for d, s in calls],
                            ([d for d, _ in calls], by_addr))
            else:
                yield Plain(fd)


def _owners():
    """{frame level: [(Defer, state)]} for the selected thread, and its
    panics by address."""
    try:
        rt = layout.runtime()
    except errors.NotLinked:
        return None, None
    t = gdb.selected_thread()
    if t is None or not t.is_stopped():
        return None, None
    snap = snapshot.Snapshot(rt)
    g = snap.g_for_tid(t.ptid[1])
    if g is None or not g.defer:
        return None, None
    by_addr = {p.addr: p for p in snap.panics(g)}
    fm = frames.FrameMap()
    out = {}
    levels, states = {}, {}     # PERF: a frame's records share sp and mostly state
    for d in snap.defers(g, params.max_entries()):
        level = levels.get(d.sp, -1)
        if level == -1:
            level = levels[d.sp] = fm.owner(d.sp)
        if level is not None:
            k = (d.started, d.panic)
            state = states.get(k)
            if state is None:
                state = states[k] = d.state(by_addr)
            out.setdefault(level, []).append((d, state))
    return out, by_addr


def register():
    gdb.frame_filters["libdefer"] = DeferFrameFilter()
