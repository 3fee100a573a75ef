# SPDX-License-Identifier: MIT
"""The portability matrix: the same core scenario in every build users make,
on every kind of target, read by gdb and by defer-inspect.

Cells: {gcc, clang} x {-O0, -O2} x {static, shared libdefer} x {live, attach,
core file, gdbserver}, plus PIE and non-PIE for gcc, and a fully static musl
program (musl-gcc, `make LIBC=musl`) x {live, core file}, and aarch64
programs (cross-built, run under qemu-user) {gcc, clang} x {-O0, -O2} x
{static, shared libdefer} x {live over qemu's gdbstub with gdb-multiarch,
qemu's core in gdb-multiarch, defer-inspect on that core}.  In each cell: the
three workers' pending calls with their arguments (`info defers all`),
`bt` with deferred calls under frames, `defer step` into the call the
unrecovered panic runs (live, gdbserver), the unrecovered panic's chain at
the fatal stop (`info panics`), and, on a core or a live pid,
`defer-inspect dump`.  The results are printed as a table at the end of the test run."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import AARCH64_SYSROOT, BUILD, MATRIX_RESULTS, compile_program
from gdbtest import gdb, gdbserver
from test_aarch64_gdbstub import GDB as GDB_MULTIARCH, stub_session
from test_aarch64_qemu_core import qemu_core as write_qemu_core

SCEN = Path(__file__).parent / "scenarios" / "matrix.c"
TOOL = BUILD / "defer-inspect"
BUILDS = [(cc, opt, link, "pie") for cc in ("gcc", "clang") for opt in ("-O0", "-O2")
          for link in ("static", "shared")] + [("gcc", "-O2", "static", "no-pie")]
TARGETS = ["live", "attach", "core", "gdbserver"]
CELLS = [pytest.param(b, t, id="%s%s-%s-%s-%s" % (*b, t)) for b in BUILDS for t in TARGETS]
MUSL = ("musl-gcc", "-O2", "static", "no-pie")
CELLS += [pytest.param(MUSL, t, id="musl-gcc-O2-static-%s" % t) for t in ("live", "core")]
# aarch64 under qemu: only main stops at a breakpoint (the workers wait in
# pause()), so qemu 7.2's gdbstub never sees several threads stop at once.
A64 = [("aarch64-" + cc, opt, link, "pie") for cc in ("gcc", "clang") for opt in ("-O0", "-O2")
       for link in ("static", "shared")]
A64_TARGETS = ["qemu-live", "qemu-core", "qemu-core-inspect"]
CELLS += [pytest.param(b, t, id="%s%s-%s-%s" % (*b[:3], t)) for b in A64 for t in A64_TARGETS]

WORKER_CALL = re.compile(r'worker_cleanup\(id=(\d), what=0x[0-9a-f]+ "(lock|buffer)"\)')


def build(cc, opt, link, pie):
    if cc.startswith("aarch64-"):
        return compile_program(SCEN, cc=cc[len("aarch64-"):], opt=opt, link=link, arch="aarch64")
    if cc == "musl-gcc":
        return compile_program(SCEN, cc="gcc", opt=opt, link=link, libc="musl")
    extra = ["-no-pie"] if pie == "no-pie" else []
    return compile_program(SCEN, cc=cc, opt=opt, link=link, extra=extra)


def check_defers(out, main=True):
    """Three workers, each: lock then buffer (newest first); main: config,
    unless the panic already ran it (a core after the crash)."""
    calls = WORKER_CALL.findall(out)
    by_id = {}
    for i, what in calls:
        by_id.setdefault(i, []).append(what)
    assert by_id == {"1": ["lock", "buffer"], "2": ["lock", "buffer"],
                     "3": ["lock", "buffer"]}, out
    if main:
        assert 'main_cleanup(what=0x' in out and '"config")' in out, out


BT = {False: "bt", True: "bt (workers' calls: frame unknown)"}


def check_bt(out, musl=False, qemu_core=False):
    if qemu_core:
        # The workers wait in the crash report's SIGURG handler, on an
        # alternate stack that qemu maps above their stacks; gdb 13 cannot
        # unwind past the interrupted pause() from there (libdefer_gdb/
        # sigframe.py), so their calls are owned by no frame, never a wrong one.
        owners = re.findall(r"deferred by worker at \S+, (frame [#\w]+)", out)
        assert owners == ["frame unknown"] * 6, out
        assert re.search(r"^#\d+ .*\bonurg \(", out, re.M), out
        return
    if not musl:
        assert re.search(r"#\d+ .*worker \(arg=.*\n(\s+defer \d: worker_cleanup.*\n){2}", out), out
        return
    # gdb's unwinding of a worker stops in musl's libc (no unwind tables):
    # its calls are owned by no frame rather than by a wrong one.
    owners = re.findall(r"deferred by worker at \S+, (frame [#\w]+)", out)
    assert owners == ["frame unknown"] * 6, out
    assert not re.search(r"^#\d+ .*\n\s+defer \d: worker_cleanup", out, re.M), out


def check_step(out):
    """From checkpoint(), `defer step` twice: out to main, then into the
    deferred call the unrecovered panic runs."""
    assert re.search(r'defer step: entering main_cleanup\(what=0x[0-9a-f]+ "config"\), '
                     r'deferred by main at .*, run by panic "fatal: matrix scenario"', out), out


def check_fatal(out):
    """The fatal-panic stop (or the core after it) shows the chain."""
    assert re.search(r'panic 1: "fatal: matrix scenario"', out), out
    assert "Traceback" not in out


def record(cell, what):
    MATRIX_RESULTS.setdefault(cell, []).append(what)


_qemu_cores = {}


def qemu_core(b):
    """The core qemu writes when the build b's scenario aborts at its
    unrecovered panic (DEFER_TRACEBACK=crash), once per build."""
    if b not in _qemu_cores:
        where = BUILD / "tests" / ("qemu-matrix-%s%s-%s" % b[:3])
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        _qemu_cores[b] = write_qemu_core(build(*b), where, env={"DEFER_TRACEBACK": "crash"})
    return _qemu_cores[b]


def qemu_cell(b, target, cell):
    exe = build(*b)
    if target == "qemu-live":
        out = stub_session(exe, "break checkpoint", "continue", "info defers all",
                           "thread apply all bt", "defer step", "defer step", "continue",
                           "info panics", "kill")
        check_defers(out)
        check_bt(out)
        check_step(out)
        check_fatal(out)
        record(cell, "info defers, bt, defer step, fatal stop, info panics")
        return
    core = qemu_core(b)
    if target == "qemu-core":
        r = subprocess.run(GDB_MULTIARCH + [str(exe), str(core), "-ex", "info defers all",
                                            "-ex", "thread apply all bt", "-ex", "info panics"],
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        out = r.stdout + r.stderr
        assert "Traceback" not in out, out
        check_defers(out, main=False)
        check_bt(out, qemu_core=True)
        check_fatal(out)
        record(cell, "info defers, bt (workers' calls: frame unknown, gdb 13), info panics")
        return
    try:
        d = subprocess.run([str(TOOL), "dump", "--core", str(core), str(exe)],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, DEFER_INSPECT_SYSROOT=AARCH64_SYSROOT))
    finally:
        # The last cell of the build that reads it (A64_TARGETS' order).
        core.unlink()
        del _qemu_cores[b]
    assert d.returncode == 0, d.stdout + d.stderr
    check_defers(d.stdout, main=False)
    assert "fatal: matrix scenario" in d.stdout, d.stdout
    record(cell, "defer-inspect --core")


@pytest.mark.parametrize("b,target", CELLS)
def test_matrix_cell(b, target):
    if target.startswith("qemu-"):
        return qemu_cell(b, target, "%s %s %s %s" % b + " " + target)
    exe = build(*b)
    musl = b == MUSL
    cell = "%s %s %s %s" % b + " " + target
    if target == "live":
        out = gdb("break checkpoint", "run", "info defers all", "thread apply all bt",
                  "defer step", "defer step", "continue", "info panics", exe=exe)
        check_defers(out)
        check_bt(out, musl)
        check_step(out)
        check_fatal(out)
        record(cell, "info defers, %s, defer step, fatal stop, info panics" % BT[musl])
    elif target == "gdbserver":
        with gdbserver(exe) as where:
            out = gdb("target remote %s" % where, "break checkpoint", "continue",
                      "info defers all", "thread apply all bt", "defer step", "defer step",
                      "continue", "info panics", "kill", exe=exe)
        check_defers(out)
        check_bt(out)
        check_step(out)
        check_fatal(out)
        record(cell, "info defers, bt, defer step, fatal stop, info panics")
    elif target == "attach":
        p = subprocess.Popen([str(exe), "wait"], stdout=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline() == "handle returned 500\n"
            assert p.stdout.readline().startswith("ready")
            out = gdb("attach %d" % p.pid, "info defers all", "thread apply all bt", "detach")
            check_defers(out)
            check_bt(out)
            d = subprocess.run([str(TOOL), "dump", "--pid", str(p.pid)], capture_output=True,
                               text=True, timeout=60)
            assert d.returncode == 0, d.stderr
            check_defers(d.stdout)
        finally:
            p.kill()
            p.wait()
        record(cell, "info defers, bt, defer-inspect --pid")
    else:
        core = BUILD / "tests" / ("matrix-%s-%s-%s-%s.core" % b)
        out = gdb("run", "generate-core-file %s" % core, exe=exe,
                  env={"DEFER_TRACEBACK": "crash"}, pre=["set defer stop-on-fatal-panic off"])
        assert "SIGABRT" in out and core.exists(), out
        out = gdb("info defers all", "thread apply all bt", "info panics", exe=exe, core=core)
        check_defers(out, main=False)
        check_bt(out, musl)
        check_fatal(out)
        bt = BT[musl]
        d = subprocess.run([str(TOOL), "dump", "--core", str(core), str(exe)],
                           capture_output=True, text=True, timeout=60)
        assert d.returncode == 0, d.stderr
        check_defers(d.stdout, main=False)
        assert "fatal: matrix scenario" in d.stdout
        core.unlink()
        record(cell, "info defers, %s, info panics, defer-inspect --core" % bt)
