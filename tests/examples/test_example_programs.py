# SPDX-License-Identifier: MIT
"""The example programs do what their comments promise."""
import signal
import subprocess

from conftest import BUILD, run

EX = BUILD / "examples"


def test_filecopy_closes_both_files_on_success_and_the_input_on_failure(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("payload\n" * 1000)
    r = run(EX / "filecopy", src, tmp_path / "out.txt")
    assert r.returncode == 0
    assert (tmp_path / "out.txt").read_text() == src.read_text()
    assert r.stdout.splitlines()[-2:] == [f"closed {tmp_path}/out.txt", f"closed {src}"]
    r = run(EX / "filecopy", src, tmp_path / "no" / "out.txt")
    assert r.returncode == 1
    assert r.stdout == f"closed {src}\n"


def test_handler_turns_panics_into_statuses():
    r = run(EX / "handler", "/home", "/missing", "/admin")
    assert r.returncode == 0
    assert r.stdout.splitlines() == [
        "hello, bob",
        "/home        -> 200",
        "/missing     -> 404",
        "/admin       -> 500",
        "2 of 3 requests failed",
    ]
    assert "recovered: lookup_user: index 7 out of range [0,2)" in r.stderr


def test_engine_recovers_a_failed_job_and_stops_cleanly():
    r = run(EX / "engine", "12")
    assert r.returncode == 0
    assert "job 7 failed: render: corrupt input in job 7" in r.stdout
    assert r.stdout.splitlines()[-1] == "engine main stopped: 11 done, 1 failed"
    assert sorted(l for l in r.stdout.splitlines() if l.startswith("worker")) == \
        ["worker 0 exits", "worker 1 exits", "worker 2 exits"]


def test_engine_hold_parks_workers_until_sigint():
    p = subprocess.Popen([str(EX / "engine"), "3", "--hold"], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "engine: 3 workers parked with deferred calls pending\n"
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 0
    assert out.splitlines()[-1] == "engine main stopped: 3 done, 0 failed"


def test_nested_reports_both_panics_and_exits_2():
    r = run(EX / "nested")
    assert r.returncode == 2
    assert r.stdout.splitlines() == ["flushing journal /var/db/journal",
                                     "released table lock", "released database"]
    assert r.stderr.startswith("panic: commit: transaction 17 conflicts\n"
                               "\tpanic: flush_journal: /var/db/journal: disk full\n\n")
