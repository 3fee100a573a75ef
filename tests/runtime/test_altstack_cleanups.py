# SPDX-License-Identifier: MIT
"""A panic or goexit raised in a signal handler runs the cleanups of the
frames the signal interrupted, in order, whether the handler runs on the
thread's stack or on an alternate one above or below it.  scanframes read
the words from the panic's frame to the record's as one range: with the
alternate stack above, none (the panic's recovery jumped over inner's
cleanup, and goexit ran it after outer's call); below, across unmapped
memory (musl, where no word stopped the scan early: SIGSEGV)."""
from pathlib import Path

import pytest

from conftest import COMPILERS, MUSL_NO_LIBC_UNWIND, compile_program, not_on_musl, run

SRC = Path(__file__).parent / "scenarios" / "altcleanups.c"

SAYS = {
    "panic": ["inner: cleanup ran", "outer: recovered", "outer returned"],
    "goexit": ["inner: cleanup ran", "outer: not recovered", "thread ended"],
    "result": ["outer: recovered", "outer returned"],
}
WHERE = ["same", "alt", "below"]


def says(exe, where, action):
    r = run(exe, where, action)
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == (0, SAYS[action], ""), r.stderr


@pytest.mark.parametrize("action", sorted(SAYS))
@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_panic_in_a_signal_handler_runs_the_interrupted_frames_cleanups_first(cc, where, action):
    not_on_musl(MUSL_NO_LIBC_UNWIND)  # raise() is a libc call
    says(compile_program(SRC, cc=cc, opt="-O2", extra=["-fexceptions"]), where, action)


@pytest.mark.parametrize("where", WHERE)
def test_a_musl_panic_on_an_alternate_stack_below_the_threads_reaches_the_interrupted_frame(where):
    """Without -fexceptions no word points into an object with LSDAs (musl's
    libc has none), so nothing stopped the scan before unmapped memory."""
    says(compile_program(SRC, opt="-O2", libc="musl", name="altcleanups_musl"), where, "result")
