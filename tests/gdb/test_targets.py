# SPDX-License-Identifier: MIT
"""Every target gdb supports: core files, attach, gdbserver, non-stop."""
import re
import subprocess

import pytest

from gdbtest import defers_of, gdb, gdbserver, scen, section


@pytest.fixture(scope="module", params=["static", "shared"])
def fatal_core(request, tmp_path_factory):
    """A core of an unrecovered nested panic (DEFER_TRACEBACK=crash aborts;
    gdb writes the core at the SIGABRT, so the test does not depend on the
    system's core_pattern)."""
    exe = scen(link=request.param)
    core = tmp_path_factory.mktemp("core") / "fatal.core"
    out = gdb("run", "generate-core-file %s" % core, exe=exe, args=["fatal"],
              pre=["set defer stop-on-fatal-panic off"],
              env={"DEFER_TRACEBACK": "crash"})
    assert "SIGABRT" in out and core.exists(), out
    return exe, core


def test_core_shows_fatal_panic_chain(fatal_core):
    exe, core = fatal_core
    out = gdb("info panics", exe=exe, core=core)
    assert re.search(r'panic 1: "second panic, level 2"  \[running\]\n.*raised in repanic.*\n'
                     r'\s+no deferred call running: unrecovered, the program is exiting', out), out
    assert re.search(r'panic 2: "first panic: boom" value=0x[0-9a-f]+ <error_object>  '
                     r'\[aborted\]', out), out


def test_core_shows_pending_calls_of_every_thread(fatal_core):
    exe, core = fatal_core
    out = gdb("info defers all", "thread apply all bt -no-filters", exe=exe, core=core)
    with_calls = [n for n in re.findall(r"^Thread (\d+) \(", out, re.M)
                  if defers_of(out, n)]
    assert len(set(with_calls)) == 2, out
    for n in set(with_calls):
        ds = defers_of(out, n)
        assert [d[1] for d in ds] == ["step_many(i=2)", "step_many(i=1)", "step_many(i=0)"]
        assert {d[3] for d in ds} == {"worker_hold"}
    assert "No deferred calls pending." in section(out, 1)


def test_core_thread_numbers_differ_but_records_follow_lwp(tmp_path):
    """gcore of a live multi-thread state: the same calls per LWP in both."""
    exe = scen()
    core = tmp_path / "live.core"
    live = gdb("break checkpoint", "run", "info defers all", "gcore %s" % core,
               exe=exe, args=["threads", "3", "2"])
    dead = gdb("info defers all", exe=exe, core=core)

    def by_lwp(out):
        res = {}
        for m in re.finditer(r"^Thread (\d+) \(.*LWP (\d+)\)", out, re.M):
            res[m.group(2)] = [d[1] for d in defers_of(out, m.group(1))]
        return res
    a, b = by_lwp(live), by_lwp(dead)
    assert a == b and sum(1 for v in a.values() if v) == 4, (live, dead)


