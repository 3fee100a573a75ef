# SPDX-License-Identifier: MIT
"""The runtime's frame walker (libdefer/src/cfiwalk.c), which finds the
owner's caller for a recovery without defer_result from the frames' CFI
rules instead of libgcc's unwinder: for every frame libgcc reaches from a
deep stack of frames of many shapes (callee-saved registers kept live,
doubles kept live, alloca, recursion, two epilogues, libc's qsort between),
the caller's pc, stack pointer and every callee-saved register must be
libgcc's, with the rule cache cold and then warm; past a signal frame it
must decline (libgcc then walks) rather than answer wrong.

Also: realigned, variable-sized, huge and vector frames and more distinct
return addresses than the cache has entries, under several code
generation flags; C++ frames (landing pads, std::sort, libstdc++'s
call_once); a shared library unloaded and another loaded at its address
with another rule at the same return address; code made at run time and
replaced at the same address (tables registered by hand, no object
unloaded), and FDE pointers given indirectly; tables no compiler makes, which must be declined without a
crash or a hang.

End to end (scenarios/cfirecover.c): after recoveries without
defer_result, through owners and frames of those shapes, from threads at
once, in and across signal handlers and from faults, every value the
owner's caller kept live across the panicking call must be intact."""
import re
from pathlib import Path

import pytest

from conftest import (ARCH, COMPILERS, LIBC, LINKS, MUSL_NO_LIBC_UNWIND, OPTS, compile_program,
                      run)

SRC = Path(__file__).parent / "scenarios" / "cfiwalk.c"
LIB = Path(__file__).parent / "scenarios" / "cfiwalk_lib.c"
RECOVER = Path(__file__).parent / "scenarios" / "cfirecover.c"
# musl's libc has no unwind tables: no recovery through its qsort.
NOLIBC = ["nolibc"] if LIBC == "musl" else []


def counts(cc, opt, mode, extra=(), std="gnu11", args=()):
    exe = compile_program(SRC, cc=cc, opt=opt, link="static", extra=list(extra), std=std)
    r = run(exe, mode, *args)
    m = re.search(r"^checked (\d+) declined (\d+) wrong (\d+)$", r.stdout, re.M)
    assert r.returncode == 0 and m, r.stdout + r.stderr
    return tuple(map(int, m.groups())), r.stdout


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_every_frames_caller_is_found_as_libgcc_finds_it(cc, opt):
    (checked, declined, wrong), _ = counts(cc, opt, "plain")
    assert (declined, wrong) == (0, 0) and checked >= 20, (checked, declined, wrong)


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_frames_beyond_a_signal_frame_are_left_to_libgcc(cc, opt):
    (checked, declined, wrong), _ = counts(cc, opt, "signal")
    assert wrong == 0 and checked >= 10 and declined >= 2, (checked, declined, wrong)


# The shapes' frames, innermost first: 80 distinct chain functions, a VLA,
# vector locals, a stack realigned for 64-byte locals, a huge frame; then
# the frames the walker may decline (gcc realigns the DRAP frame through an
# expression) and what lies beyond them: at most 8 frames, twice each.
SHAPE_FLAGS = [[], ["-fomit-frame-pointer"], ["-fno-omit-frame-pointer"]]
if ARCH == "x86_64":
    SHAPE_FLAGS += [["-mavx2"]]


@pytest.mark.parametrize("flags", SHAPE_FLAGS, ids=lambda f: " ".join(f) or "default")
@pytest.mark.parametrize("opt", OPTS + ["-O3", "-Os"])
@pytest.mark.parametrize("cc", COMPILERS)
def test_realigned_variable_huge_and_many_frames_are_answered_as_libgcc(cc, opt, flags):
    (checked, declined, wrong), out = counts(cc, opt, "shapes", flags)
    assert wrong == 0 and checked >= 2 * 84 and declined <= 2 * 8, out


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("cc", ["g++", "clang++"])
def test_cxx_frames_with_landing_pads_and_libstdcxx_callbacks_are_answered_as_libgcc(cc, opt):
    if LIBC == "musl":
        pytest.skip("musl: no C++ set-up for musl-gcc here")
    (checked, declined, wrong), out = counts(cc, opt, "cxx", std="gnu++17")
    assert (declined, wrong) == (0, 0) and checked >= 2 * 15, out


