# SPDX-License-Identifier: MIT
"""memory.py - the only code that reads the inferior's memory, the selected
frame's registers and probe arguments (frames.py and stepping.py take other
frames' stack pointers from gdb.Frame, which unwinds to them).

  Memory       a block cache over Inferior.read_memory for one snapshot:
               records are read 64 KiB at a time, because one gdb read per
               record is what makes other debuggers slow (and is worse over
               gdbserver).
  read_once    one uncached read (the layout's table, a format string).
  register,    the selected frame's registers and the SDT probe arguments
  probe_arg    of the current stop, as unsigned integers.
  value_bytes  the bytes of a value gdb holds outside the program's memory
               (a convenience variable, `set var $rec = *allgs`).

An unreadable address is a Fault (with a readable reason), never a gdb
exception: callers report it and go on.
"""

import struct

import gdb


class Fault(Exception):
    """An unreadable address, with a readable reason."""

    def __init__(self, addr, size):
        Exception.__init__(self, "cannot read %d bytes at %#x" % (size, addr))
        self.addr = addr


def _check(addr, size):
    if addr <= 0 or addr + size > 1 << 64:
        raise Fault(addr, size)


class Memory:
    """Reads inferior memory in 64 KiB blocks and serves records from them.

    A block that cannot be read whole (the end of a mapping, a core that
    lacks the page) is retried page by page, so one bad page costs one
    record, not the chain.
    """

    BLOCK = 1 << 16
    PAGE = 1 << 12
    CACHED = 256        # blocks (16 MiB) and pages kept

    # Where pin() serves bytes that are not in the program's memory: in
    # page zero, which no program maps, and aligned as a record is.
    PINNED = 8

    def __init__(self, inferior=None):
        self.inf = inferior or gdb.selected_inferior()
        self.blocks = {}        # base -> BLOCK bytes, False if unreadable
        self.pages = {}         # base -> PAGE bytes, the same
        self.pinned = None

    def pin(self, buf):
        """Serve buf at a made-up address (PINNED) from now on; returns it."""
        self.pinned = buf
        return self.PINNED

    def _block(self, cache, base, size):
        b = cache.get(base)
        if b is None:
            try:
                b = bytes(self.inf.read_memory(base, size))
            except (gdb.MemoryError, gdb.error):
                b = False   # remembered: do not retry while cached
            if len(cache) >= self.CACHED:
                # A walk of a million records must not keep 150 MB of them:
                # chains are walked in address order mostly, so dropping the
                # oldest block costs a re-read rarely.
                del cache[next(iter(cache))]
            cache[base] = b
        return b

    def read(self, addr, size):
        _check(addr, size)
        if self.pinned is not None and addr < self.PAGE:
            if addr < self.PINNED or addr + size > self.PINNED + len(self.pinned):
                raise Fault(addr, size)
            return self.pinned[addr - self.PINNED:addr - self.PINNED + size]
        base = addr & ~(self.BLOCK - 1)
        if addr + size <= base + self.BLOCK:
            b = self._block(self.blocks, base, self.BLOCK)
            if b:
                return b[addr - base:addr - base + size]
        # Block unreadable or straddled: go page by page.
        out = []
        a, end = addr, addr + size
        while a < end:
            pbase = a & ~(self.PAGE - 1)
            b = self._block(self.pages, pbase, self.PAGE)
            if not b:
                raise Fault(addr, size)
            n = min(end, pbase + self.PAGE) - a
            out.append(b[a - pbase:a - pbase + n])
            a += n
        return b"".join(out)

    def readable_prefix(self, addr, size):
        """Up to size bytes at addr: those before the first unreadable page."""
        out, a, end = [], addr, addr + size
        while a < end:
            n = min(end, (a & ~(self.PAGE - 1)) + self.PAGE) - a
            try:
                out.append(self.read(a, n))
            except Fault:
                break
            a += n
        return b"".join(out)

    def u64(self, addr):
        return struct.unpack("<Q", self.read(addr, 8))[0]


def read_once(addr, size, inferior=None):
    """size bytes at addr, read now and not cached; raises Fault."""
    _check(addr, size)
    try:
        return bytes((inferior or gdb.selected_inferior()).read_memory(addr, size))
    except (gdb.MemoryError, gdb.error):
        raise Fault(addr, size) from None


def u64_once(addr):
    return struct.unpack("<Q", read_once(addr, 8))[0]


def value_bytes(val):
    """The bytes of val, a gdb.Value, as the program would hold them: gdb 14+
    gives them (Value.bytes); older ones are rebuilt field by field."""
    if hasattr(val, "bytes"):
        return bytes(val.bytes)
    buf = bytearray(val.type.sizeof)
    _put(buf, 0, val)
    return bytes(buf)


def _put(buf, bitpos, v):
    """Store v (a scalar, struct or array value) at bit bitpos of buf."""
    t = v.type.strip_typedefs()
    if t.code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        for f in t.fields():
            if f.bitsize:
                _put_bits(buf, bitpos + f.bitpos, f.bitsize, int(v[f.name]))
            elif f.name is not None and hasattr(f, "bitpos"):
                _put(buf, bitpos + f.bitpos, v[f.name])
    elif t.code == gdb.TYPE_CODE_ARRAY:
        lo, hi = t.range()
        size = t.target().strip_typedefs().sizeof
        for i in range(lo, hi + 1):
            _put(buf, bitpos + 8 * size * (i - lo), v[i])
    elif t.code == gdb.TYPE_CODE_FLT:
        pos = bitpos // 8
        buf[pos:pos + t.sizeof] = struct.pack("<f" if t.sizeof == 4 else "<d", float(v))
    else:
        _put_bits(buf, bitpos, 8 * t.sizeof, int(v))


def _put_bits(buf, bitpos, nbits, x):
    lo, hi = bitpos // 8, (bitpos + nbits + 7) // 8
    word = int.from_bytes(buf[lo:hi], "little")
    shift, mask = bitpos % 8, (1 << nbits) - 1
    word = word & ~(mask << shift) | (x & mask) << shift
    buf[lo:hi] = word.to_bytes(hi - lo, "little")


def register(name):
    """The selected frame's register `name` as an unsigned integer."""
    return int(gdb.parse_and_eval("(unsigned long)$%s" % name))


def probe_arg(i):
    """Argument i of the SDT probe the inferior stopped at, unsigned."""
    return int(gdb.parse_and_eval("(unsigned long)$_probe_arg%d" % i))
