# SPDX-License-Identifier: MIT
"""Reliability of the runtime under load and faults (issue: reliability).
Each test asserts the figure the README's Reliability section quotes."""
import re
import signal
from pathlib import Path

import pytest

from conftest import ARCH, compile_program, cross, run

SCEN = Path(__file__).parent / "scenarios"

# Under qemu (DEFER_TEST_ARCH=aarch64) the same books are checked at a
# reduced size: the emulator runs this work 20 to 50 times slower.
QEMU = cross(ARCH)


def size(native, qemu):
    return qemu if QEMU else native


def prog(name, link="static", opt="-O2", cc="gcc"):
    return compile_program(SCEN / f"{name}.c", cc=cc, opt=opt, link=link)


def stats(out):
    return {k: int(v) for k, v in re.findall(r"(\w[\w ]*?)=(-?\d+)", out)}


def test_64_threads_million_defers_and_10000_panics_each_keep_their_books():
    threads, defers = size(64, 8), size(1_000_000, 20_000)
    r = run(prog("stress"), threads, defers, size(10_000, 500), timeout=300)
    assert r.returncode == 0, r.stderr
    s = stats(r.stdout)
    assert s["threads"] == threads and s["failed"] == 0
    assert s["deferred calls run"] >= threads * defers
    assert s["allgs live"] == 0          # every thread's record is marked dead


def test_stress_is_clean_under_address_and_leak_sanitizer():
    r = run(prog("stress", link="sanitize", opt="-O1"), 16, 100_000, 2_000, timeout=300,
            env={"ASAN_OPTIONS": "detect_leaks=1"})
    assert r.returncode == 0, r.stderr
    assert stats(r.stdout)["failed"] == 0


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_stress_is_clean_under_thread_sanitizer(cc):
    r = run(prog("stress", link="tsan", opt="-O1", cc=cc), 8, 50_000, 1_000, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "ThreadSanitizer" not in r.stderr
    assert stats(r.stdout)["failed"] == 0


def test_10000_threads_churn_with_flat_memory_and_reused_records():
    threads = size(10_000, 1_000)
    r = run(prog("churn"), threads, 8, timeout=300)
    assert r.returncode == 0, r.stderr
    s = stats(r.stdout)
    assert s["ran"] == threads * 100
    assert s["allgs entries"] <= 8 + 1       # dead entries are reused
    if QEMU:
        # qemu-user keeps about 250 kB for every thread that ever ran (a
        # plain pthread program's resident memory grows the same), so
        # there the resident size says nothing about the runtime.
        return
    grew = s["at the end"] - s["rss after 88 threads"]
    assert grew < 2048, f"resident memory grew by {grew} kB over 10,000 threads"


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_10000_nested_frames_panic_at_the_bottom_recovered_at_the_top(cc):
    depth = size(10_000, 500)
    r = run(prog("deep", cc=cc), depth)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["recovered at the top: bottom of 10000 frames",
                                     "top returned 0, %d deferred calls ran" % depth]


STACK_OVERFLOW = r"""
#include <defer.h>
static void nop(int *x) { (void)x; }
static int down(int n)
{
	int buf[64];
	defer_frame;
	if (n < 0)
		return 0;
	buf[0] = n;
	defer(nop, buf);
	return down(n + 1) + buf[n & 63];
}
int main(void) { return down(0); }
"""


def test_stack_overflow_in_a_deferring_frame_is_reported():
    exe = compile_program(STACK_OVERFLOW, opt="-O0", name="overflow")
    r = run(exe)
    assert r.returncode == -signal.SIGABRT
    assert r.stderr.startswith("fatal error: stack overflow\n\nthread ")
    pending = int(re.search(r"(\d+) deferred call\(s\) pending, not run", r.stderr).group(1))
    assert pending > 1000


@pytest.mark.parametrize("cc", ["gcc", "clang"])   # two ways to reach deferproc
def test_a_signal_handler_that_defers_does_not_corrupt_the_chain(cc):
    r = run(prog("signals", cc=cc), "handler", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    s = stats(r.stdout)
    assert s["handler calls"] >= 100 and "BAD" not in r.stdout and s["chain empty"] == 1


def test_fork_with_calls_pending_gives_the_child_a_consistent_chain():
    r = run(prog("signals"), "fork")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert "child: allgs live=1 tid matches=1" in lines
    # each process runs its own copies, newest first
    for who in ("child", "parent"):
        i = lines.index(f"{who}: second deferred")
        assert lines[i + 1] == "parent or child: first deferred"
