# SPDX-License-Identifier: MIT
"""snapshot.py - the threads, deferred calls and panics of one stop, decoded.

Owns the walks: allgs, a thread's defer chain and its panic chain, each
giving a Chain of plain records (G, Defer, Panic) and at most one
readable `error` saying what went wrong and where (a cycle, a wild
pointer, garbage, a truncated core), by the rules of validity.py.  Also
the one-record reads other modules need (the record a probe names, a
pretty-printed value, a frame's resume point, a C string).

A Snapshot holds one memory cache (memory.Memory) and one budget: every
walk of one Snapshot (one command, one stop's catchpoint text, one redraw
of the TUI, one convenience function...) reads at most `set defer
max-entries` records in all, threads' chains together, so that caps do not
multiply with the number of threads or of walks.  Reaching it says so with
budget_note(); it is never an error.  Objects here are valid for one stop
of the inferior: make a new Snapshot after the inferior ran.
"""

import gc
import operator
import struct

import gdb

from . import abi, layout, params, symbols, validity
from .memory import Fault, Memory
from .validity import MAX_DEFERS, MAX_PANICS, MAX_THREADS, sane_pointer

# Long panic messages (struct _panic.text, since ABI 2): the most read of one
# message, and of all messages in one command.
TEXT_MAX = 1 << 20
TEXT_BUDGET = 1 << 22

_UNSET = object()


def budget_hint():
    return "set defer max-entries (now %s) to read more" % params.max_entries_text()


def budget_note(n):
    """The line printed where a walk stopped at the budget."""
    return "stopped after %d records: %s" % (n, budget_hint())


def _forget(_event=None):
    layout.forget()
    symbols.forget()


def connect_events():
    """Drop layouts and symbol caches when the program's objfiles change."""
    gdb.events.new_objfile.connect(_forget)
    gdb.events.clear_objfiles.connect(_forget)


# ---------------------------------------------------------------------------
# Decoded records.

class G:
    """A thread's record (struct g)."""
    __slots__ = ("addr", "alllink", "defer", "panic", "tid", "status", "name",
                 "hist", "recovered", "histcap")

    def __init__(self, addr, f):
        self.addr = addr
        self.alllink, self.defer, self.panic = f["alllink"], f["defer"], f["panic"]
        # The panic history's ring (0s from a runtime without one).
        self.hist, self.recovered = f.get("hist", 0), f.get("recovered", 0)
        self.histcap = f.get("histcap", 0)
        self.tid, self.status = f["tid"], f["status"]
        self.name = f["name"].split(b"\0")[0].decode("utf-8", "replace")

    @property
    def dead(self):
        return self.status == abi.G_DEAD


def _g_holding(defer=0, panic=0):
    """A made-up thread record whose chains start at these records."""
    return G(0, {"alllink": 0, "defer": defer, "panic": panic, "tid": 0, "status": 0,
                 "name": b""})


class Defer(tuple):
    """A deferred call (struct _defer), decoded: addr link fn pc sp panic
    nargs started heap kind iregs fregs index.  `index` is 1 for the newest.
    A tuple underneath: the walk makes 100,000s of them (PERF)."""
    __slots__ = ()

    addr = property(operator.itemgetter(0))
    link = property(operator.itemgetter(1))
    fn = property(operator.itemgetter(2))
    pc = property(operator.itemgetter(3))
    sp = property(operator.itemgetter(4))
    panic = property(operator.itemgetter(5))
    nargs = property(operator.itemgetter(6))
    started = property(operator.itemgetter(7))
    heap = property(operator.itemgetter(8))
    kind = property(operator.itemgetter(9))
    iregs = property(operator.itemgetter(10))
    fregs = property(operator.itemgetter(11))
    index = property(operator.itemgetter(12))

    def state(self, panics_by_addr=None):
        """'pending', 'running', or 'run by panic N' / 'run by defer_goexit'."""
        if not self.started:
            return "pending"
        if not self.panic:
            return "running"
        p = panics_by_addr.get(self.panic) if panics_by_addr else None
        if p is not None and p.goexit:
            return "run by defer_goexit"
        if p is not None:
            return "run by panic %d" % p.index
        return "run by a panic (%#x)" % self.panic