def test_attach_to_running_process():
    exe = scen()
    p = subprocess.Popen([str(exe), "sleep", "2", "2"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().startswith("ready")
        out = gdb("attach %d" % p.pid, "info defers all", "detach", load="source")
        assert "step_many(i=1)" in out
        main = [n for n in re.findall(r"^Thread (\d+) \(", out, re.M) if "sleeper" in section(out, n)]
        assert main, out
        ds = defers_of(out, main[0])
        assert ds[0][3] == "wait_forever" and ds[0][5] == 1
    finally:
        p.kill()
        p.wait()


def test_gdbserver_on_loopback():
    exe = scen()
    with gdbserver(exe, "threads", 2, 2) as target:
        out = gdb("target remote %s" % target, "break checkpoint", "continue",
                  "info defers all", "info panics", "kill", exe=exe, load="source")
    ds1 = defers_of(out, 1)
    assert ds1 and ds1[0][3] == "threads", out
    workers = {n for n in re.findall(r"^Thread (\d+) \(", out, re.M)
               if n != "1" and defers_of(out, n)}
    assert len(workers) == 2, out


def test_non_stop_running_threads_get_a_message_others_listed():
    out = gdb("break checkpoint", "run", "info defers all", exe=scen(),
              args=["threads", "2", "2"], pre=["set non-stop on"])
    assert defers_of(out, 1)[0][3] == "threads"
    for n in (2, 3, 4):
        assert "This thread is running (non-stop mode)" in section(out, n)


def test_stripped_program_and_library_use_the_offsets_table(tmp_path):
    """No debug info anywhere: layout from _defer_debug_offsets, arguments
    from the recorded kinds."""
    import shutil
    from gdbtest import BUILD
    lib = tmp_path / "libdefer.so.1"
    shutil.copy(BUILD / "libdefer.so.1", lib)
    prog = tmp_path / "prog"
    shutil.copy(scen(link="shared"), prog)
    subprocess.run(["strip", "-s", str(lib), str(prog)], check=True)
    out = gdb("set environment LD_LIBRARY_PATH=%s" % tmp_path, "set breakpoint pending on",
              "break deferreturn", "run", "info defers",
              "python import libdefer_gdb.layout as r; print('LAYOUT', r.runtime().source)",
              exe=prog, args=["basic"])
    assert "LAYOUT _defer_debug_offsets" in out, out
    calls = [d[1] for d in defers_of(out)]
    assert len(calls) == 6, out
    assert re.match(r"0x[0-9a-f]+\(2.5, 0.5, -3\)$", calls[3]), calls
    assert re.match(r"0x[0-9a-f]+\(5, 0x[0-9a-f]+\)$", calls[4]), calls
    assert "deferred by ?? at 0x" in out


def test_stripped_static_program_found_by_the_tables_magic(tmp_path):
    """No symbols at all: the offsets table is found by DEFER_DEBUG_MAGIC in
    the program's data sections, allgs through it.  (-u keeps offsets.o in
    the link until the runtime references it itself, see the next test.)"""
    import shutil
    from gdbtest import SCEN_C, compile_program
    prog = tmp_path / "prog"
    shutil.copy(compile_program(SCEN_C, extra=["-Wl,-u,_defer_debug_offsets"]), prog)
    subprocess.run(["strip", "-s", str(prog)], check=True)
    out = gdb("break -probe-stap libdefer:defer", "ignore 1 5", "run", "info defers",
              "python import libdefer_gdb.layout as r; print('LAYOUT', r.runtime().source)",
              exe=prog, args=["basic"])
    assert "LAYOUT _defer_debug_offsets" in out, out
    calls = [d[1] for d in defers_of(out)]
    assert len(calls) == 6 and re.match(r"0x[0-9a-f]+\(5, 0x[0-9a-f]+\)$", calls[4]), out


def test_static_link_keeps_the_offsets_table():
    """Needs the runtime to reference _defer_debug_offsets from an object
    that every program links (g.c), so offsets.o is not dropped."""
    r = subprocess.run(["nm", str(scen(link="static"))], capture_output=True, text=True)
    assert " _defer_debug_offsets" in r.stdout


def test_kernel_core_of_unrecovered_panic(tmp_path):
    """The real workflow: DEFER_TRACEBACK=crash, the kernel writes the core,
    then `gdb PROG CORE`.  Skipped only if this system does not write cores
    into the working directory (core_pattern)."""
    import os
    import resource
    pattern = open("/proc/sys/kernel/core_pattern").read().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip("core_pattern %r does not write cores to the working directory" % pattern)
    exe = scen()

    def limits():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    env = dict(os.environ, DEFER_TRACEBACK="crash")
    r = subprocess.run([str(exe), "fatal"], cwd=tmp_path, env=env, preexec_fn=limits,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode < 0 and "panic: first panic: boom" in r.stderr
    cores = list(tmp_path.glob("core*"))
    if not cores:
        pytest.skip("no core written (pattern %r)" % pattern)
    out = gdb("info panics", "info defers all", exe=exe, core=cores[0])
    assert re.search(r'panic 1: "second panic, level 2"  \[running\]', out), out
    assert re.search(r'panic 2: "first panic: boom" value=0x[0-9a-f]+ <error_object>  \[aborted\]',
                     out)
    assert sum(1 for n in set(re.findall(r"^Thread (\d+) \(", out, re.M))
               if len(defers_of(out, n)) == 3) == 2, out
