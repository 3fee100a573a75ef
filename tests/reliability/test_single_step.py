# SPDX-License-Identifier: MIT
"""gdb's view stays sane at every instruction of the runtime's hot paths:
records caught half-written mid-deferproc or mid-way through an open-coded
defer, half-unlinked mid-deferreturn, a panic half-pushed mid-gopanic."""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, compile_program

HERE = Path(__file__).parent


@pytest.mark.parametrize("cc,opt", [("gcc", "-O0"), ("clang", "-O2")])
def test_info_defers_and_panics_at_every_instruction_of_the_runtime(cc, opt):
    exe = compile_program(HERE / "scenarios" / "stepped.c", cc=cc, opt=opt)
    r = subprocess.run(["gdb", "-nx", "-batch", "-iex", "set pagination off",
                        "-iex", "source %s" % (ROOT / "gdb" / "libdefer-gdb.py"),
                        "-iex", "set defer stop-on-fatal-panic off",
                        "-ex", "source %s" % (HERE / "stepper.py"), str(exe)],
                       capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    m = re.search(r"STEPPED deferproc=(\d+) deferreturn=(\d+) frames=(\d+) gopanic=(\d+)", out)
    assert m, out
    counts = dict(zip(("deferproc", "deferreturn", "frames", "gopanic"), map(int, m.groups())))
    # 8 defers through deferproc (no g yet, the mark's record, the pool),
    # 5 frame exits (loops among them), 2 panics, 2 calls of frames() (the
    # second open-codes its first defer and a pool one): each path was walked
    assert counts["deferproc"] >= 8 * 15 and counts["deferreturn"] >= 50, counts
    assert counts["gopanic"] >= 50 and counts["frames"] >= 2 * 20, counts
    assert "PROBLEMS 0" in out, out
    assert "done" in out
