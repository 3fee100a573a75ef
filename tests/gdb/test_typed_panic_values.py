# SPDX-License-Identifier: MIT
"""Typed panic values: panic_value's pointer shown with its static type at
the panic site (the site object _panic.vtype names), in a live process, a
core, over gdbserver, in MI, and untyped, with the reason, without debug
information."""
import re

import pytest

from gdbtest import SCEN, compile_program, gdb, gdbserver
from libdefer_session import parse_mi

TYPED_C = SCEN / "typed.c"
KV_VALUE = re.compile(r"value = \(struct kv_error \*\) 0x[0-9a-f]+ <locked> "
                      r"\{code = 423, msg = 0x[0-9a-f]+ \"locked\"\}")
BUILDS = [("gcc", "-O0"), ("gcc", "-O2"), ("clang", "-O2"), ("g++", "-O0"), ("g++", "-O2")]


def typed_prog(cc="gcc", opt="-O0", extra=()):
    std = "gnu++17" if cc == "g++" else "gnu11"
    return compile_program(TYPED_C, cc=cc, opt=opt, extra=list(extra), std=std)


@pytest.mark.parametrize("cc,opt", BUILDS)
def test_info_panics_shows_the_value_typed_with_its_fields(cc, opt):
    out = gdb("catch panic", "run", "info panics", exe=typed_prog(cc, opt), args=["typed"])
    assert KV_VALUE.search(out), out


@pytest.mark.parametrize("cc,opt", [("gcc", "-O0"), ("g++", "-O2")])
def test_panic_value_function_is_a_typed_value(cc, opt):
    out = gdb("catch panic", "run", "print $_panic_value()", "print $_panic_value()->code",
              "print *$_panic_value()", "ptype $", exe=typed_prog(cc, opt), args=["typed"])
    assert re.search(r"\$1 = \(struct kv_error \*\) 0x[0-9a-f]+ <locked>", out), out
    assert "$2 = 423" in out, out
    assert re.search(r'\$3 = \{code = 423, msg = 0x[0-9a-f]+ "locked"\}', out), out
    assert re.search(r"type = struct kv_error \{\n\s+int code;\n\s+const char \*msg;\n\}", out), out


def test_panic_value_function_without_a_panic_is_a_null_pointer():
    out = gdb("break main", "run", "print $_panic_value()", exe=typed_prog(), args=["typed"])
    assert "$1 = (void *) 0x0" in out, out


def test_other_static_types_are_kept():
    out = gdb("catch panic", "run", "info panics", "print *$_panic_value()",
              exe=typed_prog(opt="-O2"), args=["int"])
    assert re.search(r"value = \(int \*\) 0x[0-9a-f]+ <answer>", out), out
    assert "$1 = 42" in out, out


def test_repanic_keeps_the_recovered_panics_type():
    """defer_repanic passes the site object on: the re-raised panic, raised
    in the deferred call, is typed from the older panic's site."""
    out = gdb("catch panic", "run", "continue", "info panics", exe=typed_prog(opt="-O2"),
              args=["repanic"])
    chain = out[out.rindex("panic 1:"):]
    assert len(KV_VALUE.findall(chain)) == 2, out
    assert re.search(r"panic 1:.*\n.*value = \(struct kv_error \*\).*\n\s+raised in again", chain), out


def test_core_shows_the_typed_value(tmp_path):
    exe = typed_prog(opt="-O2")
    core = tmp_path / "typed.core"
    out = gdb("run", "generate-core-file %s" % core, exe=exe, args=["fatal"],
              pre=["set defer stop-on-fatal-panic off"], env={"DEFER_TRACEBACK": "crash"})
    assert core.exists(), out
    out = gdb("info panics", "print $_panic_value()->msg", exe=exe, core=core)
    assert KV_VALUE.search(out), out
    assert re.search(r'\$1 = 0x[0-9a-f]+ "locked"', out), out


def test_gdbserver_shows_the_typed_value():
    exe = typed_prog()
    with gdbserver(exe, "typed") as target:
        out = gdb("target remote %s" % target, "catch panic", "continue", "info panics",
                  "print $_panic_value()->code", "kill", exe=exe)
    assert KV_VALUE.search(out), out
    assert "$1 = 423" in out, out


def test_mi_list_panics_carries_the_type_and_typed_value():
    out = gdb("catch panic", "run", 'interpreter-exec mi "-defer-list-panics"',
              exe=typed_prog(), args=["typed"])
    line = next(ln for ln in out.splitlines() if ln.startswith("^done,"))
    panic = parse_mi(line)[2]["panics"][0]
    assert panic["value-type"] == "struct kv_error *", panic
    assert re.match(r"\(struct kv_error \*\) 0x[0-9a-f]+ <locked> \{code = 423, ",
                    panic["typed-value"]), panic
    assert "untyped" not in panic


def test_without_debug_info_the_value_is_a_bare_pointer_and_says_why():
    exe = typed_prog(extra=["-g0"])
    out = gdb("catch panic", "run", "info panics", "print $_panic_value()",
              'interpreter-exec mi "-defer-list-panics"', exe=exe, args=["typed"])
    assert re.search(r"value = \(untyped: no debug info\) 0x[0-9a-f]+\n", out), out
    assert re.search(r"\$1 = \(void \*\) 0x[0-9a-f]+", out), out
    assert 'untyped="no debug info"' in out, out


def test_a_panic_without_value_has_no_value_line():
    src = ('#include <defer.h>\nint main(void) { defer_frame; panic("plain %d", 1); '
           'return 0; }\n')
    out = gdb("catch panic", "run", "info panics", exe=compile_program(src, name="plain"))
    assert 'panic 1: "plain 1"  [running]' in out, out
    assert "value =" not in out, out


def test_history_of_recovered_panics_names_the_values_type():
    out = gdb("break exit", "run", "info panics -history", exe=typed_prog(), args=["typed"])
    assert re.search(r'recovered 1: "compact: locked" value=0x[0-9a-f]+ <locked>.*\n'
                     r'\s+value type: struct kv_error \*\n\s+raised in compact', out), out
