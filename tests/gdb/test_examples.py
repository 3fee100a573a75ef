# SPDX-License-Identifier: MIT
"""The example programs under gdb: what a newcomer sees with deferdb."""
import re

from gdbtest import ROOT, compile_program, defers_of, gdb

EX = ROOT / "examples"


def example(name, cc="gcc", opt="-O1"):
    return compile_program(EX / (name + ".c"), cc=cc, opt=opt)


def _line(name, text):
    for i, l in enumerate((EX / (name + ".c")).read_text().splitlines(), 1):
        if text in l:
            return i
    raise AssertionError(text)


def test_engine_parked_workers_all_threads():
    out = gdb("break engine_parked", "run", "info defers all", exe=example("engine"),
              args=["3", "--hold"])
    headers = re.findall(r'^Thread (\d+) \(.*"(worker-\d|engine)[^"]*"\):$', out, re.M)
    names = {n: name for n, name in headers}
    assert sorted(names.values()) == ["engine", "worker-0", "worker-1", "worker-2"], out
    jobs = set()
    for n, name in names.items():
        ds = defers_of(out, n)
        if name == "engine":
            assert [d[1].split("(")[0] for d in ds] == ["engine_stop"]
            continue
        calls = [d[1] for d in ds]
        assert re.match(r'buffer_free\(b=0x[0-9a-f]+, why=0x[0-9a-f]+ "job done"\)$', calls[0])
        m = re.match(r"count_failure\(e=0x[0-9a-f]+, job=(\d)\)$", calls[1])
        jobs.add(m.group(1))
        assert re.match(r'(__)?printf\((format=)?0x[0-9a-f]+( "worker %d exits\\n")?, ' +
                        name[-1] + r'\)$', calls[2]), calls[2]
        assert [d[3] for d in ds] == ["run_job", "run_job", "worker"]
        assert re.search(r"engine[-\w]*\.c:%d$" % _line("engine", "defer(buffer_free"), ds[0][4])
    assert jobs == {"0", "1", "2"}


def test_engine_panic_stopped_in_the_recovering_call():
    out = gdb("break count_failure if $_panicking()", "run", "info panics", "info defers",
              "bt", exe=example("engine"), args=["12"])
    assert re.search(r'panic 1: "render: corrupt input in job 7"  \[running\]\n'
                     r'\s+raised in render at \S*engine[-\w]*\.c:%d\n'
                     r'\s+running defer 1: count_failure\(e=0x[0-9a-f]+, job=7\)' %
                     _line("engine", 'panic("render'), out), out
    ds = defers_of(out)
    assert ds[0][2] == "run by panic 1" and ds[0][3] == "run_job"
    assert re.search(r"^    defer 1 \(run by panic 1\): count_failure \(e=0x[0-9a-f]+, job=7\)",
                     out, re.M)


def test_nested_unrecovered_panic_core(tmp_path):
    exe = example("nested")
    core = tmp_path / "nested.core"
    # (the extension's stop before a fatal panic is turned off: we want the abort)
    gdb("run", "generate-core-file %s" % core, exe=exe, env={"DEFER_TRACEBACK": "crash"},
        pre=["set defer stop-on-fatal-panic off"])
    out = gdb("info panics", "info defers", exe=exe, core=core)
    assert re.search(r'panic 1: "flush_journal: /var/db/journal: disk full"  \[running\]\n'
                     r'\s+raised in flush_journal at \S+:\d+\n'
                     r'\s+no deferred call running: unrecovered, the program is exiting', out), out
    assert re.search(r'panic 2: "commit: transaction 17 conflicts"  \[aborted\]\n'
                     r'\s+raised in commit at \S+\n'
                     r'\s+was running flush_journal\(path=0x[0-9a-f]+ "/var/db/journal"\)', out), out
    assert "No deferred calls pending." in out.split('panic 2: "commit')[1]


def test_handler_stops_only_in_panicking_requests():
    out = gdb("break %d if $_panicking()" % _line("handler", "recover()"), "run", "info panics",
              "continue", "info panics", exe=example("handler"),
              args=["/home", "/missing", "/admin"])
    assert "No panic." not in out
    assert re.search(r'panic 1: "render: /missing: no such page" value=0x[0-9a-f]+ <not_found>  '
                     r'\[running\]\n\s+value = \(struct error \*\) 0x[0-9a-f]+ <not_found> '
                     r'\{\w+ = 404, .*\n.*\n\s+running defer 1: to_status\(status=0x',
                     out), out
    assert 'panic 1: "lookup_user: index 7 out of range [0,2)"' in out


def test_demo_transcript(tmp_path):
    """gdb/demo.sh (make demo): several threads' calls, bt with calls under
    frames, info panics during a panic; no warnings, no tracebacks."""
    import subprocess
    from conftest import built
    built(ROOT / "build" / "examples" / "engine", "examples")
    r = subprocess.run(["sh", str(ROOT / "gdb" / "demo.sh")], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Traceback" not in out and "declined" not in out and "Python Exception" not in out
    assert len(re.findall(r'^Thread \d+ \(.*"worker-\d"\):$', out, re.M)) >= 3, out
    assert re.search(r"^#\d+ .* in run_job .*\n    defer 1: buffer_free \(", out, re.M), out
    assert re.search(r'^  panic 1: "render: corrupt input in job 7"  \[running\]', out, re.M), out
