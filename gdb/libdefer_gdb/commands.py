# SPDX-License-Identifier: MIT
"""commands.py - `info defers` and `info panics`.

Both commands take a list of gdb thread ids or `all`, select each thread in
turn (restoring the selection afterwards), find the thread's record in allgs
by kernel tid (never by gdb's thread number, which differs between a live
process and its core), and print through the records layer.  Failures are
one readable line; a damaged thread does not stop the others.
"""

import itertools
import operator

import gdb

from . import errors, escape, formatting, frames, layout, qemucore, snapshot, values
from .symbols import Symbols


class Usage(gdb.GdbError):
    pass


class _errors_as_messages:
    """gdb errors that escape the records layer (a target that went away
    mid-command, say) become one-line messages, not Python exceptions."""

    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb):
        if typ is not None and issubclass(typ, gdb.error) and not issubclass(typ, gdb.GdbError):
            raise gdb.GdbError("libdefer: %s" % value) from None
        if typ is not None and issubclass(typ, MemoryError):
            raise errors.out_of_memory() from None
        return False


# ---------------------------------------------------------------------------
# Thread selection.

def _parse_threads(words):
    """gdb threads named by `words` (ids like 2, 1.3, ranges 2-4, or `all`),
    and messages for the ones that do not exist."""
    inf = gdb.selected_inferior()
    if not words:
        t = gdb.selected_thread()
        if t is None:
            raise errors.NoTarget("No thread selected.")
        return [t], []
    if words == ["all"]:
        ts = []
        for i in gdb.inferiors():
            if i.pid:
                ts.extend(i.threads())
        # Like `thread apply all`: highest number first.
        ts.sort(key=lambda t: (t.inferior.num, t.num), reverse=True)
        return ts, []
    found, missing = [], []
    for w in words:
        infnum, _, tnum = w.rpartition(".")
        try:
            target_inf = inf
            if infnum:
                target_inf = [i for i in gdb.inferiors() if i.num == int(infnum)]
                target_inf = target_inf[0] if target_inf else None
            if "-" in tnum:
                lo, hi = (int(x) for x in tnum.split("-", 1))
            else:
                lo = hi = int(tnum)
        except ValueError:
            raise Usage("Invalid thread ID: %s (expected a number, INF.NUM, a range "
                        "like 2-4, or all)" % w)
        if lo > hi:
            raise Usage("Inverted range: %s (the first thread number must not exceed "
                        "the second)" % w)
        for n in range(lo, hi + 1):
            t = None
            if target_inf is not None:
                t = next((x for x in target_inf.threads() if x.num == n), None)
            if t is None:
                missing.append("No thread %s%d (it exited, or never existed)." %
                               (infnum + "." if infnum else "", n))
            else:
                found.append(t)
    return found, missing


def _header(t, ids):
    tid = frames.thread_id_string(t)
    target, name = ids.get(tid, ["", None])
    if not target:
        target = "LWP %d" % t.ptid[1]
    name = name or t.name
    return "Thread %s (%s%s):" % (tid, escape.printable(target),
                                  " " + escape.quoted(name) if name else "")


def _complete_threads(text, word, options):
    """Completions of the word being typed: an option, `all` or a thread id.
    gdb's `word` starts after its word-break characters ('-' is one), so
    candidates are matched against the whole token and returned as the
    part of them that replaces `word`."""
    words = text.split()
    token = words[-1] if words and not text[-1:].isspace() else ""
    before = words[:-1] if token else words
    prev = before[-1] if before else ""
    if prev == "-frame":
        return []                       # a frame number: nothing to offer
    if "all" in before:
        return []                       # `all` takes nothing after it
    cands = [o for o in options if o not in before] + ([] if before and any(
        w[:1].isdigit() for w in before) else ["all"])
    try:
        cands += [frames.thread_id_string(t) for t in gdb.selected_inferior().threads()]
    except gdb.error:
        pass
    cut = len(token) - len(word or "")
    return sorted({c[cut:] for c in cands if c.startswith(token)},
                  key=lambda c: (not c[:1].isdigit(), c.isdigit() and int(c), c))


def _require_libdefer():
    """One clear error when the only program being debugged lacks libdefer;
    with several inferiors each thread says it for its own program."""
    if sum(1 for i in gdb.inferiors() if i.pid) <= 1:
        layout.runtime()


