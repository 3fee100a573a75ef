# SPDX-License-Identifier: MIT
"""layout.py - where libdefer lives in this program and how its records are laid out.

Owns the answer to "at which offset is field F of record R, and where is
allgs?", from one of three sources, best first:

  the offsets table  the runtime's _defer_debug_offsets, found by symbol,
                     or, in a program with no symbols at all, by scanning
                     the objfiles' data sections for abi.MAGIC;
  DWARF              gdb's view of struct g / _defer / _panic / defer_mark
                     when the table is not linked in.

Every ABI fact (magic, version, field lists, flag bits, the table's own
shape) comes from abi.py; offsets always come from the program.  The
result is a Runtime, cached per program space and process until objfiles
change (snapshot.connect_events drops it).
"""

import operator
import re
import struct

import gdb

from . import abi, memory
from .errors import NotLinked


class Record:
    """Offsets of one struct: a precompiled struct.Struct over the fields
    abi.FIELDS lists for it (`fields`), decoding to a dict."""

    def __init__(self, name, size, offsets, fields):
        self.name = name
        self.size = size
        self.offsets = offsets          # field -> offset (every field the program gave)
        self.unpack, order = _compile(name, size, offsets, fields)
        self.names = [f for f, _c in order]

    def decode(self, buf, base=0):
        return dict(zip(self.names, self.unpack(buf, base)))


def _compile(name, size, offsets, fields):
    """(unpack_from, [(field, format)] in offset order) for fields of a
    record of `size` bytes at `offsets`; NotLinked if they overlap, stick
    out or are missing."""
    missing = [f for f, _c in fields if f not in offsets]
    if missing:
        raise NotLinked("libdefer: bad layout of %s (no field %s)" % (name, missing[0]))
    fmt, pos, order = "<", 0, []
    for off, f, c in sorted((offsets[f], f, c) for f, c in fields):
        if off < pos or off + struct.calcsize(c) > size:
            raise NotLinked("libdefer: bad layout of %s (field %s at %d)" % (name, f, off))
        fmt += "%dx%s" % (off - pos, c) if off > pos else c
        pos = off + struct.calcsize(c)
        order.append((f, c))
    return struct.Struct(fmt).unpack_from, order


class DeferCodec:
    """One struct.Struct for a whole _defer record (abi.FIELDS["d"]), and
    where each field lands in its result tuple: `index[field]` (iregs and
    fregs are the first of abi.MAXARGS)."""

    def __init__(self, rec):
        self.unpack, order = _compile(rec.name, rec.size, rec.offsets, abi.FIELDS["d"])
        # Records one after the other (a pool chunk's): the same fields,
        # padded to the record's size.
        fmt = self.unpack.__self__.format
        self.iter_unpack = struct.Struct(
            "%s%dx" % (fmt, rec.size - struct.calcsize(fmt))).iter_unpack
        self.index, i = {}, 0
        for f, c in order:
            self.index[f] = i
            i += struct.calcsize("<" + c) // 8 if c[0].isdigit() and c.endswith("Q") else 1
        # raw flags byte -> (started, heap), None for bits no record has
        sb, hb = abi.FLAG_STARTED, abi.FLAG_HEAP
        self.flagtab = tuple(None if v & ~(sb | hb) else (1 if v & sb else 0, 1 if v & hb else 0)
                             for v in range(256))
        self.badflags = 0xFF & ~(sb | hb)       # the bits flagtab calls garbage
        self.goodflags = frozenset(v for v in range(256) if not v & self.badflags)
        # The fields that calls deferred in one loop share (info defers
        # makes their text once per run of records equal in these).
        self.run_key = operator.itemgetter(*(self.index[f] for f in (
            "fn", "pc", "sp", "panic", "nargs", "kind", "flags")))


def _ptr_value(expr):
    """Address of a symbol through gdb's parser: works with minimal symbols."""
    try:
        return int(gdb.parse_and_eval("(unsigned long)&%s" % expr))
    except gdb.error:
        return None


_HEADER = struct.Struct("<" + "".join(c for _f, c in abi.TABLE_HEADER))
_HEADER_AT = {f: struct.calcsize("<" + "".join(c for _f, c in abi.TABLE_HEADER[:i]))
              for i, (f, _c) in enumerate(abi.TABLE_HEADER)}


