# SPDX-License-Identifier: MIT
"""The cleanups of the frames a recovered panic crosses: today's
documented limit (issue 12 point 4 is open).  A panic drops the frames it
crosses as longjmp does, with or without unwind tables (-fexceptions):
their __attribute__((cleanup)) variables and clang-22 _Defer blocks do
not run; only libdefer's deferred calls do.  When panics run those
cleanups, these tests must change with the docs."""
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


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("eh", [[], ["-fexceptions"]], ids=["plain", "fexceptions"])
def test_a_recovered_panic_skips_the_cleanup_variables_of_the_frames_it_crosses(build, cc, opt, eh):
    r = run(build(SCEN, cc=cc, opt=opt, extra=eh))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines() == EXPECTED


@pytest.mark.skipif(not shutil.which("clang-22"), reason="clang-22 not installed")
@pytest.mark.parametrize("opt", OPTS)
def test_a_recovered_panic_skips_the_defer_ts_blocks_of_the_frames_it_crosses(build, opt):
    r = run(build(SCEN, cc="clang-22", opt=opt,
                  extra=["-fdefer-ts", "-DDEFER_TS", "-fexceptions"]))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines() == EXPECTED
