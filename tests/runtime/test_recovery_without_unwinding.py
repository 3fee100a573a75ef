# SPDX-License-Identifier: MIT
"""A recovery into a frame with defer_result() finds the owner's frames
without unwinding (defer_result noted the owner's CFA); what the unwind
also found, a signal handler's frame the jump leaves, it must still find:
the signal would stay blocked otherwise."""
import signal

from conftest import MUSL_NO_LIBC_UNWIND, not_on_musl
from test_runtime import ok, prog  # noqa: F401
from test_runtime import variant  # noqa: F401  (the variant fixture)


def test_recovery_at_defer_result_leaving_a_handler_unblocks_the_signal(variant):
    not_on_musl(MUSL_NO_LIBC_UNWIND)     # raise(); test_musl.py has the real fault
    out = ok(prog("signals", variant), "handler_result").splitlines()
    caught = ["catch: handler got signal %d" % s for s in
              (signal.SIGSEGV,) * 2 + (signal.SIGBUS,) * 2 + (signal.SIGFPE,) * 2]
    assert out == (caught + ["blocked afterwards: 0 0 0"] +
                   caught + ["blocked afterwards (alternate stack): 0 0 0", "main: done"])
