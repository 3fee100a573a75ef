# SPDX-License-Identifier: MIT
"""A panic that crosses frames built with landing pads (-fexceptions in C,
always in C++) runs their cleanups: cleanup variables, pthread_cleanup_push
handlers, clang-22 _Defer blocks and C++ destructors, in the compiler's
order, innermost first, with each defer_frame's calls where its own
cleanup stands (issue 12 point 4).  Frames without landing pads keep the
old behaviour: their deferred calls run, nothing else."""
import re
import shutil
import subprocess

import pytest

from conftest import (COMPILERS, LIBC, MUSL_NO_LIBC_UNWIND, MUSL_TWO_UNWINDERS, OPTS, compiler,
                      not_on_musl, on_host, run)
from test_runtime import SCEN

C = SCEN / "unwinding.c"
CXX = SCEN / "unwinding.cc"
EH = ["-fexceptions", "-lpthread"]

# inner: c, defer_frame, d, defer 1, [_Defer], defer 2, pthread_cleanup_push;
# middle: c, { defer_frame, defer, b }; outer: c, defer_frame,
# defer_result, d, defer, defer(catch_set).
CROSSED = [
    "pthread_cleanup inner",
    "cleanup inner after defer_frame",
    "defer inner 2",
    "defer inner 1",
    "cleanup inner before defer_frame",
    "cleanup middle block",
    "defer middle block",
    "cleanup middle",
]
# musl's pthread_cleanup_push keeps a list that only pthread_exit and
# cancellation run: no landing pad, so an unwind passes it by.
PTHREAD_CLEANUP = [] if LIBC == "musl" else ["pthread_cleanup inner"]
if LIBC == "musl":
    CROSSED.remove("pthread_cleanup inner")
ORDER = CROSSED + [
    "cleanup outer after defer_result",
    "catch: boom",
    "defer outer",
    "cleanup outer before defer_frame",
    "outer returned 42",
]


def lines(r):
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert r.stderr == ""
    return r.stdout.splitlines()


def mode(build, cc, opt, name, link="static"):
    """unwinding.c, built with landing pads, run in mode `name`."""
    return run(build(C, cc=cc, opt=opt, link=link, extra=EH), name)


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("link", ["static", "shared", "sanitize"])
def test_cleanups_and_deferred_calls_of_crossed_frames_run_innermost_first(build, cc, opt, link):
    if link == "shared":
        not_on_musl(MUSL_TWO_UNWINDERS)
    assert lines(run(build(C, cc=cc, opt=opt, link=link, extra=EH), "order")) == ORDER


@pytest.mark.parametrize("cc", COMPILERS)
def test_a_frame_without_defer_result_returns_after_its_cleanups_ran(build, cc):
    assert lines(run(build(C, cc=cc, opt="-O2", extra=EH), "noresult")) == CROSSED + [
        "catch: boom", "cleanup noresult", "noresult returned"]


@pytest.mark.parametrize("cc", COMPILERS)
def test_a_floating_defer_result_is_returned_after_unwinding(build, cc):
    assert lines(run(build(C, cc=cc, opt="-O2", extra=EH), "double")) == [
        "withdouble returned 2.5"]


