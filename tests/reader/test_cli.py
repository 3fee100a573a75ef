# SPDX-License-Identifier: MIT
"""defer-inspect's command line (getopt_long): --opt=VALUE and --opt VALUE,
options before or after the command, `--` before a BINARY that starts with
'-', -h/--help and --version; every usage error is exit 2, one line naming
it, then the usage."""
import shutil

import pytest

from dr_util import Running, inspect, prog


def usage_error(r, words):
    assert r.returncode == 2, (r.returncode, r.stderr)
    first, rest = r.stderr.split("\n", 1)
    assert first == "defer-inspect: " + words, r.stderr
    assert rest.startswith("usage: defer-inspect layout"), r.stderr
    assert r.stdout == ""


def test_pid_equals_value_and_pid_space_value_read_the_same_process():
    exe = prog("threads.c", "gcc", "-O0", "static")
    with Running(exe, 2, 3) as p:
        spaced = inspect("dump", "--pid", p.pid)
        joined = inspect("dump", "--pid=%d" % p.pid)
        first = inspect("--pid=%d" % p.pid, "dump")
    assert spaced.returncode == 0, spaced.stderr
    assert spaced.stdout.count("  defer ") == 6
    assert joined.returncode == 0 and first.returncode == 0
    assert joined.stdout == spaced.stdout == first.stdout


def test_options_after_the_binary_and_budgets_with_equals():
    exe = prog("threads.c", "gcc", "-O0", "static")
    a = inspect("layout", "--json", exe)
    b = inspect("layout", exe, "--max-time=30", "--json")
    assert a.returncode == b.returncode == 0, b.stderr
    assert a.stdout == b.stdout and a.stdout.startswith('{"schema": ')


def test_double_dash_lets_a_binary_name_start_with_a_dash(tmp_path):
    exe = prog("threads.c", "gcc", "-O0", "static")
    shutil.copy(exe, tmp_path / "-prog")
    r = inspect("layout", "--", "-prog", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("binary        -prog\n"), r.stdout
    usage_error(inspect("layout", "-prog", cwd=tmp_path), "unknown option -p")


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_prints_the_usage_on_stdout_and_exits_0(flag):
    for argv in ([flag], ["dump", flag], ["layout", "x", flag]):
        r = inspect(*argv)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert r.stdout.startswith("usage: defer-inspect layout")
        assert "--version" in r.stdout and "--max-time SECONDS" in r.stdout


def test_version_prints_libdefers_version_and_exits_0():
    from conftest import header_version
    version = header_version()
    r = inspect("--version")
    assert (r.returncode, r.stdout, r.stderr) == (0, "defer-inspect (libdefer) %s\n" % version, "")


@pytest.mark.parametrize("argv,words", [
    ([], "no command"),
    (["--json"], "no command"),
    (["frobnicate", "x"], "unknown command"),
    (["layout"], "wants one BINARY"),
    (["layout", "a", "b"], "too many arguments"),
    (["layout", "--pid", "1", "x"], "wants one BINARY"),
    (["dump", "--core", "x"], "dump wants --core CORE BINARY or --pid PID"),
    (["dump", "--pid", "1", "--core", "c", "b"], "dump wants --core CORE BINARY or --pid PID"),
    (["dump", "--pid"], "--pid wants an argument"),
    (["dump", "--pid", "abc"], "--pid wants a process id"),
    (["dump", "--pid=0"], "--pid wants a process id"),
    (["dump", "--pid="], "--pid wants a process id"),
    (["layout", "x", "--max-records", "-1"], "a budget wants a positive number"),
    (["layout", "x", "--max-time=0"], "a budget wants a positive number"),
    (["layout", "x", "--max-panics=99999999999999999999999"], "a budget wants a positive number"),
    (["layout", "x", "--max-frobs", "3"], "unknown option --max-frobs"),
    (["layout", "x", "--frob"], "unknown option --frob"),
    (["layout", "x", "-q"], "unknown option -q"),
])
def test_usage_errors_exit_2_with_one_line_and_the_usage(argv, words):
    usage_error(inspect(*argv), words)
