# SPDX-License-Identifier: MIT
"""The example programs do what their comments promise."""
import signal
import subprocess

import pytest

from conftest import (ARCH, BUILD, COMPILERS, LINKS, OPTS, ROOT, command, compile_program,
                      cross, on_host, run)

EX = BUILD / "examples"

# On the host the tests run make's build (build/examples); an aarch64 run
# (DEFER_TEST_ARCH) builds every example in every variant, gcc and clang,
# -O0 and -O2, static and shared libdefer, and runs it under qemu.
BUILDS = [pytest.param((cc, opt, link), id="%s%s-%s" % (cc, opt, link))
          for cc in COMPILERS for opt in OPTS for link in LINKS] if cross(ARCH) else \
    [pytest.param(None, id="make")]


@pytest.fixture(params=BUILDS)
def example(request):
    """example(name): the example program's path, in this test's build."""
    def exe(name):
        if request.param is None:
            return EX / name
        cc, opt, link = request.param
        return compile_program(ROOT / "examples" / f"{name}.c", cc=cc, opt=opt, link=link)
    return exe


def test_filecopy_closes_both_files_on_success_and_the_input_on_failure(example, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("payload\n" * 1000)
    r = run(example("filecopy"), src, tmp_path / "out.txt")
    assert r.returncode == 0
    assert (tmp_path / "out.txt").read_text() == src.read_text()
    assert r.stdout.splitlines()[-2:] == [f"closed {tmp_path}/out.txt", f"closed {src}"]
    r = run(example("filecopy"), src, tmp_path / "no" / "out.txt")
    assert r.returncode == 1
    assert r.stdout == f"closed {src}\n"


def test_handler_turns_panics_into_statuses(example):
    r = run(example("handler"), "/home", "/missing", "/admin")
    assert r.returncode == 0
    assert r.stdout.splitlines() == [
        "hello, bob",
        "/home        -> 200",
        "/missing     -> 404",
        "/admin       -> 500",
        "2 of 3 requests failed",
    ]
    assert "recovered: lookup_user: index 7 out of range [0,2)" in r.stderr


def test_engine_recovers_a_failed_job_and_stops_cleanly(example):
    r = run(example("engine"), "12")
    assert r.returncode == 0
    assert "job 7 failed: render: corrupt input in job 7" in r.stdout
    assert r.stdout.splitlines()[-1] == "engine main stopped: 11 done, 1 failed"
    assert sorted(l for l in r.stdout.splitlines() if l.startswith("worker")) == \
        ["worker 0 exits", "worker 1 exits", "worker 2 exits"]


def test_engine_hold_parks_workers_until_sigint(example):
    p = subprocess.Popen(command(example("engine")) + ["3", "--hold"], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline() == "engine: 3 workers parked with deferred calls pending\n"
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 0
    assert out.splitlines()[-1] == "engine main stopped: 3 done, 0 failed"


def test_nested_reports_both_panics_and_exits_2(example):
    r = run(example("nested"))
    assert r.returncode == 2
    assert r.stdout.splitlines() == ["flushing journal /var/db/journal",
                                     "released table lock", "released database"]
    assert r.stderr.startswith("panic: commit: transaction 17 conflicts\n"
                               "\tpanic: flush_journal: /var/db/journal: disk full\n\n")


def units_dir(tmp_path):
    """Two good units, one with a line without '=', one with an unknown key,
    and a file that is not a unit."""
    d = tmp_path / "units"
    d.mkdir()
    (d / "a-web.unit").write_text("# web\nDescription=Web server\nExecStart=/usr/bin/httpd\n")
    (d / "b-broken.unit").write_text("Description=Broken\nExecStart\n")
    (d / "c-odd.unit").write_text("Description=Odd\nUser=nobody\n")
    (d / "d-db.unit").write_text("Description=DB\nExecStart=/usr/bin/db\n")
    (d / "notes.txt").write_text("not a unit\n")
    return d


UNITS_OUT = [
    "ok   a-web.unit: Web server (/usr/bin/httpd)",
    "bad  b-broken.unit: b-broken.unit:2: missing '=' in \"ExecStart\"",
    "bad  c-odd.unit: c-odd.unit:2: unknown key User",
    "ok   d-db.unit: DB (/usr/bin/db)",
    "loaded 2 of 4 units",
]


def test_units_recovers_each_bad_unit_three_frames_up_and_goes_on(example, tmp_path):
    r = run(example("units"), units_dir(tmp_path))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines() == UNITS_OUT


def test_units_under_valgrind_leaks_nothing_and_leaves_no_descriptor_open(tmp_path):
    """The panics cross load_unit and parse_unit, whose descriptor and
    buffers are deferred; load_dir's _cleanup_ variables and the units'
    strings are freed by their cleanups.  What valgrind calls still
    reachable is the thread's g and record pool, kept for its life."""
    on_host("valgrind has no arm64 tool here (it runs the host's programs only)")
    r = subprocess.run(["valgrind", "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect,possible",
                        "--error-exitcode=99", "--track-fds=yes",
                        str(EX / "units"), str(units_dir(tmp_path))],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == UNITS_OUT
    assert "FILE DESCRIPTORS: 3 open (3 std) at exit." in r.stderr, r.stderr


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", OPTS)
def test_units_under_asan_leaks_nothing(tmp_path, cc, opt):
    exe = compile_program(ROOT / "examples" / "units.c", cc=cc, opt=opt, link="sanitize")
    r = run(exe, units_dir(tmp_path), env={"ASAN_OPTIONS": "detect_leaks=1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == UNITS_OUT