class _Snapshots:
    """One snapshot.Snapshot per inferior (each has its own memory and,
    possibly, its own program)."""

    def __init__(self):
        self.by_inf = {}

    def get(self, t, out):
        k = t.inferior.num
        self.by_inf.setdefault(("thread", k), t)
        if k not in self.by_inf:
            try:
                with frames.ThreadSwitch(t):
                    self.by_inf[k] = snapshot.Snapshot(layout.runtime(), t.inferior)
            except errors.NotLinked as e:
                self.by_inf[k] = None
                self.by_inf[("why", k)] = str(e)
        snap = self.by_inf[k]
        if snap is None:
            out("  " + self.by_inf[("why", k)])
        return snap

    def values(self):
        """(snapshot, a thread of its inferior) pairs."""
        return [(v, self.by_inf[("thread", k)]) for k, v in self.by_inf.items()
                if not isinstance(k, tuple) and v is not None]

    def report(self, out):
        for snap, t in self.values():
            with frames.ThreadSwitch(t):
                if snap.gs().error:
                    out("error: %s" % snap.gs().error)


class _Output:
    """Collects lines and hands them to gdb.write in batches: one call per
    line is what would make 100,000 calls slow; one call for everything
    would defeat the pager's q."""

    def __init__(self):
        self.lines = []

    def __call__(self, line=""):
        self.lines.append(line)
        if len(self.lines) >= 512:
            self.flush()

    def flush(self):
        if self.lines:
            gdb.write("\n".join(self.lines) + "\n")
            self.lines.clear()      # in place: _print_defers appends to it


# ---------------------------------------------------------------------------
# info defers

def _thread_state_problem(t):
    if not t.is_valid() or t.is_exited():
        return "this thread has exited."
    if t.is_running():
        return ("this thread is running (non-stop mode): interrupt it "
                "(interrupt, or thread %s then interrupt) to list its deferred calls." %
                frames.thread_id_string(t))
    return None


def list_thread_defers(snap, t, out, full=False, frame=None, limit=None):
    """Print one thread's deferred calls (the body of `info defers`).
    The thread is selected meanwhile: gdb 13 reads memory and unwinds
    through the selected inferior and thread."""
    with frames.ThreadSwitch(t):
        _list_thread_defers(snap, t, out, full, frame, limit)


def _thread_g(snap, t, out, nothing):
    """Thread t's record, or None after saying why there is none to list
    (`nothing`: what the listing would say of a thread without one)."""
    problem = _thread_state_problem(t)
    if problem:
        out("  " + problem[0].upper() + problem[1:])
        return None
    g = snap.g_for_tid(t.ptid[1])
    if g is None:
        out("  %s: this thread never deferred a call." % nothing)
    return g


def _list_thread_defers(snap, t, out, full, frame, limit):
    g = _thread_g(snap, t, out, "No deferred calls")
    if g is None:
        return
    by_addr = {p.addr: p for p in snap.panics(g)}
    status = snapshot.Chain()
    fm = frames.FrameMap()
    n, shown = _print_defers(out, snap, snap.defer_batches(g, limit, status), by_addr, full,
                             fm, frame)
    if not n and not status.error and not status.truncated:
        out("  No deferred calls pending.")
        return
    if fm.error and frame is None:
        out("  (note: %s; owners of older records are unknown)" % fm.error)
    if frame is not None and not shown:
        out("  No deferred calls owned by frame #%d." % frame)
    _stopped(out, status, n)
    if status.error:
        out("  error: %s" % status.error)


