# SPDX-License-Identifier: MIT
"""Bad input: no target, no libdefer, corrupted chains.  Never a traceback,
never a hang: every readable entry, then one line saying what is wrong."""
import re

from gdbtest import defers_of, gdb, plain_program, scen


def test_no_process_no_core():
    out = gdb("info defers", "info panics", "info defers all", exe=scen())
    assert out.count("No process and no core file") == 3, out


def test_program_without_libdefer():
    out = gdb("break stop", "run", "info defers", "info panics", "bt", exe=plain_program())
    assert out.count("This program does not use libdefer (no symbol allgs)") == 2, out
    assert re.search(r"#0  stop \(\)", out)


def _corrupt(*cmds, args=("basic",)):
    return gdb("break checkpoint", "run", *cmds, "info defers", "echo ==bt==\\n", "bt",
               exe=scen(), args=list(args), timeout=60)


def test_cycle_is_reported_after_the_readable_entries():
    out = _corrupt("set var allgs->_defer->link->link->link = allgs->_defer->link")
    ds = defers_of(out.split("==bt==")[0])
    assert [d[0] for d in ds] == [1, 2, 3]
    assert re.search(r"^  error: corrupted defer chain: cycle: the link of record #3 points back "
                     r"to 0x[0-9a-f]+$", out, re.M), out


def test_wild_pointer_is_reported():
    out = _corrupt("set var allgs->_defer->link->link = (struct _defer *)0x10")
    ds = defers_of(out.split("==bt==")[0])
    assert len(ds) == 2
    assert "wild pointer 0x10 in the link of record #2" in out or \
        "defer chain unreadable at record 3 (0x10)" in out, out


def test_unmapped_pointer_is_reported_as_unreadable():
    out = _corrupt("set var allgs->_defer->link = (struct _defer *)0x7ff000000000")
    assert len(defers_of(out.split("==bt==")[0])) == 1
    assert re.search(r"error: defer chain unreadable at record 2 \(0x7ff000000000\): cannot read "
                     r"\d+ bytes at 0x7ff000000000; the list may be truncated", out), out


def test_garbage_record_is_reported():
    out = _corrupt("set var allgs->_defer->link->nargs = 200")
    assert len(defers_of(out.split("==bt==")[0])) == 1
    assert re.search(r"record 2 at 0x[0-9a-f]+ holds garbage \(nargs=200, at most 6\)", out), out


def test_whole_record_overwritten_with_garbage():
    out = _corrupt("call (void)memset(allgs->_defer->link, 0xab, sizeof(struct _defer))")
    assert len(defers_of(out.split("==bt==")[0])) == 1
    assert "holds garbage" in out, out


def test_corrupted_allgs():
    out = gdb("break checkpoint", "run", "set var allgs->alllink = (struct g *)allgs",
              "info defers", exe=scen(), args=["basic"])
    assert len(defers_of(out)) == 6
    assert "error: allgs: cycle" in out, out


def test_long_cycle_does_not_hang_bt_or_printers():
    out = gdb("break checkpoint", "run", "set defer max-entries unlimited",
              "set var allgs->_defer->link->link = allgs->_defer", "bt", "print *allgs",
              "print $_defer_count()", exe=scen(), args=["basic"], timeout=60)
    assert "defer 2: close_conn" in out
    assert re.search(r"running: 2\+ deferred calls pending", out), out


def test_core_missing_the_stack_pages(tmp_path):
    """A core whose stack segment has no file contents (as when a core is cut
    short): records in the heap are listed, the first one on the stack is
    reported, and nothing raises."""
    import struct
    exe = scen()
    core = tmp_path / "full.core"
    gdb("break checkpoint", "run", "gcore %s" % core, exe=exe, args=["basic"])
    data = bytearray(core.read_bytes())
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phnum = struct.unpack_from("<H", data, 0x38)[0]
    for i in range(phnum):
        ptype, _, _, vaddr = struct.unpack_from("<IIQQ", data, phoff + 56 * i)
        if ptype == 1 and 0x7ffffff00000 <= vaddr < 1 << 47:   # [stack]
            struct.pack_into("<Q", data, phoff + 56 * i + 32, 0)   # p_filesz = 0
    cut = tmp_path / "cut.core"
    cut.write_bytes(bytes(data))
    out = gdb("info defers", "bt", "info panics", exe=exe, core=cut)
    ds = defers_of(out)
    assert len(ds) == 1 and "printf" in ds[0][1], out
    assert re.search(r"error: corrupted defer chain: record 2 at 0x7f[0-9a-f]+ holds garbage "
                     r"\(pc 0x0 sp 0x0: .*missing from a core file\)", out), out


def test_printers_on_garbage_say_so():
    out = gdb("break checkpoint", "run", "print *(struct _defer *)allgs",
              "print *(struct g *)allgs->_defer", "print *(struct _panic *)allgs->_defer",
              "print *(struct _defer *)0x10", 'print $_defer_count("x")',
              exe=scen(), args=["basic"])
    assert "$1 = <libdefer: garbage record (" in out, out
    assert "$2 = <libdefer: not a thread record (status " in out
    assert "$3 = <libdefer: not a panic record (" in out
    assert "Cannot access memory at address 0x10" in out
    assert "THREAD must be a gdb thread number, as in $_defer_count(2)" in out
