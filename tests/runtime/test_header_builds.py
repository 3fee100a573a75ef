# SPDX-License-Identifier: MIT
"""defer.h in the builds users make (issue 12): every compiler, ISO
standard and language it supports, with strict warnings as errors; handles
of every scalar type; C++17 and C++20.

The matrix: gcc 12, clang 14, clang 19 and clang 22 for C (-std=c11, c17,
c2x, gnu11), their C++ drivers for C++ (-std=c++17, c++20), each with
-Wall -Wextra -pedantic -Werror -Wshadow -Wconversion -Wcast-qual (and, in
C++, -Wold-style-cast -Wzero-as-null-pointer-constant)."""
import itertools
import json
import shutil
import subprocess
import signal
from pathlib import Path

import pytest

from conftest import BUILD, compile_program, run

SCEN = Path(__file__).parent / "scenarios"
STRICT = ["-pedantic", "-Wshadow", "-Wconversion", "-Wcast-qual"]   # and compile_program's
# Strict C++ projects also forbid C casts and 0 as a null pointer.
STRICT_CXX = ["-Wold-style-cast", "-Wzero-as-null-pointer-constant"]
C_COMPILERS = ["gcc", "clang", "clang-19", "clang-22"]
C_STDS = ["c11", "c17", "c2x", "gnu11"]
CXX_COMPILERS = ["g++", "clang++", "clang++-19", "clang++-22"]
CXX_STDS = ["c++17", "c++20"]


def need(cc):
    if not shutil.which(cc):
        pytest.skip(f"{cc} is not installed (scripts/install-deps installs clang-19 and "
                    f"clang-22, the latter from bookworm-security)")


def strict_build(src, cc, std, opt="-O2", extra=(), link="static", name=None):
    """compile_program with the strict flags, for a compiler that may be
    missing."""
    need(cc)
    flags = STRICT + (STRICT_CXX if "++" in cc else [])
    return compile_program(src, cc=cc, opt=opt, link=link, extra=[*flags, *extra], name=name,
                           std=std)


def ok(exe, **kw):
    r = run(exe, **kw)
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout.splitlines()


