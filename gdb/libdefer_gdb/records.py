# SPDX-License-Identifier: MIT
"""records.py - the one layer that reads libdefer's records out of the inferior.

Everything else in the package (commands, printers, the bt decorator,
convenience functions, catchpoints, stepping, TUI, MI and DAP) asks
this module for plain Python objects and never reads inferior memory
itself.  The layers, top to bottom:

  Runtime      where libdefer lives in this program: the address of allgs
               and the layout of struct g / _defer / _panic, taken from the
               runtime's _defer_debug_offsets table or, failing that, from
               gdb's view of the DWARF types.  Never hard-coded offsets.
  Memory       a block cache over Inferior.read_memory: records are read
               64 KiB at a time, because one gdb read per record is what
               makes other debuggers slow (and is worse over gdbserver).
  G, Defer,    plain decoded records (struct.unpack of the cached bytes).
  Panic
  Chain        a walk result: every record that could be read, then at most
               one readable `error` saying what went wrong and where
               (a cycle, a wild pointer, garbage, a truncated core).
  Symbols      cached look-ups: function names, defer sites, parameter
               lists of deferred functions (debug info or the runtime's
               recorded argument kinds).
  FrameMap     which frame of a thread owns a record (innermost frame whose
               CFA is above the record's sp, as Delve matches them).

Memory in a debugger is hostile: any pointer may be NULL, wild, or point at
garbage; every walk keeps a visited set and a cap, and reports instead of
raising.  Objects here are valid for one stop of the inferior: make a new
Snapshot after the inferior ran.
"""

import bisect
import gc
import operator
import re
import struct

import gdb

from . import abi, params

# The versioned ABI's values (never offsets: those always come from the
# program), from abi.py, which make generates from defer_abi.h.
from .abi import MAGIC as DEFER_DEBUG_MAGIC, VERSION as ABI_VERSION  # noqa: E402
from .abi import (MAXARGS, ARG_SIGNED, ARG_UNSIGNED, ARG_POINTER, ARG_FLOAT,  # noqa: E402,F401
                  ARG_DOUBLE, ARG_BOOL, G_RUNNING, G_DEAD, PANIC_MSG)

# Hard caps, whatever `set defer max-entries` says: no real program has more
# threads, nested panics or frames; reaching one is reported as such (never
# as a wild pointer), and a walk stops there.
MAX_THREADS = 1 << 16
MAX_PANICS = 1 << 12
MAX_FRAMES = 1 << 16
MAX_DEFERS = 1 << 25    # 5 GB of records: beyond it the chain is not real
# Long panic messages (ABI 2, struct _panic.text): the most read of one
# message, and of all messages in one command.
TEXT_MAX = 1 << 20
TEXT_BUDGET = 1 << 22

# The budget: every walk of one Snapshot (one command, one stop's catchpoint
# text, one redraw of the TUI, one convenience function...) reads at most
# `set defer max-entries` records in all, threads' chains together, so that
# caps do not multiply with the number of threads or of walks.  Reaching it
# says so with budget_note(); it is never an error.
_UNSET = object()


def out_of_memory():
    """The error for a MemoryError (gdb under `ulimit -v`, a huge budget)."""
    return gdb.GdbError("libdefer: out of memory while reading the records: set defer "
                        "max-entries lower (now %s)" % params.max_entries_text())


def memory_errors_as_gdb_errors(fn):
    """A gdb entry point (MI command, convenience function) whose MemoryError
    is one readable gdb error, not a Python traceback."""
    def wrapped(*args, **kw):
        try:
            return fn(*args, **kw)
        except MemoryError:
            raise out_of_memory() from None
    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped


def budget_hint():
    return "set defer max-entries (now %s) to read more" % params.max_entries_text()


def budget_note(n):
    """The line printed where a walk stopped at the budget."""
    return "stopped after %d records: %s" % (n, budget_hint())


class NotLinked(gdb.GdbError):
    """The program does not use libdefer (or its symbols cannot be found)."""


class NoTarget(gdb.GdbError):
    """No process and no core file."""


def require_target():
    """Raise NoTarget unless there is a live process or a core to read."""
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0 or not inf.threads():
        raise NoTarget("No process and no core file: start the program (run, "
                       "attach PID, target remote) or load a core (core FILE).")
    return inf


# ---------------------------------------------------------------------------
# Layout: field offsets of the three record types.

# Field name -> (struct format character) for the fields the readers use.
_G_FIELDS = (("alllink", "Q"), ("defer", "Q"), ("panic", "Q"), ("tid", "i"),
             ("status", "I"))
_D_FIELDS = (("link", "Q"), ("fn", "Q"), ("pc", "Q"), ("sp", "Q"), ("panic", "Q"),
             ("nargs", "B"))
_P_FIELDS = (("link", "Q"), ("arg", "Q"), ("argp", "Q"), ("pc", "Q"), ("defer", "Q"),
             ("recovered", "B"), ("aborted", "B"), ("goexit", "B"))


class Record:
    """Offsets of one struct: a precompiled struct.Struct over its fields."""

    def __init__(self, name, size, offsets, fields):
        self.name = name
        self.size = size
        self.offsets = offsets          # field -> offset (all known fields)
        order = sorted((offsets[f], f, c) for f, c in fields)
        fmt, pos, self.names = "<", 0, []
        for off, f, c in order:
            if off < pos or off + struct.calcsize(c) > size:
                raise NotLinked("libdefer: bad layout of %s (field %s at %d)" % (name, f, off))
            fmt += "%dx%s" % (off - pos, c) if off > pos else c
            pos = off + struct.calcsize(c)
            self.names.append(f)
        self.unpack = struct.Struct(fmt).unpack_from

    def decode(self, buf, base=0):
        return dict(zip(self.names, self.unpack(buf, base)))


