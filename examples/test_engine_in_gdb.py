# SPDX-License-Identifier: MIT
"""A test you can copy: drive gdb from pytest with libdefer_session and
check a program's deferred calls and panics as Python objects.

    LIBDEFER_GDB_DIR=/usr/local/share/libdefer/gdb python3 -m pytest examples/

(make test runs it against the source tree: LIBDEFER_GDB_DIR=gdb.)
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, os.environ.get("LIBDEFER_GDB_DIR", "/usr/local/share/libdefer/gdb"))
from libdefer_session import Session  # noqa: E402

ENGINE = Path(__file__).resolve().parent.parent / "build" / "examples" / "engine"


def test_every_parked_worker_still_owes_its_cleanup():
    with Session(ENGINE, args=["3", "--hold"]) as s:
        s.run_to("engine_parked")
        workers = [t for t in s.threads() if t.name and t.name.startswith("worker-")]
        assert len(workers) == 3
        for t in workers:
            first = t.defers[0]
            assert first.function == "buffer_free" and first.state == "pending"
            assert first.site.func == "run_job" and first.site.file.endswith("engine.c")
            assert dict(first.args)["why"].endswith('"job done"')
            assert not t.panics


def test_the_poisoned_job_panics_with_its_message():
    with Session(ENGINE, args=["12"]) as s:
        assert "Catchpoint" in s.cli("catch panic")
        stop = s.run()
        assert stop["reason"] == "breakpoint-hit" and stop["frame"]["func"] == "gopanic"
        panicking = [t for t in s.threads() if t.panics]
        assert len(panicking) == 1
        p = panicking[0].panics[0]
        assert p.message == "render: corrupt input in job 7" and p.state == "running"
        assert p.raised.func == "render"


def test_a_core_file_reads_the_same(tmp_path):
    core = tmp_path / "engine.core"
    with Session(ENGINE, args=["3", "--hold"]) as s:
        s.run_to("engine_parked")
        live = {t.lwp: [d.call for d in t.defers] for t in s.threads()}
        s.cli("gcore %s" % core)
    with Session(ENGINE, core=core) as c:
        assert {t.lwp: [d.call for d in t.defers] for t in c.threads()} == live
