"""Go-exact behaviour in the frame shapes, thread exits and failures of
issue 11: every case in every build (gcc/clang x -O0/-O2 x static/shared,
and the sanitizer builds where they apply)."""
from pathlib import Path

import pytest

from conftest import run
from test_runtime import VARIANTS, ok, prog  # noqa: F401  (the variant fixture)
from test_runtime import variant  # noqa: F401

SCEN = Path(__file__).parent / "scenarios"

# What main prints after every blocks.c case: no record of the frames the
# recovery left is still on the chain, and a later panic runs nothing of
# theirs (it would call into dead stack).
BLOCKS_TAIL = ["chain head is main's: 1", "main: panicking again", "catch: later"]


# 1. Recovery in a block-scoped frame returns from the function, as Go
# would, after every frame of the function ran its calls once, innermost
# first.

def test_block_frame_recovery_runs_the_functions_outer_calls_and_returns(variant):
    out = ok(prog("blocks", variant), "loop").splitlines()
    assert out == ["in_loop: body end, i = 0", "catch: nothing", "in_loop: block call, i = 0",
                   "catch: loop 1", "in_loop: block call, i = 1",
                   "in_loop: function-level call", "in_loop returned"] + BLOCKS_TAIL


def test_block_frame_recovery_returns_the_enclosing_frames_defer_result(variant):
    out = ok(prog("blocks", variant), "if_result").splitlines()
    assert out == ["catch_set: if arm", "in_if_with_result: block call",
                   "in_if_with_result: function-level call",
                   "in_if_with_result returned 500"] + BLOCKS_TAIL


def test_block_frame_recovery_returns_the_blocks_own_defer_result(variant):
    out = ok(prog("blocks", variant), "result_in_block").splitlines()
    assert out == ["catch_set: block with result", "result_in_block: block call",
                   "result_in_block: function-level call",
                   "result_in_block returned 500"] + BLOCKS_TAIL


def test_block_frame_recovery_runs_three_nested_frames_once_each(variant):
    out = ok(prog("blocks", variant), "three").splitlines()
    assert out == ["three_levels: level 2", "catch: three", "three_levels: level 1 again",
                   "three_levels: level 1", "three_levels: level 0",
                   "after three_levels"] + BLOCKS_TAIL


# 2. defer_goexit and recover: the goexit goes on and the thread ends; and
# no declaration lets a compiler delete the code a recovery returns to.

def test_recovering_a_panic_raised_during_goexit_still_ends_the_thread(variant):
    out = ok(prog("goexit", variant), "direct").splitlines()
    assert out == ["catch: hello", "direct: oldest deferred call", "main: joined"]


def test_goexit_after_a_recovered_panic_never_resumes_the_caller(variant):
    out = ok(prog("goexit", variant), "caller").splitlines()
    assert out == ["catch: hello", "exits: remaining deferred call", "caller: deferred call",
                   "main: joined"]


def test_function_ending_in_goexit_returns_after_an_earlier_recovery(variant):
    out = ok(prog("goexit", variant), "recovered_first").splitlines()
    assert out == ["catch: before goexit", "recovered_first: maybe_exit returned",
                   "main: joined"]
