# SPDX-License-Identifier: MIT
"""A whole MI session, read by real MI clients: Eclipse CDT's MI parser
(npm cdt-gdb-adapter, installed by make test: scripts/npm-deps) and Emacs
28's gdb-mi (emacs-nox, scripts/install-deps), in batch mode.  Every
libdefer stop must be a full breakpoint stop record, and libdefer's MI
commands must parse into what a front end reads."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from gdbtest import ROOT, STEP_C, compile_program
from libdefer_session import Session

PARSE = Path(__file__).resolve().parent / "dap" / "mi_parse.js"
PARSE_EL = Path(__file__).resolve().parent / "dap" / "mi_parse.el"
NODE_MODULES = Path(os.environ.get("LIBDEFER_CACHE", "/var/cache/libdefer")) / "npm" / \
    "node_modules"


@pytest.fixture(scope="module")
def transcript(tmp_path_factory):
    exe = compile_program(STEP_C)
    with Session(exe, args=["nested"]) as s:
        for kind in ("panic", "recover", "deferreturn"):
            s.cli("catch %s" % kind)
        stop = s.run()
        for _ in range(20):
            if stop.get("reason", "").startswith("exited"):
                break
            s.command("-defer-list-defers")
            s.command("-defer-list-panics")
            s.command("-stack-list-frames")
            stop = s.cont()
        lines = s.transcript
    path = tmp_path_factory.mktemp("mi") / "session.mi"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def parsed(transcript):
    if not (NODE_MODULES / "cdt-gdb-adapter").exists():
        pytest.fail("make test installs cdt-gdb-adapter (scripts/npm-deps)")
    path = transcript
    r = subprocess.run(["node", str(PARSE), str(path)], capture_output=True, text=True,
                       timeout=120, cwd=str(ROOT), env=dict(os.environ, NODE_PATH=str(NODE_MODULES)))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_every_libdefer_stop_is_a_full_breakpoint_stop_record(parsed):
    stops = [d for cls, d in parsed["exec"] if cls == "stopped" and d.get("reason") != "exited-normally"
             and d.get("reason") != "exited"]
    # two panics (catch panic, bkptno 1) and the recover (catch recover, 2)
    assert {d.get("bkptno") for d in stops} >= {"1", "2"}, parsed["exec"]
    for d in stops:
        assert d["reason"] == "breakpoint-hit", d
        assert d["bkptno"] and d["thread-id"] and d["stopped-threads"], d
        assert d["frame"]["func"] and d["frame"]["addr"].startswith("0x"), d


def test_libdefer_mi_results_parse_into_what_a_front_end_reads(parsed):
    lists = [r for r in parsed["results"] if r["command"] == "-defer-list-defers"]
    assert lists and all(r["cls"] == "done" for r in lists)
    defers = [d for r in lists for d in r["data"]["defers"]]
    assert defers, lists
    for d in defers:
        assert d["site"]["fullname"].startswith("/") and int(d["site"]["line"]) > 0, d
        assert isinstance(d["args"], list) and d["state"], d
    panics = [p for r in parsed["results"] if r["command"] == "-defer-list-panics"
              for p in r["data"]["panics"]]
    assert {p["message"] for p in panics} >= {"first panic", "second panic 2"}, panics


def test_emacs_gdb_mi_reads_the_stops_and_the_lists(transcript):
    r = subprocess.run(["emacs", "--batch", "-l", str(PARSE_EL), str(transcript)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    records = json.loads(r.stdout.strip().splitlines()[-1])
    stops = [d for kind, d in records if kind == "stopped" and d.get("reason") == "breakpoint-hit"]
    assert len(stops) >= 3, records
    for d in stops:       # what Emacs shows: the thread and the frame's file and line
        assert d["thread-id"] and d["frame"]["fullname"].startswith("/") and d["frame"]["line"]
    lists = [d for kind, d in records if kind == "done" and "defers" in d]
    assert lists and all(x["site"]["fullname"] for d in lists for x in d["defers"]), lists
