# SPDX-License-Identifier: MIT
"""mi.py - GDB/MI commands for IDEs (gdb.MICommand, gdb 12+):

  -defer-list-threads
      ^done,threads=[{lwp="1234",name="worker",status="running",in-target="1",
          g="0x..."},...],error="allgs: ..." (when the list was cut short)
      every thread record of allgs, dead ones too, in allgs order
  -defer-list-defers [--thread N | --lwp TID]
      ^done,thread-id="1",defers=[{index="1",function="close_conn",
          call="close_conn(c=0x..., ...)",args=[{name="c",value="0x..."},...],
          state="pending",site={func="inner",file="scen.c",line="66",addr="0x..."},
          frame="1",record="0x..."},...]
  -defer-list-panics [--thread N | --lwp TID]
      ^done,thread-id="1",panics=[{index="1",message="...",state="running",
          value="0x..." (panic_value only),raised={func=,file=,line=,addr=},
          running-defer="1" (index into the defers, when running one)},...]
  -defer-list-panics --history [--thread N | --lwp TID]
      ^done,thread-id="1",history=[{seq="3",message="...",textlen="14",
          time-ns="..." (CLOCK_MONOTONIC),raised={...},recovered-by="catcher",
          deferred={...},record="0x...",value="0x..."},...],recovered="3"
      the panics the thread recovered, newest first: the ones the runtime's
      ring still holds; recovered counts all

`--thread N` is MI's own option (gdb selects the thread before invoking the
command); it is also accepted after the command name.  `--lwp TID` names a
thread record by kernel thread id instead, also one gdb has no thread for
(its records then have no frame).  A damaged chain adds error="..." next
to what could be read, in the words of docs/abi.md rule V10.  Failures are
^error with one line.
"""

import gdb

from . import abi, errors, escape, formatting, frames, layout, snapshot, values
from .symbols import Symbols


def _number(rest):
    n = rest.pop(0)
    try:
        return int(n)
    except ValueError:
        raise gdb.GdbError("Invalid thread id: %s" % n) from None


def _thread(argv):
    """(gdb thread or None, kernel tid) named by argv."""
    errors.require_target()
    rest = list(argv)
    t = gdb.selected_thread()
    lwp = None
    while rest:
        a = rest.pop(0)
        if a == "--lwp" and rest:
            lwp = _number(rest)
            t = next((x for x in gdb.selected_inferior().threads() if x.ptid[1] == lwp), None)
        elif a == "--thread" and rest:
            num = _number(rest)
            t = next((x for x in gdb.selected_inferior().threads() if x.num == num), None)
            if t is None:
                raise gdb.GdbError("No thread %d." % num)
        else:
            raise gdb.GdbError("Unknown argument %s (usage: [--thread N | --lwp TID])" % a)
    if lwp is not None and t is None:
        return None, lwp
    if t is None:
        raise gdb.GdbError("No thread selected.")
    if t.is_running():
        raise gdb.GdbError("Thread %s is running." % frames.thread_id_string(t))
    return t, t.ptid[1]


def _head(t, lwp, key):
    """The result's first fields: the gdb thread, or the record's lwp."""
    if t is None:
        return {"lwp": str(lwp), key: []}
    return {"thread-id": frames.thread_id_string(t), key: []}


def _site(pc):
    func, filename, line = Symbols.site(pc)
    out = {"func": func, "addr": "%#x" % pc}
    if filename:
        out["file"] = filename
        out["line"] = str(line)
        full = Symbols.fullname(pc)
        if full:
            out["fullname"] = full
    return out


def _stopped(result, chain):
    """A walk's end, in the result: `error` for a damaged chain, `stopped`
    (and truncated="1") when the budget ended it."""
    if chain.budget:
        result["truncated"] = "1"
        result["stopped"] = snapshot.budget_note(len(chain))
    if chain.error:
        result["error"] = chain.error


def _snapshot_and_g(t, lwp):
    errors.require_target()
    snap = snapshot.Snapshot(layout.runtime(), t.inferior if t else None)
    return snap, snap.g_for_tid(lwp)


