# SPDX-License-Identifier: MIT
"""A debugged program is hostile input: names and messages it holds never
run as gdb expressions or commands, and never reach the terminal raw."""
import re
import subprocess

import pytest

from gdbtest import BUILD, ROOT, SCEN, compile_program, gdb

HOSTILE = SCEN / "hostile.c"
# A data symbol's new name: gdb prints pointers into it as <name>.
EVIL_DATA = "evilbuf\x1b[31m\n  defer 9: FORGED"
NAMES = SCEN / "hostile_names.S"


@pytest.fixture(scope="module", params=["static", "shared"])
def hostile(request):
    exe = compile_program(HOSTILE, link=request.param, extra=[str(NAMES)])
    out = exe.with_name(exe.name + "-stripped")
    if not out.exists():
        # Only the hostile names stay at the deferred functions' addresses.
        subprocess.run(["objcopy", "--strip-symbol=hostile_eval", "--strip-symbol=hostile_call",
                        "--redefine-sym=hostile_buf=" + EVIL_DATA, str(exe), str(out)],
                       check=True)
    return out


def _assert_escaped(out):
    assert "\x1b" not in out and "\x07" not in out, out
    forged = [ln for ln in out.splitlines() if re.match(r"\s*(defer|panic) 9:", ln)]
    assert forged == [], out
    assert "\\033[2J" in out, out            # the escape is still visible, written C-style


VIEWS = ["info defers", "info defers -full", "info panics", "bt", "bt full",
         "print *allgs", "print *allgs->_panic",
         "python from libdefer_gdb import tui; print('\\n'.join(tui._lines()))"]


def test_symbol_names_are_never_evaluated_in_a_live_process(hostile, tmp_path):
    marker = tmp_path / "marker"
    out = gdb("break checkpoint", "run", "info defers", "bt", "print $pwned",
              exe=hostile, args=[marker])
    assert "_main',((int(*)(char*))system)(cmd),'main(2)" in out, out
    assert re.search(r"^\$\d+ = void$", out, re.M), out       # $pwned never set
    assert not marker.exists(), out


def test_symbol_names_are_never_evaluated_in_a_core(hostile, tmp_path):
    core = tmp_path / "hostile.core"
    gdb("break checkpoint", "run", "gcore %s" % core, exe=hostile, args=[tmp_path / "m"])
    out = gdb("info defers", "info panics", "print $pwned", exe=hostile, core=core)
    assert "_main',($pwned=42),'main(1)" in out, out
    assert re.search(r"^\$\d+ = void$", out, re.M), out
    _assert_escaped(out)


def test_control_characters_are_escaped_in_every_text_view(hostile, tmp_path):
    out = gdb("break checkpoint", "run", *VIEWS, exe=hostile, args=[tmp_path / "m"])
    assert out.count("deferred by site at ") >= 6, out
    _assert_escaped(out)
    assert '"\\033]0;pwned\\a\\n  panic 9: \\"forged\\"  [recovered]"' in out, out


def test_catchpoint_and_fatal_stop_lines_are_escaped(hostile, tmp_path):
    out = gdb("catch panic", "catch recover", "run", "continue", exe=hostile,
              args=[tmp_path / "m"])
    assert "Unrecovered panic in thread" in out, out
    _assert_escaped(out)


def test_defer_step_messages_are_escaped(hostile, tmp_path):
    out = gdb("catch panic", "run", "defer step", "defer step", exe=hostile,
              args=[tmp_path / "m"])
    assert "defer step: entering stop_here(x=3, buf=" in out, out
    _assert_escaped(out)


STEP_PROG = r'''#include <defer.h>
volatile int sink;
static void cleanup(int x)
{
	sink = x;		/* line 5: where defer step stops */
}
int main(void)
{
	defer_frame;
	defer(cleanup, 7);
	panic("boom");
}
'''


def test_defer_step_enters_a_function_whose_file_name_has_spaces(tmp_path):
    """The location comes from debug info: a file name with spaces (or one
    that reads like '-function x') is a location, never parsed."""
    d = tmp_path / "src dir -function main"
    d.mkdir()
    src = d / "step me.c"
    src.write_text(STEP_PROG)
    exe = tmp_path / "stepme"       # built in place: compile_program copies the source
    subprocess.run(["gcc", "-g", "-O0", "-I", str(ROOT / "libdefer/include"), str(src),
                    str(BUILD / "libdefer.a"), "-lpthread", "-o", str(exe)], check=True)
    out = gdb("catch panic", "run", "defer step", "info line *$pc", exe=exe)
    assert "defer step: entering cleanup(x=7)" in out, out
    assert re.search(r'Line 5 of "[^"]*step me\.c"', out), out


BAD_UTF8 = r'''#include <defer.h>
volatile int sink;
__attribute__((noinline)) void checkpoint(void) { sink++; }
static void stop(int x) { (void)x; checkpoint(); }
int main(void)
{
	defer_frame;
	defer(stop, 1);
	panic("bad\xff byte");
}
'''


def test_a_message_that_is_not_utf8_keeps_its_bytes():
    exe = compile_program(BAD_UTF8, name="badutf8")
    out = gdb("break checkpoint", "run", "info panics",
              "python print('BYTES', bytes(gdb.parse_and_eval('$_panic_message()').string("
              "'latin-1'), 'latin-1'))",
              'interpreter-exec mi "-defer-list-panics"', exe=exe)
    assert '  panic 1: "bad\\377 byte"  [running]' in out, out
    assert "BYTES b'bad\\xff byte'" in out, out
    assert 'message="bad\\\\xff byte"' in out, out
