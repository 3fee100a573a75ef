# SPDX-License-Identifier: MIT
"""Damage inside a long chain of pool records: the walk takes a pool chunk's
records many at a time and checks cycles once per batch (snapshot.py's
defer_batches), yet stops at the very record docs/abi.md's rules name, with
their line, as a walk of one record at a time does."""
import re

from gdbtest import defers_of, gdb, scen

N = 5000


def _damaged(*edits, setup=()):
    """info defers and $_defer_count() of `scen many N` after edits, each
    (record index, field, value): value a Python expression over ds, the
    records as the walk read them before the edits.  Returns (output,
    {index: address})."""
    code = ["from libdefer_gdb import snapshot", "import struct",
            "s = snapshot.Snapshot(None, None, None)",
            "ds = s.defers(s.g_for_tid(gdb.selected_thread().ptid[1]))",
            "off = s.rt.d.offsets",
            "for d in ds: gdb.write('ADDR %d %#x\\n' % (d.index, d.addr))"]
    for index, field, value in edits:
        fmt = "<B" if field == "nargs" else "<Q"
        code.append("gdb.selected_inferior().write_memory(ds[%d].addr + off[%r], "
                    "struct.pack(%r, %s))" % (index - 1, field, fmt, value))
    out = gdb("break checkpoint", "run", "set defer max-entries unlimited", *setup,
              "python exec(%r)" % "\n".join(code), "info defers", "print $_defer_count()",
              exe=scen("gcc", "-O2"), args=["many", str(N)], timeout=120)
    addrs = {int(i): a for i, a in re.findall(r"^ADDR (\d+) (0x[0-9a-f]+)$", out, re.M)}
    return out, addrs


def _address(index):
    """The expression for record index's address, for _damaged."""
    return "ds[%d].addr" % (index - 1)


def _listed(out):
    return [d[0] for d in defers_of(out)]


def test_a_cycle_into_the_middle_of_a_chunk_stops_at_the_record_whose_link_it_is():
    out, addrs = _damaged((3000, "link", _address(1500)))
    assert _listed(out) == list(range(1, 3001)), out[-2000:]
    assert "  error: corrupted defer chain: cycle: the link of record #3000 points back " \
        "to %s\n" % addrs[1500] in out, out[-2000:]


def test_a_cycle_back_into_an_earlier_batch_is_found_too():
    out, addrs = _damaged((4500, "link", _address(10)))
    assert _listed(out) == list(range(1, 4501)), out[-2000:]
    assert "the link of record #4500 points back to %s\n" % addrs[10] in out, out[-2000:]


def test_garbage_inside_a_chunk_ends_the_listing_before_that_record():
    out, addrs = _damaged((1234, "nargs", 9))
    assert _listed(out) == list(range(1, 1234)), out[-2000:]
    assert "record 1234 at %s holds garbage (nargs=9, at most 6)" % addrs[1234] in out, \
        out[-2000:]
    assert "$1 = 1233" in out, out[-2000:]


def test_a_zero_sp_inside_a_chunk_is_garbage_at_its_record():
    out, addrs = _damaged((77, "sp", 0))
    assert _listed(out) == list(range(1, 77)), out[-2000:]
    assert re.search(r"record 77 at %s holds garbage \(pc 0x[0-9a-f]+ sp 0x0: " % addrs[77],
                     out), out[-2000:]


def test_a_misaligned_link_inside_a_chunk_is_garbage_at_its_record():
    out, addrs = _damaged((300, "link", _address(301) + " + 4"))
    assert _listed(out) == list(range(1, 300)), out[-2000:]
    assert re.search(r"record 300 at %s holds garbage \(misaligned link 0x[0-9a-f]+\)" %
                     addrs[300], out), out[-2000:]


def test_a_budget_that_ends_inside_a_chunk_stops_there():
    out, _ = _damaged(setup=("set defer max-entries 1000",))
    assert _listed(out) == list(range(1, 1001)), out[-2000:]
    assert "(stopped after 1000 records: set defer max-entries" in out, out[-2000:]
