"""tui.py - the `defers` TUI window and the `defers` layout.

    tui layout defers          source, defers, command windows
    deferdb --tui PROGRAM      starts in that layout

The window shows the selected thread's pending deferred calls and its panic
chain, as `info defers` and `info panics` print them (commands.py does the
formatting; records.py the reading), and is redrawn before every prompt:
after each stop, `thread N`, `frame N`, or a `defer step`.  Scroll it with
the mouse wheel, or focus it (`focus defers`) and use the arrow keys.
"""

import gdb

from . import commands, records

_windows = []


def _lines():
    """The window's text, one string per line."""
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0:
        return ["No process: run the program (or load a core) to see its deferred calls."]
    t = gdb.selected_thread()
    if t is None:
        return ["No thread selected."]
    if t.is_running():
        return ["Thread %s is running." % records.thread_id_string(t)]
    out = []
    try:
        rt = records.runtime()
    except records.NotLinked as e:
        return [str(e)]
    with records.ThreadSwitch(t):
        snap = records.Snapshot(rt, t.inferior)
        out.append("Thread %s (LWP %d) %s - deferred calls, newest first:" % (
            records.thread_id_string(t), t.ptid[1], records.quoted(t.name or "")))
        commands.list_thread_defers(snap, t, out.append, limit=1000)
        out.append("")
        out.append("Panics:")
        commands.list_thread_panics(snap, t, out.append)
    lines = []
    for chunk in out:
        lines.extend(chunk.split("\n"))
    return lines


class DefersWindow:
    def __init__(self, win):
        self.win = win
        self.top = 0
        win.title = "defers"
        _windows.append(self)

    def close(self):
        if self in _windows:
            _windows.remove(self)

    def render(self):
        if not self.win.is_valid():
            return
        try:
            lines = _lines()
        except (gdb.error, records.Fault) as e:
            lines = ["(cannot read the records: %s)" % e]
        self.top = max(0, min(self.top, len(lines) - 1))
        width = max(self.win.width, 1)
        shown = [line.expandtabs()[:width] for line in lines[self.top:self.top + self.win.height]]
        self.win.erase()
        self.win.write("\n".join(shown), True)

    def vscroll(self, num):
        self.top = max(0, self.top + num)
        self.render()


def _refresh(_event=None):
    for w in list(_windows):
        w.render()


def register():
    if not hasattr(gdb, "register_window_type"):
        return      # gdb built without the TUI
    gdb.register_window_type("defers", DefersWindow)
    gdb.events.before_prompt.connect(_refresh)
    # Defined once per gdb, even if a second copy of the package is loaded:
    # redefining would fail, and a failing command while gdb loads an
    # objfile (auto-load) leaves the inferior's thread marked as running.
    if gdb.convenience_variable("_libdefer_tui_layout") is None:
        gdb.execute("tui new-layout defers src 2 defers 1 status 0 cmd 1", False, True)
        gdb.set_convenience_variable("_libdefer_tui_layout", 1)