@pytest.mark.parametrize("cc", COMPILERS)
def test_a_rule_cached_for_an_unloaded_library_is_not_used_for_the_next(cc, tmp_path):
    """liba and libb put their call's return address at the same offset
    with different rules; the program walks through liba's frame, unloads
    it, loads libb (at the same address) and walks through libb's."""
    libs = []
    for v in "AB":
        libs.append(compile_program(LIB, cc=cc, opt="-O2", link="none", name="cfiwalk_lib",
                                    extra=["-shared", "-fPIC", "-nostartfiles",
                                           "-DVARIANT_" + v]))
    (checked, declined, wrong), out = counts(cc, "-O2", "dlopen", ["-ldl"], args=libs)
    assert "loaded at the same address" in out, out
    assert (declined, wrong) == (0, 0) and checked >= 2 * 8, out


@pytest.mark.parametrize("cc", COMPILERS)
def test_code_replaced_at_the_same_address_is_not_answered_from_the_old_rule(cc):
    """Tables registered by hand (__register_frame) for code made at run
    time, then other code and tables at the same address, at 8 places;
    then tables whose FDE pointers are indirect (DW_EH_PE_indirect: the
    address of a word holding the function's start), which libgcc follows:
    read as direct, the epilogue's rows would apply at the return
    address."""
    if ARCH != "x86_64":
        pytest.skip("%s: the scenario's run-time code is x86-64 machine code" % ARCH)
    (checked, declined, wrong), out = counts(cc, "-O2", "jit")
    assert (declined, wrong) == (0, 0) and checked >= 2 * 8 * 8, out


@pytest.mark.parametrize("cc", COMPILERS)
def test_tables_no_compiler_makes_are_declined_without_a_crash_or_a_hang(cc):
    if ARCH != "x86_64":
        pytest.skip("%s: the scenario's run-time code is x86-64 machine code" % ARCH)
    exe = compile_program(SRC, cc=cc, opt="-O2", link="static")
    r = run(exe, "garbage", timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.findall(r"^bad\d: (\w+)$", r.stdout, re.M) == ["declined"] * 6, r.stdout


def recovered(mode, *args, cc="gcc", opt="-O2", link="static", timeout=120, env=None):
    """Run cfirecover in mode; its "mode: ok N" count (a register the walker
    restored wrong shows as WRONG, a crash or a hang)."""
    exe = compile_program(RECOVER, cc=cc, opt=opt, link=link)
    r = run(exe, mode, *args, *NOLIBC, timeout=timeout, env=env)
    m = re.search(r"^%s: ok (\d+)$" % mode, r.stdout, re.M)
    assert r.returncode == 0 and m, r.stdout + r.stderr
    return int(m.group(1)), r


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_recovered_owners_caller_keeps_every_live_value_whatever_the_owners_shape(cc, opt, link):
    n, _ = recovered("frames", cc=cc, opt=opt, link=link)
    assert n == 6 * 200


@pytest.mark.parametrize("cc", COMPILERS)
def test_threads_recovering_at_once_each_keep_their_callers_values(cc):
    n, _ = recovered("threads", 8, cc=cc, timeout=300)
    assert n == 8 * 6 * 200


@pytest.mark.parametrize("cc", COMPILERS)
def test_threads_recovering_at_once_are_quiet_under_thread_sanitizer(cc):
    n, r = recovered("threads", 8, cc=cc, opt="-O1", link="tsan", timeout=300)
    assert n == 8 * 6 * 200 and "ThreadSanitizer" not in r.stderr, r.stderr


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_recovery_inside_a_signal_handler_keeps_the_callers_values_on_either_stack(cc, opt):
    n, _ = recovered("handler", cc=cc, opt=opt)
    assert n == 2 * 3 * 6 * 5


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_recovery_that_leaves_a_signal_handler_keeps_the_callers_values(cc, opt):
    if LIBC == "musl":
        pytest.skip(MUSL_NO_LIBC_UNWIND)
    n, _ = recovered("outside", cc=cc, opt=opt)
    assert n == 2 * 50


@pytest.mark.parametrize("cc", COMPILERS)
def test_a_fault_recovered_without_defer_result_keeps_the_callers_values(cc):
    n, _ = recovered("fault", cc=cc)
    assert n == 200