def _print_defers(out, snap, batches, by_addr, full, fm=None, frame=None):
    """Print the raw records of snap.defer_batches, owned by `frame` (None:
    all) as the FrameMap `fm` says: (records read, records printed).
    Streamed: a million records are printed without being held.

    PERF: the hot loop of `info defers`.  Calls deferred in one loop share
    their function, site, owner, state and argument kinds (codec.run_key):
    the line's text but for its index and arguments is made once per run
    of equal records, and lines go to the output in batches."""
    n = hidden = 0
    batch = out.lines if isinstance(out, _Output) else None
    codec = snap.rt.dcodec
    key, make = codec.run_key, snapshot.defer_maker(snap.rt)
    at = (codec.index["iregs"], codec.index["fregs"])
    runs = {}       # run_key -> what _run_text makes of it
    for addrs, recs in batches:
        first = n
        for k, group in itertools.groupby(recs, key):
            group = list(group)
            run = runs.get(k)
            if run is None:
                if len(runs) >= 1024:
                    runs.clear()    # records that share little: keep memory bounded
                d = make(addrs[n - first], group[0], n + 1)
                level = fm.owner(d.sp) if fm is not None else None
                run = runs[k] = _run_text(d, by_addr, at, level, fm, frame, full)
            fast, skip, line, pos, mask, sign, render, tail = run
            if skip:
                hidden += len(group)
            elif fast:
                vals = list(map(operator.itemgetter(pos), group))
                if max(vals) >= sign:       # negative, or bits above the value's size
                    vals = [(v & mask) - ((v & sign) << 1) for v in vals]
                lines = map(line.__mod__, zip(range(n + 1, n + 1 + len(group)), vals))
                if batch is not None:
                    batch.extend(lines)
                else:
                    for text in lines:
                        out(text)
            else:
                for i, t in enumerate(group, n + 1):
                    call = render(t)
                    if not call.isprintable():
                        call = escape.printable(call)
                    out("  defer %d: %s%s" % (i, call, tail))
                    if full:
                        _print_full(out, make(addrs[i - first - 1], t, i))
            n += len(group)
        if batch is not None and len(batch) >= 512:
            out.flush()
    return n, n - hidden


def _run_text(d, by_addr, at, level, fm, frame, full):
    """What _print_defers prints of a run of records like d, owned by the
    frame at `level`: (fast, skip, line, pos, mask, sign, render, tail).
    fast: each is `line % (index, its one integer argument)`, that
    argument being (fields[pos] & mask) - ((fields[pos] & sign) << 1),
    which is fields[pos] itself when below sign;
    else, unless skip (not owned by `frame`), the call's text is
    render(fields) and the line ends in `tail`."""
    skip = frame is not None and level != frame
    where = "frame #%d" % level if level is not None else "frame unknown (%s)" % (
        fm.unknown_why() if fm is not None else "not on the stack")
    tail = "  [%s]\n           deferred by %s, %s" % (
        d.state(by_addr), formatting.format_site(d.pc), where)
    render = formatting.call_renderer(d, at)
    if render.one_int is None or skip or full:
        return False, skip, None, 0, 0, 0, render, tail
    head, pos, mask, sign = render.one_int
    line = "  defer %d: " + _percent(escape.printable(head)) + "%d)" + _percent(tail)
    return True, skip, line, pos, mask, sign, render, tail


def _percent(text):
    """text as a part of a %-format."""
    return text.replace("%", "%%")


def _stopped(out, chain, n):
    """The line saying a listing of n records stopped early, and why."""
    if chain.budget:
        out("  (%s)" % snapshot.budget_note(n))
    elif chain.truncated:
        out("  (listing stopped after %d entries)" % n)


def _print_full(out, d):
    kinds = " ".join("%#04x" % k for k in d.kind[:d.nargs]) or "-"
    out("           record %#x fn %#x pc %#x sp %#x _panic %#x link %#x" %
        (d.addr, d.fn, d.pc, d.sp, d.panic, d.link))
    out("           nargs %d kind [%s] started %d heap %d (%s)" %
        (d.nargs, kinds, d.started, d.heap,
         "pool record" if d.heap else "record built into the frame's defer_mark"))
    out("           iregs [%s] fregs [%s]" % (" ".join("%#x" % r for r in d.iregs),
                                               " ".join("%#x" % r for r in d.fregs)))


