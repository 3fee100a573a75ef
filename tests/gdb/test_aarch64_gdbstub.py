# SPDX-License-Identifier: MIT
"""The gdb extension on an aarch64 program, with gdb-multiarch on this
x86-64 machine, live over qemu's gdbstub.
The extension takes the argument and stack-pointer registers by the
inferior's architecture (regs.py); probe arguments come from gdb's own
parsing of the aarch64 SDT notes.

qemu 7.2's gdbstub can crash when several threads stop at once, so in
these programs one thread stops at a time.  `stub_session` is also the
portability matrix's live aarch64 cell (tests/reliability/test_matrix.py)."""
import os
import re
import socket
import subprocess

import pytest

from conftest import AARCH64_BUILD, AARCH64_SYSROOT, QEMU, ROOT, compile_program
from test_aarch64_core import HOLD

# The extension as `source` loads it; the cross sysroot for the C library
# and the loader; build/aarch64 for libdefer.so, whose absolute path gdb
# would otherwise look for under the sysroot.
GDB = ["gdb-multiarch", "-q", "-batch", "-nx", "-iex", "set auto-load safe-path /",
       "-iex", "set pagination off", "-iex", "set width 0", "-iex", "set confirm off",
       "-ex", "set sysroot " + AARCH64_SYSROOT,
       "-ex", "set solib-search-path " + str(AARCH64_BUILD),
       "-ex", "source %s" % (ROOT / "gdb" / "libdefer-gdb.py")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stub_session(exe, *cmds, env=None, timeout=120):
    """Run exe under qemu's gdbstub and gdb-multiarch with cmds after
    `target remote`; gdb's stdout and stderr.  No Python traceback."""
    port = free_port()
    e = dict(os.environ)
    e.pop("DEFER_TRACEBACK", None)
    e.update(env or {})
    q = subprocess.Popen(QEMU[:1] + ["-g", str(port)] + QEMU[1:] + [str(exe)], env=e,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        argv = GDB + ["-ex", "file %s" % exe, "-ex", "target remote 127.0.0.1:%d" % port]
        for c in cmds:
            argv += ["-ex", c]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    finally:
        q.kill()
        q.wait()
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "Python Exception" not in out, out
    return out


def expect_calls(out):
    """hold's two calls, newest first, owned by hold's frame; bt shows
    them under it."""
    lines = [l.strip() for l in out.splitlines()]
    defers = [l for l in lines if l.startswith("defer ")]
    assert defers[:2] == ["defer 1: release(n=8)  [pending]", "defer 2: release(n=7)  [pending]"], out
    assert any(l.startswith("#1 ") and " in hold (n=7) " in l for l in lines), out
    assert any(l.startswith("defer 1: release (n=8) at ") for l in lines), out


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_info_defers_and_bt_over_qemus_gdbstub(cc):
    exe = compile_program(HOLD, cc=cc, opt="-O0", link="static", name="hold", arch="aarch64")
    out = stub_session(exe, "break abort", "continue", "info defers all", "bt", "kill")
    expect_calls(out)


# A scope exit that runs a call (deferreturn), a recovered panic, then an
# unrecovered one, all on the main thread.
FLOW = r"""
#include <defer.h>
static volatile int sink;
__attribute__((noinline)) static void note(int n) { sink += n; }
__attribute__((noinline)) static void catcher(void) { if (recover()) sink++; }
__attribute__((noinline)) static void scoped(void)
{
	defer_frame;
	defer(note, 1);
	sink++;
}
__attribute__((noinline)) static void risky(void)
{
	defer_frame;
	defer(catcher);
	panic("risky: %d", 42);
}
int main(void)
{
	scoped();
	risky();
	defer_frame;
	defer(note, 2);
	panic("fatal: %s", "over the stub");
	return 0;
}
"""


@pytest.mark.parametrize("cc", ["gcc", "clang"])
@pytest.mark.parametrize("link", ["static", "shared"])
def test_catch_deferreturn_catch_panic_defer_step_and_fatal_stop_over_qemus_gdbstub(cc, link):
    exe = compile_program(FLOW, cc=cc, opt="-O0", link=link, name="flow", arch="aarch64")
    out = stub_session(exe, "catch deferreturn", "continue", "delete",
                       "defer step", "defer step",      # into note(1), through deferreturn
                       "catch panic ^risky", "continue",
                       "defer step", "defer step", "defer step",
                       "delete", "continue",            # the fatal stop
                       "info panics", "defer step", "kill")
    # The scope's exit: deferreturn (x0: the frame's mark) runs note(1);
    # defer step enters it, then steps out through deferreturn without
    # stopping in the runtime.
    assert re.search(r"Catchpoint \d+ \(deferreturn\), leaving scoped at \S+:\d+: "
                     r"runs note\(n=1\)$", out, re.M), out
    assert re.search(r"^defer step: entering note\(n=1\), deferred by scoped at \S+:\d+, "
                     r"run by the scope's exit$", out, re.M), out
    assert re.search(r"^defer step: scoped returned \(no deferred call", out, re.M), out
    # catch panic with a filter, then the whole panic: the call it runs,
    # the recover, the resume point.
    assert re.search(r'Catchpoint \d+ \(panic\), "risky: 42" raised in risky at \S+:\d+', out), out
    assert 'Catchpoint' not in out.split('"risky: 42"', 1)[1].split("Unrecovered")[0], out
    assert re.search(r'^defer step: entering catcher\(\), deferred by risky at \S+:\d+, '
                     r'run by panic "risky: 42"$', out, re.M), out
    assert re.search(r'^defer step: catcher recovered panic "risky: 42"$', out, re.M), out
    assert re.search(r"^defer step: the recovered panic resumes here \(return of risky\)$",
                     out, re.M), out
    # The fatal stop: after the panic ran main's note(2), before the exit.
    fatal = out.split("Unrecovered panic in thread 1", 1)
    assert len(fatal) == 2, out
    assert re.search(r'^  panic 1: "fatal: over the stub"  \[running\]$', fatal[1], re.M), out
    assert "no deferred call running" in fatal[1], out
    assert "defer step: this panic was not recovered" in fatal[1], out


# A deferred call pending in the frame a signal interrupted.
SIGNALLED = r"""
#include <signal.h>
#include <defer.h>
static volatile int sink;
__attribute__((noinline)) static void note(int n) { sink += n; }
__attribute__((noinline)) void inhandler(void) { sink++; }
static void onusr1(int s) { (void)s; inhandler(); }
__attribute__((noinline)) static void work(int n)
{
	defer_frame;
	defer(note, n);
	raise(SIGUSR1);
	sink++;
}
int main(void) { signal(SIGUSR1, onusr1); work(3); return 0; }
"""


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_bt_over_qemus_gdbstub_goes_through_a_signal_frame(cc):
    """qemu's gdbstub describes SVE registers of its largest vector length,
    the signal frame holds the program's: gdb 13 alone stops at the signal
    frame ("Invalid vector length"); libdefer_gdb/sigframe.py unwinds it."""
    exe = compile_program(SIGNALLED, cc=cc, opt="-O0", link="static", name="signalled",
                          arch="aarch64")
    out = stub_session(exe, "handle SIGUSR1 nostop noprint pass", "break inhandler",
                       "continue", "bt", "info defers", "kill")
    levels = dict((m.group(2), int(m.group(1)))
                  for m in re.finditer(r"^#(\d+) +(?:0x[0-9a-f]+ in )?(\w+) \(", out, re.M))
    assert {"inhandler", "onusr1", "raise", "work", "main"} <= set(levels), out
    assert re.search(r"^  defer 1: note\(n=3\)  \[pending\]\n +deferred by work at \S+, "
                     r"frame #%d$" % levels["work"], out, re.M), out
