# SPDX-License-Identifier: MIT
"""defer-inspect --json against the schema documented in
docs/defer-inspect.md ("JSON"): the tables there are parsed here and real
output of every command and target kind is validated against them: layout
(static program, shared program, libdefer.so itself, a stripped library
read from its table), sites (static, shared), dump (a core, a live pid,
a fatal panic chain, a corrupt chain, a panic history).  A key missing, undocumented or of
another type fails; so does a documented object no output exercised."""
import re
import subprocess

import pytest

from dr_util import BUILD, OUT, ROOT, Running, core_at, gcore, inspect, prog, qemu_core

DOC = ROOT / "docs" / "defer-inspect.md"


def parse_schema(text):
    """{object name: {key: (type, required)}} from the ### tables of the
    JSON section."""
    section = text[text.index("## JSON ("):]
    section = section[:section.index("\n## ", 1)]
    objects = {}
    for block in re.split(r"^### ", section, flags=re.M)[1:]:
        name = block.split("\n", 1)[0].strip()
        keys = {}
        for row in re.findall(r"^\| `([^`]+)` \| ([^|]+) \|[^|]*\| ([^|]+) \|$", block, re.M):
            keys[row[0]] = (row[1].strip(), row[2].strip() == "never")
        assert keys, name
        objects[name] = keys
    return objects


SCHEMA = parse_schema(DOC.read_text())
SEEN = set()


def check(value, typ, path, errors):
    """Append to errors where value is not of the documented type typ."""
    if " or " in typ and not typ.startswith("one of"):
        alts = typ.split(" or ")
        trial = []
        for alt in alts:
            e = []
            check(value, alt, path, e)
            if not e:
                return
            trial += e
        errors.append("%s: %r is none of %s" % (path, value, typ))
        return
    if typ == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif typ == "bool":
        ok = isinstance(value, bool)
    elif typ == "string":
        ok = isinstance(value, str)
    elif typ == "null":
        ok = value is None
    elif typ.startswith("one of "):
        ok = value in re.findall(r'"([^"]*)"', typ)
    elif typ.startswith("array of "):
        if not isinstance(value, list):
            ok = False
        else:
            for i, v in enumerate(value):
                check(v, typ[len("array of "):], "%s[%d]" % (path, i), errors)
            return
    elif typ.startswith("map of "):
        if not isinstance(value, dict):
            ok = False
        else:
            for k, v in value.items():
                check(v, typ[len("map of "):], "%s.%s" % (path, k), errors)
            return
    elif typ.startswith("object "):
        validate(value, typ[len("object "):], path, errors)
        return
    else:
        raise AssertionError("%s: unknown type %r in %s" % (path, typ, DOC))
    if not ok:
        errors.append("%s: %r is not %s" % (path, value, typ))


def validate(doc, name, path, errors):
    keys = SCHEMA[name]
    SEEN.add(name)
    if not isinstance(doc, dict):
        errors.append("%s: %r is not an object %s" % (path, doc, name))
        return
    for k in doc:
        if k not in keys:
            errors.append("%s.%s: not documented in %s" % (path, k, name))
    for k, (typ, required) in keys.items():
        if k not in doc:
            if required:
                errors.append("%s.%s: missing" % (path, k))
            continue
        check(doc[k], typ, "%s.%s" % (path, k), errors)


def valid(r, name, status=0):
    import json
    assert r.returncode == status, r.stderr
    doc = json.loads(r.stdout)
    assert list(doc)[0] == "schema" and doc["schema"] == 1
    errors = []
    validate(doc, name, name, errors)
    assert errors == [], "\n".join(errors)
    return doc


def test_the_schema_tables_parse_into_every_documented_object():
    assert set(SCHEMA) == {"layout", "probe", "records", "sites", "site", "dump", "target",
                           "runtime", "thread", "defer", "arg", "panic", "field", "recovered", "where"}
    assert SCHEMA["dump"]["schema"] == ("int", True)
    assert SCHEMA["layout"]["dwarf"] == ("object records", False)


def test_validator_rejects_a_missing_an_undocumented_and_a_mistyped_key():
    errors = []
    validate({"pc": "0x10", "function": None, "file": None, "how": "load", "deferred": None,
              "extra": 1}, "site", "site", errors)
    assert sorted(e.split(":")[0] for e in errors) == ["site.extra", "site.line", "site.pc"]


@pytest.mark.parametrize("link", ["static", "shared"])
def test_layout_and_sites_of_a_program_match_the_schema(link):
    exe = prog("threads.c", "gcc", "-O2", link)
    lay = valid(inspect("layout", "--json", exe), "layout")
    assert lay["shared"] == (link == "shared") and "dwarf" in lay and "table" in lay
    sites = valid(inspect("sites", "--json", exe), "sites")
    assert sites["sites"]


def test_layout_of_the_library_and_of_a_stripped_copy_match_the_schema(tmp_path):
    valid(inspect("layout", "--json", BUILD / "libdefer.so.1"), "layout")
    lib = tmp_path / "libdefer.so.1"
    subprocess.run(["strip", "-o", str(lib), str(BUILD / "libdefer.so.1")], check=True)
    lay = valid(inspect("layout", "--json", lib), "layout")
    assert lay["source"] == "table" and "dwarf" not in lay and lay["agree"] is None


