# SPDX-License-Identifier: MIT
"""abi.py - the ABI facts of libdefer/include/defer_abi.h, as Python names.

WRITTEN BY HAND FOR NOW: branch abi-spec replaces this file with one
generated at build time from the single spec in defer_abi.h (same names,
see ABI_PY_INTERFACE.md).  Until then every value here must match
defer_abi.h (and defer.h for struct defer_resume); nothing else in the
package may spell an ABI constant, a field list or a record offset.

Offsets are not here: they always come from the program (its
_defer_debug_offsets table, or its DWARF types), except RESUME_FALLBACK
below, which stands in for the table block struct defer_resume is to get.
"""

VERSION = 2                         # DEFER_ABI_VERSION
MAGIC = 0x5245464544444C00          # DEFER_DEBUG_MAGIC ("\0LDDEFER" little-endian)
MAXARGS = 6                         # DEFER_MAXARGS
PANIC_MSG = 256                     # DEFER_PANIC_MSG: sizeof(struct _panic.msg)

# DEFER_ARG_*: one kind byte per argument, class in the high nibble, size in
# bytes in the low nibble.
ARG_SIGNED = 0x10
ARG_UNSIGNED = 0x20
ARG_POINTER = 0x30
ARG_FLOAT = 0x40
ARG_DOUBLE = 0x50
ARG_BOOL = 0x60
ARG_CLASS = 0xF0
ARG_SIZE = 0x0F

# DEFER_FLAG_*: bits of the _defer byte at _defer_debug_offsets.d.flags
# (the bitfields started and heap).
FLAG_STARTED = 1
FLAG_HEAP = 2

# DEFER_G_*: struct g status.
G_RUNNING = 1
G_DEAD = 2

# struct defer_debug_offsets: the header, then one block of uint32 per
# record, in table order, named as the C members.
TABLE_HEADER = (("magic", "Q"), ("version", "I"), ("size", "I"), ("allgs", "Q"))
TABLE_BLOCKS = (
    ("g", ("size", "alllink", "defer", "panic", "tid", "status", "name")),
    ("d", ("size", "link", "fn", "pc", "sp", "panic", "nargs", "kind", "flags",
           "iregs", "fregs")),
    ("mark", ("size", "armed", "resumable", "resume", "rec")),
    ("p", ("size", "link", "arg", "argp", "pc", "defer", "recovered", "aborted",
           "goexit", "msg")),
    ("ptext", ("text",)),           # version 2; textlen is the 8 bytes after text
)
TABLE_SIZE = 160                    # sizeof(struct defer_debug_offsets)

# Per record, the fields a reader decodes, with their struct format.
FIELDS = {
    "g": (("alllink", "Q"), ("defer", "Q"), ("panic", "Q"), ("tid", "i"), ("status", "I"),
          ("name", "16s")),
    "d": (("link", "Q"), ("fn", "Q"), ("pc", "Q"), ("sp", "Q"), ("panic", "Q"),
          ("nargs", "B"), ("kind", "%ds" % MAXARGS), ("flags", "B"),
          ("iregs", "%dQ" % MAXARGS), ("fregs", "%dQ" % MAXARGS)),
    "mark": (("armed", "B"), ("resumable", "B"), ("resume", "Q")),
    "p": (("link", "Q"), ("arg", "Q"), ("argp", "Q"), ("pc", "Q"), ("defer", "Q"),
          ("recovered", "B"), ("aborted", "B"), ("goexit", "B"), ("msg", "%ds" % PANIC_MSG)),
    "ptext": (("text", "Q"), ("textlen", "Q")),
    "resume": (("rip", "Q"),),
}

# Table field name -> C member name, for reading the layouts from DWARF
# (struct g, struct _defer, struct defer_mark, struct _panic).  d.flags is
# the byte holding the bitfields started and heap (FLAG_STARTED, FLAG_HEAP).
DWARF_STRUCTS = {"g": "g", "d": "_defer", "mark": "defer_mark", "p": "_panic",
                 "ptext": "_panic", "resume": "defer_resume"}
DWARF_MEMBERS = {
    "g": {"alllink": "alllink", "defer": "_defer", "panic": "_panic", "tid": "tid",
          "status": "status", "name": "name"},
    "d": {"link": "link", "fn": "fn", "pc": "pc", "sp": "sp", "panic": "_panic",
          "nargs": "nargs", "kind": "kind", "flags": "started", "iregs": "iregs",
          "fregs": "fregs"},
    "mark": {"armed": "armed", "resumable": "resumable", "resume": "resume", "rec": "rec"},
    "p": {"link": "link", "arg": "arg", "argp": "argp", "pc": "pc", "defer": "defer",
          "recovered": "recovered", "aborted": "aborted", "goexit": "goexit", "msg": "msg"},
    "ptext": {"text": "text", "textlen": "textlen"},
    "resume": {"rip": "rip"},
}
# The bitfields of d.flags, by C member name.
DWARF_FLAG_BITS = {"started": FLAG_STARTED, "heap": FLAG_HEAP}

# struct defer_resume (defer.h) is not in the offsets table yet: offsets
# for programs without its DWARF type.  Branch abi-spec adds a "resume"
# table block (ABI 3); then layout.resume_offsets reads that instead.
RESUME_FALLBACK = {"size": 80, "rip": 56}