# The offsets table's header (magic, version, size, allgs), as abi.py has it.
TABLE_HEADER = struct.Struct("<" + "".join(code for _, code in abi.TABLE_HEADER))


def table_header(raw):
    """{header field: value} of the table whose first bytes are raw."""
    return dict(zip((name for name, _ in abi.TABLE_HEADER), TABLE_HEADER.unpack_from(raw)))


def _ptr_value(expr):
    """Address of a symbol through gdb's parser: works with minimal symbols."""
    try:
        return int(gdb.parse_and_eval("(unsigned long)&%s" % expr))
    except gdb.error:
        return None


class Runtime:
    """libdefer in the current program: allgs and the record layouts."""

    def __init__(self):
        self.allgs = _ptr_value("'allgs'")
        table = _ptr_value("'_defer_debug_offsets'")
        if table is None and self.allgs is None:
            # A stripped program: the table is found by its magic number.
            table = _scan_for_table()
        if self.allgs is None and table is not None:
            try:
                # In memory the table's allgs has been relocated already.
                self.allgs = table_header(bytes(
                    gdb.selected_inferior().read_memory(table, TABLE_HEADER.size)))["allgs"]
            except (gdb.MemoryError, gdb.error):
                pass
        if self.allgs is None:
            raise NotLinked("This program does not use libdefer (no symbol allgs).")
        self.source = None
        self._from_table(table) or self._from_dwarf()
        if self.source is None:
            raise NotLinked("libdefer: cannot find the record layout: neither "
                            "_defer_debug_offsets nor debug info for struct _defer "
                            "is in this program.")

    # The table's own layout (defer_abi.h, struct defer_debug_offsets), for
    # programs without debug info for it: a header, then one block of
    # uint32 per record type, each starting with the record's size.
    TABLE_BLOCKS = abi.TABLE_BLOCKS

    def _from_table(self, addr):
        """Offsets from the runtime's _defer_debug_offsets at addr (works for
        stripped programs).  Read through gdb's type for the table when the
        program has one, else by the header's layout, checked by magic,
        version and size."""
        if addr is None:
            return False
        blocks = None
        try:
            t = gdb.lookup_type("struct defer_debug_offsets")
            v = gdb.Value(addr).cast(t.pointer()).dereference()
            if int(v["magic"]) != DEFER_DEBUG_MAGIC or int(v["version"]) != ABI_VERSION:
                return False
            blocks = {}
            for name, _fields in self.TABLE_BLOCKS:
                sub = v[name]
                blocks[name] = {f.name: int(sub[f.name]) for f in sub.type.fields()}
        except (gdb.error, gdb.MemoryError, RuntimeError):
            blocks = None
        if blocks is None:
            try:
                raw = bytes(gdb.selected_inferior().read_memory(addr, abi.TABLE_SIZE))
            except (gdb.MemoryError, gdb.error):
                return False
            head = table_header(raw)
            if head["magic"] != DEFER_DEBUG_MAGIC or head["version"] != ABI_VERSION or \
                    head["size"] != abi.TABLE_SIZE:
                return False
            blocks, pos = {}, TABLE_HEADER.size
            for name, fields in self.TABLE_BLOCKS:
                vals = struct.unpack_from("<%dI" % len(fields), raw, pos)
                blocks[name] = dict(zip(fields, vals))
                pos += 4 * len(fields)
        self._set(blocks["g"], blocks["d"], blocks["p"], blocks["mark"], blocks["resume"])
        self.source = "_defer_debug_offsets"
        return True

    def _from_dwarf(self):
        def offsets(tag, extra=()):
            try:
                t = gdb.lookup_type("struct " + tag)
            except gdb.error:
                return None
            out = {"size": t.sizeof}
            for f in t.fields():
                name = f.name[1:] if f.name in ("_defer", "_panic") else f.name
                out[name] = f.bitpos // 8
                if f.bitsize:
                    # started/heap as bits of one byte (the table's d.flags)
                    out["flags"] = f.bitpos // 8
                    out[name + "_bit"] = 1 << (f.bitpos % 8)
            return out
        g, d, p = offsets("g"), offsets("_defer"), offsets("_panic")
        if not (g and d and p):
            return False
        self._set(g, d, p, offsets("defer_mark"), offsets("defer_resume"))
        self.source = "DWARF"
        return True

    def _set(self, g, d, p, mark=None, resume=None):
        self.g = Record("struct g", g["size"], g, _G_FIELDS)
        self.d = Record("struct _defer", d["size"], d, _D_FIELDS)
        self.p = Record("struct _panic", p["size"], p, _P_FIELDS)
        self.dcodec = DeferCodec(self.d)
        self.mark = mark
        self.resume = resume            # struct defer_resume: what defer_result saved


