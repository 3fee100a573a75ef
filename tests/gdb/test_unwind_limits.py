# SPDX-License-Identifier: MIT
"""Which frame owns a call when gdb cannot unwind the whole stack: a musl
static program's thread blocked in pthread_cond_wait stops gdb's unwinding
in musl's libc (no unwind tables: __timedwait_cp), so the calls of the
frames beyond are "frame unknown", never the number of a frame that does
not own them (scenarios/condwait.c)."""
import re
from pathlib import Path

import pytest

from conftest import compile_program
from gdbtest import gdb

SCEN = Path(__file__).parent / "scenarios" / "condwait.c"
CALL = re.compile(r"  defer \d: (\w+)\(.*\n\s+deferred by (\w+) at \S+, (frame #\d+|frame unknown.*)")


def worker_bt(bt):
    """level -> function, and the text, of the worker's `bt` (the thread
    whose stack has no main)."""
    sect = next(p for p in re.split(r"^Thread \d+ ", bt, flags=re.M)[1:] if " main (" not in p)
    return {int(m.group(1)): m.group(2) for m in
            re.finditer(r"^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S*) \(", sect, re.M)}, sect


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_calls_beyond_where_gdb_can_unwind_are_owned_by_frame_unknown(opt):
    exe = compile_program(SCEN, opt=opt, libc="musl")
    out = gdb("break checkpoint", "run", "info defers all", "echo ==bt==\\n",
              "thread apply all bt", exe=exe)
    listing, bt = out.split("==bt==\n")
    calls = CALL.findall(listing)
    worker = [c for c in calls if c[1] == "worker"]
    assert sorted(c[0] for c in worker) == ["pthread_mutex_unlock", "release"], out
    levels, sect = worker_bt(bt)
    for fn, _, where in worker:
        # A number only for the frame that is the worker's.
        if where.startswith("frame #"):
            assert levels.get(int(where[7:])) == "worker", out
        else:
            assert where.startswith("frame unknown (gdb cannot unwind past frame #"), out
    assert ("release", "main", "frame #1") in calls, out
    # bt lists no call under a frame that does not own it.
    for level, fn in levels.items():
        if fn != "worker":
            assert not re.search(r"^#%d .*\n\s+defer \d: " % level, sect, re.M), out
