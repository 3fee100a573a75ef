# SPDX-License-Identifier: MIT
"""info defers: order, arguments, sites, owning frames, states, options."""
import re

import pytest

from gdbtest import MATRIX, at_line, bt_levels, defers_of, gdb, scen, section


@pytest.mark.parametrize("cc,opt", MATRIX)
def test_lists_calls_newest_first_with_arguments_sites_and_frames(cc, opt):
    out = gdb("break checkpoint", "run", "info defers", "bt -no-filters",
              exe=scen(cc, opt), args=["basic"])
    ds = defers_of(out)
    assert [d[0] for d in ds] == [1, 2, 3, 4, 5, 6], out
    calls = [d[1] for d in ds]
    # printf: format decoded by its (libc) prototype or by kind; variadic rest by kind
    assert re.match(r'(__)?printf\((format=)?0x[0-9a-f]+( "%s=%d\\n")?, 0x[0-9a-f]+, 42\)$',
                    calls[0]), calls[0]
    assert re.match(r"close_conn\(c=0x[0-9a-f]+ <[^>]*conn[^>]*>, flags=3 '\\003', force=true\)$",
                    calls[1]), calls[1]
    assert calls[2] == "note()"
    assert calls[3] == "scale(factor=2.5, ratio=0.5, count=-3)"
    assert re.match(r'release\(id=5, what=0x[0-9a-f]+ "outer"\)$', calls[4]), calls[4]
    # fclose has no debug info: the pointer comes from the recorded kind, unnamed
    assert re.match(r"(_IO_new_)?fclose\(0x[0-9a-f]+\)$", calls[5]), calls[5]
    assert all(d[2] == "pending" for d in ds)
    # defer sites and the owning functions
    assert ds[1][3] == "inner" and at_line(ds[1][4], "defer(close_conn")
    assert ds[4][3] == "outer" and at_line(ds[4][4], "defer(release, id")
    assert at_line(ds[5][4], "defer(fclose, f)")
    # frame numbers are those of bt
    levels = bt_levels(out)
    assert [d[5] for d in ds] == [levels["inner"]] * 2 + [levels["outer"]] * 4


def test_thread_header_like_thread_apply():
    out = gdb("break checkpoint", "run", "info defers", "thread apply 1 p 0",
              exe=scen(), args=["basic"])
    headers = re.findall(r"^Thread 1 \(.*\):$", out, re.M)
    assert len(headers) == 2 and headers[0] == headers[1], out


def test_frame_option_limits_to_one_frame():
    out = gdb("break checkpoint", "run", "info defers -frame 1", exe=scen(), args=["basic"])
    ds = defers_of(out)
    assert [d[0] for d in ds] == [1, 2] and {d[5] for d in ds} == {1}, out
    out = gdb("break checkpoint", "run", "info defers -frame 0", exe=scen(), args=["basic"])
    assert "No deferred calls owned by frame #0." in out


def test_full_adds_record_details():
    out = gdb("break checkpoint", "run", "info defers -full", "print allgs->_defer",
              exe=scen(), args=["basic"])
    head = re.search(r"\$1 = \(struct _defer \*\) (0x[0-9a-f]+)", out).group(1)
    assert re.search(r"record %s fn 0x[0-9a-f]+ pc 0x[0-9a-f]+ sp 0x" % head, out), out
    assert "nargs 3 kind [0x38 0x38 0x14]" in out
    assert "iregs [" in out and "fregs [" in out
    # the first record of a frame lives in its defer_mark, the rest in the pool
    assert "record built into the frame's defer_mark" in out and "pool record" in out