@pytest.mark.skipif(not shutil.which("clang-22"), reason="clang-22 not installed")
@pytest.mark.parametrize("opt", OPTS)
def test_defer_ts_blocks_of_crossed_frames_run_in_scope_order(build, opt):
    exe = build(C, cc="clang-22", opt=opt, extra=EH + ["-fdefer-ts", "-DDEFER_TS"])
    order = list(ORDER)
    order.insert(1, "_Defer inner")
    assert lines(run(exe, "order")) == order


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind not installed")
def test_a_thousand_unwinding_panics_leak_nothing(build):
    on_host("valgrind has no arm64 tool here (it runs the host's programs only)")
    exe = build(C, cc="gcc", opt="-O2", extra=EH)
    # Only the thread's record and pool stay (reachable) until the end.
    r = subprocess.run(["valgrind", "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect,possible",
                        "--error-exitcode=9", str(exe), "repeat"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["sum 2500"]
    assert "definitely lost: 0 bytes" in r.stderr or "All heap blocks were freed" in r.stderr


def test_a_thousand_unwinding_panics_are_clean_under_asan(build):
    exe = build(C, cc="clang", opt="-O1", link="sanitize", extra=EH)
    assert lines(run(exe, "repeat")) == ["sum 2500"]


@pytest.mark.parametrize("cc", COMPILERS)
def test_an_unrecovered_panic_runs_every_cleanup_then_reports_the_panic_sites_stack(build, cc):
    r = run(build(C, cc=cc, opt="-O0", extra=EH), "fatal")
    assert r.returncode == 2
    assert r.stdout.splitlines() == CROSSED
    assert r.stderr.startswith("panic: boom\n")
    # The stack the panic had, not the unwinder's that is left.
    # (the runtime's frames folded away, the panic site's frame first, as Go
    # prints it).
    assert re.search(r"\[running\]:\ninner\(\.\.\.\)\n\t[^\n]*\nmiddle\(\.\.\.\)\n", r.stderr), r.stderr
    assert "_Unwind" not in r.stderr
    assert r.stderr.count("\ninner(...)") == 1     # once, though its landing pad resumed


@pytest.mark.parametrize("cc", COMPILERS)
def test_plain_frames_between_run_their_calls_but_no_cleanups(build, cc, tmp_path):
    obj = tmp_path / "nofexc.o"
    subprocess.run(compiler(cc) + ["-O2", "-c", str(SCEN / "nofexc.c"), "-o", str(obj)],
                   check=True)
    assert lines(run(build(C, cc=cc, opt="-O2", extra=EH + ["-DWITH_PLAIN", str(obj)]), "mixed")) == PTHREAD_CLEANUP + [
        "cleanup inner after defer_frame",
        "defer inner 2",
        "defer inner 1",
        "cleanup inner before defer_frame",
        "defer plain",
        "defer plain",
        "catch: boom",
        "cleanup mixed",
        "mixed returned 42",
    ]


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_a_panic_recovered_inside_a_call_an_unwinding_panic_runs_leaves_the_first_going(build, cc, opt):
    assert lines(run(build(C, cc=cc, opt=opt, extra=EH), "nested")) == [
        "catch: second",
        "cleanup second",
        "second returned",
        "catch: nothing",       # run_nested's own exit: not the first panic's call
        "cleanup first",
        "catch: first",
        "outer_nested returned 42",
    ]


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_goexit_runs_the_cleanups_of_the_frames_it_ends_in_order(build, cc, opt):
    assert lines(run(build(C, cc=cc, opt=opt, extra=EH), "goexit")) == [
        "cleanup exiter after defer_frame",
        "catch: nothing",
        "cleanup exiter before defer_frame",
        "defer thread",
        "cleanup thread",
        "joined",
    ]


# A call that the unwinding panic A runs from renest's landing pad panics
# again (B): B is nested in A, as Go nests a panic raised by a deferred
# call, and its unwind ends in the runtime's frame inside that landing pad
# (it must not cross the landing pad's call: clang's code aborts there,
# gcc's ran the frame's later cleanups at once, and again on returning).
RENEST = [
    "defer raise_a",
    "cleanup raise_a",
    "cleanup renest after defer_result",
    "defer renest 2",
]
# The frame's other calls, then its cleanups, once each.
RENEST_REST = ["defer renest 1", "catch: B over A (aborted)", "defer renest 0",
               "cleanup renest before defer_frame", "renest returned 42"]
# main then panics C, which nothing is left under.
AFTER = ["catch: C over nothing"]


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("link", ["static", "sanitize"])
def test_a_panic_raised_by_a_call_a_landing_pad_runs_is_recovered_by_an_older_call_of_its_frame(
        build, cc, opt, link):
    out = lines(mode(build, cc, opt, "renest", link))
    assert out == RENEST + ["repanic B"] + RENEST_REST + AFTER


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("link", ["static", "sanitize"])
def test_a_thousand_nested_unwinding_panics_give_their_unwinds_back(build, cc, link):
    # A slot left busy would end the fifth with "more than 4 panics
    # unwinding at once".
    r = mode(build, cc, "-O2", "renest_repeat", link)
    assert (r.returncode, r.stderr) == (0, "sum %d\n" % (1000 * 3 * 42))


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_a_call_that_recovered_the_unwinding_panic_and_panicked_again_is_recovered_by_its_frame(
        build, cc, opt):
    out = lines(mode(build, cc, opt, "renest_recovered"))
    rest = list(RENEST_REST)
    rest[1] = "catch: B over A (recovered, aborted)"
    assert out == RENEST + ["recovered A, repanic B"] + rest + AFTER


def renest_fatal(r, call="repanic"):
    """The stdout lines of an unrecovered renest, and its report's panics
    (call: the function that panicked again)."""
    assert r.returncode == 2, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    # The stack the newer panic had: the call, run from renest's landing
    # pad (gcc -O2 puts that in renest.cold), under main.
    assert re.search(r"\[running\]:\n%s\(\.\.\.\)\n(.*\n)*renest(\.cold)?\(\.\.\.\)\n"
                     r"\t.*\nmain\(\.\.\.\)\n" % call, r.stderr), r.stderr
    # the runtime's frames in the landing pad are folded, rundefer's
    # compiler-made copies (rundefer.constprop.0) too
    assert "padrun" not in r.stderr and "rundefer" not in r.stderr
    return r.stdout.splitlines(), r.stderr.split("\n\n")[0]


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_an_unrecovered_panic_raised_by_a_call_a_landing_pad_runs_reports_both_panics(
        build, cc, opt):
    out, panics = renest_fatal(mode(build, cc, opt, "renest_fatal"))
    assert out == RENEST + ["repanic B", "defer renest 1", "defer renest 0",
                            "cleanup renest before defer_frame"]
    assert panics == "panic: A\n\tpanic: B"


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_an_unrecovered_panic_after_the_call_recovered_the_first_reports_it_recovered(
        build, cc, opt):
    out, panics = renest_fatal(mode(build, cc, opt, "renest_recovered_fatal"),
                                call="recover_repanic")
    assert out == RENEST + ["recovered A, repanic B", "defer renest 1", "defer renest 0",
                            "cleanup renest before defer_frame"]
    assert panics == "panic: A [recovered]\n\tpanic: B"


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_an_unrecovered_panic_raised_by_the_threads_last_call_runs_the_cleanups_left_first(
        build, cc, opt):
    r = mode(build, cc, opt, "renest_last")
    assert r.returncode == 2, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert r.stdout.splitlines() == ["defer raise_a", "cleanup raise_a", "repanic B",
                                     "cleanup renest_mid"]
    assert r.stderr.startswith("panic: A\n\tpanic: B\n\n"), r.stderr
    # From where it panicked: the runtime's frames that unwound it are folded.
    assert "[running]:\nrepanic(...)\n" in r.stderr, r.stderr


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_a_goexit_called_by_a_call_a_landing_pad_runs_runs_the_rest_then_ends_the_thread(
        build, cc, opt):
    # Go: the goexit aborts the panic and runs every call left; nothing is
    # reported, and the thread ends.
    assert lines(mode(build, cc, opt, "regoexit")) == [
        "defer raise_a", "cleanup raise_a", "goexit", "defer goexit_pad 0", "cleanup goexit_pad",
        "cleanup thread", "joined",
        "defer raise_a", "cleanup raise_a", "goexit", "cleanup goexit_pad", "cleanup thread",
        "joined",
    ]


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_a_handover_out_of_a_signal_handler_unblocks_the_signal(build, cc, opt):
    not_on_musl(MUSL_NO_LIBC_UNWIND)     # raise()
    assert lines(mode(build, cc, opt, "resignal")) == [
        "defer raise_a", "cleanup raise_a", "catch: B in a handler over A (aborted)",
        "cleanup resignal", "SIGUSR1 blocked afterwards: 0"]


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_a_panic_raised_by_a_cleanup_a_landing_pad_runs_crosses_it_as_documented(build, cc, opt):
    # docs/runtime.md, Limits: no runtime frame lies between a cleanup and
    # its landing pad.  clang's C code aborts; gcc's lets an older call
    # recover, and the unwinding panic stays on the chain (under C too).
    r = mode(build, cc, opt, "cleanup_panics")
    start = ["defer cleanup_panics", "cleanup cleanup_panics panics"]
    if cc == "clang":
        # SIGABRT, and no report (under qemu, qemu's own line).
        assert (r.returncode, r.stdout.splitlines()) == (-6, start)
        assert "panic" not in r.stderr, r.stderr
    else:
        assert lines(r) == start + ["cleanup cleanup_panics before", "catch: B over A",
                                    "cleanup_panics_up returned 42", "catch: C over A"]




# More nestings, each run by the test after: what the frames print.
NESTED = {
    # The call that panics again is its frame's last: the caller recovers.
    "renest_up": [
        "defer raise_a",
        "cleanup raise_a",
        "repanic B",
        "cleanup renest_mid",
        "catch: B over A (aborted)",
        "renest_up returned 42",
    ],
    # Go: the frame's remaining calls run after a recovery in its landing
    # pad, and one panics anew (C, with nothing under it): its frame's
    # other calls run, then the caller recovers it.
    "relanding": [
        "defer raise_a",
        "cleanup raise_a",
        "catch: A over nothing",
        "repanic C",
        "defer relanding 0",
        "cleanup relanding before defer_frame",
        "catch: C over nothing",
        "relanding_up returned 42",
    ],
    # The frame's only cleanup is defer_frame's: gcc gives the call in its
    # landing pad no landing pad of its own, and the pad alone says where
    # the new panic goes.  Twice, and C after: nothing is left behind.
    "renest_bare": 2 * [
        "defer raise_a",
        "cleanup raise_a",
        "repanic B",
        "catch: B over A (aborted)",
        "defer renest_bare 0",
        "renest_bare returned 42",
    ] + ["catch: C over nothing"],
    # A's unwind waits in cleanup_unwinds' landing pad while its cleanup
    # unwinds X and hands Y over to X's landing pad: A's unwind (above that
    # pad) goes on, and its slot stays taken until it lands, though Z
    # unwinds in between.
    "incleanup": [
        "defer cleanup_unwinds",
        "repanic Y",
        "catch: Y over X (aborted)",
        "cleanup inner_unwinding",
        "catch: A over nothing",
        "catch: Z over nothing",
        "cleanup unwinds_later",
        "defer incleanup 0",
        "incleanup returned 42",
    ],
}


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("name", NESTED)
def test_nested_unwinding_panics_run_each_call_and_cleanup_once_as_go_nests_them(
        build, cc, opt, name):
    assert lines(mode(build, cc, opt, name)) == NESTED[name]


CXX_ORDER = [
    "~guard inner after defer_frame",
    "defer inner",
    "~guard inner before defer_frame",
    "catch (...) rethrows",
    "~guard rethrows",
    "~guard outer after defer_result",
    "catch: boom 1",
    "~guard outer before defer_frame",
    "outer returned 42",
]


@pytest.mark.parametrize("cxx", ["g++", "clang++"])
@pytest.mark.parametrize("std", ["c++17", "c++20"])
@pytest.mark.parametrize("link", ["static", "sanitize"])
def test_destructors_of_crossed_cplusplus_frames_run_with_the_deferred_calls(build, cxx, std, link):
    exe = build(CXX, cc=cxx, opt="-O2" if link == "static" else "-O1", link=link, std=std)
    assert lines(run(exe)) == CXX_ORDER


CXX_RENEST = [
    "defer raise_a",
    "~guard raise_a",
    "~guard renest after defer_result",
    "defer renest 2",
    "repanic B",
    "defer renest 1",
]


@pytest.mark.parametrize("cxx", ["g++", "clang++"])
@pytest.mark.parametrize("opt", OPTS)
def test_a_panic_raised_by_a_call_a_cplusplus_landing_pad_runs_is_recovered_by_its_frame(
        build, cxx, opt):
    # The C++ personality calls std::terminate for an exception that
    # leaves a destructor's landing pad: the new panic never crosses it.
    assert lines(run(build(CXX, cc=cxx, opt=opt, std="c++17"), "renest")) == CXX_RENEST + [
        "catch: B", "defer renest 0", "~guard renest before defer_frame", "renest returned 42"]


@pytest.mark.parametrize("cxx", ["g++", "clang++"])
@pytest.mark.parametrize("opt", OPTS)
def test_an_unrecovered_panic_raised_by_a_call_a_cplusplus_landing_pad_runs_reports_both(
        build, cxx, opt):
    r = run(build(CXX, cc=cxx, opt=opt, std="c++17"), "renest_fatal")
    assert r.returncode == 2, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert r.stdout.splitlines() == CXX_RENEST + ["defer renest 0",
                                                  "~guard renest before defer_frame"]
    assert r.stderr.startswith("panic: A\n\tpanic: B\n\n"), r.stderr


@pytest.mark.parametrize("cc", COMPILERS)
def test_an_unwinding_recovery_out_of_a_signal_handler_unblocks_the_signal(build, cc):
    not_on_musl(MUSL_NO_LIBC_UNWIND)     # raise()
    # With -fexceptions the recovering frame's defer_frame is a landing
    # pad: the panic unwinds through the kernel's signal frame (on the
    # thread's stack, then on an alternate one) and the mask comes back.
    out = lines(run(build(SCEN / "signals.c", cc=cc, opt="-O2", extra=EH), "handler_result"))
    assert "blocked afterwards: 0 0 0" in out
    assert "blocked afterwards (alternate stack): 0 0 0" in out
    assert out[-1] == "main: done"
