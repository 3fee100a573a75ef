# SPDX-License-Identifier: MIT
"""A frame's later defer() calls with exact argument types are open-coded
too: they take a record from the thread's pool at the defer site, without
calling deferproc, and are on the chain as fully as deferproc's records."""
import re

import pytest

from gdbtest import compile_program, defers_of, gdb

SRC = r"""
#include <stdio.h>
#include <defer.h>

__attribute__((noinline)) void step(long n) { printf("step %ld\n", n); }
__attribute__((noinline)) void checkpoint(void) { __asm__ volatile(""); }

__attribute__((noinline)) static void three(long a)
{
	defer_frame;
	defer(step, a);
	defer(step, a + 1);
	defer(step, a + 2);
	checkpoint();
}

int main(void)
{
	three(10);  /* the thread's g and pool exist from here on */
	three(20);
	return 0;
}
"""


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_later_defers_take_pool_records_without_deferproc_and_are_listed(cc):
    exe = compile_program(SRC, cc=cc, opt="-O2", name="later_" + cc)
    # The second call of three(): its g and pool exist, so none of its
    # defers needs deferproc; the first call's made the pool.
    out = gdb("break checkpoint", "run", "break deferproc", "continue",
              "info defers", "continue", exe=exe)
    assert out.count("Breakpoint 2, ") == 0, out
    ds = defers_of(out)
    assert [d[1] for d in ds] == ["step(n=22)", "step(n=21)", "step(n=20)"], out
    assert all(d[2] == "pending" and d[3] == "three" for d in ds), out
    assert re.findall(r"^step (\d+)$", out, re.M) == ["12", "11", "10", "22", "21", "20"], out
