# SPDX-License-Identifier: MIT
"""defer-inspect dump: pending calls and panics of every thread, from a core
or a live process, agree with gdb's `info defers all` entry by entry."""
import os
import signal
import time

import pytest

from dr_util import (BUILD, OUT, Running, compare_with_gdb, core_at, gcore, gdb_batch, inspect,
                     inspect_json, parse_info_defers, prog)

CASES = [("gcc", "-O0", "static", ()), ("gcc", "-O2", "shared", ()),
         ("clang", "-O2", "static", ("-no-pie",)), ("clang", "-O0", "shared", ("-no-pie",)),
         ("gcc", "-O2", "static", ("-no-pie",)), ("clang", "-O2", "shared", ())]
IDS = ["%s%s-%s%s" % (c, o, l, "-nopie" if e else "") for c, o, l, e in CASES]


@pytest.fixture(scope="module")
def outdir():
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


@pytest.mark.parametrize("cc,opt,link,extra", CASES, ids=IDS)
def test_core_dump_matches_gdb_info_defers(cc, opt, link, extra, outdir):
    exe = prog("threads.c", cc, opt, link, extra)
    core = outdir / ("threads-%s%s-%s%s.core" % (cc, opt, link, "-nopie" if extra else ""))
    with Running(exe, 3, 6) as p:
        gcore(p.pid, core)
        tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % p.pid))
    dump = inspect_json("dump", "--core", core, exe)
    live = [t for t in dump["threads"] if t["status"] == "running"]
    assert len(live) == 3 and all(len(t["defers"]) == 6 for t in live)
    assert all(t["in_target"] for t in live)
    assert sorted(t["tid"] for t in live) == tids[1:]
    ref = parse_info_defers(gdb_batch(exe, ["info defers all"], core=core))
    assert sum(len(v) for v in ref.values()) == 18, ref
    assert compare_with_gdb(dump, ref) == []


def test_core_dump_decodes_arguments_by_type(outdir):
    exe = prog("threads.c", "gcc", "-O0", "static")
    core = outdir / "threads-args.core"
    with Running(exe, 1, 4) as p:
        gcore(p.pid, core)
    t = [t for t in inspect_json("dump", "--core", core, exe)["threads"] if t["defers"]][0]
    d = {x["function"]["function"]: x for x in t["defers"]}
    note = [(a["name"], a["value"]) for a in d["note"]["args"]]
    assert note[0][0] == "s" and note[0][1].endswith('"held"')
    assert note[1:] == [("i", "1000"), ("x", "0.0")]
    assert [(a["name"], a["value"]) for a in d["flags"]["args"]] == [
        ("b", "true"), ("c", "200"), ("f", "1.5"), ("h", "-3")]
    wide = [a["value"] for a in d["wide"]["args"]]
    assert wide[:2] == ["-1", str(7 << 40)] and wide[3:5] == ["-1", "2"] and wide[5] == "120"
    # free: named from libc's separate debug info when it is installed
    # (libc6-dbg), else decoded from the recorded kind.
    assert [a["value"] for a in d["free"]["args"]] == ["0x0"]
    assert d["free"]["args"][0]["name"] in (None, "mem")
    assert d["note"]["site"]["function"] == "hold" and d["note"]["site"]["line"] > 0


def test_live_dump_matches_gdb_and_resumes_the_process(outdir):
    exe = prog("threads.c", "gcc", "-O2", "shared")
    with Running(exe, 4, 5) as p:
        dump = inspect_json("dump", "--pid", p.pid)
        time.sleep(0.1)
        # Every thread is running (sleeping in pause), none left stopped.
        for tid in os.listdir("/proc/%d/task" % p.pid):
            st = open("/proc/%d/task/%s/stat" % (p.pid, tid)).read().rsplit(")", 1)[1].split()[0]
            assert st in "SR", (tid, st)
        ref = parse_info_defers(gdb_batch(exe, ["info defers all"], pid=p.pid))
        assert p.p.poll() is None
    assert sum(len(t["defers"]) for t in dump["threads"]) == 20
    assert compare_with_gdb(dump, ref) == []


def test_fatal_panic_chain_in_core(outdir):
    """A core taken at fatalpanic: the chain "second" (running, run from a
    deferred call of the first) over "first" (aborted)."""
    exe = prog("chain.c", "gcc", "-O0", "static")
    core = core_at(exe, [], "fatalpanic", outdir / "chain.core")
    dump = inspect_json("dump", "--core", core, exe)
    t = [t for t in dump["threads"] if t["panics"]][0]
    msgs = [(p["message"], p["recovered"], p["aborted"]) for p in t["panics"]]
    assert msgs == [("second: from work", False, False), ("first", False, True)]
    text = inspect("dump", "--core", core, exe).stdout
    assert 'panic 1: "second: from work"  [running]' in text
    assert 'panic 2: "first"  [aborted]' in text
    assert "panic: first\n\tpanic: second: from work" in text
    ref = gdb_batch(exe, ["info panics all"], core=core)
    assert 'panic 1: "second: from work"' in ref and 'panic 2: "first"' in ref
    assert compare_with_gdb(dump, parse_info_defers(gdb_batch(exe, ["info defers all"], core=core))) == []


