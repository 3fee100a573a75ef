# SPDX-License-Identifier: MIT
"""make bench's instruction counts: every shape of the table runs in each
program, and callgrind counts the benchmark loop (a shape's count per
operation is its own, start-up cancelled).  No figure is a target here:
the targets live in make bench."""
import importlib.util
import shutil
import subprocess

import pytest

from conftest import ROOT, build_dir, built, command, on_host

BENCH = ROOT / "libdefer" / "bench"
spec = importlib.util.spec_from_file_location("instructions", BENCH / "instructions.py")
instructions = importlib.util.module_from_spec(spec)
spec.loader.exec_module(instructions)

SHAPES = ["one", "eight", "loop100", "six", "variadic", "recover_point", "recover_unwind",
          "recover_unwind10"]


def bench(name):
    """A program of make bench, which make test builds first (TEST_PREREQS;
    make ARCH=aarch64 builds the C ones for aarch64): its command line."""
    return command(built(build_dir() / "bench" / name))


@pytest.mark.parametrize("prog", ["shapes", "shapes-deferproc"])
def test_every_shape_and_its_direct_twin_runs(prog):
    exe = bench(prog)
    for shape in SHAPES + [s + ".direct" for s in SHAPES[:6]]:
        subprocess.run(exe + ["ir", shape, "3"], check=True)
    assert subprocess.run(exe + ["ir", "no-such-shape", "3"]).returncode == 2


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
def test_counts_are_per_operation_of_the_shape_alone():
    on_host("valgrind has no arm64 tool here (it runs the host's programs only)")
    exe = bench("shapes")[0]
    direct = instructions.ir(exe, "one.direct", "run", 50)
    deferred = instructions.ir(exe, "one", "run", 50)
    # whole instructions per operation, the same at another N, and a
    # defer costs more than the direct call it makes
    assert direct == int(direct) and direct > 0
    assert instructions.ir(exe, "one.direct", "run", 200) == direct
    assert deferred > direct


@pytest.mark.skipif(not shutil.which("go"), reason="go is not installed")
def test_the_go_shapes_build_and_run():
    on_host("make bench's Go shapes are the host's (they use no libdefer)")
    exe = bench("shapes-go")
    for shape in SHAPES[:5] + ["recover_point", "recover_unwind10"]:
        subprocess.run(exe + ["ir", shape, "3"], check=True)
    assert int(subprocess.run(exe + ["size"], capture_output=True, text=True,
                              check=True).stdout) > 0


@pytest.mark.parametrize("prog,modes", [("panic_bench", ["point", "unwind"]),
                                        ("panic_unwind_bench", ["point", "unwind", "crossed"])])
def test_the_panic_shapes_run_in_both_builds_of_one_source(prog, modes):
    exe = bench(prog)
    for mode in modes:
        # crossed exits 1 unless every crossed cleanup ran
        subprocess.run(exe + [mode, "3"], check=True)
    # the cleanup shape needs landing pads: only the -fexceptions build has it
    assert subprocess.run(exe + ["no-such-mode", "3"]).returncode == 2
    if prog == "panic_bench":
        assert subprocess.run(exe + ["crossed", "3"]).returncode == 2