@pytest.mark.parametrize("link", ["static", "shared"])
def test_dump_of_a_core_and_of_a_live_pid_match_the_schema(link):
    exe = prog("threads.c", "gcc", "-O0", link)
    OUT.mkdir(parents=True, exist_ok=True)
    core = OUT / ("schema-%s.core" % link)
    with Running(exe, 2, 3) as p:
        live = valid(inspect("dump", "--json", "--pid", p.pid), "dump")
        gcore(p.pid, core)
    assert live["target"]["kind"] == "pid"
    dump = valid(inspect("dump", "--json", "--core", core, exe), "dump")
    assert dump["target"]["kind"] == "core"
    args = [a for t in dump["threads"] for d in t["defers"] for a in d["args"]]
    assert args and any(a["name"] for a in args)


def test_layout_sites_and_a_qemu_core_of_an_aarch64_program_match_the_schema(tmp_path):
    exe = prog("threads.c", "gcc", "-O2", "shared", arch="aarch64")
    valid(inspect("layout", "--json", exe), "layout")
    assert valid(inspect("sites", "--json", exe), "sites")["sites"]
    core = qemu_core(exe, tmp_path, ["2", "3", "crash"], {"DEFER_TRACEBACK": "crash"})
    dump = valid(inspect("dump", "--json", "--core", core, exe), "dump")
    assert dump["target"]["kind"] == "core" and [t for t in dump["threads"] if t["defers"]]


def test_dump_of_a_fatal_panic_chain_matches_the_schema():
    exe = prog("chain.c", "gcc", "-O0", "static")
    OUT.mkdir(parents=True, exist_ok=True)
    core = core_at(exe, [], "fatalpanic", OUT / "schema-chain.core")
    dump = valid(inspect("dump", "--json", "--core", core, exe), "dump")
    assert sum(len(t["panics"]) for t in dump["threads"]) == 2


def test_dump_full_of_a_typed_panic_value_matches_the_schema():
    """panic_value's type and, with --full, its fields."""
    from conftest import compile_program
    exe = compile_program(ROOT / "tests" / "gdb" / "scenarios" / "typed.c")
    OUT.mkdir(parents=True, exist_ok=True)
    core = core_at(exe, ["fatal"], "fatalpanic", OUT / "schema-typed.core")
    dump = valid(inspect("dump", "--json", "--full", "--core", core, exe), "dump")
    p = dump["threads"][0]["panics"][0]
    assert p["value_type"] == "struct kv_error *" and len(p["fields"]) == 2, p


def test_dump_of_a_corrupt_chain_matches_the_schema():
    """A record whose link points to itself: exit 9, the thread's warning
    and corrupt set."""
    src = r'''
#include <stdio.h>
#include <unistd.h>
#include <defer.h>
static void f(int i) { (void)i; }
int main(void)
{
	defer_frame;
	defer(f, 1);
	defer(f, 2);
	struct _defer *d = __defer_tls.g->_defer;
	d->link = d;
	printf("ready\n");
	fflush(stdout);
	pause();
	d->link = 0;
	return 0;
}
'''
    from conftest import compile_program
    exe = compile_program(src, name="schema-cycle")
    with Running(exe) as p:
        dump = valid(inspect("dump", "--json", "--pid", p.pid), "dump", status=9)
    assert dump["corrupt"] == 1 and any(t["corrupt"] and t["warning"] for t in dump["threads"])


def history_dump(*args):
    """dump --json --history of scenarios/history.c (main recovers 20
    panics, worker k recovers k), live and from its core."""
    from conftest import compile_program
    from gdbtest import SCEN
    exe = compile_program(SCEN / "history.c")
    OUT.mkdir(parents=True, exist_ok=True)
    core = OUT / "schema-history.core"
    with Running(exe, 20, 2, "sleep") as p:
        live = valid(inspect("dump", "--json", "--history", "--pid", p.pid), "dump")
        gcore(p.pid, core)
    return live, valid(inspect("dump", "--json", "--history", "--core", core, exe), "dump")


def test_dump_history_of_a_live_pid_and_a_core_match_the_schema():
    for dump in history_dump():
        by_count = {t["recovered"]: t for t in dump["threads"]}
        assert sorted(by_count) == [1, 2, 20]
        main = by_count[20]
        assert [h["seq"] for h in main["history"]] == list(range(20, 4, -1))
        assert main["history_error"] is None
        h = main["history"][0]
        assert h["message"] == "main failure 20" and h["textlen"] == len(h["message"])
        assert h["where"]["function"] == "fail" and h["function"]["function"] == "catcher"
        # panic_value's site object: the value's type (typed panic values).
        assert h["deferred"]["function"] == "attempt" and h["arg"] and h["type"]
        times = [x["time_ns"] for x in main["history"]]
        assert times == sorted(times, reverse=True)


def test_dump_without_history_has_no_history_keys():
    exe = prog("threads.c", "gcc", "-O0", "static")
    with Running(exe, 2, 3) as p:
        dump = valid(inspect("dump", "--json", "--pid", p.pid), "dump")
    assert all("history" not in t for t in dump["threads"])


def test_every_documented_object_is_exercised_by_real_output():
    """No table documents an object the tool never prints (on its own:
    the checks above, again, from an empty record)."""
    SEEN.clear()
    test_layout_and_sites_of_a_program_match_the_schema("static")
    test_dump_of_a_core_and_of_a_live_pid_match_the_schema("static")
    test_dump_of_a_fatal_panic_chain_matches_the_schema()
    test_dump_full_of_a_typed_panic_value_matches_the_schema()
    history_dump()
    assert SEEN == set(SCHEMA)
