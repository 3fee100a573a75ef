# SPDX-License-Identifier: MIT
"""validity.py - what makes a record, a pointer or a count impossible.

The rules the walks in snapshot.py apply, numbered V1-V12 in docs/abi.md
("Validity rules"), which defer-inspect's walk.c applies the same way
(tests/reader/test_readers_agree.py holds both to it): the hard caps on
chain lengths (V5), what a sane record pointer is (V4), and why a decoded
record is garbage (V7, V8).  A walk stops at the first record that breaks
a rule and reports the reason these functions give; nothing here raises.
"""

from . import abi

# V5: hard caps, whatever `set defer max-entries` says: no real program has
# more threads, nested panics or frames; reaching one is reported as such
# (never as damage), and a walk stops there.  (MAX_FRAMES bounds unwinding,
# not a chain.)
MAX_THREADS = 1 << 16
MAX_PANICS = 1 << 12
MAX_FRAMES = 1 << 16
MAX_DEFERS = 1 << 25    # 5 GB of records: beyond it the chain is not real
MAX_HISTORY = 1 << 12   # V11: a history ring larger than this is not real

# V4: every record is 8-aligned and in the user half of x86-64's address space.
POINTER_MASK = 7
POINTER_LIMIT = 1 << 47


def sane_pointer(addr):
    """Can addr be the address of a record?"""
    return addr != 0 and not addr & POINTER_MASK and addr < POINTER_LIMIT


def defer_garbage(nargs, flags, rawflags, link, sp, pc):
    """V7: why a decoded _defer cannot be a real record, or None if it can.
    flags is (started, heap), or None when rawflags has a bit no record
    has (layout.DeferCodec.flagtab).  The walk in snapshot.py tests the
    same rules inline first (its hot loop) and asks here for the reason."""
    if not sp or not pc:
        return ("pc %#x sp %#x: every record has both; zeroed memory, e.g. a page "
                "missing from a core file" % (pc, sp))
    if nargs > abi.MAXARGS:
        return "nargs=%d, at most %d" % (nargs, abi.MAXARGS)
    if flags is None:
        return "flags %#x" % rawflags
    if link & POINTER_MASK:
        return "misaligned link %#x" % link
    if sp & POINTER_MASK:
        return "misaligned sp %#x" % sp
    return None


def panic_garbage(f):
    """V8: why a decoded _panic (a dict of abi.FIELDS["p"]) cannot be a
    real one, or None: its three flags are bytes holding 0 or 1."""
    bad = [(k, f[k]) for k in ("aborted", "goexit", "recovered") if f[k] > 1]
    return " ".join("%s=%d" % kv for kv in bad) if bad else None


def g_garbage(f):
    """Why a decoded struct g cannot be a thread record, or None."""
    if f["status"] not in (abi.G_RUNNING, abi.G_DEAD):
        return "status %d" % f["status"]
    return None


def history_garbage(histcap, hist, recovered):
    """V11: why a thread's history ring (g.histcap, g.hist, g.recovered)
    cannot be real, or None."""
    if histcap > MAX_HISTORY:
        return "histcap %d, at most %d" % (histcap, MAX_HISTORY)
    if recovered and not histcap:
        return "%d recovered panics but no ring" % recovered
    if histcap and not sane_pointer(hist):
        return "ring at wild pointer %#x" % hist
    return None


def recovered_garbage(f, seq):
    """V12: why a history record (a dict of abi.FIELDS["hist"]) cannot be
    the one numbered seq, or None.  A record with another seq is being
    written (the runtime stores seq last) or overwritten memory."""
    if f["seq"] != seq:
        return "seq %d where %d belongs (being written, or garbage)" % (f["seq"], seq)
    if b"\0" not in f["msg"]:
        return "message not NUL-terminated"
    if f["textlen"] < f["msg"].index(b"\0"):
        return "textlen %d shorter than its message" % f["textlen"]
    return None
