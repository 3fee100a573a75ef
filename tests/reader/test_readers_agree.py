# SPDX-License-Identifier: MIT
"""The two readers of libdefer's records agree on damaged memory: for every
damaged program and corrupt core the suites build (tests/reader/hostile.py's
modes, test_malformed.py's core surgery, test_errors_and_corruption.py's and
test_budgets.py's `set var` damage, test_hostile_programs.py's hostile
names), `defer-inspect dump --json` (dwarf-reader/src/walk.c) and gdb's MI
(`-defer-list-threads`, `-defer-list-defers`, `-defer-list-panics`, from
gdb/libdefer_gdb) must list the same records, in the same states, with the
same messages and the same lines where reading stopped: the validity rules
V1-V10 of docs/abi.md, applied once by each reader.

Every case is made into a core, so that both readers look at the same
bytes; a few are also read live, one reader after the other.  Budgets are
set out of the way on both sides: they are each tool's own, not rules."""
import json
import struct

import pytest

import conftest
from dr_util import ROOT, Running, require_tools, gcore, gdb_batch, inspect, prog, vaddr_to_offset
from hostile import Target, program

from libdefer_session import Session, SessionError

GDB_SCEN = ROOT / "tests" / "gdb" / "scenarios"
# Budgets out of the way: what is compared is where the rules stop reading.
BIG = ("--max-threads", 1 << 20, "--max-records", 1 << 26, "--max-panics", 1 << 26)


@pytest.fixture(scope="module", autouse=True)
def tools():
    require_tools()


# ---- the cases: (exe, core) makers ----

def hostile_core(*mode):
    def make(tmp):
        with Target(*mode) as t:
            return program(), gcore(t.pid, tmp / "hostile.core")
    return make


def surgery(what):
    """test_malformed.py's damage to a core of progs/threads.c (2 threads
    with 8 pending calls each): the same bytes written at the same places."""
    def make(tmp):
        exe = prog("threads.c", "gcc", "-O0", "static")
        with Running(exe, 2, 8) as p:
            core = gcore(p.pid, tmp / "base.core")
        dump = json.loads(inspect("dump", "--json", "--core", core, exe).stdout)
        t = [t for t in dump["threads"] if len(t["defers"]) == 8][0]
        d = bytearray(core.read_bytes())
        rec = [x["record"] for x in t["defers"]]
        if what == "cycle":         # the 5th record's link points back at the 2nd
            struct.pack_into("<Q", d, vaddr_to_offset(d, rec[4]), rec[1])
        elif what == "wild":        # an aligned, unmapped link
            struct.pack_into("<QQ", d, vaddr_to_offset(d, rec[2]), 0x7ead0000bee8, 0x7fffdeadbeef)
        elif what == "misaligned":
            struct.pack_into("<Q", d, vaddr_to_offset(d, rec[2]), rec[3] + 4)
        elif what == "gcycle":      # the last g's alllink back to the first
            gs = [x["g"] for x in dump["threads"]]
            struct.pack_into("<Q", d, vaddr_to_offset(d, gs[-1]), gs[0])
        elif what.startswith("cut"):
            d = d[:int(len(d) * int(what[3:]) / 100)]
        out = tmp / ("%s.core" % what)
        out.write_bytes(bytes(d))
        return exe, out
    return make


def scen_core(*cmds, args=("basic",), source=GDB_SCEN / "scen.c", extra=()):
    """A scenario of tests/gdb run to checkpoint(), damaged with gdb
    commands, and dumped."""
    def make(tmp):
        exe = conftest.compile_program(source, extra=[str(x) for x in extra])
        core = tmp / "scen.core"
        out = gdb_batch(exe, ["break checkpoint", "run " + " ".join(map(str, args)), *cmds,
                              "generate-core-file %s" % core, "kill"])
        assert core.exists(), out
        return exe, core
    return make