def sites(exe):
    out = subprocess.run([str(BUILD / "defer-inspect"), "sites", "--json", str(exe)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["sites"]


def open_coded_sites(exe):
    """(function, line) of every defer() site that fills the record itself."""
    return sorted((s["function"], s["line"]) for s in sites(exe) if "sdt-probe" in s["how"])


def open_coded(exe):
    """The functions with an open-coded defer() site."""
    return sorted({f for f, _ in open_coded_sites(exe)})


C_MATRIX = [pytest.param(cc, std, id=f"{cc}-{std}") for cc, std in itertools.product(C_COMPILERS, C_STDS)]
CXX_MATRIX = [pytest.param(cc, std, id=f"{cc}-{std}")
              for cc, std in itertools.product(CXX_COMPILERS, CXX_STDS)]

STRICT_OUT = [
    "inner frame done",
    "with_result(0) = 200",
    "inner frame done",
    "recovered: unavailable 1",
    "with_result(1) = 503",
    "just_recover: void_result",
    "goexit ran the thread's calls",
    "six 1 2 3.5 4.25 5 six",
    "main done",
]


@pytest.mark.parametrize("cc,std", C_MATRIX)
def test_every_macro_compiles_warning_free_under_strict_iso_flags_and_works(cc, std):
    """defer_frame (nested, shadowing), defer with 0 to 6 arguments,
    defer_result(var) and defer_result() (the empty form without GNU's
    `, ##__VA_ARGS__`), panic, panic_value, recover, defer_goexit."""
    for opt in ("-O0", "-O2"):
        assert ok(strict_build(SCEN / "strict.c", cc, std, opt)) == STRICT_OUT


HANDLES_OUT = [
    "closedir", "fclose", "conn_close 1", "dir_show 1", "file_show 1", "conn_show 2",
    "conn_show 2", "hook 7", "hook 7", "color 2", "sign -5", "bool 1",
    "widths -128 255 -32768 65535 -2147483648 fedcba9876543210",
    "chars z -1 200 -9223372036854775808 18446744073709551615 -2", "conn_close 2",
]
# Every first_* function: its first defer has the parameters' exact types,
# or T * for const T *.
HANDLES_OPEN = sorted(["first_dir", "first_file", "first_conn", "first_const_dir", "first_const_file",
                       "first_const_conn", "first_const_conn_exact", "first_fnptr", "first_function",
                       "first_enum", "first_signed_enum", "first_bool", "first_widths", "first_chars"])


@pytest.mark.parametrize("cc", C_COMPILERS)
def test_opaque_pointers_and_every_scalar_handle_are_deferred_and_open_coded(cc):
    """closedir(DIR *), fclose(FILE *), a struct conn * never completed in
    the unit, a pointer to const of each, function pointers, enums, bool
    and integers of every width: the calls run with their values, and the
    first defer of each frame is open-coded (gcc 12 used to reject an
    incomplete pointee: "invalid use of incomplete typedef")."""
    exe = strict_build(SCEN / "handles.c", cc, "c11")
    assert ok(exe) == HANDLES_OUT
    assert ok(strict_build(SCEN / "handles.c", cc, "c11", extra=["-DDEFER_NO_OPEN_CODE"])) == HANDLES_OUT
    assert open_coded(exe) == HANDLES_OPEN


@pytest.mark.parametrize("cc", ["clang-19", "clang-22"])
def test_newer_clangs_open_code_the_same_defers_as_clang_14(cc):
    """args.c (test_runtime.py's open-coding scenario): the same calls and
    the same open-coded lines as clang 14."""
    need(cc)
    old = compile_program(SCEN / "args.c", cc="clang", opt="-O2")
    new = compile_program(SCEN / "args.c", cc=cc, opt="-O2")
    assert ok(new) == ok(old)
    assert open_coded_sites(new) == open_coded_sites(old)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_handles_are_free_of_undefined_behaviour_under_sanitizers(cc):
    exe = strict_build(SCEN / "handles.c", cc, "c11", "-O1", link="sanitize")
    assert ok(exe) == HANDLES_OUT


CXX_OUT = [
    "block ends",
    "char[] to const char *",
    "through a pointer",
    "noexcept 3",
    "nul 1",
    "col 1",
    "num 1 2.5 44 4",
    "conn_note null=1",
    "recovered: boom 7",
    "~guard handle",
    "handle(0) = 500",
    "recovered: failed 503",
    "~guard handle",
    "handle(503) = 503",
    "recovered: void_result",
    "template recovered: in templated<2>",
    "templated<short>() = 2",
    "template recovered: in templated<8>",
    "templated<long>() = 8",
    "thrower: deferred call ran during the exception",   # the frame's cleanup runs
    "~guard thrower",
    "caught 42",
]


@pytest.mark.parametrize("cc,std", CXX_MATRIX)
def test_cplusplus_defers_panics_recovers_and_runs_calls_on_exceptions(cc, std):
    for opt in ("-O0", "-O2"):
        assert ok(strict_build(SCEN / "cxx.cc", cc, std, opt)) == CXX_OUT


@pytest.mark.parametrize("cc", ["g++", "clang++"])
def test_cplusplus_is_free_of_undefined_behaviour_under_sanitizers(cc):
    assert ok(strict_build(SCEN / "cxx.cc", cc, "c++17", "-O1", link="sanitize")) == CXX_OUT


@pytest.mark.parametrize("cc", CXX_COMPILERS)
def test_cplusplus_first_defers_with_exact_types_are_open_coded(cc):
    """Every defer() with exact parameter types (pointers may gain const)
    has the open-coded path, in templates too; num (converted arguments)
    and nul (nullptr_t to void *) only go through deferproc."""
    exe = strict_build(SCEN / "cxx.cc", cc, "c++17")
    src = (SCEN / "cxx.cc").read_text().splitlines()
    # the deferred function, from each open-coded line: defer(NAME, ...
    opened = sorted(src[line - 1].strip().split("(")[1].split(",")[0].rstrip(")")
                    for _, line in open_coded_sites(exe))
    assert opened == sorted(["closedir", "std::fclose", "conn_note", "col", "ne", "hookp", "say",
                             "catcher", "catcher", "say"] +
                            ["recover_into<T>"] * 2)   # one site per instantiation


CXX_ERRORS = {
    "reference_param": ("static void f(const int &x) { (void)x; }\n"
                        "int main() { defer_frame; defer(f, 1); return 0; }",
                        "defer: in C++, the parameters must be scalars passed by value"),
    "class_param": ("struct s { s(int) {} };\nstatic void f(s x) { (void)x; }\n"
                    "int main() { defer_frame; defer(f, 1); return 0; }",
                    "defer: in C++, the parameters must be scalars passed by value"),
    "class_arg": ("struct s { int a; };\nstatic void f(int x) { (void)x; }\n"
                  "int main() { s v{1}; defer_frame; defer(f, v.a); defer(f, v); return 0; }",
                  "defer: arguments must be integers, pointers, float or double"),
    "class_return": ("struct s { s() {} s(const s &) {} int a = 0; };\nstatic s f() { return s(); }\n"
                     "int main() { defer_frame; defer(f); return 0; }",
                     "defer: the function must return void, a scalar or a small struct"),
    "long_double_arg": ("static void f(long double x) { (void)x; }\n"
                        "int main() { defer_frame; defer(f, 1.0L); return 0; }",
                        "defer: arguments must be integers, pointers, float or double"),
    "too_many": ("static void f(int, int, int, int, int, int, int) {}\n"
                 "int main() { defer_frame; defer(f, 1, 2, 3, 4, 5, 6, 7); return 0; }",
                 "defer: at most 6 arguments can be deferred"),
}


@pytest.mark.parametrize("cc", ["g++", "clang++"])
@pytest.mark.parametrize("case", sorted(CXX_ERRORS))
def test_cplusplus_misuse_is_a_readable_compile_time_error(cc, case):
    src, message = CXX_ERRORS[case]
    with pytest.raises(AssertionError) as e:
        strict_build("#include <defer.h>\n" + src, cc, "c++17", name=f"cxxerr_{case}")
    assert message in str(e.value)


@pytest.mark.parametrize("cc", ["g++", "clang++"])
def test_cplusplus_defer_works_with_the_header_inside_extern_c(cc):
    """The templates sit in extern "C++", so wrapping the include in
    extern "C" (as C-minded code does) still compiles."""
    src = ('extern "C" {\n#include <defer.h>\n}\n#include <cstdio>\n'
           'static void say(const char *s) { std::printf("%s\\n", s); }\n'
           'int main() { defer_frame; defer(say, "ran"); return 0; }\n')
    assert ok(strict_build(src, cc, "c++17", name="cxx_extern_c")) == ["ran"]


def cxx_exception_through_c(cc, cxx, cflags, tmp_path):
    """A C frame with a pending call that a C++ exception crosses; the catch
    is in C++ code that a deferring C frame called, which then returns;
    then main calls another deferring C frame."""
    (tmp_path / "c.c").write_text(
        "#include <stdio.h>\n#include <defer.h>\n"
        "void cxx_throw(void);\nvoid cxx_catch(void (*f)(void));\n"
        'static void say(const char *s) { printf("%s\\n", s); fflush(stdout); }\n'
        'static void c_frame(void) { defer_frame; defer(say, "c frame: call ran"); cxx_throw(); }\n'
        'void c_outer(void) { defer_frame; defer(say, "outer: call ran"); cxx_catch(c_frame); }\n'
        'void c_after(void) { defer_frame; defer(say, "after: call ran"); }\n')
    (tmp_path / "m.cc").write_text(
        '#include <cstdio>\nextern "C" void c_outer(void);\nextern "C" void c_after(void);\n'
        'extern "C" void cxx_throw(void) { throw 1; }\n'
        'extern "C" void cxx_catch(void (*f)(void)) {\n'
        '  try { f(); } catch (int) { std::printf("caught\\n"); std::fflush(stdout); } }\n'
        'int main() { c_outer(); c_after(); }\n')
    inc = ["-I", str(BUILD.parent / "libdefer" / "include")]
    subprocess.run([cc, *cflags, "-c", *inc, str(tmp_path / "c.c"), "-o", str(tmp_path / "c.o")],
                   check=True)
    subprocess.run([cxx, str(tmp_path / "m.cc"), str(tmp_path / "c.o"), str(BUILD / "libdefer.a"),
                    "-lpthread", "-o", str(tmp_path / "m")], check=True)
    return tmp_path / "m"


@pytest.mark.parametrize("cc,cxx", [("gcc", "g++"), ("clang", "clang++")])
def test_a_cplusplus_exception_through_c_built_with_fexceptions_runs_the_calls(cc, cxx, tmp_path):
    """As documented in defer.h: the frame's cleanup runs during unwinding
    when the C code has unwind landing pads (-fexceptions)."""
    exe = cxx_exception_through_c(cc, cxx, ["-fexceptions"], tmp_path)
    assert ok(exe) == ["c frame: call ran", "caught", "outer: call ran", "after: call ran"]


@pytest.mark.parametrize("cc,cxx", [("gcc", "g++"), ("clang", "clang++")])
def test_a_cplusplus_exception_through_c_without_fexceptions_is_reported_at_the_enclosing_exit(
        cc, cxx, tmp_path):
    """README, Limits: without landing pads the exception skips the frame's
    calls, as longjmp does, and the exit of the deferring frame around the
    catch says so and aborts rather than run a call whose frame is gone."""
    r = run(cxx_exception_through_c(cc, cxx, ["-fno-exceptions"], tmp_path))
    assert r.returncode == -signal.SIGABRT, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.splitlines() == ["caught"]
    assert ("outlived its frame (longjmp or a C++ exception across a defer_frame in code built "
            "without -fexceptions?)") in r.stderr