def test_real_crash_core(outdir, tmp_path):
    """DEFER_TRACEBACK=crash aborts; the kernel's core (when core_pattern is
    a plain file name) holds every thread's calls and the fatal panic."""
    pattern = open("/proc/sys/kernel/core_pattern").read().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip("core_pattern %r is not a plain file name" % pattern)
    import resource
    exe = prog("threads.c", "gcc", "-O2", "static")
    env = dict(os.environ, DEFER_TRACEBACK="crash")
    import subprocess
    r = subprocess.run([str(exe), "2", "3", "crash"], cwd=tmp_path, env=env, capture_output=True,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (-1, -1)),
                       timeout=60)
    assert r.returncode == -signal.SIGABRT
    cores = [f for f in os.listdir(tmp_path) if f.startswith(pattern.split("%")[0] or "core")]
    assert cores, os.listdir(tmp_path)
    core = tmp_path / cores[0]
    dump = inspect_json("dump", "--core", core, exe)
    by = {len(t["defers"]): t for t in dump["threads"] if t["status"] == "running"}
    main = [t for t in dump["threads"] if t["panics"]][0]
    assert main["panics"][0]["message"] == "fatal error 42 in main"
    # The panic ran main's only deferred call before it gave up.
    assert b"last: main" in r.stdout and main["defers"] == []
    assert sum(1 for t in dump["threads"] if len(t["defers"]) == 3) == 2, by
    text = inspect("dump", "--core", core, exe).stdout
    assert "is panicking:\npanic: fatal error 42 in main" in text


def test_core_with_stripped_runtime_uses_offsets_table(outdir, tmp_path):
    """libdefer.so stripped of its debug info: the walk runs from
    _defer_debug_offsets alone and gives the same result."""
    import subprocess
    lib = tmp_path / "lib"
    lib.mkdir()
    subprocess.run(["strip", "-o", str(lib / "libdefer.so.1"), str(BUILD / "libdefer.so.1")], check=True)
    exe = prog("threads.c", "gcc", "-O2", "shared", ("-Wl,-rpath," + str(lib),))
    core = tmp_path / "t.core"
    env = {"LD_LIBRARY_PATH": str(lib)}
    with Running(exe, 2, 3, env=env) as p:
        maps = open("/proc/%d/maps" % p.pid).read()
        assert str(lib / "libdefer.so.1") in maps
        gcore(p.pid, core)
    dump = inspect_json("dump", "--core", core, exe)
    assert dump["runtime"]["source"] == "table"
    assert sum(len(t["defers"]) for t in dump["threads"]) == 6
    names = {d["function"]["function"] for t in dump["threads"] for d in t["defers"]}
    assert names == {"note", "flags", "wide"}


def test_text_output_lists_every_thread(outdir):
    exe = prog("threads.c", "gcc", "-O0", "shared")
    core = outdir / "threads-text.core"
    with Running(exe, 2, 2) as p:
        gcore(p.pid, core)
    r = inspect("dump", "--core", core, exe)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("Thread (LWP") == 2
    assert r.stdout.count("  defer 2: note(s=") == 2
    assert r.stdout.count("  defer 1: flags(b=true, c=200, f=1.5, h=-3)  [pending]") == 2


def test_crashed_example_program_matches_gdb_info_panics(outdir):
    """examples/nested.c with DEFER_TRACEBACK=crash, dumped at abort():
    both panics and the call the first was running, as gdb prints them."""
    import re
    from dr_util import ROOT
    import conftest
    exe = conftest.compile_program(ROOT / "examples" / "nested.c", cc="gcc", opt="-O1")
    core = core_at(exe, [], "abort", outdir / "nested.core", env={"DEFER_TRACEBACK": "crash"})
    r = inspect("dump", "--core", core, exe)
    assert r.returncode == 0, r.stderr
    ours = [l for l in r.stdout.splitlines() if l.startswith("  panic") or l.startswith("           ")]
    ref = gdb_batch(exe, ["info panics all"], core=core).splitlines()
    ref = [l for l in ref if l.startswith("  panic") or l.startswith("           ")]

    def norm(lines):
        out = []
        for l in lines:
            l = re.sub(r"(\S*/)?([\w.-]+\.c):", r"\2:", l)
            l = l.replace("; that record is freed", "")
            out.append(l)
        return out
    assert norm(ours) == norm(ref)
    assert "panic: commit: transaction 17 conflicts\n\tpanic: flush_journal" in r.stdout