class Runtime:
    """libdefer in the current program: allgs and the record layouts
    (g, d, p: Record; mark: a dict of offsets or None; source: where
    they came from)."""

    def __init__(self):
        self.allgs = _ptr_value("'allgs'")
        table = _ptr_value("'_defer_debug_offsets'")
        if table is None and self.allgs is None:
            # A stripped program: the table is found by its magic number.
            table = _scan_for_table()
        if self.allgs is None and table is not None:
            try:
                # In memory the table's allgs has been relocated already.
                self.allgs = memory.u64_once(table + _HEADER_AT["allgs"])
            except memory.Fault:
                pass
        if self.allgs is None:
            raise NotLinked("This program does not use libdefer (no symbol allgs).")
        self.source = None
        self.table_version = None       # the table's, when this extension cannot read it
        self._from_table(table) or self._from_dwarf()
        if self.source is None and self.table_version is not None:
            raise NotLinked("libdefer: this program's _defer_debug_offsets is ABI version %d; "
                            "this extension reads version %d (and there is no debug info "
                            "for the records)." % (self.table_version, abi.VERSION))
        if self.source is None:
            raise NotLinked("libdefer: cannot find the record layout: neither "
                            "_defer_debug_offsets nor debug info for struct _defer "
                            "is in this program.")

    def _from_table(self, addr):
        """Offsets from the runtime's _defer_debug_offsets at addr (works for
        stripped programs), read by the table's own layout (abi.TABLE_*),
        checked by magic, version and size."""
        if addr is None:
            return False
        try:
            # The header first: another version's table has another size.
            head = dict(zip((f for f, _c in abi.TABLE_HEADER),
                            _HEADER.unpack_from(memory.read_once(addr, _HEADER.size))))
            if head["magic"] == abi.MAGIC and head["version"] != abi.VERSION:
                self.table_version = head["version"]
                return False
            if head["magic"] != abi.MAGIC or head["size"] != abi.TABLE_SIZE:
                return False
            raw = memory.read_once(addr, abi.TABLE_SIZE)
        except memory.Fault:
            return False
        blocks, pos = {}, _HEADER.size
        for name, fields in abi.TABLE_BLOCKS:
            blocks[name] = dict(zip(fields, struct.unpack_from("<%dI" % len(fields), raw, pos)))
            pos += 4 * len(fields)
        self._set(dict(blocks["g"], **blocks["ghist"]), blocks["d"], blocks["p"],
                  blocks["mark"], blocks["resume"], blocks["hist"])
        self.source = "_defer_debug_offsets"
        return True

    def _from_dwarf(self):
        """Offsets from gdb's view of the DWARF types (abi.DWARF_MEMBERS)."""
        g, d, p = _dwarf_offsets("g"), _dwarf_offsets("d"), _dwarf_offsets("p")
        if not (g and d and p):
            return False
        g.update(_dwarf_offsets("ghist") or {})
        self._set(g, d, p, _dwarf_offsets("mark"), _dwarf_offsets("resume"),
                  _dwarf_offsets("hist"))
        self.source = "DWARF"
        return True

    def _set(self, g, d, p, mark=None, resume=None, hist=None):
        # struct g's two blocks (ghist: its panic history) in one record
        self.g = Record("struct g", g["size"], g, abi.FIELDS["g"] + abi.FIELDS["ghist"])
        # The panic history's records (struct defer_recovered), if the
        # program's runtime keeps one.
        self.hist = Record("struct defer_recovered", hist["size"], hist,
                           abi.FIELDS["hist"]) if hist else None
        self.d = Record("struct _defer", d["size"], d, abi.FIELDS["d"])
        self.p = Record("struct _panic", p["size"], p, abi.FIELDS["p"])
        self.dcodec = DeferCodec(self.d)
        self.mark = mark
        self.resume = resume


def _dwarf_offsets(block):
    """{field: offset, "size": sizeof} of one abi.DWARF_STRUCTS record from
    the program's DWARF, fields named as the offsets table names them; None
    without the type.  The d.flags byte is where the bitfields are, whose
    bits must be abi's."""
    try:
        t = gdb.lookup_type("struct " + abi.DWARF_STRUCTS[block])
    except gdb.error:
        return None
    members = {f.name: f for f in t.fields()}
    out = {"size": t.sizeof}
    for field, member in abi.DWARF_MEMBERS[block].items():
        f = members.get(member)
        if f is not None:
            out[field] = f.bitpos // 8
    if block == "d":
        for member, bit in abi.DWARF_FLAG_BITS.items():
            f = members.get(member)
            if f is None or not f.bitsize or f.bitpos // 8 != out.get("flags") or \
                    1 << (f.bitpos % 8) != bit:
                raise NotLinked("libdefer: bad layout of struct _defer (bitfield %s)" % member)
    return out


def resume_offsets(rt):
    """{"size", field: offset} of struct defer_resume (pc, sp...), from
    where the other layouts came (the table's resume block, ABI 3, or
    DWARF); None if neither has it."""
    return rt.resume


# ---------------------------------------------------------------------------
# Finding the table in a program without symbols.

_MAGIC = struct.pack("<Q", abi.MAGIC)
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
    symbols: search the objfiles' data sections for abi.MAGIC and
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
                    # Any version: _from_table names one it cannot read.
                    if memory.read_once(cand, 8) == _MAGIC:
                        return cand
                except memory.Fault:
                    pass
                i = data.find(_MAGIC, i + 8)
    return None


# ---------------------------------------------------------------------------
# One Runtime per program space and process.

_runtimes = {}


def forget(_event=None):
    _runtimes.clear()


def space_key():
    """What addresses are valid for: the program space and the process (a
    new run may load the program elsewhere)."""
    inf = gdb.selected_inferior()
    return (gdb.current_progspace(), inf.num if inf else 0, inf.pid if inf else 0)


def runtime():
    """The Runtime of the current program and process (cached); raises
    NotLinked."""
    key = space_key()
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