def test_all_threads_each_with_its_own_calls():
    out = gdb("break checkpoint", "run", "info defers all", "thread apply all bt -no-filters",
              exe=scen(), args=["threads", "3", "2"])
    headers = re.findall(r"^Thread (\d+) \(.*\(LWP (\d+)\).*\):$", out, re.M)
    nums = [int(h[0]) for h in headers[:5]]
    assert nums == [5, 4, 3, 2, 1], out
    main = defers_of(out, 1)
    assert [d[1] for d in main] == ['release(id=-1, what=%s)' % main[0][1].split("what=")[1][:-1]]
    assert main[0][3] == "threads"
    workers = [n for n in (2, 3, 4, 5) if defers_of(out, n)]
    assert len(workers) == 3
    for n in workers:
        ds = defers_of(out, n)
        assert [d[1] for d in ds] == ["step_many(i=1)", "step_many(i=0)"]
        assert {d[3] for d in ds} == {"worker_hold"}
        assert ds[0][5] == bt_levels(section(out, n).split("\n\n")[0] + "\n" +
                                     _bt_of(out, n))["worker_hold"]
    idle = [n for n in (2, 3, 4, 5) if n not in workers][0]
    assert "this thread never deferred a call" in section(out, idle)


def _bt_of(out, n):
    """The `thread apply all bt` block of thread n (second header for n)."""
    blocks = re.split(r"^(?=Thread \d+ \()", out, flags=re.M)
    mine = [b for b in blocks if b.startswith("Thread %d (" % n)]
    return mine[-1]


def test_listed_threads_and_missing_thread():
    out = gdb("break checkpoint", "run", "info defers 1 99", exe=scen(), args=["threads", "2", "1"])
    assert "No thread 99 (it exited, or never existed)." in out
    assert defers_of(out, 1)[0][3] == "threads"
    assert "Thread 2 (" not in out


def test_exited_thread_is_reported_and_not_listed():
    out = gdb("break checkpoint", "run", "info defers all", "info defers 2",
              exe=scen(), args=["exited"])
    assert "No thread 2" in out
    assert "gone" not in out            # the exited thread's record is dead
    assert "No deferred calls" in section(out, 1)


def test_thread_that_never_deferred_says_so_in_one_line():
    out = gdb("break checkpoint", "run", "info defers", exe=scen(), args=["nodefer"])
    assert re.search(r"^  No deferred calls: this thread never deferred a call\.$", out, re.M)


def test_states_during_a_panic():
    out = gdb("break in_second", "run", "info defers", exe=scen(), args=["panic"])
    ds = defers_of(out)
    assert ds[0][1] == "in_second()" and ds[0][2] == "run by panic 1"
    assert ds[1][2] == "pending" and ds[1][1].startswith("release(id=1")
    assert ds[2][1].startswith("recoverer(status=0x") and ds[2][3] == "guarded"


def test_max_entries_caps_the_list():
    out = gdb("break checkpoint", "run", "set defer max-entries 5", "info defers",
              exe=scen(), args=["many", "20"])
    ds = defers_of(out)
    assert [d[1] for d in ds] == ["step_many(i=%d)" % i for i in (19, 18, 17, 16, 15)]
    assert "stopped after 5 records: set defer max-entries (now 5)" in out
    out = gdb("break checkpoint", "run", "set defer max-entries unlimited", "info defers",
              exe=scen(), args=["many", "20"])
    assert len(defers_of(out)) == 20 and "listing stopped" not in out


def test_a_long_listing_prints_every_call_once_in_order():
    """info defers streams the chain to gdb in batches: 5,000 calls (many
    batches, many 64 KiB blocks) come out each once, newest first, with
    the owner and site of each; the TUI's listing (another output) too."""
    n = 5000
    out = gdb("break checkpoint", "run", "set defer max-entries unlimited", "info defers",
              "python from libdefer_gdb import tui; print('TUI', len([l for l in tui._lines() "
              "if l.startswith('  defer ')]))",
              exe=scen(), args=["many", str(n)])
    ds = defers_of(out)
    assert [d[0] for d in ds] == list(range(1, n + 1)), out[-2000:]
    assert [d[1] for d in ds] == ["step_many(i=%d)" % i for i in range(n - 1, -1, -1)]
    assert {(d[3], d[5]) for d in ds} == {("many", 1)}, ds[:3]
    assert "TUI 1000" in out, out[-2000:]