class DeferCodec:
    """One struct.Struct for a whole _defer record, and where each field lands
    in its result tuple (index: link fn pc sp panic nargs started heap
    kind iregs fregs; iregs/fregs are the first of six)."""

    FIELDS = (("link", "Q"), ("fn", "Q"), ("pc", "Q"), ("sp", "Q"), ("panic", "Q"),
              ("nargs", "B"), ("started", "B"), ("heap", "B"),
              ("kind", "%ds" % MAXARGS), ("iregs", "%dQ" % MAXARGS),
              ("fregs", "%dQ" % MAXARGS))

    def __init__(self, rec):
        offs = dict(rec.offsets)
        fields = list(self.FIELDS)
        if "flags" in offs:
            # ABI with started/heap as bits of one flags byte (DEFER_FLAG_*):
            # read the byte once, as `started`, and split it in the walk.
            fields = [(f, c) for f, c in fields if f != "heap"]
            offs["started"] = offs["flags"]
            self.started_bit = offs.get("started_bit", 1)
            self.heap_bit = offs.get("heap_bit", 2)
        else:
            self.started_bit = self.heap_bit = None
        order = sorted((offs[f], f, c) for f, c in fields)
        fmt, pos, i, where = "<", 0, 0, {}
        for off, f, c in order:
            if off < pos:
                raise NotLinked("libdefer: overlapping fields in struct _defer (%s)" % f)
            if off > pos:
                fmt += "%dx" % (off - pos)
            fmt += c
            pos = off + struct.calcsize(c)
            where[f] = i
            i += MAXARGS if c.endswith("Q") and c[0].isdigit() else 1
        if pos > rec.size:
            raise NotLinked("libdefer: struct _defer is smaller than its fields")
        where.setdefault("heap", where["started"])
        self.unpack = struct.Struct(fmt).unpack_from
        self.index = tuple(where[f] for f, _ in self.FIELDS)

        # raw flags byte -> (started, heap), None for bits no record has
        self.flagtab = None
        if self.started_bit is not None:
            sb, hb = self.started_bit, self.heap_bit
            self.flagtab = tuple(None if v & ~(sb | hb) else (1 if v & sb else 0,
                                                             1 if v & hb else 0)
                                 for v in range(256))

    def flags(self, started, heap):
        """(started, heap) as 0/1 from the raw field values; None for garbage."""
        if self.flagtab is not None:
            return self.flagtab[started]
        return (started, heap) if started <= 1 and heap <= 1 else None


_MAGIC = struct.pack("<Q", DEFER_DEBUG_MAGIC)
_SHF_ALLOC, _SHF_EXECINSTR, _SHT_PROGBITS = 2, 4, 1


