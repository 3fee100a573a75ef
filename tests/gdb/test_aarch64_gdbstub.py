# SPDX-License-Identifier: MIT
"""The gdb extension on an aarch64 program, with gdb-multiarch on this
x86-64 machine, live over qemu's gdbstub.
The extension takes the argument and stack-pointer registers by the
inferior's architecture (regs.py)."""
import socket
import subprocess

import pytest

from conftest import AARCH64_SYSROOT, QEMU, ROOT, compile_program
from test_aarch64_core import HOLD

GDB = ["gdb-multiarch", "-q", "-batch", "-nx", "-iex", "set auto-load safe-path /",
       "-ex", "set sysroot " + AARCH64_SYSROOT,
       "-ex", "source %s" % (ROOT / "gdb" / "libdefer-gdb.py")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    port = free_port()
    q = subprocess.Popen(QEMU[:1] + ["-g", str(port)] + QEMU[1:] + [str(exe)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = subprocess.run(GDB + ["-ex", "file %s" % exe, "-ex", "target remote :%d" % port,
                                  "-ex", "break abort", "-ex", "continue",
                                  "-ex", "info defers all", "-ex", "bt", "-ex", "kill"],
                           capture_output=True, text=True, timeout=120)
    finally:
        q.kill()
        q.wait()
    expect_calls(r.stdout)

