# SPDX-License-Identifier: MIT
"""A panic through N deferring frames costs instructions linear in N.
Each record's check for frames with landing pads used to scan the stack
from the panic up to the record's frame: O(N^2) words (a panic through
10,000 frames took 7.5 s); and in an executable with LSDAs anywhere, each
record asked the unwinder, whose walk starts at the top (1,200 frames:
1.2 billion instructions).  Counted by callgrind, so the figures do not
depend on the machine's load: the cost of the second N frames against
the first's."""
import re
import shutil
import subprocess

import pytest

from conftest import compile_program, command, on_host
from pathlib import Path

SRC = Path(__file__).parent / "scenarios" / "deeppanic.c"


def instructions(exe, n):
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
                       + command(exe) + [str(n)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout == "ran %d\n" % (n + 1), r.stdout + r.stderr
    return int(re.search(r"Collected : (\d+)", r.stderr).group(1))


def linear(exe):
    a, b, c = (instructions(exe, n) for n in (300, 600, 1200))
    # linear: the second 600 frames cost what the first 300 did, twice;
    # quadratic would be four times
    assert (c - b) / (b - a) < 2.5, (a, b, c)


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_a_panic_through_n_deferring_frames_costs_instructions_linear_in_n(opt):
    on_host("valgrind has no arm64 tool here (it runs the host's programs only)")
    linear(compile_program(SRC, opt=opt))


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_the_same_in_an_executable_with_landing_pads_elsewhere(opt, tmp_path):
    on_host("valgrind has no arm64 tool here (it runs the host's programs only)")
    obj = tmp_path / "withcleanup.o"
    subprocess.run(["gcc", "-O2", "-fexceptions", "-c", str(SRC.parent / "withcleanup.c"),
                    "-o", str(obj)], check=True)
    linear(compile_program(SRC, opt=opt, extra=[str(obj)], name="deeppanic-lsda"))