class ListDefers(gdb.MICommand):
    """-defer-list-defers [--thread N]: the thread's pending deferred calls."""

    def __init__(self):
        gdb.MICommand.__init__(self, "-defer-list-defers")

    @errors.memory_errors_as_gdb_errors
    def invoke(self, argv):
        t, lwp = _thread(argv)
        with frames.ThreadSwitch(t):
            snap, g = _snapshot_and_g(t, lwp)
            result = _head(t, lwp, "defers")
            if g is None:
                return result
            by_addr = {p.addr: p for p in snap.panics(g)}
            chain = snap.defers(g, None)
            fm = frames.FrameMap() if t is not None else None
            for d in chain:
                level = fm.owner(d.sp) if fm else None
                item = {
                    "index": str(d.index),
                    "function": formatting.format_call(d, with_args=False, raw=True),
                    "call": escape.mi_text(formatting.format_call(d, raw=True)),
                    "args": [{"name": name or "arg%d" % (i + 1), "value": text}
                             for i, (name, text) in enumerate(formatting.arguments(d))],
                    "state": d.state(by_addr),
                    "site": _site(d.pc),
                    "record": "%#x" % d.addr,
                }
                if level is not None:
                    item["frame"] = str(level)
                result["defers"].append(item)
            _stopped(result, chain)
            return result


class ListPanics(gdb.MICommand):
    """-defer-list-panics [--history] [--thread N]: the thread's panic chain,
    or with --history the panics it recovered earlier."""

    def __init__(self):
        gdb.MICommand.__init__(self, "-defer-list-panics")

    @errors.memory_errors_as_gdb_errors
    def invoke(self, argv):
        if "--history" in argv:
            return _history([a for a in argv if a != "--history"])
        t, lwp = _thread(argv)
        with frames.ThreadSwitch(t):
            snap, g = _snapshot_and_g(t, lwp)
            result = _head(t, lwp, "panics")
            if g is None:
                return result
            chain = snap.panics(g)
            index = {d.addr: d.index for d in snap.defers(g, None)} if chain else {}
            for p in chain:
                item = {"index": str(p.index), "message": escape.mi_text(p.msg), "state": p.state(),
                        "raised": _site(p.pc), "record": "%#x" % p.addr}
                if p.arg:
                    item["value"] = "%#x" % p.arg
                    v, why = values.typed_value(p, chain)
                    if why is None:
                        item["value-type"] = str(v.type)
                        item["typed-value"] = escape.mi_text(values.value_text(p, chain))
                    else:
                        item["untyped"] = why
                if p.defer and p.defer in index:
                    item["running-defer"] = str(index[p.defer])
                result["panics"].append(item)
            _stopped(result, chain)
            return result


def _history(argv):
    """-defer-list-panics --history: the thread's recovered panics, newest
    first, and how many it recovered in all."""
    t, lwp = _thread(argv)
    with frames.ThreadSwitch(t):
        snap, g = _snapshot_and_g(t, lwp)
        result = _head(t, lwp, "history")
        if g is None:
            return result
        chain = snap.history(g)
        result["recovered"] = str(chain.total)
        for h in chain:
            item = {"seq": str(h.seq), "message": escape.mi_text(h.msg),
                    "textlen": str(h.textlen), "time-ns": str(h.time), "raised": _site(h.pc),
                    "recovered-by": Symbols.function_name(h.fn), "deferred": _site(h.site),
                    "record": "%#x" % h.addr}
            if h.arg:
                item["value"] = "%#x" % h.arg
            result["history"].append(item)
        if chain.error:
            result["error"] = chain.error
        return result


_STATUS = {abi.G_RUNNING: "running", abi.G_DEAD: "dead"}


class ListThreads(gdb.MICommand):
    """-defer-list-threads: every thread record of allgs."""

    def __init__(self):
        gdb.MICommand.__init__(self, "-defer-list-threads")

    @errors.memory_errors_as_gdb_errors
    def invoke(self, argv):
        if argv:
            raise gdb.GdbError("Unknown argument %s (usage: no arguments)" % argv[0])
        inf = errors.require_target()
        gs = snapshot.Snapshot(layout.runtime(), inf).gs()
        lwps = {t.ptid[1] for t in inf.threads()}
        result = {"threads": [{"lwp": str(g.tid), "name": escape.mi_text(g.name),
                               "status": _STATUS.get(g.status, "unknown"),
                               "in-target": "1" if g.tid in lwps else "0", "g": "%#x" % g.addr}
                              for g in gs]}
        if gs.error:
            result["error"] = gs.error
        return result


def register():
    if not hasattr(gdb, "MICommand"):
        return      # gdb < 12
    ListDefers()
    ListPanics()
    ListThreads()
