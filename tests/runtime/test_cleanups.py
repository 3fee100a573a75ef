# SPDX-License-Identifier: MIT
"""The cleanups of the frames a recovered panic crosses.  Without landing
pads (C built without -fexceptions) a panic drops the frames it crosses
as longjmp does: their __attribute__((cleanup)) variables do not run;
only libdefer's deferred calls do.  With -fexceptions it unwinds them and
every cleanup runs, in order (test_panic_runs_crossed_cleanups.py has the
interleavings)."""
import shutil
from pathlib import Path

import pytest

from conftest import COMPILERS, OPTS, run

SCEN = Path(__file__).parent / "scenarios" / "crossed.c"

# inner's deferred call runs; no cleanup of inner or middle does; the
# recovering frame resumes at defer_result and returns through the
# cleanups in scope there; without defer_result it returns by unwinding,
# running none of its own.
EXPECTED = [
    "defer inner",
    "cleanup before-defer_result",
    "withresult -1",
    "defer inner",
    "end",
]

# With landing pads every frame's cleanups run, innermost first, and the
# recovering frames' own (before and after defer_result) once each.
UNWOUND = [
    "defer inner",
    "cleanup inner",
    "cleanup middle",
    "cleanup after-defer_result",
    "cleanup before-defer_result",
    "withresult -1",
    "defer inner",
    "cleanup inner",
    "cleanup middle",
    "cleanup noresult",
    "end",
]


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_a_recovered_panic_skips_the_cleanup_variables_of_frames_without_landing_pads(build, cc, opt):
    r = run(build(SCEN, cc=cc, opt=opt))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines() == EXPECTED


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_a_recovered_panic_runs_the_cleanup_variables_of_frames_built_with_fexceptions(build, cc, opt):
    r = run(build(SCEN, cc=cc, opt=opt, extra=["-fexceptions"]))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines() == UNWOUND


@pytest.mark.skipif(not shutil.which("clang-22"), reason="clang-22 not installed")
@pytest.mark.parametrize("opt", OPTS)
def test_a_recovered_panic_runs_the_defer_ts_blocks_of_the_frames_it_crosses(build, opt):
    r = run(build(SCEN, cc="clang-22", opt=opt,
                  extra=["-fdefer-ts", "-DDEFER_TS", "-fexceptions"]))
    assert (r.returncode, r.stderr) == (0, "")
    unwound = list(UNWOUND)
    unwound.insert(0, "_Defer inner")
    unwound.insert(7, "_Defer inner")
    assert r.stdout.splitlines() == unwound
