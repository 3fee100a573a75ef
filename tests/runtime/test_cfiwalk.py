# SPDX-License-Identifier: MIT
"""The runtime's frame walker (libdefer/src/cfiwalk.c), which finds the
owner's caller for a recovery without defer_result from the frames' CFI
rules instead of libgcc's unwinder: for every frame libgcc reaches from a
deep stack of frames of many shapes (callee-saved registers kept live,
doubles kept live, alloca, recursion, two epilogues, libc's qsort between),
the caller's pc, stack pointer and every callee-saved register must be
libgcc's, with the rule cache cold and then warm; past a signal frame it
must decline (libgcc then walks) rather than answer wrong."""
import re
from pathlib import Path

import pytest

from conftest import COMPILERS, OPTS, compile_program, run

SRC = Path(__file__).parent / "scenarios" / "cfiwalk.c"


def counts(cc, opt, mode):
    r = run(compile_program(SRC, cc=cc, opt=opt, link="static"), mode)
    m = re.search(r"^checked (\d+) declined (\d+) wrong (\d+)$", r.stdout, re.M)
    assert r.returncode == 0 and m, r.stdout + r.stderr
    return tuple(map(int, m.groups()))


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_every_frames_caller_is_found_as_libgcc_finds_it(cc, opt):
    checked, declined, wrong = counts(cc, opt, "plain")
    assert (declined, wrong) == (0, 0) and checked >= 20, (checked, declined, wrong)


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_frames_beyond_a_signal_frame_are_left_to_libgcc(cc, opt):
    checked, declined, wrong = counts(cc, opt, "signal")
    assert wrong == 0 and checked >= 10 and declined >= 2, (checked, declined, wrong)