def _elf_data_sections(path):
    """[(name, address, file offset, size)] of an ELF64 little-endian file's
    allocated, non-code PROGBITS sections; [] if it is not one."""
    try:
        with open(path, "rb") as f:
            hdr = f.read(64)
            if len(hdr) < 64 or hdr[:4] != b"\x7fELF" or hdr[4] != 2 or hdr[5] != 1:
                return []
            shoff, = struct.unpack_from("<Q", hdr, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", hdr, 0x3A)
            if shentsize < 64 or shnum == 0 or shnum > 4096 or shstrndx >= shnum:
                return []
            f.seek(shoff)
            table = f.read(shentsize * shnum)
            heads = [struct.unpack_from("<IIQQQQ", table, i * shentsize) for i in range(shnum)]
            _, _, _, _, stroff, strsize = heads[shstrndx]
            f.seek(stroff)
            names = f.read(min(strsize, 1 << 20))
    except (OSError, struct.error):
        return []
    out = []
    for name, typ, flags, addr, off, size in heads:
        if typ == _SHT_PROGBITS and flags & _SHF_ALLOC and not flags & _SHF_EXECINSTR:
            end = names.find(b"\0", name)
            out.append((names[name:end].decode("ascii", "replace"), addr, off, size))
    return out


def _scan_for_table():
    """The run-time address of _defer_debug_offsets in a program without
    symbols: search the objfiles' data sections for DEFER_DEBUG_MAGIC and
    relocate through gdb's section map (`info files`)."""
    try:
        text = gdb.execute("info files", to_string=True)
    except gdb.error:
        return None
    main = gdb.current_progspace().filename
    starts = {}
    for line in text.splitlines():
        m = re.match(r"\s+0x([0-9a-f]+) - 0x[0-9a-f]+ is (\S+)(?: in (.*))?$", line)
        if m:
            starts.setdefault((m.group(3) or main, m.group(2)), int(m.group(1), 16))
    inf = gdb.selected_inferior()
    for objfile in gdb.objfiles():
        path = objfile.filename
        if not path:
            continue
        for name, addr, off, size in _elf_data_sections(path):
            start = starts.get((path, name))
            if start is None or size > 1 << 26:
                continue
            try:
                with open(path, "rb") as f:
                    f.seek(off)
                    data = f.read(size)
            except OSError:
                continue
            i = data.find(_MAGIC)
            while i >= 0:
                cand = start + i
                try:
                    head = table_header(bytes(inf.read_memory(cand, TABLE_HEADER.size)))
                    if head["magic"] == DEFER_DEBUG_MAGIC and head["version"] == ABI_VERSION:
                        return cand
                except (gdb.MemoryError, gdb.error):
                    pass
                i = data.find(_MAGIC, i + 8)
    return None


# One Runtime per program space, dropped when objfiles change.
_runtimes = {}


def _forget(_event=None):
    _runtimes.clear()
    _forget_symbols()


def _forget_symbols():
    Symbols.cache.clear()
    _plans.clear()
    _pointer_text.clear()


_cache_space = None


def _space_key():
    """What addresses are valid for: the program space and the process (a
    new run may load the program elsewhere)."""
    inf = gdb.selected_inferior()
    return (gdb.current_progspace(), inf.num if inf else 0, inf.pid if inf else 0)


def runtime():
    """The Runtime of the current program and process (cached); raises
    NotLinked."""
    key = _space_key()
    rt = _runtimes.get(key)
    if rt is None:
        try:
            rt = Runtime()
        except NotLinked as e:
            rt = e      # remembered: bt and conditions ask on every stop
        _runtimes[key] = rt
    if isinstance(rt, NotLinked):
        raise rt
    return rt


def connect_events():
    gdb.events.new_objfile.connect(_forget)
    gdb.events.clear_objfiles.connect(_forget)


# ---------------------------------------------------------------------------
# Memory: a block cache.

class Fault(Exception):
    """An unreadable address, with a readable reason."""

    def __init__(self, addr, size):
        Exception.__init__(self, "cannot read %d bytes at %#x" % (size, addr))
        self.addr = addr


class Memory:
    """Reads inferior memory in 64 KiB blocks and serves records from them.

    A block that cannot be read whole (the end of a mapping, a core that
    lacks the page) is retried page by page, so one bad page costs one
    record, not the chain.
    """

    BLOCK = 1 << 16
    PAGE = 1 << 12

    def __init__(self, inferior=None):
        self.inf = inferior or gdb.selected_inferior()
        self.blocks = {}

    def _block(self, base, size):
        key = (base, size)
        b = self.blocks.get(key)
        if b is None:
            try:
                b = bytes(self.inf.read_memory(base, size))
            except (gdb.MemoryError, gdb.error):
                b = False   # remembered: do not retry in this snapshot
            self.blocks[key] = b
        return b

    def read(self, addr, size):
        if addr <= 0 or addr + size > 1 << 64:
            raise Fault(addr, size)
        base = addr & ~(self.BLOCK - 1)
        if addr + size <= base + self.BLOCK:
            b = self._block(base, self.BLOCK)
            if b:
                return b[addr - base:addr - base + size]
        # Block unreadable or straddled: go page by page.
        out = []
        a, end = addr, addr + size
        while a < end:
            pbase = a & ~(self.PAGE - 1)
            b = self._block(pbase, self.PAGE)
            if not b:
                raise Fault(addr, size)
            n = min(end, pbase + self.PAGE) - a
            out.append(b[a - pbase:a - pbase + n])
            a += n
        return b"".join(out)

    def u64(self, addr):
        return struct.unpack("<Q", self.read(addr, 8))[0]


# ---------------------------------------------------------------------------
# Decoded records.

class G:
    """A thread's record (struct g)."""
    __slots__ = ("addr", "alllink", "defer", "panic", "tid", "status", "name")

    def __init__(self, addr, f, name):
        self.addr = addr
        for k, v in f.items():
            setattr(self, k, v)
        self.name = name

    @property
    def dead(self):
        return self.status == G_DEAD


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

    @classmethod
    def from_fields(cls, addr, f, kind, iregs, fregs, index):
        return tuple.__new__(cls, (addr, f["link"], f["fn"], f["pc"], f["sp"], f["panic"],
                                   f["nargs"], f["started"], f["heap"], kind, iregs, fregs,
                                   index))

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
    __slots__ = ("addr", "link", "arg", "argp", "pc", "defer", "recovered", "aborted",
                 "goexit", "msg", "index")

    def __init__(self, addr, f, msg, index):
        self.addr = addr
        for k, v in f.items():
            setattr(self, k, v)
        self.msg, self.index = msg, index

    def state(self):
        if self.goexit:
            return "goexit"
        if self.recovered:
            return "recovered"
        if self.aborted:
            return "aborted"
        return "running"


class Chain(list):
    """The records of a walk that could be read, and why the walk stopped early
    (`error`, None for a clean end of the list)."""

    def __init__(self):
        list.__init__(self)
        self.error = None
        self.truncated = False   # stopped at the caller's limit or the budget
        self.budget = False      # ... at the budget (budget_note says so)


def _sane_pointer(addr):
    return addr != 0 and addr & 7 == 0 and addr < 1 << 47


class Snapshot:
    """All reads for one stop of one inferior: the memory cache and the walks."""

    def __init__(self, rt=None, inferior=None, budget=_UNSET):
        global _cache_space
        self.rt = rt or runtime()
        self.mem = Memory(inferior)
        self._gs = None
        self._by_tid = None
        self.text_left = TEXT_BUDGET    # bytes of long messages left to read
        # Records left to read (None: unlimited); see budget_note.
        self.left = params.max_entries() if budget is _UNSET else budget
        # The symbol caches are keyed by address: valid for one program space.
        space = _space_key()
        if space != _cache_space:
            _forget_symbols()
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
        namefield = rt.g.offsets.get("name")
        while addr:
            if addr in seen:
                out.error = "allgs: cycle: entry %d links back to %#x" % (len(out), addr)
                break
            if len(out) >= MAX_THREADS:
                out.error = ("allgs: more than %d thread records: stopped (the most libdefer "
                             "reads)" % MAX_THREADS)
                break
            if not _sane_pointer(addr):
                out.error = "allgs: wild pointer %#x after %d entries" % (addr, len(out))
                break
            seen.add(addr)
            try:
                buf = mem.read(addr, rt.g.size)
            except Fault as e:
                out.error = "allgs: entry %d: %s" % (len(out) + 1, e)
                break
            f = rt.g.decode(buf)
            name = ""
            if namefield is not None:
                name = buf[namefield:namefield + 16].split(b"\0")[0].decode("utf-8", "replace")
            out.append(G(addr, f, name))
            addr = f["alllink"]
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

    # -- deferred calls --
    def defers(self, g, limit=None):
        """g's deferred calls, newest first (a Chain of Defer).

        Stops at `limit` entries (Chain.truncated), at the end of the list,
        or at the first record that is unreadable, garbage or already seen
        (Chain.error says which and where).  This is the hot loop of
        `info defers` (100,000 records in well under a second): one
        struct.unpack per record straight out of the block cache."""
        # PERF: the walk allocates a tuple per record and nothing cyclic;
        # the cyclic collector would rescan them all again and again.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._defers(g, limit)
        finally:
            if enabled:
                gc.enable()

    def _defers(self, g, limit):
        rt, mem, out = self.rt, self.mem, Chain()
        codec = rt.dcodec
        size, unpack = rt.d.size, codec.unpack
        (il, ifn, ipc, isp, ipanic, inargs, istarted, iheap, ikind, iregs,
         ifregs) = codec.index
        blocks, BLOCK = mem.blocks, mem.BLOCK
        mask = ~(BLOCK - 1)
        new, Defer_ = tuple.__new__, Defer
        flagtab = codec.flagtab
        append = out.append
        seen = set()
        addr = g.defer
        n = 0
        cap = limit if limit is not None else -1
        left = self.left
        if left is not None and (cap < 0 or left < cap):
            cap, out.budget = left, True
        while addr:
            if n == cap:
                out.truncated = True
                break
            if n == MAX_DEFERS:
                out.error = ("defer chain longer than %d records: stopped (a corrupted "
                             "chain?)" % MAX_DEFERS)
                break
            if addr in seen:
                out.error = ("corrupted defer chain: cycle: the link of record #%d points "
                             "back to %#x" % (n, addr))
                break
            if addr & 7 or addr >= 1 << 47:
                out.error = ("corrupted defer chain: wild pointer %#x in the link of record "
                             "#%d" % (addr, n))
                break
            seen.add(addr)
            base = addr & mask
            b = blocks.get((base, BLOCK))
            if b and addr + size <= base + BLOCK:
                t = unpack(b, addr - base)
            else:
                try:
                    t = unpack(mem.read(addr, size))
                except Fault as e:
                    out.error = ("defer chain unreadable at record %d (%#x): %s; the list "
                                 "may be truncated" % (n + 1, addr, e))
                    break
            nargs, link, sp = t[inargs], t[il], t[isp]
            flags = flagtab[t[istarted]] if flagtab else codec.flags(t[istarted], t[iheap])
            if nargs > MAXARGS or flags is None or link & 7 or sp & 7 or not sp or not t[ipc]:
                out.error = "corrupted defer chain: record %d at %#x holds garbage (%s)" % (
                    n + 1, addr, _garbage(nargs, flags, t[istarted], link, sp, t[ipc]))
                break
            started, heap = flags
            # _panic is meaningful only once the call started (defer_abi.h).
            panic = t[ipanic] if started else 0
            n += 1
            append(new(Defer_, (addr, link, t[ifn], t[ipc], sp, panic, nargs, started,
                                heap, t[ikind], t[iregs:iregs + 6], t[ifregs:ifregs + 6], n)))
            addr = link
        if not out.truncated:
            out.budget = False
        if left is not None:
            self.left = left - n
        return out

    def resume_point(self, mark):
        """Where a recovery resumes the frame whose struct defer_mark is at
        mark when that frame used defer_result: (pc, sp) from the struct
        defer_resume it saved; None when it did not (or the layout has no
        defer_mark or defer_resume).  Raises Fault on unreadable memory."""
        m, r = self.rt.mark, self.rt.resume
        if not m or not r or not {"resumable", "resume"} <= set(m) or \
                not {"rip", "rsp"} <= set(r):
            return None
        if not self.mem.read(mark + m["resumable"], 1)[0]:
            return None
        at = self.mem.u64(mark + m["resume"])
        return self.mem.u64(at + r["rip"]), self.mem.u64(at + r["rsp"])

    def defer_at(self, addr):
        """The record at addr, read on its own (e.g. one a panic points to but
        that is no longer on the chain), or None if it cannot be read or is
        garbage."""
        fake = G(0, {"alllink": 0, "defer": addr, "panic": 0, "tid": 0, "status": 0}, "")
        left, self.left = self.left, None       # one record: not worth a budget
        try:
            chain = self.defers(fake, 1)
        finally:
            self.left = left
        return chain[0] if chain else None

    # -- panics --
    def _whole_message(self, buf, msg):
        """The whole message of a version-2 record (struct _panic.text,
        textlen bytes), when longer than msg's first bytes: at most
        TEXT_MAX bytes of it (then the runtime's marker wording), and
        TEXT_BUDGET bytes per snapshot in all."""
        offs = self.rt.p.offsets
        if "text" not in offs or offs["textlen"] + 8 > len(buf):
            return msg
        text, textlen = struct.unpack_from("<QQ", buf, offs["text"])
        if textlen < PANIC_MSG or not _sane_pointer(text) or self.text_left <= 0:
            return msg
        want = min(textlen, TEXT_MAX, self.text_left)
        try:
            raw = self.mem.read(text, want)
        except Fault:
            return msg + " [... %d more bytes: unreadable]" % (textlen - len(msg))
        self.text_left -= want
        whole = raw.split(b"\0")[0].decode("utf-8", "surrogateescape")
        if want < textlen:
            whole += " [... %d more bytes not shown]" % (textlen - want)
        return whole

    def panics(self, g):
        """g's panics, newest first (a Chain of Panic)."""
        rt, mem, out = self.rt, self.mem, Chain()
        msgoff = rt.p.offsets.get("msg")
        seen = set()
        addr = g.panic
        while addr:
            where = "panic %d at %#x" % (len(out) + 1, addr)
            if addr in seen:
                out.error = ("corrupted panic chain: cycle: the link of panic %d points back "
                             "to %#x" % (len(out), addr))
                break
            if self.left is not None and self.left <= 0:
                out.truncated = out.budget = True
                break
            if len(out) >= MAX_PANICS:
                out.error = ("more than %d nested panics: stopped (the most libdefer lists)" %
                             MAX_PANICS)
                break
            if not _sane_pointer(addr):
                out.error = "corrupted panic chain: wild pointer %#x" % addr
                break
            seen.add(addr)
            try:
                buf = mem.read(addr, rt.p.size)
            except Fault as e:
                out.error = "panic chain unreadable at %s (%s)" % (where, e)
                break
            f = rt.p.decode(buf)
            msg = ""
            if msgoff is not None:
                raw = buf[msgoff:msgoff + PANIC_MSG].split(b"\0")[0]
                # The program's bytes: not UTF-8 ones kept as surrogate
                # escapes, for printable() to show and MI to spell out.
                msg = raw.decode("utf-8", "surrogateescape")
                if len(raw) == PANIC_MSG - 1:       # msg is full: ABI 2 has the rest
                    msg = self._whole_message(buf, msg)
            if f["recovered"] > 1 or f["aborted"] > 1 or f["goexit"] > 1:
                out.error = "corrupted panic chain: %s holds garbage" % where
                break
            out.append(Panic(addr, f, msg, len(out) + 1))
            if self.left is not None:
                self.left -= 1
            addr = f["link"]
        return out


def _garbage(nargs, flags, rawflags, link, sp, pc):
    """Why a decoded _defer cannot be a real record."""
    if not sp or not pc:
        return ("pc %#x sp %#x: every record has both; zeroed memory, e.g. a page "
                "missing from a core file" % (pc, sp))
    if nargs > MAXARGS:
        return "nargs=%d, at most %d" % (nargs, MAXARGS)
    if flags is None:
        return "flags %#x" % rawflags
    if link & 7:
        return "misaligned link %#x" % link
    return "misaligned sp %#x" % sp


# ---------------------------------------------------------------------------
# Text from the inferior, made safe to print.  Messages, thread names, symbol
# and file names are the program's bytes: an escape sequence would drive the
# terminal, a newline would forge a line of our own output ("  defer 9: ...").
# Every text view (commands, printers, catchpoints, stepping, TUI) prints
# them through these; MI and convenience functions hand the raw string to
# gdb, which quotes it itself.

_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v",
              "\f": "\\f", "\r": "\\r", "\x1b": "\\033"}


