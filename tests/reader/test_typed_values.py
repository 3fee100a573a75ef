# SPDX-License-Identifier: MIT
"""defer-inspect dump and panic_value's type: the type name from the DWARF
of the site object _panic.vtype names, its fields with --full, text and
JSON, from a core and a live pid, C and C++; without debug information the
bare pointer and why."""
import re

import pytest

from conftest import ROOT, compile_program
from dr_util import OUT, Running, core_at, inspect, inspect_json

TYPED_C = ROOT / "tests" / "gdb" / "scenarios" / "typed.c"


def typed(cc="gcc", opt="-O0", extra=()):
    std = "gnu++17" if cc == "g++" else "gnu11"
    return compile_program(TYPED_C, cc=cc, opt=opt, extra=list(extra), std=std)


def fatal_core(exe, name):
    OUT.mkdir(parents=True, exist_ok=True)
    return core_at(exe, ["fatal"], "fatalpanic", OUT / ("%s.core" % name))


@pytest.mark.parametrize("cc,opt", [("gcc", "-O0"), ("clang", "-O2"), ("g++", "-O2")])
def test_dump_names_the_values_type_and_full_shows_its_fields(cc, opt):
    exe = typed(cc, opt)
    core = fatal_core(exe, "typed-%s%s" % (cc, opt))
    plain = inspect("dump", "--core", core, exe)
    assert plain.returncode == 0, plain.stderr
    assert re.search(r"\n           value = \(struct kv_error \*\) 0x[0-9a-f]+\n", plain.stdout), \
        plain.stdout
    full = inspect("dump", "--full", "--core", core, exe)
    assert re.search(r'value = \(struct kv_error \*\) 0x[0-9a-f]+ '
                     r'\{code = 423, msg = 0x[0-9a-f]+ "locked"\}\n', full.stdout), full.stdout


def test_json_carries_the_type_and_with_full_the_fields():
    exe = typed()
    core = fatal_core(exe, "typed-json")
    p = inspect_json("dump", "--core", core, exe)["threads"][0]["panics"][0]
    assert p["value_type"] == "struct kv_error *" and "fields" not in p, p
    p = inspect_json("dump", "--full", "--core", core, exe)["threads"][0]["panics"][0]
    assert [(f["name"], f["type"], f["offset"]) for f in p["fields"]] == \
        [("code", "int", 0), ("msg", "const char *", 8)], p
    assert p["fields"][0]["value"] == "423" and p["fields"][1]["value"].endswith('"locked"'), p


def test_a_live_pid_gives_the_same_typed_value():
    with Running(typed(), "hold") as r:
        out = inspect("dump", "--full", "--pid", r.pid)
    assert re.search(r'value = \(struct kv_error \*\) 0x[0-9a-f]+ \{code = 423, ', out.stdout), \
        out.stdout + out.stderr


def test_without_debug_info_the_value_is_untyped_and_says_why():
    exe = typed(extra=["-g0"])
    core = fatal_core(exe, "typed-nodebug")
    out = inspect("dump", "--full", "--core", core, exe)
    assert re.search(r"value = \(untyped: no debug info\) 0x[0-9a-f]+\n", out.stdout), out.stdout
    p = inspect_json("dump", "--core", core, exe)["threads"][0]["panics"][0]
    assert p["value_type"] is None and p["untyped"] == "no debug info", p


def test_full_is_only_for_dump():
    r = inspect("layout", "--full", typed())
    assert r.returncode == 2 and "--full" in r.stderr, r.stderr