def stack_pages_missing(tmp):
    """test_errors_and_corruption.py's core whose [stack] segment has no
    file contents."""
    exe, core = scen_core()(tmp)
    data = bytearray(core.read_bytes())
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phnum = struct.unpack_from("<H", data, 0x38)[0]
    for i in range(phnum):
        ptype, _, _, vaddr = struct.unpack_from("<IIQQ", data, phoff + 56 * i)
        if ptype == 1 and 0x7ffffff00000 <= vaddr < 1 << 47:
            struct.pack_into("<Q", data, phoff + 56 * i + 32, 0)
    cut = tmp / "cut.core"
    cut.write_bytes(bytes(data))
    return exe, cut


def hostile_names(tmp):
    exe, core = scen_core(args=[tmp / "marker"], source=GDB_SCEN / "hostile.c",
                          extra=[GDB_SCEN / "hostile_names.S"])(tmp)
    return exe, core


CASES = {
    # tests/reader/hostile.py (test_hostile.py)
    **{"hostile-garbage-" + k: hostile_core("garbage", k)
       for k in ("nargs", "flags", "fill", "zero", "into-g")},
    "hostile-stale": hostile_core("stale"),
    "hostile-panic-garbage": hostile_core("panic-garbage"),
    "hostile-cycle": hostile_core("cycle", 50),
    "hostile-fns": hostile_core("fns", 20),
    "hostile-crossed": hostile_core("crossed", 6, 3),
    "hostile-threads-panic-cycle": hostile_core("threads", 3, 3),
    "hostile-names": hostile_core("names"),
    # V2: the wild-pointer rule comes before the 4,096-panic cap
    "hostile-wild-after-4096-panics": hostile_core("panics", 4096),
    "hostile-message-cut": hostile_core("longmsg", (1 << 20) + 5000, "whole"),
    "hostile-message-unreadable": hostile_core("longmsg", 1000, "unmapped"),
    # test_malformed.py
    "core-cycle": surgery("cycle"),
    "core-wild": surgery("wild"),
    "core-misaligned": surgery("misaligned"),
    "core-allgs-cycle": surgery("gcycle"),
    "core-cut-90": surgery("cut90"),
    "core-cut-60": surgery("cut60"),
    # test_errors_and_corruption.py
    "gdb-cycle": scen_core("set var allgs->_defer->link->link->link = allgs->_defer->link"),
    "gdb-wild": scen_core("set var allgs->_defer->link->link = (struct _defer *)0x10"),
    "gdb-unmapped": scen_core("set var allgs->_defer->link = (struct _defer *)0x7ff000000000"),
    "gdb-nargs": scen_core("set var allgs->_defer->link->nargs = 200"),
    "gdb-memset": scen_core("call (void)memset(allgs->_defer->link, 0xab, sizeof(struct _defer))"),
    "gdb-allgs-cycle": scen_core("set var allgs->alllink = (struct g *)allgs"),
    "gdb-long-cycle": scen_core("set var allgs->_defer->link->link = allgs->_defer"),
    "gdb-stack-pages-missing": stack_pages_missing,
    # test_budgets.py
    "gdb-panic-cycle": scen_core("set var allgs->_panic = &((struct _panic *)"
                                 "malloc(sizeof(struct _panic)))[0]",
                                 "set var allgs->_panic->link = allgs->_panic", args=("many", 2)),
    "flood-4097-panic-cycle": scen_core(args=("40", 4097, 300), source=GDB_SCEN / "flood.c"),
    # test_hostile_programs.py
    "hostile-program-names": hostile_names,
}
# V3 stops before the first repeat: exactly these many records, in the
# thread holding the cycle (the others are whole).
CYCLE_LENGTH = {"hostile-cycle": 51, "core-cycle": 5, "gdb-cycle": 3, "gdb-long-cycle": 2}
# Cores cut short before their notes: both readers refuse them.
REFUSED = {"core-cut-60", "core-cut-90"}
# Cases whose damage is in the strings or in where pointers point, not in
# the chains: neither reader may report a line for them.
UNDAMAGED = {"hostile-stale", "hostile-fns", "hostile-crossed", "hostile-names",
             "hostile-program-names", "hostile-message-cut", "hostile-message-unreadable"}


