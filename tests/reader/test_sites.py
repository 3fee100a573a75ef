"""defer-inspect sites: every line that calls defer() is reported, in the
function that holds it, for gcc and clang, -O0 and -O2, static and shared
libdefer (how each is found: docs/defer-inspect.md)."""
import re

import pytest

from dr_util import PROGS, inspect, inspect_json, prog

CASES = [(cc, opt, link) for cc in ("gcc", "clang") for opt in ("-O0", "-O2")
         for link in ("static", "shared")]


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


@pytest.mark.parametrize("cc,opt,link", CASES, ids=["%s%s-%s" % c for c in CASES])
def test_sites_are_the_defer_calls(cc, opt, link):
    exe = prog("sites.c", cc, opt, link)
    got = {(s["function"], s["line"]) for s in inspect_json("sites", exe)["sites"]}
    want = expected()
    if cc == "clang" and opt == "-O2":
        # clang -O2 merges the calls of the if/else arms (lines 31 and 33)
        # into one call instruction, which DWARF gives line 0: one site.
        merged = {w for w in want if w[0] == "branches" and w[1] in (31, 33)}
        assert ("branches", 0) in got
        got = (got - {("branches", 0)}) | merged
    assert got == want


def test_sites_text_names_how_each_was_found():
    out = inspect("sites", prog("sites.c", "gcc", "-O2", "static")).stdout
    assert "[dwarf-call-site]" in out and " branches " in out


def test_program_without_defers_has_no_sites(tmp_path):
    exe = prog("threads.c")  # has defers: sanity of the negative case below
    assert inspect_json("sites", exe)["sites"]
    import conftest
    none = conftest.compile_program("#include \"defer.h\"\nint main(void) { defer_frame; return 0; }\n",
                                    name="nodefer")
    r = inspect("sites", none)
    assert r.returncode == 0 and "no defer sites" in r.stdout
