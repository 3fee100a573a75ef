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

from . import params, records


class _Arg:
    def __init__(self, name, value):
        self._name, self._value = name, value

    def symbol(self):
        return self._name

    def value(self):
        return self._value


class DeferredCall(FrameDecorator):
    """One deferred call, printed like a frame: `defer N: fn (args) at site`."""

    def __init__(self, owner, d, state):
        FrameDecorator.__init__(self, owner)
        self._d, self._state = d, state

    def function(self):
        tag = "defer %d" % self._d.index
        if self._state != "pending":
            tag += " (%s)" % self._state
        return "%s: %s" % (tag, records.Symbols.function_name(self._d.fn))

    def address(self):
        return None

    def frame_args(self):
        try:
            return [_Arg(n, v) for n, v in records.argument_values(self._d)]
        except gdb.error:
            return None

    def frame_locals(self):
        return None

    def filename(self):
        name = records.Symbols.site(self._d.pc)[1]
        return records.printable(name) if name else name

    def line(self):
        return records.Symbols.site(self._d.pc)[2]

    def elided(self):
        return None


def _printable(text):
    return records.printable(text) if isinstance(text, str) else text


class Owner(FrameDecorator):
    """A frame with deferred calls under it.  Its function and file names
    are printed escaped, like the calls' (the program's debug info may hold
    any bytes)."""

    def __init__(self, fobj, calls):
        FrameDecorator.__init__(self, fobj)
        self._calls = calls

    def function(self):
        return _printable(self._base.function())

    def filename(self):
        return _printable(self._base.filename())

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
        if not params.backtrace():
            return frame_iter
        try:
            owners = _owners()
        except (gdb.error, RuntimeError):
            owners = None
        if not owners:
            return frame_iter
        return self._decorate(frame_iter, owners)

    @staticmethod
    def _decorate(frame_iter, owners):
        for fd in frame_iter:
            try:
                level = fd.inferior_frame().level()
            except (gdb.error, RuntimeError):
                level = None
            calls = owners.get(level)
            if calls:
                yield Owner(fd, [DeferredCall(fd.inferior_frame(), d, s) for d, s in calls])
            else:
                yield fd


def _owners():
    """{frame level: [(Defer, state)]} for the selected thread."""
    try:
        rt = records.runtime()
    except records.NotLinked:
        return None
    t = gdb.selected_thread()
    if t is None or not t.is_stopped():
        return None
    snap = records.Snapshot(rt)
    g = snap.g_for_tid(t.ptid[1])
    if g is None or not g.defer:
        return None
    by_addr = {p.addr: p for p in snap.panics(g)}
    fm = records.FrameMap()
    out = {}
    for d in snap.defers(g, params.max_entries()):
        level = fm.owner(d.sp)
        if level is not None:
            out.setdefault(level, []).append((d, d.state(by_addr)))
    return out


def register():
    gdb.frame_filters["libdefer"] = DeferFrameFilter()