def _escape_char(c):
    e = _C_ESCAPES.get(c)
    if e is not None:
        return e
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:           # surrogateescape: the byte o - 0xDC00
        return "\\%03o" % (o - 0xDC00)
    if o < 0x100:
        return "\\%03o" % o
    return "\\u%04x" % o if o < 0x10000 else "\\U%08x" % o


def printable(s, tabs=False):
    """s with every character that is not printable (controls, escapes,
    bidirectional overrides, line separators) written C-style; a byte that
    is not UTF-8 (decoded as a surrogate escape) as its octal escape.
    tabs=True keeps tabs (gdb's own source lines)."""
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() or (tabs and c == "\t") else _escape_char(c)
                   for c in s)


def mi_text(s):
    """s for MI and DAP, whose strings must be text: a byte that is not UTF-8
    becomes a literal \\xNN."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def quoted(s):
    """s as a C string literal: '"..."' with quote and backslash escaped too,
    so that the text cannot end the quotes early."""
    if '"' in s or "\\" in s:
        s = s.replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % printable(s)


# ---------------------------------------------------------------------------
# Symbols: names, sites and parameter lists, cached per program space.

class Param:
    """One argument of a deferred call as the callee declares it."""
    __slots__ = ("name", "type", "cls", "fast")

    def __init__(self, name, typ, cls, fast):
        self.name, self.type, self.cls, self.fast = name, typ, cls, fast


class Symbols:
    """Cached symbol look-ups.  The cache is dropped when objfiles change."""

    cache = {}

    @classmethod
    def _get(cls, kind, key, compute):
        k = (kind, key)
        try:
            return cls.cache[k]
        except KeyError:
            v = cls.cache[k] = compute(key)
            return v

    @classmethod
    def function_name(cls, addr):
        return cls._get("fn", addr, _function_name)

    @classmethod
    def site(cls, pc):
        """(function, file, line) of a return address (uses pc-1)."""
        return cls._get("site", pc, _site)

    @classmethod
    def fullname(cls, pc):
        """The absolute path of a return address's source file, or None."""
        return cls._get("fullname", pc, _fullname)

    @classmethod
    def site_text(cls, pc):
        """'func at file:line' (or 'func at 0xaddr') of a return address."""
        return cls._get("sitetext", pc, _site_text)

    @classmethod
    def params(cls, fn):
        """The deferred function's parameters (a list of Param) from its debug
        info, or None when it has none (e.g. fclose from libc)."""
        return cls._get("params", fn, _params)


