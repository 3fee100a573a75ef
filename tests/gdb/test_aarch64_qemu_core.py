# SPDX-License-Identifier: MIT
"""gdb-multiarch on cores qemu-user writes for aarch64 programs.

qemu writes no NT_FILE note and leaves read-only file pages out, so gdb
does not place a PIE program (libdefer_gdb/qemucore.py), and it writes SVE
records into signal frames but no SVE registers into the core, on which
gdb 13's signal-frame unwinder loops forever (libdefer_gdb/sigframe.py)."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import QEMU, ROOT, compile_program
from test_aarch64_core import HOLD
from test_aarch64_gdbstub import GDB

MATRIX_C = ROOT / "tests" / "reliability" / "scenarios" / "matrix.c"


def qemu_core(exe, cwd, env=None):
    """The guest core qemu writes when exe aborts (qemu's own is removed)."""
    e = dict(os.environ)
    e.pop("DEFER_TRACEBACK", None)
    e.update(env or {})
    subprocess.run(["sh", "-c", 'ulimit -c unlimited; exec "$@"', "sh", *QEMU, str(exe)],
                   cwd=cwd, env=e, capture_output=True, timeout=120)
    cores = [p for p in Path(cwd).iterdir() if p.name.startswith("qemu_")]
    for p in Path(cwd).iterdir():
        if p.name == "core" or p.name.startswith("core."):
            p.unlink()
    assert len(cores) == 1, list(Path(cwd).iterdir())
    return cores[0]


def gdb_core(exe, core, *cmds):
    argv = GDB + [str(exe), str(core)]
    for c in cmds:
        argv += ["-ex", c]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "Python Exception" not in out, out
    return out


@pytest.mark.parametrize("link", ["static", "shared"])
def test_gdb_places_a_pie_in_a_qemu_core_by_its_at_entry(link, tmp_path):
    exe = compile_program(HOLD, cc="gcc", opt="-O0", link=link, name="hold", arch="aarch64")
    core = qemu_core(exe, tmp_path)
    out = gdb_core(exe, core, "info defers", "bt", "info sharedlibrary")
    assert re.search(r"^libdefer: this core has no file mappings .*: loaded \S+ at 0x[0-9a-f]+, "
                     r"by the core's AT_ENTRY$", out, re.M), out
    # hold's two calls, newest first, owned by hold's frame, under it in bt.
    assert re.search(r"^  defer 1: release\(n=8\)  \[pending\]\n.*, frame #(\d+)\n"
                     r"  defer 2: release\(n=7\)  \[pending\]\n", out, re.M), out
    assert re.search(r"^#\d+ +0x[0-9a-f]+ in hold \(n=7\) .*\n +defer 1: release \(n=8\) at ",
                     out, re.M), out
    # The libraries came from the link_map in the core's memory.
    assert re.search(r"^0x[0-9a-f]+ +0x[0-9a-f]+ +Yes.*/libc\.so\.6$", out, re.M), out
    if link == "shared":
        assert re.search(r"^0x[0-9a-f]+ +0x[0-9a-f]+ +Yes +\S*/build/aarch64/libdefer\.so\.1\S*$",
                         out, re.M), out


def test_bt_of_a_qemu_core_thread_in_a_signal_handler_ends_and_owns_nothing(tmp_path):
    """The crash report stops the workers in a SIGURG handler: bt goes from
    the handler through the signal frame to the interrupted pause()."""
    exe = compile_program(MATRIX_C, cc="gcc", opt="-O0", link="static", arch="aarch64")
    core = qemu_core(exe, tmp_path, env={"DEFER_TRACEBACK": "crash"})
    out = gdb_core(exe, core, "info defers all", "thread apply all bt")
    workers = re.findall(r"^#\d+ .*\bonurg \(.*\n#\d+ .*\n#\d+ +0x[0-9a-f]+ in pause \(", out, re.M)
    assert len(workers) == 3, out
    # gdb stops after pause() (a Python unwinder's frame is a normal frame,
    # and the handler's stack is above the thread's): the workers' calls
    # are owned by no frame, not by a frame of the handler.
    owners = re.findall(r"deferred by worker at \S+, (frame [#\w]+)", out)
    assert owners == ["frame unknown"] * 6, out