def test_a_walk_keeps_a_bounded_number_of_blocks():
    """Walking a million records must not keep them all in gdb: the memory
    cache holds at most Memory.CACHED blocks however long the chain."""
    out = gdb("break checkpoint", "run",
              "python from libdefer_gdb import snapshot, memory; s = snapshot.Snapshot(None, "
              "None, None); g = s.g_for_tid(gdb.selected_thread().ptid[1]); "
              "n = sum(1 for _ in s.iter_defers(g)); "
              "print('WALKED', n, len(s.mem.blocks) <= memory.Memory.CACHED, "
              "n * 150 > memory.Memory.CACHED * memory.Memory.BLOCK)",
              exe=scen("gcc", "-O2"), args=["many", "200000"])
    assert "WALKED 200000 True True" in out, out


def test_bad_options_are_one_line_errors():
    out = gdb("break checkpoint", "run", "info defers -bogus", "info defers -frame",
              "info defers x", exe=scen(), args=["basic"])
    assert "Unknown option -bogus" in out
    assert "-frame needs a frame number" in out
    assert "Invalid thread ID: x" in out


def test_records_are_matched_by_kernel_tid_not_thread_number():
    out = gdb("break checkpoint", "run", "set var allgs->tid = 4000000", "info defers all",
              exe=scen(), args=["basic"])
    assert "this thread never deferred a call" in section(out, 1)
    m = re.search(r'^Thread record of LWP 4000000 "[^"]*" \(no such thread in gdb\):\n'
                  r'  defer 1: (__)?printf', out, re.M)
    assert m, out
    assert len(defers_of(out)) == 6 and all(d[5] is None for d in defers_of(out))


def test_several_inferiors_each_read_with_its_own_program():
    from gdbtest import plain_program
    out = gdb("break checkpoint", "run", "add-inferior -exec %s" % plain_program(),
              "inferior 2", "break stop", "run", "info defers all",
              exe=scen(), args=["basic"])
    assert len(defers_of(out, "1.1")) == 6, out
    assert re.search(r"^Thread 2\.1 \(.*\):\n  This program does not use libdefer", out, re.M), out


def test_a_second_run_at_other_addresses_is_read_afresh():
    out = gdb("set disable-randomization off", "break checkpoint", "run", "info defers",
              "print &allgs", "kill", "run", "info defers", "print &allgs",
              exe=scen(), args=["basic"])
    a = re.findall(r"\$\d+ = \(struct g \* volatile \*\) (0x[0-9a-f]+)", out)
    assert len(a) == 2 and a[0] != a[1], out
    parts = re.split(r"^\$1 = ", out, flags=re.M)
    assert len(defers_of(parts[0])) == 6 and len(defers_of(parts[1])) == 6, out


def test_layout_from_dwarf_matches_the_offsets_table_and_lists_the_same_calls():
    """The records layer reads layouts from _defer_debug_offsets and falls
    back to DWARF for a program without the table: both give the same
    offsets, and a listing through the DWARF layout is the same."""
    compare = ("python import libdefer_gdb.layout as r; rt = r.Runtime(); "
               "t = [dict(x.offsets) for x in (rt.g, rt.d, rt.p)] + [dict(rt.mark)]; "
               "src = rt.source; rt._from_dwarf(); "
               "w = [dict(x.offsets) for x in (rt.g, rt.d, rt.p)] + [dict(rt.mark)]; "
               "bad = [(k, a[k], b.get(k)) for a, b in zip(t, w) for k in a if b.get(k) != a[k]]; "
               "print('SOURCES', src, rt.source, 'DIFFER', bad)")
    out = gdb("break checkpoint", "run", compare, "info defers", exe=scen(), args=["basic"])
    assert "SOURCES _defer_debug_offsets DWARF DIFFER []" in out, out
    forced = gdb("python import libdefer_gdb.layout as r; "
                 "r.Runtime._from_table = lambda self, addr: False",
                 "break checkpoint", "run", "info defers",
                 "python print('FORCED', r.runtime().source)", exe=scen(), args=["basic"])
    assert "FORCED DWARF" in forced, forced
    assert defers_of(forced) == defers_of(out) and len(defers_of(out)) == 6, forced
