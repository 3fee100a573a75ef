# SPDX-License-Identifier: MIT
"""The runtime's behaviour (issue: libdefer), for every compiler, optimisation
level and link mode: each scenario program prints what happened, and the
tests check it against Go's semantics."""
import itertools
import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import ARCH, BUILD, COMPILERS, LINKS, OPTS, comm, compile_program, run

SCEN = Path(__file__).parent / "scenarios"
VARIANTS = [pytest.param((cc, opt, link), id=f"{cc}{opt}-{link}")
            for cc, opt, link in itertools.product(COMPILERS, OPTS, LINKS)]
# Every behaviour again under AddressSanitizer + UndefinedBehaviorSanitizer.
VARIANTS += [pytest.param((cc, "-O1", "sanitize"), id=f"{cc}-asan-ubsan") for cc in COMPILERS]


@pytest.fixture(params=VARIANTS)
def variant(request):
    return request.param


def prog(name, variant, extra=()):
    cc, opt, link = variant
    return compile_program(SCEN / f"{name}.c", cc=cc, opt=opt, link=link, extra=extra)


def ok(exe, *args, **kw):
    r = run(exe, *args, **kw)
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout


# 1. Arguments evaluated at the defer, converted as for a direct call.

def test_arguments_are_evaluated_at_defer_time_and_converted_like_a_call(variant):
    out = ok(prog("args", variant)).splitlines()
    assert out[0] == "work body ends, late=2, engine running=1"
    # newest first
    assert out[1:] == [
        "late=1 (value at the defer)",
        "none",
        "wants_double 0.25",
        "wants_uchar 44",
        "wants_long -5",
        "wants_double 7",
        "floats f=1.25 d=2.5 i=-3 g=4.75 e=-5.125 l=6",
        "scalars c=x s=-7 u=4000000000 l=-1234567890123 b=1 p=str",
        "variadic doubles 1.5 2.5 3.5 4.5 5.5",
        "loop i=2 half=1.0",
        "loop i=1 half=0.5",
        "loop i=0 half=0.0",
        "engine_stop(main)",
        "after work: running=0, mutex unlocked",
        # first defers of their frames: open-coded or through deferproc
        "scalars c=y s=-32768 u=4294967295 l=-9223372036854775808 b=1 p=edge",
        "floats f=-0.5 d=1e+300 i=2147483647 g=3.5 e=-2.25 l=-1",
        "wants_double 9",
        "char * to const char *",
        "show char * to const void *",
        "engine_report main",
        "bits mode=5 delta=-3",
        "make_pair 8",
        "order a 3",    # deferproc: order_tbl[2], then the argument 3
        "order a 1",    # open-coded: order_tbl[0], then 1
        "wants_double -0.75",
        "none",
    ]


@pytest.mark.parametrize("cc", COMPILERS)
def test_open_coded_first_defers_match_deferproc(cc):
    """The defer site's own record filling (defer.h, __DEFER_OPEN) and
    deferproc's give the same calls; DEFER_NO_OPEN_CODE turns the first
    off, and only the open-coded build has libdefer:defer probes of its
    own."""
    open_ = compile_program(SCEN / "args.c", cc=cc, opt="-O2", link="shared")
    called = compile_program(SCEN / "args.c", cc=cc, opt="-O2", link="shared",
                             extra=["-DDEFER_NO_OPEN_CODE"])
    assert ok(open_) == ok(called)

    def probes(exe):
        notes = subprocess.run(["readelf", "-n", str(exe)], capture_output=True, text=True).stdout
        return len(re.findall(r"Provider: libdefer\s+Name: defer\n", notes))
    assert probes(called) == 0

    def open_coded(exe):
        out = subprocess.run([str(BUILD / "defer-inspect"), "sites", "--json", str(exe)],
                             capture_output=True, text=True, check=True).stdout
        return sorted(s["function"] for s in json.loads(out)["sites"] if "sdt-probe" in s["how"])
    # Every defer() line whose arguments have the parameters' exact types:
    # in work() pthread_mutex_unlock, engine_stop, fclose, floats, fnptr,
    # none; the first_* functions but first_converted; not printf.  gcc's
    # bit-field values have types of their own width: not open-coded.
    want = ["work"] * 6 + ["first_scalars", "first_floats", "first_pointer", "first_const_void",
                           "first_const_struct",
                           "first_struct_return", "first_order", "first_through_pointer",
                           "first_none"]
    if cc == "clang":
        want.append("first_bit_fields")
    assert open_coded(open_) == sorted(want)
    assert probes(open_) >= len(want)


