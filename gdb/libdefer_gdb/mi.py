# SPDX-License-Identifier: MIT
"""mi.py - GDB/MI commands for IDEs (gdb.MICommand, gdb 12+):

  -defer-list-defers [--thread N]
      ^done,thread-id="1",defers=[{index="1",function="close_conn",
          call="close_conn(c=0x..., ...)",args=[{name="c",value="0x..."},...],
          state="pending",site={func="inner",file="scen.c",line="66",addr="0x..."},
          frame="1",record="0x..."},...]
  -defer-list-panics [--thread N]
      ^done,thread-id="1",panics=[{index="1",message="...",state="running",
          value="0x..." (panic_value only),raised={func=,file=,line=,addr=},
          running-defer="1" (index into the defers, when running one)},...]

`--thread N` is MI's own option (gdb selects the thread before invoking the
command); it is also accepted after the command name.  A damaged chain adds
error="..." next to what could be read.  Failures are ^error with one line.
"""

import gdb

from . import errors, escape, formatting, frames, layout, snapshot
from .symbols import Symbols


def _thread(argv):
    errors.require_target()
    rest = list(argv)
    t = gdb.selected_thread()
    while rest:
        a = rest.pop(0)
        if a == "--thread" and rest:
            n = rest.pop(0)
            try:
                num = int(n)
            except ValueError:
                raise gdb.GdbError("Invalid thread id: %s" % n)
            t = next((x for x in gdb.selected_inferior().threads() if x.num == num), None)
            if t is None:
                raise gdb.GdbError("No thread %s." % n)
        else:
            raise gdb.GdbError("Unknown argument %s (usage: [--thread N])" % a)
    if t is None:
        raise gdb.GdbError("No thread selected.")
    if t.is_running():
        raise gdb.GdbError("Thread %s is running." % frames.thread_id_string(t))
    return t


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


def _snapshot_and_g(t):
    errors.require_target()
    snap = snapshot.Snapshot(layout.runtime(), t.inferior)
    return snap, snap.g_for_tid(t.ptid[1])


class ListDefers(gdb.MICommand):
    """-defer-list-defers [--thread N]: the thread's pending deferred calls."""

    def __init__(self):
        gdb.MICommand.__init__(self, "-defer-list-defers")

    @errors.memory_errors_as_gdb_errors
    def invoke(self, argv):
        t = _thread(argv)
        with frames.ThreadSwitch(t):
            snap, g = _snapshot_and_g(t)
            result = {"thread-id": frames.thread_id_string(t), "defers": []}
            if g is None:
                return result
            by_addr = {p.addr: p for p in snap.panics(g)}
            chain = snap.defers(g, None)
            fm = frames.FrameMap()
            for d in chain:
                level = fm.owner(d.sp)
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
    """-defer-list-panics [--thread N]: the thread's panic chain."""

    def __init__(self):
        gdb.MICommand.__init__(self, "-defer-list-panics")

    @errors.memory_errors_as_gdb_errors
    def invoke(self, argv):
        t = _thread(argv)
        with frames.ThreadSwitch(t):
            snap, g = _snapshot_and_g(t)
            result = {"thread-id": frames.thread_id_string(t), "panics": []}
            if g is None:
                return result
            chain = snap.panics(g)
            index = {d.addr: d.index for d in snap.defers(g, None)} if chain else {}
            for p in chain:
                item = {"index": str(p.index), "message": escape.mi_text(p.msg),
                        "state": p.state(), "raised": _site(p.pc), "record": "%#x" % p.addr}
                if p.arg:
                    item["value"] = "%#x" % p.arg
                if p.defer and p.defer in index:
                    item["running-defer"] = str(index[p.defer])
                result["panics"].append(item)
            _stopped(result, chain)
            return result


def register():
    if not hasattr(gdb, "MICommand"):
        return      # gdb < 12
    ListDefers()
    ListPanics()