def function_block_at(pc):
    """The debug-info block of the function containing pc, or None."""
    try:
        b = gdb.block_for_pc(pc)
    except RuntimeError:
        return None
    while b is not None and b.function is None:
        b = b.superblock
    return b


def minimal_symbol(pc):
    """'name' or 'name+off' of pc from the minimal symbols, or None."""
    try:
        s = gdb.format_address(pc)       # "0x... <name+off>"
    except (gdb.error, RuntimeError):
        return None
    i = s.find(" <")
    return s[i + 2:-1] if i >= 0 else None


def _function_name(addr):
    if not addr:
        return "nil"
    b = function_block(addr)
    if b is not None:
        return _public_alias(b.function.print_name, addr)
    name = minimal_symbol(addr)
    if name is None:
        return "%#x" % addr
    if "+" in name:
        return "%#x <%s>" % (addr, name)
    return _public_alias(name, addr)


# A C identifier: the only names _public_alias hands to gdb's parser.  Names
# come from the program's symbol table, which can hold any bytes ("_x',
# ((int(*)(char*))system)(cmd),'x" is a valid ELF symbol): quoting cannot
# make those safe, so they are never parsed.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _public_alias(name, addr):
    """libc's minimal symbols name printf `__printf`: prefer the public
    alias at the same address, the name a user wrote in defer().  (Its
    callers' results are cached in Symbols.)"""
    if not name.startswith("_"):
        return name
    public = name.lstrip("_")
    if not _IDENTIFIER.match(public):
        return name
    try:
        sym = gdb.lookup_global_symbol(public)
        if sym is not None and int(sym.value().address) == addr:
            return public
        if int(gdb.parse_and_eval("(long)&'%s'" % public)) == addr:
            return public
    except (gdb.error, RuntimeError):
        pass
    return name


