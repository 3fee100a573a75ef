# SPDX-License-Identifier: MIT
"""defer-inspect sites: every line that calls defer() is reported, in the
function that holds it, for gcc and clang, -O0 and -O2, static and shared
libdefer, x86-64 and aarch64 binaries on this machine (how each is found:
docs/defer-inspect.md)."""
import re

import pytest

from dr_util import PROGS, inspect, inspect_json, prog

CASES = [(arch, cc, opt, link) for arch in ("x86_64", "aarch64") for cc in ("gcc", "clang")
         for opt in ("-O0", "-O2") for link in ("static", "shared")]
IDS = ["%s-%s%s-%s" % c for c in CASES]


def expected():
    """(function, line) of each defer( call in progs/sites.c."""
    func, want = None, set()
    for n, line in enumerate((PROGS / "sites.c").read_text().splitlines(), 1):
        m = re.match(r"^\w[\w\s\*]*?\b(\w+)\(.*\)$", line)
        if m and not line.startswith(("static", "#")):
            func = m.group(1)
        if re.search(r"\bdefer\(", line) and not line.lstrip().startswith(("/*", "*")):
            want.add((func, n))
    return want


@pytest.mark.parametrize("arch,cc,opt,link", CASES, ids=IDS)
def test_sites_are_the_defer_calls(arch, cc, opt, link):
    """Open-coded defers are found by their probes, each on its own line."""
    exe = prog("sites.c", cc, opt, link, arch=arch)
    sites = inspect_json("sites", exe)["sites"]
    assert {(s["function"], s["line"]) for s in sites} == expected()
    # One row per line, and every line but the frames' later defers,
    # which only deferproc can take, is open-coded.
    assert len(sites) == len(expected())
    assert any(s["how"].startswith("sdt-probe+") for s in sites)


@pytest.mark.parametrize("arch,cc,opt,link", CASES, ids=IDS)
def test_sites_of_called_defers_are_found_without_probes(arch, cc, opt, link):
    """DEFER_NO_OPEN_CODE: every defer() calls deferproc, found from the
    code and DWARF alone."""
    exe = prog("sites.c", cc, opt, link, extra=["-DDEFER_NO_OPEN_CODE"], arch=arch)
    sites = inspect_json("sites", exe)["sites"]
    got = {(s["function"], s["line"]) for s in sites}
    assert not any("sdt-probe" in s["how"] for s in sites)
    want = expected()
    if cc == "clang" and opt == "-O2":
        # clang -O2 merges the calls of the if/else arms into one call
        # instruction, which DWARF gives line 0: one site.
        src = (PROGS / "sites.c").read_text().splitlines()
        arms = {n for n, t in enumerate(src, 1) if 'defer(put, "big")' in t or
                'defer(put, "small")' in t}
        merged = {w for w in want if w[0] == "branches" and w[1] in arms}
        assert ("branches", 0) in got
        got = (got - {("branches", 0)}) | merged
    assert got == want


@pytest.mark.parametrize("cc,opt", [("gcc", "-O0"), ("gcc", "-O2"), ("clang", "-O2")])
def test_a_defer_in_a_header_is_reported_at_the_header_line(cc, opt):
    """libdefer's line lookups must not fall for libdwarf 20210528 reading a
    DWARF 5 sequence's default file as the primary file (gcc -O2)."""
    exe = prog("header_site.c", cc, opt, extra=["-I", str(PROGS)])
    line = next(n for n, t in enumerate((PROGS / "header_site.h").read_text().splitlines(), 1)
                if "the header's defer" in t)
    sites = inspect_json("sites", exe)["sites"]
    assert [(s["function"], s["file"].rsplit("/", 1)[-1], s["line"]) for s in sites] == [
        ("in_header", "header_site.h", line)], sites


def test_sites_text_names_how_each_was_found():
    out = inspect("sites", prog("sites.c", "gcc", "-O2", "static")).stdout
    assert "[sdt-probe+call-through-pointer]" in out and " branches " in out
    out = inspect("sites", prog("sites.c", "gcc", "-O2", "static",
                                extra=["-DDEFER_NO_OPEN_CODE"])).stdout
    assert "[dwarf-call-site]" in out


def test_program_without_defers_has_no_sites(tmp_path):
    exe = prog("threads.c")  # has defers: sanity of the negative case below
    assert inspect_json("sites", exe)["sites"]
    import conftest
    none = conftest.compile_program("#include \"defer.h\"\nint main(void) { defer_frame; return 0; }\n",
                                    name="nodefer")
    r = inspect("sites", none)
    assert r.returncode == 0 and "no defer sites" in r.stdout


def test_aarch64_calls_through_the_pointer_are_found_by_their_blr():
    """clang -O0 keeps no DWARF call sites: each defer()'s `blr` is found
    from the register its adrp/ldr/ldr sequence filled."""
    exe = prog("sites.c", "clang", "-O0", "static", extra=["-DDEFER_NO_OPEN_CODE"], arch="aarch64")
    sites = inspect_json("sites", exe)["sites"]
    assert sites and all(s["how"] == "call-through-pointer" for s in sites), sites


# Loads of the pointer, then a blr of the register, never run: only where
# nothing wrote the register in between is the blr a call of deferproc.
BLR = r"""
#include <defer.h>
#define LOAD "adrp x1, :got:__defer_deferproc\n\tldr x1, [x1, :got_lo12:__defer_deferproc]\n\t" \
	"ldr x1, [x1]\n\t"
#define CASE(name, rest) __attribute__((noinline)) void name(void) \
	{ __asm__ volatile(LOAD rest ::: "x1", "x2", "x3", "x30", "v1", "v2", "memory"); }
CASE(kept, "mov x2, #0\n\tstr x1, [sp, #-16]!\n\tldr x2, [sp], #16\n\tblr x1")
CASE(moved, "mov x3, x1\n\tblr x3")
CASE(overwritten, "mov x1, #0\n\tblr x1")
CASE(pair_loaded, "ldp x3, x1, [sp]\n\tblr x1")
CASE(written_back, "ldr x3, [x1, #8]!\n\tblr x1")
CASE(branched, "b 1f\n1:\n\tblr x1")
CASE(float_op, "movi d1, #0\n\tfmov d2, #1.0\n\tblr x1")
CASE(to_general, "fmov x1, d0\n\tblr x1")
CASE(fixed_point, "fcvtzs x1, d0, #4\n\tblr x1")
int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 99) {
		kept(); moved(); overwritten(); pair_loaded(); written_back(); branched(); float_op();
		to_general(); fixed_point();
	}
	return 0;
}
"""


def test_aarch64_blr_counts_only_while_the_register_holds_the_pointer():
    import conftest
    exe = conftest.compile_program(BLR, cc="gcc", opt="-O0", link="static", name="blr", arch="aarch64")
    how = {s["function"]: s["how"] for s in inspect_json("sites", exe)["sites"]}
    assert how == {"kept": "call-through-pointer", "moved": "call-through-pointer",
                   "float_op": "call-through-pointer", "overwritten": "load",
                   "pair_loaded": "load", "written_back": "load", "branched": "load",
                   "to_general": "load", "fixed_point": "load"}, how
