# SPDX-License-Identifier: MIT
"""defer-inspect on this x86-64 machine reads an aarch64 program's core
(qemu writes it): the reader chooses the core's layout (NT_PRSTATUS) and
the relocations by the file's machine, never by its own."""
import os
import subprocess

import pytest

from conftest import BUILD, QEMU, built, compile_program

HOLD = r"""
#include <stdlib.h>
#include <defer.h>
static void release(int n) { (void)n; }
__attribute__((noinline)) static void hold(int n)
{
	defer_frame;
	defer(release, n);
	defer(release, n + 1);
	abort();
}
int main(void) { hold(7); return 0; }
"""


def qemu_core(exe, cwd):
    """Run exe under qemu until it aborts; the guest core qemu writes
    (the kernel's core of qemu itself, if any, is removed)."""
    subprocess.run(["sh", "-c", 'ulimit -c unlimited; exec "$@"', "sh", *QEMU, str(exe)],
                   cwd=cwd, capture_output=True, timeout=120)
    cores = sorted(p for p in os.listdir(cwd) if p.startswith("qemu_") and p.endswith(".core"))
    for p in os.listdir(cwd):
        if p == "core" or p.startswith("core."):
            os.unlink(os.path.join(cwd, p))
    if not cores:
        pytest.fail("qemu wrote no core in %s" % cwd)
    return os.path.join(cwd, cores[0])


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_dump_reads_an_aarch64_qemu_core_on_x86_64(cc, tmp_path):
    exe = compile_program(HOLD, cc=cc, opt="-O0", link="static", name="hold", arch="aarch64")
    core = qemu_core(exe, tmp_path)
    r = subprocess.run([str(built(BUILD / "defer-inspect")), "dump", "--core", core, str(exe)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [l.strip() for l in r.stdout.splitlines() if l.strip().startswith("defer ")]
    # Newest first: release(8), then release(7), both pending.
    assert len(lines) == 2 and lines[0].endswith("(8)  [pending]") and \
        lines[1].endswith("(7)  [pending]"), r.stdout