# ---- what each reader says, in one shape ----

def from_dump(exe, core, pid=None):
    """{tid: {records and states, line}}, the allgs line and the allgs
    entries, from dump --json; None if dump refuses the core (one line)."""
    where = ("--pid", pid) if pid else ("--core", core, exe)
    r = inspect("dump", "--json", *BIG, *where, timeout=300)
    assert r.returncode in (0, 9), r.stderr
    if not r.stdout:
        assert r.returncode == 9 and r.stderr.count("\n") <= 4, r.stderr
        return None
    out = json.loads(r.stdout)
    assert out["budget"] is None, out["budget"]
    threads = {}
    for t in out["threads"]:
        if t["status"] == "dead":       # V1: not read
            continue
        threads[t["tid"]] = {
            "defers": [(d["record"], d["state"]) for d in t["defers"]],
            "panics": [(p["record"], p["state"], p["message"], p["defer"]) for p in t["panics"]],
            "line": t["warning"],
            "corrupt": t["corrupt"],
        }
    return threads, out["error"], [(t["tid"], t["status"]) for t in out["threads"]]


def from_gdb(exe, core, pid=None):
    """The same from gdb's MI, every allgs entry by its kernel tid; None if
    gdb refuses the core."""
    try:
        s = Session(program=exe, core=core, pid=pid, timeout=300)
    except SessionError:
        return None
    with s:
        s.cli("set defer max-entries unlimited")
        listing = s.command("-defer-list-threads")
        threads = {}
        for t in listing["threads"]:
            if t["status"] == "dead":
                continue
            lwp = "--lwp %s" % t["lwp"]
            ds = s.command("-defer-list-defers " + lwp)
            ps = s.command("-defer-list-panics " + lwp)
            assert "truncated" not in ds and "truncated" not in ps, (ds, ps)
            lines = [x["error"] for x in (ds, ps) if "error" in x]
            threads[int(t["lwp"])] = {
                "defers": [(int(d["record"], 16), d["state"]) for d in ds["defers"]],
                "panics": [(int(p["record"], 16), p["state"], p["message"],
                            int(p.get("running-defer", 0))) for p in ps["panics"]],
                "line": "; ".join(lines) or None,
                # V10: damage is what the corrupted-chain and allgs lines name
                "corrupt": any(x.startswith("corrupted") for x in lines),
            }
        return threads, listing.get("error"), [(int(t["lwp"]), t["status"])
                                               for t in listing["threads"]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_dump_json_and_gdb_mi_read_the_same_records_states_and_lines(case, tmp_path):
    exe, core = CASES[case](tmp_path)
    ours, theirs = from_dump(exe, core), from_gdb(exe, core)
    if ours is None or theirs is None:      # a core cut before its notes
        assert ours is None and theirs is None and case in REFUSED, (ours, theirs)
        return
    (ours, our_error, our_list), (theirs, their_error, their_list) = ours, theirs
    assert our_list == their_list
    assert our_error == their_error
    assert sorted(ours) == sorted(theirs)
    for tid in ours:
        assert ours[tid] == theirs[tid], (tid, ours[tid], theirs[tid])
    if case == "hostile-wild-after-4096-panics":
        (t,) = [t for t in ours.values() if len(t["panics"]) == 4096]
        assert t["line"] == "corrupted panic chain: wild pointer 0x13", t["line"]
    if case in CYCLE_LENGTH:
        cut = [t for t in ours.values() if t["line"] and "cycle" in t["line"]]
        assert [len(t["defers"]) for t in cut] == [CYCLE_LENGTH[case]], cut
    lines = [t["line"] for t in ours.values() if t["line"]] + ([our_error] if our_error else [])
    if case in UNDAMAGED:
        assert not lines, lines
    else:
        assert lines, "the case damaged nothing a reader noticed"


LIVE = {"garbage-fill": ("garbage", "fill"), "cycle": ("cycle", 50),
        "panic-garbage": ("panic-garbage",), "threads-panic-cycle": ("threads", 3, 3),
        "message-unreadable": ("longmsg", 1000, "unmapped")}


@pytest.mark.parametrize("case", sorted(LIVE))
def test_dump_and_gdb_attached_to_a_live_damaged_process_agree(case):
    """The same, reading the live process (one reader after the other)."""
    with Target(*LIVE[case]) as t:
        ours, theirs = from_dump(None, None, t.pid), from_gdb(None, None, t.pid)
    assert ours == theirs
    threads = ours[0].values()
    if case == "message-unreadable":
        assert any(p[2].endswith(" [... 745 more bytes: unreadable]")
                   for x in threads for p in x["panics"]), ours
    else:
        assert [x for x in threads if x["line"]], ours


# ---- the panic history (V11, V12): dump --json --history and MI --history ----

def history_core(*cmds, workers=0):
    """scenarios/history.c (main recovers 20 panics, worker k recovers k)
    at checkpoint(), its ring damaged with gdb commands; with no workers
    allgs is main's g alone."""
    return scen_core(*cmds, args=(20, workers), source=GDB_SCEN / "history.c")


HISTORY = {
    "whole": history_core(workers=2),
    "seq": history_core("set var allgs->hist[(allgs->recovered - 3) % allgs->histcap].seq = 77"),
    "msg-no-nul": history_core("call (void)memset(allgs->hist[19 % 16].msg, 65, 64)"),
    "textlen": history_core("set var allgs->hist[18 % 16].textlen = 1"),
    "histcap": history_core("set var allgs->histcap = 5000"),
    "no-ring": history_core("set var allgs->histcap = 0"),
    "wild-ring": history_core("set var allgs->hist = (struct defer_recovered *)0x13"),
    "unmapped-ring": history_core("set var allgs->hist = (struct defer_recovered *)0x7ff000000000"),
}
# How many records each case lists in main's thread, and the start of its line.
HISTORY_SHOWN = {"whole": (16, None), "seq": (2, "panic history: record 18 at "),
                 "msg-no-nul": (0, "panic history: record 20 at "),
                 "textlen": (1, "panic history: record 19 at "),
                 "histcap": (0, "corrupted panic history: histcap 5000, at most 4096"),
                 "no-ring": (0, "corrupted panic history: 20 recovered panics but no ring"),
                 "wild-ring": (0, "corrupted panic history: ring at wild pointer 0x13"),
                 "unmapped-ring": (0, "panic history unreadable (cannot read ")}


def history_from_dump(exe, core):
    r = inspect("dump", "--json", "--history", *BIG, "--core", core, exe, timeout=300)
    assert r.returncode == 0, r.stderr
    return {t["tid"]: (t["recovered"], [(h["seq"], h["record"], h["message"], h["time_ns"], h["arg"])
                                        for h in t["history"]], t["history_error"])
            for t in json.loads(r.stdout)["threads"] if t["status"] != "dead"}


def history_from_gdb(exe, core):
    with Session(program=exe, core=core, timeout=300) as s:
        out = {}
        for t in s.command("-defer-list-threads")["threads"]:
            if t["status"] == "dead":
                continue
            h = s.command("-defer-list-panics --history --lwp %s" % t["lwp"])
            out[int(t["lwp"])] = (int(h["recovered"]), [
                (int(x["seq"]), int(x["record"], 16), x["message"], int(x["time-ns"]),
                 int(x.get("value", "0"), 16)) for x in h["history"]], h.get("error"))
        return out


@pytest.mark.parametrize("case", sorted(HISTORY))
def test_dump_and_gdb_read_the_same_panic_history(case, tmp_path):
    exe, core = HISTORY[case](tmp_path)
    ours, theirs = history_from_dump(exe, core), history_from_gdb(exe, core)
    assert ours == theirs
    (main,) = [v for v in ours.values() if v[0] == 20]
    shown, line = HISTORY_SHOWN[case]
    assert [x[0] for x in main[1]] == list(range(20, 20 - shown, -1)), main
    assert (main[2] or None) == line if line is None else main[2].startswith(line), main
