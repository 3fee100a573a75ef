# SPDX-License-Identifier: MIT
"""qemucore.py - a core written by qemu-user for a position-independent
program: load the program where the core says it was.

Why: gdb places a PIE by the core's AT_ENTRY only after checking the
program headers at AT_PHDR in the core's memory against the file's.
qemu-user (7.2) writes no NT_FILE note and leaves file-backed read-only
pages out of the core (FileSiz 0), which gdb then reads as zeros: the check
fails and gdb silently leaves the program at its link addresses, so no
symbol, no .dynamic and hence no r_debug/link_map is found (no shared
library either), and libdefer finds no records.  Everything gdb needs is in
the core: AT_ENTRY (NT_AUXV) gives the displacement, and once the
program's sections are there, its .dynamic leads to r_debug and the
link_map list (writable memory, which qemu does dump), so `sharedlibrary`
finds the libraries by their names.

prepare() does that once per core: `symbol-file -o` for the symbols,
`section` for each allocated section (what gdb reads the program's bytes
from, .rodata's strings and the offsets table included), then
`sharedlibrary`, and says so in one line.  It runs at the first prompt and
before libdefer's commands read records (in `gdb -batch -ex ...` there is
no prompt): never while gdb walks frames.
"""

import re
import struct

import gdb

AT_ENTRY = 9
ET_DYN = 3
SHF_ALLOC = 2
# Elf64_Ehdr (<elf.h>), little-endian.
ELF64_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
# Section names passed to gdb's `section` command: only plain ones.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_.$-]+$")

_done = set()


def _core_key():
    inf = gdb.selected_inferior()
    conn = getattr(inf, "connection", None)
    if inf is None or conn is None or conn.type != "core":
        return None
    return (gdb.current_progspace(), conn.num)


def _at_entry():
    """AT_ENTRY of the core's auxiliary vector, or None."""
    try:
        text = gdb.execute("info auxv", False, True)
    except gdb.error:
        return None
    m = re.search(r"^\s*%d\s+AT_ENTRY\b.*\s(0x[0-9a-f]+)\s*$" % AT_ENTRY, text, re.M)
    return int(m.group(1), 16) if m else None


def _gdb_entry():
    """The program's entry point where gdb has placed it, or None."""
    try:
        text = gdb.execute("info files", False, True)
    except gdb.error:
        return None
    m = re.search(r"Entry point: (0x[0-9a-f]+)", text)
    return int(m.group(1), 16) if m else None


def _has_file_mappings():
    """Does the core list file mappings (NT_FILE)?  Then gdb placed the
    program by them (a program run as `ld.so PROG` has ld.so's AT_ENTRY)."""
    try:
        text = gdb.execute("info proc mappings", False, True)
    except gdb.error:
        return False
    return re.search(r"^\s*0x[0-9a-f]+\s+0x[0-9a-f]+\s", text, re.M) is not None


def elf_sections(path):
    """(e_type, e_entry, [(name, addr)] of the allocated sections) of a
    64-bit little-endian ELF file; None for anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
                return None
            (_ident, e_type, _machine, _version, e_entry, _phoff, shoff, _flags, _ehsize,
             _phentsize, _phnum, shentsize, shnum, shstrndx) = ELF64_EHDR.unpack_from(head)
            if shentsize != 64 or shstrndx >= shnum:
                return e_type, e_entry, []
            # Only the section headers and their names are read: the
            # program may be a large debug build.
            f.seek(shoff)
            table = f.read(shnum * 64)
            if len(table) < shnum * 64:
                return e_type, e_entry, []
            heads = [struct.unpack_from("<IIQQQQ", table, i * 64) for i in range(shnum)]
            f.seek(heads[shstrndx][4])
            names = f.read(min(heads[shstrndx][5], 1 << 20))
    except OSError:
        return None
    out = []
    for name, _type, flags, addr, _off, _size in heads:
        if flags & SHF_ALLOC and addr and name < len(names):
            end = names.find(b"\0", name)
            out.append((names[name:end if end >= 0 else len(names)].decode("ascii", "replace"),
                        addr))
    return e_type, e_entry, out


def prepare():
    """Relocate a PIE in a core whose program gdb did not place (see the
    module's comment).  Never raises: a failure leaves gdb as it was."""
    key = _core_key()
    if key is None or key in _done:
        return
    _done.add(key)
    path = gdb.current_progspace().filename
    # The cheap questions first: a core gdb placed the program for needs
    # nothing read.
    entry = _at_entry()
    if not path or entry is None or _gdb_entry() in (None, entry) or _has_file_mappings():
        return
    info = elf_sections(path)
    if info is None or info[0] != ET_DYN:
        return
    offset = entry - info[1]
    try:
        with gdb.with_parameter("confirm", False):
            gdb.execute("symbol-file -o %#x -- %s" % (offset, _quoted(path)), False, True)
            for name, addr in info[2]:
                if SAFE_NAME.match(name):
                    gdb.execute("section %s %#x" % (name, addr + offset), False, True)
            gdb.execute("sharedlibrary", False, True)
    except gdb.error as e:
        gdb.write("libdefer: could not place %s by the core's AT_ENTRY: %s\n" % (path, e),
                  gdb.STDERR)
        return
    gdb.write("libdefer: this core has no file mappings (qemu-user writes none): loaded %s "
              "at %#x, by the core's AT_ENTRY\n" % (path, offset))


def _quoted(path):
    """A file name as gdb's symbol-file parses it (gdb_buildargv)."""
    return '"%s"' % path.replace("\\", "\\\\").replace('"', '\\"')


def _at_prompt():
    prepare()


def register():
    gdb.events.before_prompt.connect(_at_prompt)
