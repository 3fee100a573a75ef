# SPDX-License-Identifier: MIT
"""A panic or goexit raised in a signal handler runs the cleanups of the
frames the signal interrupted, in order, whether the handler runs on the
thread's stack or on an alternate one above or below it.  scanframes read
the words from the panic's frame to the record's as one range: with the
alternate stack above, none (the panic's recovery jumped over inner's
cleanup, and goexit ran it after outer's call); below, across unmapped
memory (musl, where no word stopped the scan early: SIGSEGV); inside the
thread's own stack (a local array), with only the interrupted frame's
call having a landing pad, libgcc's walk skipped that frame, below the
array by address."""
import subprocess
from pathlib import Path

import pytest

from conftest import COMPILERS, MUSL_NO_LIBC_UNWIND, compile_program, compiler, not_on_musl, run

SCENARIOS = Path(__file__).parent / "scenarios"
SRC = SCENARIOS / "altcleanups.c"

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


@pytest.mark.parametrize("where", ["same", "alt"])
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_panic_on_a_local_array_alternate_stack_runs_the_cleanup_of_the_frame_below_it(
        cc, where, tmp_path):
    not_on_musl(MUSL_NO_LIBC_UNWIND)
    inner = tmp_path / "inner.o"
    subprocess.run(compiler(cc) + ["-O2", "-fexceptions", "-c", str(SCENARIOS / "altlocal_inner.c"),
                                   "-o", str(inner)], check=True)
    exe = compile_program(SCENARIOS / "altlocal.c", cc=cc, opt="-O2", extra=[str(inner)])
    r = run(exe, where)
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == \
        (0, ["inner: cleanup ran", "outer: recovered", "outer returned"], ""), r.stderr