def _site(pc):
    if not pc:
        return ("??", None, None)
    b = function_block_at(pc - 1)
    if b is not None:
        func = b.function.print_name
    else:
        name = minimal_symbol(pc - 1)
        func = name.split("+")[0] if name else "??"
    sal = gdb.find_pc_line(pc - 1)
    if sal.symtab is not None and sal.line:
        return (func, sal.symtab.filename, sal.line)
    return (func, None, None)


_INT_CODES = (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR, gdb.TYPE_CODE_BOOL, gdb.TYPE_CODE_ENUM)


def function_block(addr):
    """The debug-info block of the function that starts at addr, or None."""
    b = function_block_at(addr)
    return b if b is not None and b.start == addr else None


def _params(fn):
    b = function_block(fn) if fn else None
    if b is None:
        return None
    out = []
    for sym in b:
        if not sym.is_argument:
            continue
        t = sym.type.strip_typedefs()
        code = t.code
        if code in (gdb.TYPE_CODE_FLT,):
            cls = ARG_FLOAT if t.sizeof == 4 else ARG_DOUBLE
        elif code in _INT_CODES or code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_REF):
            cls = ARG_POINTER if code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_REF) else (
                ARG_SIGNED if code != gdb.TYPE_CODE_BOOL else ARG_BOOL)
        else:
            return None     # a struct by value: the saved registers cannot describe it
        fast = None
        if code == gdb.TYPE_CODE_INT and not _is_char(t):
            fast = ("s" if t.is_signed else "u", t.sizeof)
        elif code == gdb.TYPE_CODE_BOOL:
            fast = ("b", t.sizeof)
        elif code == gdb.TYPE_CODE_FLT:
            fast = ("f", t.sizeof)
        elif code == gdb.TYPE_CODE_PTR and not _is_special_pointer(t):
            fast = ("p", 8)
        out.append(Param(sym.print_name, sym.type, cls, fast))
    return out


def _is_char(t):
    return t.sizeof == 1 and t.name in ("char", "signed char", "unsigned char")


def _is_special_pointer(t):
    """Pointers gdb prints with more than an address: strings, functions."""
    target = t.target().strip_typedefs()
    return target.code == gdb.TYPE_CODE_FUNC or (
        target.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR) and target.sizeof == 1)


# ---------------------------------------------------------------------------
# Arguments.

def _sext(v, size):
    bits = 8 * size
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _fmt_float(raw, size):
    if size == 4:
        x = struct.unpack("<f", struct.pack("<I", raw & 0xFFFFFFFF))[0]
    else:
        x = struct.unpack("<d", struct.pack("<Q", raw))[0]
    return "%.9g" % x if size == 4 else repr(x)


def _fmt_fast(fast, raw):
    kind, size = fast
    if kind == "s":
        return str(_sext(raw, size))
    if kind == "u":
        return str(raw & ((1 << (8 * size)) - 1))
    if kind == "b":
        return "true" if raw & 0xFF else "false"
    if kind == "f":
        return _fmt_float(raw, size)
    return _fmt_pointer(raw)


def _fmt_kind(k, raw):
    """An argument without debug info, by the runtime's recorded kind byte."""
    cls, size = k & 0xF0, k & 0x0F
    if cls == ARG_SIGNED:
        return str(_sext(raw, size or 8))
    if cls == ARG_UNSIGNED:
        return str(raw & ((1 << (8 * (size or 8))) - 1))
    if cls == ARG_BOOL:
        return "true" if raw & 0xFF else "false"
    if cls == ARG_FLOAT:
        return _fmt_float(raw, 4)
    if cls == ARG_DOUBLE:
        return _fmt_float(raw, 8)
    if cls == ARG_POINTER:
        return _fmt_pointer(raw)
    return "%#x (kind %#x)" % (raw, k)


def panic_value_text(arg):
    """' value=0x... <sym>' for a panic's user pointer, '' for none."""
    return " value=%s" % _fmt_pointer(arg) if arg else ""


def _fmt_pointer(raw):
    """A data pointer: the address, and the symbol it points into (as gdb
    prints `0x... <conn>`).  Cached per address within the program space."""
    if raw == 0:
        return "0x0"
    s = _pointer_text.get(raw)
    if s is None:
        s = "%#x" % raw
        try:
            # gdb's own `print (void *) x`: 0x... <symbol>, preferring debug
            # info names (conn) over minimal symbols (conn.10).
            t = gdb.Value(raw).cast(_void_pointer()).format_string(symbols=True)
            if t.startswith("0x"):
                s = t
        except (gdb.error, RuntimeError):
            pass
        if len(_pointer_text) > 1 << 16:
            _pointer_text.clear()
        _pointer_text[raw] = s
    return s


_pointer_text = {}


def _void_pointer():
    return gdb.lookup_type("void").pointer()


def _fmt_typed(typ, raw):
    """gdb's own rendering of a value of `typ` held in a register image."""
    try:
        v = gdb.Value(struct.pack("<Q", raw)[:typ.sizeof], typ)
        return v.format_string(max_elements=64)
    except (gdb.error, gdb.MemoryError, RuntimeError, ValueError) as e:
        return "<%s: %s>" % (hex(raw), e)


def _slots(d):
    """Yield (Param or None, kind byte, 0 for iregs / 1 for fregs, index)
    per argument.  Parameters come from the callee's debug info when it has
    some and the count is consistent with the record; extra (variadic)
    arguments and functions without debug info fall back to the kinds the
    runtime wrote.  Argument i lives in iregs[n] or fregs[n], n counting the
    earlier arguments of the same class (SysV)."""
    params = Symbols.params(d.fn)
    if params is not None and len(params) > d.nargs:
        params = None       # the record disagrees with the prototype: trust the record
    ni = nf = 0
    for i in range(min(d.nargs, MAXARGS)):
        k = d.kind[i]
        p = params[i] if params is not None and i < len(params) else None
        if (p.cls if p is not None else k & 0xF0) in (ARG_FLOAT, ARG_DOUBLE):
            yield p, k, 1, nf
            nf += 1
        else:
            yield p, k, 0, ni
            ni += 1


