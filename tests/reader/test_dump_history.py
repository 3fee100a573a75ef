# SPDX-License-Identifier: MIT
"""defer-inspect dump --history as text (issue 17 point 3): each thread's
recovered panics, newest first, in the words of gdb's
`info panics -history`, from a core and from a live process."""
import re

import conftest
from dr_util import Running, gcore, inspect
from gdbtest import SCEN, gdb

def history_prog():
    return conftest.compile_program(SCEN / "history.c")


def entries(text):
    """Each thread's history lines, without the thread headers (whose
    wording differs between the tools) or gdb's symbol after a value
    (`<values+4>`: dump prints the bare pointer, as for panics)."""
    out = []
    for block in re.split(r"^Thread .*:$", text, flags=re.M)[1:]:
        lines = [re.sub(r"(value=0x[0-9a-f]+) <[^>]*>", r"\1", re.sub(r"\S*/", "", l))
                 for l in block.splitlines()
                 if re.match(r"  (\d+ panics? recovered|recovered \d+:|No recovered)|           "
                             r"(raised in|recovered by|value type:)", l)]
        if lines:
            out.append(lines)
    return sorted(out)


def test_dump_history_of_a_core_prints_what_gdb_prints(tmp_path):
    exe = history_prog()
    with Running(exe, 19, 2, "sleep") as p:
        core = gcore(p.pid, tmp_path / "history.core")
    r = inspect("dump", "--history", "--core", core, exe)
    assert r.returncode == 0, r.stderr
    ours = entries(r.stdout)
    theirs = entries(gdb("info panics -history all", exe=exe, core=core))
    assert ours == theirs and len(ours) == 3, (r.stdout, theirs)
    (main,) = [t for t in ours if t[0].startswith("  19 panics recovered")]
    assert main[0] == "  19 panics recovered; the last 16, newest first:"
    assert re.match(r'  recovered 19: "main failure 19" value=0x[0-9a-f]+  \[t=\d+\.\d{6}s\]$',
                    main[1]), main
    assert main[2] == "           value type: int *", main     # panic_value's static type


def test_dump_without_history_prints_no_history():
    with Running(history_prog(), 3, 0, "sleep") as p:
        plain = inspect("dump", "--pid", p.pid)
        hist = inspect("dump", "--history", "--pid", p.pid)
    assert "recovered" not in plain.stdout
    assert "  3 panics recovered; the last 3, newest first:" in hist.stdout


def test_history_is_an_option_of_dump_only():
    r = inspect("layout", "--history", history_prog())
    assert r.returncode == 2 and "--history is an option of dump" in r.stderr
