# SPDX-License-Identifier: MIT
"""gdb versions: 12 and newer run the extension (the suite runs under the
host's gdb and again under Debian 13's gdb 16, see the Makefile); older
ones load nothing and say so in one line."""
import subprocess

import pytest

from gdbtest import BUILD, ENTRY, GDB_DIR, scen

GDB10 = BUILD / "gdb10" / "gdb"


@pytest.fixture(scope="module")
def gdb10():
    if not GDB10.exists():
        pytest.fail("make test builds %s (scripts/gdb-chroot bullseye)" % GDB10)
    return GDB10


def _run(gdb, *argv):
    r = subprocess.run([str(gdb), "-nx", "-batch", *map(str, argv)], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    return r.stdout + r.stderr


@pytest.mark.parametrize("how", ["source", "autoload"])
def test_gdb_older_than_12_loads_nothing_and_says_why_in_one_line(gdb10, how):
    exe = scen(link="static")           # host glibc is too new for bullseye's dynamic ones
    load = (["-iex", "source %s" % ENTRY] if how == "source"
            else ["-iex", "add-auto-load-safe-path %s" % GDB_DIR])
    out = _run(gdb10, *load, "-ex", "info defers", exe)
    said = [ln for ln in out.splitlines() if "libdefer's" in ln]
    assert len(said) == 1, out
    assert said[0].startswith("libdefer's gdb extension needs gdb 12 or newer "
                              "(this is gdb 10."), out
    assert "Traceback" not in out and "Python Exception" not in out, out
    assert 'Undefined info command: "defers"' in out, out