class InfoDefers(gdb.Command):
    """List pending deferred calls (libdefer), newest first.
Usage: info defers [-full] [-frame N] [THREAD-ID... | all]

For the selected thread by default, the listed gdb threads, or all threads:
each deferred call with its index (1 = runs next), the function with its
arguments (decoded through the function's debug info, or through the
argument kinds the runtime recorded when there is none), where it was
deferred, the number of the frame in `bt` that owns it, and its state:
pending, running (a normal exit is running it) or run by panic N.

  -full      also show record addresses and raw saved registers
  -frame N   only the calls owned by frame N (of the selected thread)

Examples:
  info defers
  info defers all
  info defers 2 3
  info defers -frame 1
  info defers -full all"""

    def __init__(self):
        gdb.Command.__init__(self, "info defers", gdb.COMMAND_STATUS)

    def complete(self, text, word):
        return _complete_threads(text, word, ["-full", "-frame"])

    def invoke(self, arg, from_tty):
        qemucore.prepare()
        with _errors_as_messages():
            self._invoke(arg)

    def _invoke(self, arg):
        words = gdb.string_to_argv(arg)
        full, frame = False, None
        rest = []
        i = 0
        while i < len(words):
            w = words[i]
            if w == "-full":
                full = True
            elif w == "-frame":
                if i + 1 >= len(words):
                    raise Usage("-frame needs a frame number, as in: info defers -frame 2")
                try:
                    frame = int(words[i + 1])
                except ValueError:
                    frame = -1
                if frame < 0:
                    raise Usage("-frame needs a frame number, not %r" % words[i + 1])
                i += 1
            elif w.startswith("-"):
                raise Usage("Unknown option %s (use -full, -frame N)" % w)
            else:
                rest.append(w)
            i += 1
        limit = None            # the snapshots' budget: set defer max-entries
        out = _Output()
        snaps = _Snapshots()
        threads = _each_thread(rest, out, snaps,
                               lambda snap, t: list_thread_defers(snap, t, out, full, frame,
                                                                  limit))
        if rest == ["all"]:
            for snap, t in snaps.values():
                with frames.ThreadSwitch(t):
                    _orphans(snap, threads, out, limit)
        snaps.report(out)
        out.flush()


def _each_thread(words, out, snaps, show):
    """The shared body of info defers / info panics: check the target, then
    for each thread the words name, its header and show(snap, thread).
    Returns the threads listed."""
    errors.require_target()
    _require_libdefer()
    threads, missing = _parse_threads(words)
    ids = frames.thread_target_ids()
    for m in missing:
        out(m)
    for t in threads:
        out("")
        out(_header(t, ids))
        snap = snaps.get(t, out)
        if snap is not None:
            show(snap, t)
    return threads


def _orphans(snap, threads, out, limit):
    """Records alive in the runtime's view whose thread gdb does not list
    (e.g. a core that lacks the thread): their calls, owners unknown."""
    tids = {t.ptid[1] for t in threads}
    orphans = [g for g in snap.gs() if not g.dead and g.tid not in tids and (g.defer or g.panic)]
    for i, g in enumerate(orphans):
        if snap.left is not None and snap.left <= 0:
            out("")
            out("(%d more thread records not listed: %s)" % (len(orphans) - i,
                                                              snapshot.budget_hint()))
            break
        out("")
        out("Thread record of LWP %d %s (no such thread in gdb):" % (g.tid, escape.quoted(g.name)))
        status = snapshot.Chain()
        n, _ = _print_defers(out, snap, snap.defer_batches(g, limit, status),
                             {p.addr: p for p in snap.panics(g)}, False)
        _stopped(out, status, n)
        if status.error:
            out("  error: %s" % status.error)


# ---------------------------------------------------------------------------
# info panics

def list_thread_panics(snap, t, out):
    g = _thread_g(snap, t, out, "No panics")
    if g is None:
        return
    chain = snap.panics(g)
    if not chain and not chain.error and not chain.truncated:
        out("  No panic.")
        return
    defers = snap.defers(g, None) if any(p.defer for p in chain) else []
    index = {d.addr: d for d in defers}
    for p in chain:
        if p.goexit:
            out("  goexit %d: defer_goexit() is running this thread's deferred calls" %
                p.index)
        else:
            out("  panic %d: %s%s  [%s]" % (p.index, escape.quoted(p.msg),
                                             formatting.panic_value_text(p.arg), p.state()))
        if p.arg:
            out("           value = %s" % escape.printable(values.value_text(p, chain)))
        if not p.goexit:
            out("           raised in %s" % formatting.format_site(p.pc))
        if p.defer:
            d = index.get(p.defer)
            if d is not None:
                out("           running defer %d: %s (deferred by %s)" % (
                    d.index, formatting.format_call(d), formatting.format_site(d.pc)))
            elif getattr(defers, "truncated", False):
                # Not read, not freed: the budget ended the walk first.
                out("           running a deferred call past the records read (%s)" %
                    snapshot.budget_hint())
            else:
                old = snap.defer_at(p.defer)
                what = ("%s (deferred by %s)" % (formatting.format_call(old),
                                                 formatting.format_site(old.pc))
                        if old is not None and old.fn else "the call at %#x" % p.defer)
                out("           was running %s when a newer panic took over; "
                    "that record is freed" % what)
        elif p.index == 1 and not p.recovered and not p.aborted and not p.goexit:
            out("           no deferred call running%s" % (
                ": unrecovered, the program is exiting" if _in_fatal() else ""))
    _stopped(out, chain, len(chain))
    if chain.error:
        out("  error: %s" % chain.error)


