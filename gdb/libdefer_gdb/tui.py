# SPDX-License-Identifier: MIT
"""tui.py - the `defers` TUI window and the `defers` layout.

    tui layout defers          source, defers, command windows
    deferdb --tui PROGRAM      starts in that layout

The window shows the selected thread's pending deferred calls and its panic
chain, as `info defers` and `info panics` print them (commands.py does the
formatting; snapshot.py the reading), and is redrawn before every prompt:
after each stop, `thread N`, `frame N`, or a `defer step`.  Scroll it with
the mouse wheel, or focus it (`focus defers`) and use the arrow keys.
"""

import gdb

from . import commands, errors, escape, frames, layout, memory, snapshot

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
        return ["Thread %s is running." % frames.thread_id_string(t)]
    out = []
    try:
        rt = layout.runtime()
    except errors.NotLinked as e:
        return [str(e)]
    with frames.ThreadSwitch(t):
        snap = snapshot.Snapshot(rt, t.inferior)
        out.append("Thread %s (LWP %d) %s - deferred calls, newest first:" % (
            frames.thread_id_string(t), t.ptid[1], escape.quoted(t.name or "")))
        commands.list_thread_defers(snap, t, out.append, limit=1000)
        out.append("")
        out.append("Panics:")
        commands.list_thread_panics(snap, t, out.append)
    lines = []
    for chunk in out:
        lines.extend(chunk.split("\n"))
    return lines


def _fit(lines, width):
    """Rows of the window's width at most: a longer line wraps at a space
    (or mid-word if it has none), its continuation indented under its own
    text, so that nothing (a frame number at the end of a site, say) is cut
    off in a narrow terminal."""
    rows = []
    for line in lines:
        line = line.expandtabs()
        indent = " " * min(len(line) - len(line.lstrip()) + 2, width // 2)
        while len(line) > width:
            cut = line.rfind(" ", len(indent) + 1, width + 1)
            if cut <= len(indent):
                cut = width
            rows.append(line[:cut].rstrip())
            line = indent + line[cut:].lstrip()
        rows.append(line)
    return rows


def _selected_key():
    t = gdb.selected_thread()
    return (t.inferior.num, t.num) if t is not None else None


class DefersWindow:
    def __init__(self, win):
        self.win = win
        self.top = 0
        self.shown_for = None       # the thread whose calls are on screen
        self.drawn = None           # the text on screen
        win.title = "defers"
        _windows.append(self)

    def close(self):
        if self in _windows:
            _windows.remove(self)

    def render(self, forced=True):
        if not self.win.is_valid():
            return
        try:
            lines = _lines()
        except (gdb.error, memory.Fault) as e:
            lines = ["(cannot read the records: %s)" % e]
        key = _selected_key()
        if key != self.shown_for:           # another thread: from its top
            self.top, self.shown_for = 0, key
        width, height = max(self.win.width, 2), max(self.win.height, 1)
        rows = _fit(lines, width)
        self.top = max(0, min(self.top, len(rows) - 1))
        shown = rows[self.top:self.top + height]
        below = len(rows) - self.top - len(shown)
        if below > 0:                       # even in a one-row window: say so
            shown[-1] = ("-- %d more lines: scroll (wheel, or focus defers and arrows) --" %
                         (below + 1))[:width]
        # Each row padded to the width, no newlines: a full-width row followed
        # by a newline would skip a row, and writing the last cell would scroll
        # the window over its own border and title.
        text = "".join(r.ljust(width) for r in shown)[:width * height - 1]
        # gdb's windows share border rows and writing re-boxes the window:
        # each redraw of ours overwrites the titled top border of the source
        # window below.  So redraw only what changed (gdb calls render with a
        # fresh inner window after a resize: then always).
        if text == self.drawn and not forced:
            return
        self.drawn = text
        self.win.write(text, True)

    def vscroll(self, num):
        self.top = max(0, self.top + num)
        self.render(forced=False)


def _refresh(_event=None):
    """On each stop (before gdb redraws the source window, so that its
    title wins the shared border row) and before each prompt (`thread N`,
    `frame N`): what changed since the last redraw."""
    for w in list(_windows):
        w.render(forced=False)


def register():
    if not hasattr(gdb, "register_window_type"):
        return      # gdb built without the TUI
    gdb.register_window_type("defers", DefersWindow)
    gdb.events.stop.connect(_refresh)
    gdb.events.before_prompt.connect(_refresh)
    # Defined once per gdb, even if a second copy of the package is loaded:
    # redefining would fail, and a failing command while gdb loads an
    # objfile (auto-load) leaves the inferior's thread marked as running.
    if gdb.convenience_variable("_libdefer_tui_layout") is None:
        # defers above src, as gdb's own `layout regs` puts registers: windows
        # share border rows, and src redraws its box after each stop; below
        # it, src's bottom border would overwrite our title.
        gdb.execute("tui new-layout defers defers 1 src 2 status 0 cmd 1", False, True)
        gdb.set_convenience_variable("_libdefer_tui_layout", 1)
