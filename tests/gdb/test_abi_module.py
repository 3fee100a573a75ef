# SPDX-License-Identifier: MIT
"""gdb/libdefer_gdb/abi.py, the extension's only copy of the ABI's facts,
agrees with defer_abi.h as the compiler laid it out in a real program."""
import re

from gdbtest import gdb, scen

# Run inside gdb on a program built with debug info; prints one line per
# disagreement ("BAD ...") and "CHECKED n" at the end.
CHECK = r'''
import struct
import gdb
from libdefer_gdb import abi, layout

bad, n = [], 0
def same(what, ours, theirs):
    global n
    n += 1
    if ours != theirs:
        bad.append("%s: abi.py %r, program %r" % (what, ours, theirs))

def ev(expr):
    return int(gdb.parse_and_eval(expr))

table = gdb.lookup_type("struct defer_debug_offsets")
same("TABLE_SIZE", abi.TABLE_SIZE, table.sizeof)
same("MAGIC", abi.MAGIC, ev("_defer_debug_offsets.magic"))
same("VERSION", abi.VERSION, ev("_defer_debug_offsets.version"))
same("TABLE_HEADER", [f for f, _c in abi.TABLE_HEADER],
     [f.name for f in table.fields()][:len(abi.TABLE_HEADER)])
for f, c in abi.TABLE_HEADER:
    same("TABLE_HEADER %s size" % f, struct.calcsize(c), table[f].type.sizeof)
same("TABLE_BLOCKS", [(b, list(fs)) for b, fs in abi.TABLE_BLOCKS],
     [(f.name, [m.name for m in f.type.fields()])
      for f in table.fields()[len(abi.TABLE_HEADER):]])
for name in ("SIGNED", "UNSIGNED", "POINTER", "FLOAT", "DOUBLE", "BOOL", "CLASS", "SIZE"):
    same("ARG_" + name, getattr(abi, "ARG_" + name), ev("(int)DEFER_ARG_" + name))
same("G_RUNNING", abi.G_RUNNING, ev("(int)DEFER_G_RUNNING"))
same("G_DEAD", abi.G_DEAD, ev("(int)DEFER_G_DEAD"))
same("MAXARGS", abi.MAXARGS, gdb.lookup_type("struct _defer")["kind"].type.sizeof)
same("PANIC_MSG", abi.PANIC_MSG, gdb.lookup_type("struct _panic")["msg"].type.sizeof)

for block, fields in abi.FIELDS.items():
    t = gdb.lookup_type("struct " + abi.DWARF_STRUCTS[block])
    for field, fmt in fields:
        member = abi.DWARF_MEMBERS[block][field]
        f = [x for x in t.fields() if x.name == member]
        same("DWARF_MEMBERS %s.%s" % (block, field), member, f[0].name if f else None)
        if f and not f[0].bitsize:
            same("FIELDS %s.%s size" % (block, field), struct.calcsize("<" + fmt),
                 f[0].type.sizeof)
d = gdb.lookup_type("struct _defer")
for member, bit in abi.DWARF_FLAG_BITS.items():
    same("DWARF_FLAG_BITS %s" % member, bit, 1 << (d[member].bitpos % 8))
print("BAD " + "\nBAD ".join(bad) if bad else "ALL AGREE")
print("CHECKED", n)
'''


def test_abi_module_agrees_with_defer_abi_h_as_compiled(tmp_path):
    script = tmp_path / "check_abi.py"
    script.write_text(CHECK)
    out = gdb("source %s" % script, exe=scen())
    assert "ALL AGREE" in out and "BAD" not in out, out
    assert int(out.split("CHECKED ")[1].split()[0]) > 60, out


def test_resume_offsets_come_from_the_table_or_dwarf_and_agree():
    """layout.resume_offsets, where defer step learns where struct
    defer_resume keeps pc and sp: the offsets table's resume block (ABI 3)
    or, when the layout comes from DWARF, the program's type; both agree
    with the program's own offsetof."""
    out = gdb("break checkpoint", "run",
              "python from libdefer_gdb import layout; rt = layout.runtime(); "
              "print('TABLE', rt.source, layout.resume_offsets(rt)['pc']); "
              "print('DWARF', layout._dwarf_offsets('resume')['pc'])",
              "print (int)&((struct defer_resume *)0)->pc",
              exe=scen(), args=["basic"])
    rip = int(re.search(r"^\$1 = (\d+)$", out, re.M).group(1))
    assert "TABLE _defer_debug_offsets %d" % rip in out, out
    assert "DWARF %d" % rip in out, out