class Panic:
    """A panic (struct _panic).  `index` is 1 for the newest."""
    __slots__ = ("addr", "link", "arg", "vtype", "argp", "pc", "defer", "recovered", "aborted",
                 "goexit", "msg", "index")

    def __init__(self, addr, f, msg, index):
        self.addr = addr
        self.link, self.arg, self.argp, self.pc = f["link"], f["arg"], f["argp"], f["pc"]
        self.vtype = f["vtype"]
        self.defer = f["defer"]
        self.recovered, self.aborted, self.goexit = f["recovered"], f["aborted"], f["goexit"]
        self.msg, self.index = msg, index

    def state(self):
        if self.goexit:
            return "goexit"
        if self.recovered:
            return "recovered"
        if self.aborted:
            return "aborted"
        return "running"


class Recovered:
    """A recovered panic of the thread's history (struct defer_recovered)."""
    __slots__ = ("addr", "seq", "time", "arg", "type", "pc", "fn", "site", "textlen", "msg")

    def __init__(self, addr, f):
        self.addr = addr
        for k in self.__slots__[1:-1]:
            setattr(self, k, f[k])
        self.msg = f["msg"].split(b"\0")[0].decode("utf-8", "surrogateescape")

    @property
    def cut(self):
        """Is msg only the message's first bytes?"""
        return self.textlen > len(self.msg.encode("utf-8", "surrogateescape"))


class Chain(list):
    """The records of a walk that could be read, and why the walk stopped early
    (`error`, None for a clean end of the list)."""

    def __init__(self):
        list.__init__(self)
        self.error = None
        self.truncated = False   # stopped at the caller's limit or the budget
        self.budget = False      # ... at the budget (budget_note says so)
        self.why = None          # what is wrong with the record it stopped at, if any


# Records per batch of defer_batches: one set operation checks V3 for all.
BATCH = 2048
# The most records of a pool chunk unpacked at once (libdefer's chunks
# hold 64).
RUN = 64
_U64 = struct.Struct("<Q")

_DEFER_CYCLE = "corrupted defer chain: cycle: the link of record #%d points back to %#x"


def _first_repeat(seen, addrs):
    """The index of the first of addrs that is in seen or earlier in addrs."""
    local = set()
    for j, a in enumerate(addrs):
        if a in seen or a in local:
            return j
        local.add(a)
    return None


def defer_maker(rt):
    """make(addr, fields, index) -> Defer, for raw records of
    Snapshot.defer_batches."""
    ix, flagtab = rt.dcodec.index, rt.dcodec.flagtab
    il, ifn, ipc, isp, ipanic = ix["link"], ix["fn"], ix["pc"], ix["sp"], ix["panic"]
    inargs, iflags, ikind = ix["nargs"], ix["flags"], ix["kind"]
    iregs = slice(ix["iregs"], ix["iregs"] + abi.MAXARGS)
    ifregs = slice(ix["fregs"], ix["fregs"] + abi.MAXARGS)
    new = tuple.__new__

    def make(addr, t, index):
        started, heap = flagtab[t[iflags]]
        # V9: _panic is meaningful only once the call started.
        return new(Defer, (addr, t[il], t[ifn], t[ipc], t[isp], t[ipanic] if started else 0,
                           t[inargs], started, heap, t[ikind], t[iregs], t[ifregs], index))
    return make


_cache_space = None


