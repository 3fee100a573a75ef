# SPDX-License-Identifier: MIT
"""frames.py - which frame of a thread owns a record, and gdb's threads.

  FrameMap        the frames of the selected thread, unwound lazily, and the
                  owner of a record's sp (Delve's rule).
  ThreadSwitch    select a thread for a with-block, restore afterwards.
  thread_target_ids, thread_id_string
                  gdb's own names for its threads, as it prints them.
"""

import bisect

import gdb

from . import regs
from .validity import MAX_FRAMES

# A caller's CFA this far below its callee's is on another stack, not
# the same one unwound oddly.
SAME_STACK = 1 << 20


class FrameMap:
    """The frames of the selected thread, unwound lazily, and the owner of a
    stack address: the innermost frame whose CFA is above it.  The CFA of
    frame i is the stack pointer of frame i+1 (x86-64).  Inline frames share
    their caller's CFA; the owner is then the real function, the outermost
    of them (a function with a defer_frame is never inlined)."""

    def __init__(self, newest=None):
        self._next = newest if newest is not None else gdb.newest_frame()
        self.levels = []        # frame levels, innermost first
        self.cfas = []          # their CFAs, ascending
        self.sps = []           # their stack pointers
        self.frames = []
        self.error = None
        self.stuck = None       # the level gdb cannot unwind past

    def _extend(self):
        f = self._next
        if f is None:
            return False
        if len(self.levels) >= MAX_FRAMES:
            self._next = None
            return False
        try:
            older = f.older()
            sp = int(f.read_register(regs.SP))
            cfa = int(older.read_register(regs.SP)) if older is not None else 1 << 64
            stuck = _unwind_failed(f, older)
        except (gdb.error, RuntimeError, gdb.MemoryError) as e:
            stuck = str(e)
        if stuck:
            # f's CFA is unknown, so it owns nothing and every older
            # record's owner is unknown, rather than some wrong frame.
            self.error = "cannot unwind past frame %d: %s" % (f.level(), stuck)
            self.stuck = f.level()
            self._next = None
            return False
        if self.cfas and cfa < self.cfas[-1] - SAME_STACK:
            # The stack went down by more than a stack: the frames so far
            # ran on another one (a signal handler on an alternate stack
            # that qemu-user mapped above the thread's): they own none of
            # this stack's records.
            del self.frames[:], self.levels[:], self.cfas[:], self.sps[:]
        if self.cfas and cfa < self.cfas[-1]:
            cfa = self.cfas[-1]     # keep the list sorted for bisect
        self.frames.append(f)
        self.levels.append(f.level())
        self.cfas.append(cfa)
        self.sps.append(sp)
        self._next = older
        return True

    def unknown_why(self):
        """Why owner() found no frame, for the listing."""
        if self.stuck is not None:
            return "gdb cannot unwind past frame #%d" % self.stuck
        return "not on the stack"

    def owner(self, sp):
        """The level of the frame that owns a record with this sp, or None."""
        while True:
            while not self.cfas or self.cfas[-1] <= sp:
                if not self._extend():
                    break
            i = bisect.bisect_right(self.cfas, sp)
            if i >= len(self.cfas):
                return None
            if self.sps[i] <= sp + SAME_STACK:
                break
            # Frame i runs on a stack far above the record's (a signal
            # handler's): unwind on to the record's stack (_extend).
            if not self._extend():
                return None
        cfa = self.cfas[i]
        while i + 1 < len(self.cfas) and self.cfas[i + 1] == cfa and \
                self.frames[i].type() == gdb.INLINE_FRAME:
            i += 1
        return self.levels[i]


def _unwind_failed(f, older):
    """Why gdb's unwinding of f to its caller cannot be trusted, or None.
    gdb reports an error as f's stop reason; where a frame has no unwind
    tables (musl's libc: a thread blocked in __timedwait_cp) its guess may
    instead read a return address of 0 and show a caller "0x0 in ()"."""
    if older is None:
        why = f.unwind_stop_reason()
        # The ends of a stack; gdb's other reasons are errors (its
        # FRAME_UNWIND_FIRST_ERROR, which Python does not export).
        if why in (gdb.FRAME_UNWIND_NO_REASON, gdb.FRAME_UNWIND_NULL_ID,
                   gdb.FRAME_UNWIND_OUTERMOST):
            return None
        return gdb.frame_stop_reason_string(why)
    if older.pc() == 0:
        return "its return address reads as 0 (no unwind information)"
    return None


class ThreadSwitch:
    """Select a thread for the duration of a with-block, restoring the
    previously selected thread and frame afterwards (even on error)."""

    def __init__(self, thread):
        self.thread = thread

    def __enter__(self):
        self.old_thread = gdb.selected_thread()
        try:
            self.old_frame = gdb.selected_frame() if self.old_thread else None
        except gdb.error:
            self.old_frame = None
        if self.thread is not None and self.thread != self.old_thread:
            self.thread.switch()
        return self.thread

    def __exit__(self, *exc):
        if self.old_thread is not None and self.old_thread.is_valid():
            self.old_thread.switch()
            if self.old_frame is not None and self.old_frame.is_valid():
                self.old_frame.select()
        return False


# ---------------------------------------------------------------------------
# Threads: gdb threads and the records behind them.

def thread_target_ids():
    """{thread num: (target id, name)} as gdb prints them in thread headers,
    from one `thread find .` (cheap: it prints no frames)."""
    out = {}
    try:
        text = gdb.execute("thread find .", to_string=True)
    except gdb.error:
        return out
    for line in text.splitlines():
        if not line.startswith("Thread "):
            continue
        head, _, rest = line[7:].partition(" has ")
        if rest.startswith("target id '"):
            out.setdefault(head, ["", None])[0] = rest[11:-1]
        elif rest.startswith("target name '") or rest.startswith("name '"):
            out.setdefault(head, ["", None])[1] = rest.split("'", 1)[1][:-1]
    return out


def thread_id_string(t):
    """The thread's id as gdb prints it (`1`, or `2.1` with several inferiors)."""
    if len(gdb.inferiors()) > 1:
        return "%d.%d" % (t.inferior.num, t.num)
    return str(t.num)