def list_thread_history(snap, t, out):
    """One thread's recovered panics (the body of `info panics -history`)."""
    g = _thread_g(snap, t, out, "No panic history")
    if g is None:
        return
    chain = snap.history(g)
    if not chain.total and not chain.error:
        out("  No recovered panic.")
        return
    out("  %d panic%s recovered%s" % (chain.total, "" if chain.total == 1 else "s",
                                     "; the last %d, newest first:" % len(chain) if chain else "."))
    for h in chain:
        out("  recovered %d: %s%s%s  [t=%d.%06ds]" % (
            h.seq, escape.quoted(h.msg), " [cut: %d bytes in all]" % h.textlen if h.cut else "",
            formatting.panic_value_text(h.arg), h.time // 10**9, h.time % 10**9 // 1000))
        if h.arg:
            # Only the type: what the value pointed to may be gone by now.
            t, why = values.site_type(h.type, [h.pc])
            out("           value type: %s" % (t if t is not None else "(untyped: %s)" % why))
        out("           raised in %s" % formatting.format_site(h.pc))
        out("           recovered by %s (deferred by %s)" % (
            Symbols.function_name(h.fn), formatting.format_site(h.site)))
    if chain.error:
        out("  error: %s" % chain.error)


def _in_fatal():
    """Is fatalpanic (the end of an unrecovered panic) on the selected stack?"""
    try:
        f = gdb.newest_frame()
        for _ in range(32):
            if f is None:
                return False
            if f.name() == "fatalpanic":
                return True
            f = f.older()
    except gdb.error:
        pass
    return False


class InfoPanics(gdb.Command):
    """Show the panic chain of libdefer threads, newest panic first.
Usage: info panics [-history] [THREAD-ID... | all]

For each panic: its message and value (panic_value's pointer), whether it
was recovered or aborted by a newer panic, the deferred call it is running,
and where it was raised.  In a core dumped by an unrecovered panic
(DEFER_TRACEBACK=crash) this is the fatal chain.

-history: instead, the panics the thread recovered earlier, newest first:
how many in all, and the last ones the runtime keeps (16 by default), each
with its message, value, where it was raised, the deferred call that
recovered it and its monotonic time (CLOCK_MONOTONIC) of recovery.

Examples:
  info panics
  info panics all
  info panics 3
  info panics -history all"""

    def __init__(self):
        gdb.Command.__init__(self, "info panics", gdb.COMMAND_STATUS)

    def complete(self, text, word):
        return _complete_threads(text, word, ["-history"])

    def invoke(self, arg, from_tty):
        qemucore.prepare()
        with _errors_as_messages():
            self._invoke(arg)

    def _invoke(self, arg):
        words = gdb.string_to_argv(arg)
        history = "-history" in words
        words = [w for w in words if w != "-history"]
        for w in words:
            if w.startswith("-"):
                raise Usage("Unknown option %s (usage: info panics [-history] "
                            "[THREAD-ID... | all])" % w)
        out = _Output()
        snaps = _Snapshots()
        show = list_thread_history if history else list_thread_panics

        def panics(snap, t):
            with frames.ThreadSwitch(t):
                show(snap, t, out)
        _each_thread(words, out, snaps, panics)
        snaps.report(out)
        out.flush()


def register():
    InfoDefers()
    InfoPanics()