def test_stripped_static_program(tmp_path):
    """No symbols, no DWARF: layout from the offsets table; dump still
    reads every thread's calls (function names then come from nowhere)."""
    import subprocess
    from dr_util import prog as build_prog
    exe = tmp_path / "stripped"
    subprocess.run(["strip", "-o", str(exe), str(build_prog("threads.c", "gcc", "-O2", "static"))],
                   check=True)
    lay = inspect_json("layout", exe)
    assert lay["source"] == "table" and lay["abi_version"] == 3
    core = tmp_path / "s.core"
    with Running(exe, 2, 4) as p:
        gcore(p.pid, core)
    dump = inspect_json("dump", "--core", core, exe)
    assert sum(len(t["defers"]) for t in dump["threads"]) == 8
    assert {a["value"] for t in dump["threads"] for d in t["defers"] for a in d["args"]} >= {"-3"}


def test_separate_debug_file_names_library_arguments(outdir):
    """With DEFER_INSPECT_DEBUG_DIR, libc's free gets its parameter name
    from libc6-dbg, as gdb prints it."""
    import glob
    if not glob.glob("/usr/lib/debug/.build-id/*/*.debug"):
        pytest.skip("no separate debug files installed")
    exe = prog("threads.c", "gcc", "-O0", "shared")
    core = outdir / "threads-dbg.core"
    with Running(exe, 1, 4) as p:
        gcore(p.pid, core)
    plain = inspect("dump", "--core", core, exe).stdout
    named = inspect("dump", "--core", core, exe, env={"DEFER_INSPECT_DEBUG_DIR": "/usr/lib/debug"}).stdout
    assert "free(0x0)" in plain
    if "free(mem=0x0)" not in named:
        pytest.skip("libc's debug file is not installed for this libc")
    assert named.replace("free(mem=0x0)", "free(0x0)") == plain


LONG_STRING = r"""
#include <stdio.h>
#include <unistd.h>
#include <defer.h>
static void log_line(const char *s) { (void)s; }
int main(void)
{
	defer_frame;
	defer(log_line, "short one");
	defer(log_line, "0123456789012345678901234567890123456789012345678901234567890123456789 end");
	printf("ready\n");
	fflush(stdout);
	pause();
	return 0;
}
"""


def test_dump_marks_strings_longer_than_it_shows():
    from dr_util import Running, inspect
    import conftest
    exe = conftest.compile_program(LONG_STRING, name="longstr")
    with Running(exe) as p:
        r = inspect("dump", "--pid", p.pid)
    assert r.returncode == 0, r.stderr
    assert '"0123456789012345678901234567890123456789012345678901234567890123"...' in r.stdout
    assert '"short one")' in r.stdout



def test_a_100kb_panic_message_is_dumped_whole(outdir):
    """ABI 2: the whole message (struct _panic.text), not msg's 255 bytes."""
    exe = prog("longmsg.c")
    core = outdir / "longmsg.core"
    core_at(exe, [], "checkpoint", core)
    whole = "x" * 99999 + "E%"
    dump = inspect_json("dump", "--core", core, exe)
    (t,) = [t for t in dump["threads"] if t["panics"]]
    assert t["panics"][0]["message"] == whole
    r = inspect("dump", "--core", core, exe)
    assert '  panic 1: "%s"  [running]' % whole in r.stdout, r.stdout[-300:]


DOUBLES = r"""
#include <stdio.h>
#include <unistd.h>
#include "defer.h"
static void d(double x) { printf("%g\n", x); }
int main(void)
{
	static const double v[] = { VALUES };
	defer_frame;
	for (unsigned i = 0; i < sizeof v / sizeof *v; i++)
		defer(d, v[i]);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
"""


def test_double_arguments_are_written_as_gdbs_extension_writes_them():
    """Python's repr (formatting.py _fmt_float): positional from 1e-4 up to
    1e16, with ".0" on whole numbers, the fewest digits that read back."""
    import conftest
    values = [100.0, 1e15, 1e16, 1e-4, 1e-5, -0.0, 123.456, 0.1, 1 / 3, 2.5e-300, 1e300,
              12345678901234567890.0, 5e-324]
    exe = conftest.compile_program(DOUBLES.replace("VALUES", ", ".join(repr(v) for v in values)),
                                   name="doubles")
    with Running(exe) as p:
        out = inspect_json("dump", "--pid", p.pid)
    got = [d["args"][0]["value"] for d in out["threads"][0]["defers"]]
    assert got == [repr(v) for v in reversed(values)]