# 2. LIFO on every way out of the frame.

def test_deferred_calls_run_lifo_on_every_exit_path(variant):
    out = ok(prog("exits", variant)).splitlines()
    assert out == [
        "early_return: second deferred",
        "early_return: first deferred",
        "early_return -> 5",
        "falls_off: body",
        "falls_off: deferred",
        "block_break: body i=0",
        "block_break: deferred i=0",
        "block_break: deferred i=1",
        "block_break: deferred i=2",
        "block_break: after loop",
        "goto_out: deferred",
        "goto_out: at label",
        "function_level_loop: body done",
        "function_level_loop: deferred i=2",
        "function_level_loop: deferred i=1",
        "function_level_loop: deferred i=0",
        "nested_blocks: inner",
        "nested_blocks: between",
        "nested_blocks: outer",
    ]


# 3 and 4. panic, recover, the resume point, and Go's recover rules.

def test_recover_stops_a_panic_and_the_function_returns_its_result(variant):
    out = ok(prog("recover", variant)).splitlines()
    assert out[:4] == [
        "handle: runs first, during the panic",
        "recovered: boom: disk",
        "handle: runs after the recovery, before handle returns",
        "handle returned 500",
    ]
    assert "handle: not reached" not in out
    assert "recovered: ratio" in out and "ratio returned 0.5" in out
    assert "recovered: zero_result" in out and "zero_result returned 0" in out
    i = out.index("recovered: void_resume")
    assert out[i + 1:i + 3] == ["void_resume: remaining deferred call", "after void_resume"]


def test_panic_value_carries_the_users_error_object(variant):
    out = ok(prog("recover", variant))
    assert "caught error code=42 what=disk full msg=write failed: disk full" in out


def test_only_the_deferred_call_itself_can_recover_and_only_once(variant):
    out = ok(prog("recover", variant)).splitlines()
    assert "tail_target: recover() = NULL" in out   # nor one it reaches by a tail call
    i = out.index("helper: recover() = NULL")   # a helper cannot recover
    assert out[i + 1] == "calls_helper: after helper"
    # defer(recover) recovered nothing, so recover_twice still sees the panic
    assert out[i + 2] == "recover_twice: first value, second NULL"
    assert "normal_exit_recover: NULL" in out        # not panicking
    assert "recover outside a deferred call: NULL" in out
    assert out[-1] == "main: done"


# 5. Nested panics.

def test_panic_in_a_deferred_call_aborts_the_first_and_recovering_ends_both(variant):
    out = ok(prog("nested", variant), "abort_then_recover").splitlines()
    assert out == [
        "abort_then_recover: older deferred call still runs",
        "catch: second",
        "main: done",
    ]


def test_unrecovered_nested_panics_print_oldest_first(variant):
    r = run(prog("nested", variant), "abort_fatal")
    assert r.returncode == 2
    assert r.stderr.startswith("panic: first\n\tpanic: second\n\nthread ")


def test_repanic_after_recover_is_marked_recovered(variant):
    r = run(prog("nested", variant), "repanic_fatal")
    assert r.returncode == 2
    assert r.stderr.startswith(
        'panic: first [recovered]\n\tpanic: re-panic after recovering "first"\n\nthread ')


def test_panicking_again_after_a_recovery_works(variant):
    out = ok(prog("nested", variant), "panic_after_recovery").splitlines()
    assert out == ["catch: one", "between panics", "catch: one", "main: done"]


def test_a_panic_unwinds_every_frame_to_the_recovering_one(variant):
    out = ok(prog("nested", variant), "deep").splitlines()
    assert out == ["deep: unwinding 0", "deep: unwinding 1", "deep: unwinding 2",
                   "deep: unwinding 3", "catch: bottom", "main: done"]


# 6. Unrecovered panics: the report, exit 2, DEFER_TRACEBACK=crash.

