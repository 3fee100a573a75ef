# SPDX-License-Identifier: MIT
"""validity.py - what makes a record, a pointer or a count impossible.

The rules the walks in snapshot.py apply (and defer-inspect's walk.c
must apply the same way): the hard caps on chain lengths, what a sane
record pointer is, and why a decoded record is garbage.  A walk stops at
the first record that breaks a rule and reports the reason these
functions give; nothing here raises.
"""

from . import abi

# Hard caps, whatever `set defer max-entries` says: no real program has more
# threads, nested panics or frames; reaching one is reported as such (never
# as a wild pointer), and a walk stops there.
MAX_THREADS = 1 << 16
MAX_PANICS = 1 << 12
MAX_FRAMES = 1 << 16
MAX_DEFERS = 1 << 25    # 5 GB of records: beyond it the chain is not real

# Every record is 8-aligned and in the user half of x86-64's address space.
POINTER_MASK = 7
POINTER_LIMIT = 1 << 47


def sane_pointer(addr):
    """Can addr be the address of a record?"""
    return addr != 0 and not addr & POINTER_MASK and addr < POINTER_LIMIT


def defer_garbage(nargs, flags, rawflags, link, sp, pc):
    """Why a decoded _defer cannot be a real record, or None if it can.
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
    """Why a decoded _panic (a dict of abi.FIELDS["p"]) cannot be a real
    one, or None: its three flags are bytes holding 0 or 1."""
    bad = [(k, f[k]) for k in ("aborted", "goexit", "recovered") if f[k] > 1]
    return " ".join("%s=%d" % kv for kv in bad) if bad else None


def g_garbage(f):
    """Why a decoded struct g cannot be a thread record, or None."""
    if f["status"] not in (abi.G_RUNNING, abi.G_DEAD):
        return "status %d" % f["status"]
    return None