class Snapshot:
    """All reads for one stop of one inferior: the memory cache and the walks."""

    def __init__(self, rt=None, inferior=None, budget=_UNSET):
        global _cache_space
        self.rt = rt or layout.runtime()
        self.mem = Memory(inferior)
        self._gs = None
        self._by_tid = None
        self.text_left = TEXT_BUDGET    # bytes of long messages left to read
        # Records left to read (None: unlimited); see budget_note.
        self.left = params.max_entries() if budget is _UNSET else budget
        # The symbol caches are keyed by address: valid for one program space.
        space = layout.space_key()
        if space != _cache_space:
            symbols.forget()
            _cache_space = space

    # -- threads --
    def gs(self):
        """Every entry of allgs (a Chain of G), dead ones included."""
        if self._gs is not None:
            return self._gs
        rt, mem, out = self.rt, self.mem, Chain()
        self._gs = out
        try:
            addr = mem.u64(rt.allgs)
        except Fault as e:
            out.error = "cannot read allgs at %#x: %s" % (rt.allgs, e)
            return out
        seen = set()
        # docs/abi.md V2's order: V3 cycle, V4 wild, V5 count, V6 unreadable.
        while addr:
            if addr in seen:
                out.error = "allgs: cycle: entry %d links back to %#x" % (len(out), addr)
                break
            if not sane_pointer(addr):
                out.error = "allgs: wild pointer %#x after %d entries" % (addr, len(out))
                break
            if len(out) >= MAX_THREADS:
                out.error = ("allgs: more than %d thread records: stopped (the most libdefer "
                             "reads)" % MAX_THREADS)
                break
            seen.add(addr)
            try:
                buf = mem.read(addr, rt.g.size)
            except Fault as e:
                out.error = "allgs: entry %d: %s" % (len(out) + 1, e)
                break
            g = G(addr, rt.g.decode(buf))
            out.append(g)
            addr = g.alllink
        return out

    def g_for_tid(self, tid):
        """The live record of kernel thread `tid`, or None.  One dict for
        the snapshot: matching every thread stays linear in their number."""
        if self._by_tid is None:
            self._by_tid = {}
            for g in self.gs():
                if not g.dead:
                    self._by_tid.setdefault(g.tid, g)
        return self._by_tid.get(tid)

    def g_at(self, addr):
        """(G, None) for the thread record at addr, or (None, why not)."""
        try:
            f = self.rt.g.decode(self.mem.read(addr, self.rt.g.size))
        except Fault as e:
            return None, str(e)
        why = validity.g_garbage(f)
        if why is not None:
            return None, "not a thread record (%s)" % why
        return G(addr, f), None

    # -- deferred calls --
    def defers(self, g, limit=None):
        """g's deferred calls, newest first (a Chain of Defer).

        Stops at `limit` entries (Chain.truncated), at the end of the list,
        or at the first record that is unreadable, garbage or already seen
        (Chain.error says which and where)."""
        out = Chain()
        # PERF: the walk allocates a tuple per record and nothing cyclic;
        # while a list holds them all, the cyclic collector would rescan
        # them again and again.
        enabled = gc.isenabled()
        gc.disable()
        try:
            out.extend(self.iter_defers(g, limit, out))
        finally:
            if enabled:
                gc.enable()
        return out

    def iter_defers(self, g, limit=None, status=None):
        """The walk of defers(), one Defer at a time, for callers that need
        not hold them all: `status`, a Chain, gets the error and truncation
        once the iteration ends."""
        make = defer_maker(self.rt)
        n = 0
        for addrs, recs in self.defer_batches(g, limit, status):
            for addr, t in zip(addrs, recs):
                n += 1
                yield make(addr, t, n)

    def defer_batches(self, g, limit=None, status=None):
        """The walk itself, newest first, as batches of raw records: lists
        (addrs, recs), recs[i] being the record at addrs[i] as the codec
        unpacks it (layout.DeferCodec: rt.dcodec.index says where each
        field is; defer_maker makes a Defer of one).  For info defers over a
        million records, which must not build an object per record (PERF).
        `status`, a Chain, gets the error and truncation at the end.

        docs/abi.md V2's order at each link: the budget, V3 cycle, V4 wild,
        V5 count, V6 unreadable, V7 garbage.  The hot loop takes records
        while none of those can apply and leaves V3 to one set operation
        per batch; the link it stops at goes through the rules one by one
        (_next_defer), which give the reasons."""
        out = status if status is not None else Chain()
        il = self.rt.dcodec.index["link"]
        seen = set()
        addr = g.defer
        n = 0
        cap = limit if limit is not None else -1
        left = self.left
        if left is not None and (cap < 0 or left < cap):
            cap, out.budget = left, True
        # The hot loop stops where the budget or V5 could apply.
        stop = MAX_DEFERS if cap < 0 else min(cap, MAX_DEFERS)
        try:
            while addr:
                addrs, recs = [], []
                addr = self._take(addr, min(stop, n + BATCH) - n, addrs, recs)
                n += len(addrs)
                if addrs:
                    k = len(seen)
                    seen.update(addrs)
                    if len(seen) - k != len(addrs):
                        # V3 inside the batch: which record, from the
                        # addresses of those before it (the error path)
                        j = _first_repeat(self._addresses(g, n - len(addrs)), addrs) or 0
                        n -= len(addrs) - j
                        if j:
                            yield addrs[:j], recs[:j]
                        out.error = _DEFER_CYCLE % (n, addrs[j])
                        return
                    yield addrs, recs
                if not addr:
                    return
                t = self._next_defer(addr, n, cap, seen, out)
                if t is None:
                    return
                seen.add(addr)
                n += 1
                yield [addr], [t]
                addr = t[il]
        finally:
            if not out.truncated:
                out.budget = False
            if left is not None:
                self.left = left - n

    def _take(self, addr, room, addrs, recs):
        """Append to addrs and recs (defer_batches) the records from link
        addr on, at most `room` of them, while no rule of V4, V6 and V7
        applies to them (V3 is the caller's); returns the link it stopped
        at, 0 at the end of the chain.  _next_defer gives the reasons."""
        rt, mem = self.rt, self.mem
        codec = rt.dcodec
        size, unpack, iter_unpack = rt.d.size, codec.unpack, codec.iter_unpack
        ix = codec.index
        il, ipc, isp, inargs, iflags = ix["link"], ix["pc"], ix["sp"], ix["nargs"], ix["flags"]
        getlink, getsp, getpc, getnargs, getflags = (operator.itemgetter(i) for i in (
            il, isp, ipc, inargs, iflags))
        link_at, link_offset = _U64.unpack_from, rt.d.offsets["link"]
        blocks, BLOCK = mem.blocks, mem.BLOCK
        badflags, goodflags = codec.badflags, codec.goodflags
        MAXARGS, PMASK, PLIMIT = abi.MAXARGS, validity.POINTER_MASK, validity.POINTER_LIMIT
        is_misaligned = PMASK.__and__
        ne = operator.ne
        # Records one below the other have aligned links if the first has.
        runs = not size & PMASK
        lo = hi = 0
        b = view = None
        if addr & PMASK:
            return addr         # a misaligned head: V4
        while room > 0 and 0 < addr < PLIMIT:      # else the end, or V4
            if not lo <= addr <= hi:               # not in the block of the previous record
                base = addr & ~(BLOCK - 1)
                if blocks.get(base) and addr + size <= base + BLOCK:
                    lo, b = base, blocks[base]
                    hi, view = lo + BLOCK - size, memoryview(b)
                else:
                    try:
                        t = unpack(mem.read(addr, size))    # fills the block cache
                    except Fault:
                        return addr                         # V6
                    lo = hi = 0
                    b = None
            if b is not None:
                o = addr - lo
                m = min(room, o // size + 1, RUN)
                # PERF: a pool chunk's records lie one below the other, each
                # linking to the next: a run of them is unpacked and checked
                # by V7 at once; garbage in it leaves it to the steps below.
                if m > 1 and runs and link_at(b, o + link_offset)[0] == addr - size:
                    run = list(iter_unpack(view[o - (m - 1) * size:o + size]))
                    run.reverse()
                    links = list(map(getlink, run))
                    below = list(range(addr - size, addr - (m + 1) * size, -size))
                    r = m
                    if links != below:      # the run ends after the first mismatch
                        r = list(map(ne, links, below)).index(True) + 1
                        del run[r:]
                    sps = list(map(getsp, run))
                    if max(map(getnargs, run)) <= MAXARGS and \
                            goodflags.issuperset(map(getflags, run)) and all(sps) and \
                            not any(map(is_misaligned, sps)) and all(map(getpc, run)) and \
                            not run[-1][il] & PMASK:
                        recs.extend(run)
                        addrs.extend(range(addr, addr - r * size, -size))
                        room -= r
                        addr = run[-1][il]
                        continue
                t = unpack(b, o)
            link, sp = t[il], t[isp]
            # V7 (validity.defer_garbage's rules)
            if t[inargs] > MAXARGS or t[iflags] & badflags or (link | sp) & PMASK or \
                    not sp or not t[ipc]:
                return addr
            addrs.append(addr)
            recs.append(t)
            room -= 1
            addr = link
        return addr

    def _addresses(self, g, n):
        """The set of the first n records' addresses of g's chain, which
        defer_batches found distinct and readable."""
        out, addr, il = set(), g.defer, self.rt.dcodec.index["link"]
        try:
            for _ in range(n):
                out.add(addr)
                addr = self.rt.dcodec.unpack(self.mem.read(addr, self.rt.d.size))[il]
        except Fault:
            pass        # memory that changed under the walk: the cycle is found in the batch
        return out

    def _next_defer(self, addr, n, cap, seen, out):
        """The record at link addr after n records, by V2's rules in their
        order: its raw fields, or None with out's error (or truncation) set."""
        if n == cap:
            out.truncated = True
            return None
        if addr in seen:
            out.error = _DEFER_CYCLE % (n, addr)
            return None
        if addr & validity.POINTER_MASK or addr >= validity.POINTER_LIMIT:
            out.error = ("corrupted defer chain: wild pointer %#x in the link of "
                         "record #%d" % (addr, n))
            return None
        if n == MAX_DEFERS:
            out.error = ("defer chain longer than %d records: stopped (a "
                         "corrupted chain?)" % MAX_DEFERS)
            return None
        codec = self.rt.dcodec
        try:
            t = codec.unpack(self.mem.read(addr, self.rt.d.size))
        except Fault as e:
            out.why = str(e)
            out.error = ("defer chain unreadable at record %d (%#x): %s; the "
                         "list may be truncated" % (n + 1, addr, e))
            return None
        ix = codec.index
        rawflags = t[ix["flags"]]
        why = validity.defer_garbage(t[ix["nargs"]], codec.flagtab[rawflags], rawflags,
                                     t[ix["link"]], t[ix["sp"]], t[ix["pc"]])
        if why is not None:
            out.why = "garbage record (%s)" % why
            out.error = ("corrupted defer chain: record %d at %#x holds garbage "
                         "(%s)" % (n + 1, addr, why))
            return None
        return t

    def read_defer(self, addr):
        """The record at addr, read on its own (e.g. one a panic points to but
        that is no longer on the chain): a Chain of at most one Defer,
        with `error` saying why not."""
        left, self.left = self.left, None       # one record: not worth a budget
        try:
            return self.defers(_g_holding(defer=addr), 1)
        finally:
            self.left = left

    def defer_at(self, addr):
        """The record at addr, or None if it cannot be read or is garbage."""
        chain = self.read_defer(addr)
        return chain[0] if chain else None

    # -- panics --
    def _whole_message(self, buf, msg):
        """The whole message of a record (struct _panic.text, textlen
        bytes, since ABI 2), when longer than msg's first bytes: at most
        TEXT_MAX bytes of it (then the runtime's marker wording), and
        TEXT_BUDGET bytes per snapshot in all."""
        offs = self.rt.p.offsets
        if "text" not in offs or "textlen" not in offs or \
                max(offs["text"], offs["textlen"]) + 8 > len(buf):
            return msg
        (text,), (textlen,) = (struct.unpack_from("<Q", buf, offs[f]) for f in ("text", "textlen"))
        if textlen < abi.PANIC_MSG or not sane_pointer(text) or self.text_left <= 0:
            return msg
        want = min(textlen, TEXT_MAX, self.text_left)
        try:
            raw = self.mem.read(text, want)
        except Fault:
            # V10, in bytes (msg may hold non-UTF-8 ones, as escapes)
            shown = len(msg.encode("utf-8", "surrogateescape"))
            return msg + " [... %d more bytes: unreadable]" % (textlen - shown)
        self.text_left -= want
        whole = raw.split(b"\0")[0].decode("utf-8", "surrogateescape")
        if want < textlen:
            whole += " [... %d more bytes not shown]" % (textlen - want)
        return whole

    def panics(self, g, limit=None):
        """g's panics, newest first (a Chain of Panic), at most `limit`."""
        rt, mem, out = self.rt, self.mem, Chain()
        seen = set()
        addr = g.panic
        # docs/abi.md V2's order: the budget, V3 cycle, V4 wild, V5 count,
        # V6 unreadable, V8 garbage.
        while addr:
            where = "panic %d at %#x" % (len(out) + 1, addr)
            if len(out) == limit or self.left is not None and self.left <= 0:
                out.truncated = True
                out.budget = len(out) != limit
                break
            if addr in seen:
                out.error = ("corrupted panic chain: cycle: the link of panic %d points back "
                             "to %#x" % (len(out), addr))
                break
            if not sane_pointer(addr):
                out.error = "corrupted panic chain: wild pointer %#x" % addr
                break
            if len(out) >= MAX_PANICS:
                out.error = ("more than %d nested panics: stopped (the most libdefer lists)" %
                             MAX_PANICS)
                break
            seen.add(addr)
            try:
                buf = mem.read(addr, rt.p.size)
            except Fault as e:
                out.why = str(e)
                out.error = "panic chain unreadable at %s (%s)" % (where, e)
                break
            f = rt.p.decode(buf)
            why = validity.panic_garbage(f)
            if why is not None:
                out.why = "not a panic record (%s)" % why
                out.error = "corrupted panic chain: %s holds garbage (%s)" % (where, why)
                break
            raw = f["msg"].split(b"\0")[0]
            # The program's bytes: not UTF-8 ones kept as surrogate
            # escapes, for printable() to show and MI to spell out.
            msg = raw.decode("utf-8", "surrogateescape")
            if len(raw) == abi.PANIC_MSG - 1:       # msg is full: ABI 2 has the rest
                msg = self._whole_message(buf, msg)
            out.append(Panic(addr, f, msg, len(out) + 1))
            if self.left is not None:
                self.left -= 1
            addr = f["link"]
        return out

    def read_panic(self, addr):
        """The panic record at addr on its own: a Chain of at most one Panic."""
        left, self.left = self.left, None
        try:
            return self.panics(_g_holding(panic=addr), 1)
        finally:
            self.left = left

    # -- the panic history --
    def history(self, g):
        """g's recovered panics that its ring still holds, newest first (a
        Chain of Recovered; `total` is how many the thread recovered).
        docs/abi.md V11-V12: a ring that cannot be real, or a record whose
        seq is not its place's, ends the listing with the reason."""
        out = Chain()
        out.total = g.recovered
        rec = self.rt.hist
        if rec is None or not g.recovered:
            return out
        why = validity.history_garbage(g.histcap, g.hist, g.recovered)
        if why is not None:
            out.error = "corrupted panic history: %s" % why
            return out
        size = g.histcap * rec.size
        try:        # the whole ring at once: one read over gdbserver
            ring = self.mem.read(g.hist, size)
        except Fault:
            out.error = "panic history unreadable (cannot read %d bytes at %#x)" % (size, g.hist)
            return out
        for k in range(min(g.recovered, g.histcap)):
            seq = g.recovered - k
            at = ((seq - 1) % g.histcap) * rec.size
            addr = g.hist + at
            f = rec.decode(ring, at)
            why = validity.recovered_garbage(f, seq)
            if why is not None:
                out.error = "panic history: record %d at %#x: %s" % (seq, addr, why)
                break
            out.append(Recovered(addr, f))
        return out

    # -- other reads --
    def resume_point(self, mark):
        """Where a recovery of the frame whose defer_mark is at `mark` goes on
        when it used defer_result (struct defer_resume's pc), else None."""
        offs = self.rt.mark or {}
        if "resumable" not in offs or "resume" not in offs:
            return None
        if not self.mem.read(mark + offs["resumable"], 1)[0]:
            return None
        regs = layout.resume_offsets(self.rt)
        if not regs or "pc" not in regs:
            return None
        resume = self.mem.u64(mark + offs["resume"])
        return self.mem.u64(resume + regs["pc"])

    def c_string(self, addr, limit):
        """The NUL-terminated string at addr (at most limit bytes, as far as
        memory is readable), bytes not UTF-8 as backslash escapes."""
        raw = self.mem.readable_prefix(addr, limit)
        if not raw:
            raise Fault(addr, limit)
        return raw.split(b"\0")[0].decode("utf-8", "backslashreplace")