def test_unrecovered_panic_runs_deferred_calls_reports_and_exits_2(variant):
    r = run(prog("fatal", variant))
    assert r.returncode == 2
    assert r.stdout == "starting\ncleanup: config file\ncleanup: main\n"
    err = r.stderr
    assert err.startswith("panic: cannot parse /etc/app.conf: line 12\n\n")
    m = re.search(r'^thread (\d+) "([^"]*)" \[running\]:$', err, re.M)
    assert m and m.group(2).startswith(comm("fatal"))
    # the backtrace, from the function that panicked (the runtime's
    # frames are folded away: tests/runtime/test_crash_report.py)
    assert re.search(r"\[running\]:\nload_config\(\.\.\.\)\n", err), err


def test_traceback_crash_aborts_for_a_core_file(variant):
    r = run(prog("fatal", variant), env={"DEFER_TRACEBACK": "crash"})
    assert r.returncode == -signal.SIGABRT
    assert r.stderr.startswith("panic: cannot parse")


# 7. Threads.

def test_a_panic_never_runs_another_threads_deferred_calls(variant):
    r = run(prog("threads", variant), "isolation")
    assert r.returncode == 2
    assert "main deferred call ran" in r.stdout
    assert "holder deferred call ran" not in r.stdout


def test_goexit_runs_the_threads_pending_calls_and_ends_it(variant):
    r = run(prog("threads", variant), "goexit")
    assert r.returncode == 0 and "panic" not in r.stderr, r.stderr
    assert r.stdout.splitlines() == [
        "inner: recover() during goexit = NULL",     # goexit is not a panic
        "exiter: second deferred", "exiter: first deferred",   # outer frames too
        "main: joined exiter",
        "panicking_exiter: older deferred call",     # the panic was aborted
        "main: joined panicking_exiter"]


def test_threads_defer_concurrently_and_are_listed_in_allgs(variant):
    out = ok(prog("threads", variant), "many")
    assert sorted(re.findall(r"worker (\d) done", out)) == [str(i) for i in range(8)]
    out = ok(prog("threads", variant), "allgs")
    assert "registrar found itself in allgs: 1" in out
    assert "dead entries after join: 1" in out


# Bad input and misuse.

def test_deferring_null_panics_when_the_call_would_run(variant):
    out = ok(prog("misuse", variant), "nil").splitlines()
    assert out[0] == "nil_deferred: body done"
    assert out[1].startswith("caught: runtime error: invalid memory address or nil pointer "
                             "dereference (deferred function is NULL")
    r = run(prog("misuse", variant), "nil_fatal")
    assert r.returncode == 2 and "deferred function is NULL" in r.stderr
    # reached by a panic instead of a normal exit
    out = ok(prog("misuse", variant), "nil_in_panic").splitlines()
    assert out[0].startswith("caught: runtime error: invalid memory address or nil pointer "
                             "dereference (deferred function is NULL"), out
    assert out[1:] == ["main: done"]


def test_longjmp_across_a_defer_frame_is_detected(variant):
    r = run(prog("misuse", variant), "longjmp")
    assert r.returncode == -signal.SIGABRT
    assert ("outlived its frame (longjmp or a C++ exception across a defer_frame in code built "
            "without -fexceptions?)") in r.stderr


COMPILE_ERRORS = {
    "too_many": ("static void f(int a,int b,int c,int d,int e,int f,int g)"
                 "{(void)a;(void)b;(void)c;(void)d;(void)e;(void)f;(void)g;}\n"
                 "int main(void){defer_frame; defer(f,1,2,3,4,5,6,7); return 0;}",
                 "defer: at most 6 arguments can be deferred"),
    "struct_arg": ("struct s{int a[4];};static void f(struct s x){(void)x;}\n"
                   "int main(void){struct s v={0}; defer_frame; defer(f,v); return 0;}",
                   "defer: arguments must be integers, pointers, float or double"),
    "int128_arg": ("static void f(__int128 x){(void)x;}\n"
                   "int main(void){defer_frame; defer(f,(__int128)1); return 0;}",
                   "defer: arguments must be integers, pointers, float or double"),
    "long_double_arg": ("static void f(long double x){(void)x;}\n"
                        "int main(void){defer_frame; defer(f,1.0L); return 0;}",
                        "defer: arguments must be integers, pointers, float or double"),
    "packed_struct_return": ("struct __attribute__((packed)) s{char c; long l;};\n"
                             "static struct s f(long *p){struct s r={0,0};(void)p;return r;}\n"
                             "int main(void){long v=0; defer_frame; defer(f,&v); return 0;}",
                             "defer: the function must return void, a scalar or a small struct"),
    "x87_struct_return": ("struct s{long double x;};static struct s f(void){struct s r={0};return r;}\n"
                          "int main(void){defer_frame; defer(f); return 0;}",
                          "defer: the function must return void, a scalar or a small struct"),
    "struct_return": ("struct s{long a[4];};static struct s f(void){struct s r={0};return r;}\n"
                      "int main(void){defer_frame; defer(f); return 0;}",
                      "defer: the function must return void, a scalar or a small struct"),
    "no_frame": ("static void f(void){}\nint main(void){defer(f); return 0;}",
                 "__defer_fr"),
}


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("case", sorted(COMPILE_ERRORS))
def test_misuse_is_a_readable_compile_time_error(cc, case):
    src, message = COMPILE_ERRORS[case]
    with pytest.raises(AssertionError) as e:
        compile_program("#include <defer.h>\n" + src, cc=cc, name=f"err_{case}")
    assert message in str(e.value)


