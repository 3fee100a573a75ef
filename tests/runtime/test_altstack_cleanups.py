# SPDX-License-Identifier: MIT
"""A panic or goexit raised in a signal handler runs the cleanups of the
frames the signal interrupted, in order, whether the handler runs on the
thread's stack or on an alternate one above it (scanframes: the panic's
frame then lies above the record's, and the words between are not one
range; it skipped the landing pads, so the panic's recovery jumped over
inner's cleanup, and goexit ran it after outer's call)."""
import pytest

from conftest import COMPILERS, MUSL_NO_LIBC_UNWIND, compile_program, not_on_musl, run
from pathlib import Path

SRC = Path(__file__).parent / "scenarios" / "altcleanups.c"

SAYS = {
    "panic": ["inner: cleanup ran", "outer: recovered", "outer returned"],
    "goexit": ["inner: cleanup ran", "outer: not recovered", "thread ended"],
}


@pytest.mark.parametrize("action", sorted(SAYS))
@pytest.mark.parametrize("where", ["same", "alt"])
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_panic_in_a_signal_handler_runs_the_interrupted_frames_cleanups_first(cc, where, action):
    not_on_musl(MUSL_NO_LIBC_UNWIND)  # raise() is a libc call
    exe = compile_program(SRC, cc=cc, opt="-O2", extra=["-fexceptions"])
    r = run(exe, where, action)
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == (0, SAYS[action], ""), r.stderr
