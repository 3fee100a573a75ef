# SPDX-License-Identifier: MIT
"""gdb's DAP server (`gdb -i dap`, gdb 14+) with the extension, driven as
VS Code drives it, by Microsoft's own DAP test client (npm
@vscode/debugadapter-testsupport, installed by make test: scripts/npm-deps).

Runs against Debian 13's gdb 16 (build/gdb16/gdb, scripts/gdb-chroot): the
host's gdb 13 has no DAP server."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gdbtest import BUILD, ENTRY, ROOT, STEP_C, compile_program

GDB16 = BUILD / "gdb16" / "gdb"
SESSION = Path(__file__).resolve().parent / "dap" / "session.js"
NODE_MODULES = Path(os.environ.get("LIBDEFER_CACHE", "/var/cache/libdefer")) / "npm" / \
    "node_modules"


def _session(tmp_path, mode, link="static", adapter_argv=None, filters=None, src=STEP_C):
    for need in (GDB16, NODE_MODULES / "@vscode" / "debugadapter-testsupport"):
        if not need.exists():
            pytest.fail("make test sets up %s (scripts/gdb-chroot, scripts/npm-deps)" % need)
    if shutil.which("node") is None:
        pytest.fail("node is not installed (scripts/install-deps installs it)")
    adapter = tmp_path / "adapter.sh"
    adapter.write_text("#!/bin/sh\nexec %s\n" % (adapter_argv or
                                                '%s -q -i dap -iex "source %s"' % (GDB16, ENTRY)))
    exe = compile_program(src, link=link)
    r = subprocess.run(["node", str(SESSION), str(adapter), str(exe.resolve()), mode] +
                       ([json.dumps(filters)] if filters else []),
                       capture_output=True, text=True, timeout=300, cwd=str(ROOT),
                       env=dict(os.environ, NODE_PATH=str(NODE_MODULES)))
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert lines, r.stdout + r.stderr
    out = json.loads(lines[-1])
    assert "error" not in out, out["error"]
    return out


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    """A panic stopped by the Panics filter, then a breakpoint in the
    deferred call it runs, then the recovery and a normal exit."""
    return _session(tmp_path_factory.mktemp("dap"), "panic")


def _frame(stop, name):
    return next(f for f in stop["frames"] if f["name"] == name)


def test_initialize_offers_libdefer_exception_filters_beside_gdbs(recovered):
    assert recovered["filters"][-2:] == ["libdefer-panic", "libdefer-unrecovered"]
    assert "throw" in recovered["filters"]          # gdb's own are kept
    assert recovered["exceptionInfo"] is True
    assert [bp["verified"] for bp in recovered["exceptionBreakpoints"]] == [True, True]


def test_a_panic_is_a_dap_exception_with_its_message(recovered):
    stop = recovered["stops"][0]
    assert stop["reason"] == "exception" and stop["description"] == "panic", stop
    assert stop["text"] == "bottom failed: 42"
    info = stop["info"]
    assert info["exceptionId"] == "panic" and info["description"] == "bottom failed: 42"
    assert info["details"]["stackTrace"].startswith("raised in bottom at "), info


def test_stack_trace_with_include_all_lists_deferred_calls(recovered):
    stop = recovered["stops"][0]
    assert stop["framesAll"][:3] == ["gopanic", "bottom", "defer 1: seen_bottom"], stop
    assert "defer 3: recover_it" in stop["framesAll"]


def test_frames_have_a_deferred_calls_scope_with_arguments_site_and_state(recovered):
    calls = _frame(recovered["stops"][1], "middle")["scopes"]["Deferred calls"]
    assert [c["name"] for c in calls] == ["defer 1: seen_middle"]
    assert calls[0]["value"] == "seen_middle(n=2)"
    kids = dict(calls[0]["children"])
    assert kids["n"] == "2" and "run by panic 1" in kids["state"], kids
    assert "middle at " in kids["deferred by"], kids


def test_locals_hide_libdefers_marker_variables(recovered):
    for stop in recovered["stops"]:
        for f in stop["frames"]:
            locs = f["scopes"].get("Locals")
            if isinstance(locs, list):
                assert not [v for v in locs if v["name"].startswith("__defer")], f
    assert [v["name"] for v in _frame(recovered["stops"][1], "top")["scopes"]["Locals"]] == \
        ["status"]


def test_a_breakpoint_stop_stays_a_breakpoint(recovered):
    assert recovered["stops"][1]["reason"] == "breakpoint"
    assert recovered["stops"][1]["frames"][0]["name"] == "seen_middle"


def test_info_defers_runs_in_the_debug_console(recovered):
    assert "defer 1: seen_middle(n=2)  [run by panic 1]" in recovered["stops"][1]["repl"]


def test_the_session_ends_when_the_program_exits(recovered):
    assert len(recovered["stops"]) == 2 and recovered.get("terminated") is True, recovered


def test_an_unrecovered_panic_stops_as_an_unhandled_exception(tmp_path):
    out = _session(tmp_path, "fatal", link="shared")
    reasons = [(s["reason"], s.get("description")) for s in out["stops"]]
    assert reasons[-1] == ("exception", "unrecovered panic"), reasons
    last = out["stops"][-1]
    assert last["info"]["breakMode"] == "unhandled", last
    assert last["text"].startswith("nobody recovers this"), last
    assert out.get("terminated") is True


def test_deferdb_dap_is_a_debug_adapter(tmp_path):
    """What an IDE is told to launch: `deferdb --dap`."""
    out = _session(tmp_path, "panic", adapter_argv="env GDB=%s %s --dap" % (
        GDB16, ROOT / "gdb" / "deferdb"))
    assert out["stops"][0]["reason"] == "exception" and out.get("terminated") is True, out


def test_a_panic_filter_condition_is_applied_and_other_stops_stay_breakpoints(tmp_path):
    """condition "0": the panic never stops; the breakpoint in the call it
    runs must then be reported as a breakpoint, not as that panic."""
    out = _session(tmp_path, "panic", filters={"filters": [], "filterOptions": [
        {"filterId": "libdefer-panic", "condition": "0"}]})
    assert out["exceptionBreakpoints"][0]["verified"] is True, out
    assert [s["reason"] for s in out["stops"]] == ["breakpoint"], out["stops"]
    assert "text" not in out["stops"][0] or out["stops"][0]["text"] is None


def test_the_unrecovered_filter_refuses_a_condition(tmp_path):
    out = _session(tmp_path, "panic", filters={"filters": [], "filterOptions": [
        {"filterId": "libdefer-unrecovered", "condition": "1"}]})
    assert out["exceptionBreakpoints"] == [
        {"verified": False, "message": "this filter takes no condition"}], out


def test_exception_info_carries_the_panic_values_type_and_typed_value(tmp_path):
    """A panic_value panic: exceptionInfo names the value's static type at the
    panic site, and its evaluateName gives the typed value, with fields."""
    from gdbtest import SCEN
    out = _session(tmp_path, "typed", src=SCEN / "typed.c", filters={"filters": ["libdefer-panic"]})
    stop = next(s for s in out["stops"] if s["reason"] == "exception")
    details = stop["info"]["details"]
    assert details["fullTypeName"] == "struct kv_error *", details
    assert stop["evaluated"]["type"] == "struct kv_error *", stop
    assert stop["evaluated"]["variablesReference"], stop      # expandable: its fields