def test_other_real_types_keep_their_value():
    """_Float16 and _Decimal64 are "real" to the compiler but are not float
    or double: they must not be open-coded as if they were (gcc has both
    on x86-64; aarch64's has no decimal floating point)."""
    src = r"""
#include <stdio.h>
#include <defer.h>
static void half(_Float16 h) { printf("half %g\n", (double)h); }
static void warm(void) { defer_frame; defer(half, (_Float16)0); }
static void f(void) { defer_frame; defer(half, (_Float16)-7.25); }
#ifdef __x86_64__
static void dec(_Decimal64 d) { printf("dec %g\n", (double)d); }
static void g(void) { defer_frame; defer(dec, 3.25DD); }
#else
static void g(void) { }
#endif
int main(void) { warm(); f(); g(); return 0; }
"""
    exe = compile_program(src, cc="gcc", opt="-O2", name="realtypes")
    assert ok(exe).splitlines() == ["half 0", "half -7.25"] + \
        (["dec 3.25"] if ARCH == "x86_64" else [])


@pytest.mark.parametrize("cxx", ["g++", "clang++"])
def test_header_compiles_in_cplusplus_even_inside_extern_c(cxx, tmp_path):
    """C++ code may include defer.h to call recover() or read the records;
    defer() itself is C.  The header must not pull in anything that breaks
    there, such as <sys/sdt.h>'s templates inside extern "C"."""
    src = tmp_path / "user.cc"
    src.write_text('extern "C" {\n#include <defer.h>\n}\n'
                   "int main() { return recover() != nullptr; }\n")
    exe = tmp_path / "user"
    r = subprocess.run([cxx, "-Wall", "-Wextra", "-Werror", "-I", str(BUILD.parent / "libdefer" / "include"),
                        str(src), "-o", str(exe), str(BUILD / "libdefer.a"), "-lpthread"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert run(exe).returncode == 0


@pytest.mark.parametrize("first", ["defer", "sdt"])
def test_a_programs_own_sdt_probes_keep_their_semaphores(first):
    """A program with probes of its own (dtrace -h style, with semaphores)
    includes <sys/sdt.h> with _SDT_HAS_SEMAPHORES; defer.h must not take
    that include's place, in either order."""
    sdt = ('#define _SDT_HAS_SEMAPHORES 1\n#include <sys/sdt.h>\n'
           'unsigned short app_ready_semaphore __attribute__((section(".probes")));\n')
    dh = "#include <defer.h>\n"
    src = (dh + sdt if first == "defer" else sdt + dh) + r"""
#include <stdio.h>
static void done(int n) { printf("done %d\n", n); }
int main(void) { defer_frame; defer(done, 1); STAP_PROBE(app, ready); return 0; }
"""
    exe = compile_program(src, cc="gcc", name="ownprobes_" + first)
    assert ok(exe) == "done 1\n"
    notes = subprocess.run(["readelf", "-n", str(exe)], capture_output=True, text=True).stdout
    m = re.search(r"Provider: app\s+Name: ready\s+Location: \S+, Base: \S+, Semaphore: (\S+)", notes)
    assert m and int(m.group(1), 16) != 0, notes


# 8. gcc and clang, -O0/-O2, static/shared are the fixtures above; -fexceptions too.

@pytest.mark.parametrize("cc", COMPILERS)
def test_works_with_fexceptions(cc):
    exe = compile_program(SCEN / "recover.c", cc=cc, opt="-O2", extra=["-fexceptions"])
    assert "handle returned 500" in ok(exe)