def arguments(d):
    """The deferred call's arguments as text: a list of (name or None, text),
    as format_call prints them."""
    regs = (d.iregs, d.fregs)
    return [(prefix[:-1] or None, f(regs[src][idx])) for prefix, src, idx, f in _plan(d)[1]]


_KIND_TYPES = {ARG_SIGNED: {1: "signed char", 2: "short", 4: "int", 8: "long"},
               ARG_UNSIGNED: {1: "unsigned char", 2: "unsigned short", 4: "unsigned int",
                              8: "unsigned long"},
               ARG_FLOAT: {4: "float"}, ARG_DOUBLE: {8: "double"}, ARG_BOOL: {1: "_Bool"},
               ARG_POINTER: {8: "void *"}}


def _kind_type(k):
    name = _KIND_TYPES.get(k & 0xF0, {}).get(k & 0x0F)
    if name is None:
        return gdb.lookup_type("unsigned long")
    if name == "void *":
        return gdb.lookup_type("void").pointer()
    if name == "_Bool":
        name = "unsigned char"   # C's _Bool is not always in the type tables
    return gdb.lookup_type(name)


def argument_values(d):
    """The arguments as (name, gdb.Value), for frame decorators and printers.
    Arguments without debug info get a type from their recorded kind and the
    names arg1, arg2, ..."""
    out, regs = [], (d.iregs, d.fregs)
    for i, (p, k, src, idx) in enumerate(_slots(d)):
        raw, name = regs[src][idx], p.name if p is not None else None
        try:
            typ = p.type if p is not None else _kind_type(k)
            v = gdb.Value(struct.pack("<Q", raw)[:typ.sizeof], typ)
        except (gdb.error, RuntimeError, ValueError):
            v = gdb.Value(raw)
        out.append((name or "arg%d" % (i + 1), v))
    return out


def _fast_formatter(fast):
    kind, size = fast
    if kind == "s":
        bits = 8 * size
        mask, sign = (1 << bits) - 1, 1 << (bits - 1)
        return lambda raw: str((raw & mask) - ((raw & sign) << 1))
    if kind == "u":
        mask = (1 << (8 * size)) - 1
        return lambda raw: str(raw & mask)
    return lambda raw: _fmt_fast(fast, raw)


def _plan(d):
    """How to print calls of d.fn with this argument shape: the function name
    and, per argument, (prefix, 0 for iregs / 1 for fregs, index, formatter).
    Cached: 100,000 calls deferred in a loop share one plan."""
    key = (d.fn, d.nargs, d.kind)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    steps = []
    for p, k, src, idx in _slots(d):
        if p is None:
            f = (lambda k: lambda raw: _fmt_kind(k, raw))(k)
            prefix = ""
        elif p.fast is not None:
            f = _fast_formatter(p.fast)
            prefix = p.name + "="
        else:
            f = (lambda t: lambda raw: _fmt_typed(t, raw))(p.type)
            prefix = p.name + "="
        steps.append((prefix, src, idx, f))
    plan = _plans[key] = (Symbols.function_name(d.fn), steps)
    return plan


_plans = {}


def format_call(d, with_args=True, raw=False):
    """'fn(a=1, b=0x... "x")' for a record: escaped for a text view, or
    raw=True as the program's bytes (MI and DAP, which quote it themselves)."""
    name, steps = _plan(d)
    if with_args:
        regs = (d.iregs, d.fregs)
        name = "%s(%s)" % (name, ", ".join([prefix + f(regs[src][idx])
                                            for prefix, src, idx, f in steps]))
    return name if raw else printable(name)


def _fullname(pc):
    sal = gdb.find_pc_line(pc - 1) if pc else None
    if sal is None or sal.symtab is None:
        return None
    try:
        return sal.symtab.fullname()
    except (gdb.error, RuntimeError):
        return None


def _site_text(pc):
    func, filename, line = Symbols.site(pc)
    if filename:
        return "%s at %s:%d" % (func, filename, line)
    return "%s at %#x" % (func, pc)


def format_site(pc, raw=False):
    """'func at file:line' (or 'func at 0xaddr') for a return address: the
    line of the call; escaped unless raw (as format_call).  Cached."""
    text = Symbols.site_text(pc)
    return text if raw else printable(text)


# ---------------------------------------------------------------------------
# Frames: which frame of a thread owns a record.

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
        self.frames = []
        self.error = None

    def _extend(self):
        f = self._next
        if f is None:
            return False
        if len(self.levels) >= MAX_FRAMES:
            self._next = None
            return False
        try:
            older = f.older()
            cfa = int(older.read_register("rsp")) if older is not None else 1 << 64
        except (gdb.error, RuntimeError, gdb.MemoryError) as e:
            self.error = "cannot unwind past frame %d: %s" % (f.level(), e)
            older, cfa = None, 1 << 64
        if self.cfas and cfa < self.cfas[-1]:
            cfa = self.cfas[-1]     # keep the list sorted for bisect
        self.frames.append(f)
        self.levels.append(f.level())
        self.cfas.append(cfa)
        self._next = older
        return True

    def owner(self, sp):
        """The level of the frame that owns a record with this sp, or None."""
        while not self.cfas or self.cfas[-1] <= sp:
            if not self._extend():
                break
        i = bisect.bisect_right(self.cfas, sp)
        if i >= len(self.cfas):
            return None
        cfa = self.cfas[i]
        while i + 1 < len(self.cfas) and self.cfas[i + 1] == cfa and \
                self.frames[i].type() == gdb.INLINE_FRAME:
            i += 1
        return self.levels[i]


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
