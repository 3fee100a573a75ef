#!/bin/sh
# SPDX-License-Identifier: MIT
# gdb/demo.sh [PROGRAM [ARGS...]] - the gdb extension at work, as a transcript.
#
# With no arguments: the engine example (build/examples/engine, from
# `make examples`) under gdb in batch mode with the extension loaded:
#   1. every worker parked in a job: info defers all, bt with deferred calls
#      under their frames;
#   2. the poisoned job's panic, stopped in the deferred call that will
#      recover it (break ... if $_panicking()): info panics, info defers, bt.
# Without the examples, the test scenario program.  With PROGRAM [ARGS]:
# stop after DEMO_SKIP (20) deferred calls, then at the first panic.
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
GDB=${GDB:-gdb}


# gdbrun "PROGRAM ARGS" COMMAND... : one gdb session; each command is echoed
# as `(gdb) COMMAND` before its output.
gdbrun() {
	line=$1
	shift
	echo "\$ deferdb $line" | sed "s|$root/||g"
	for c in "$@"; do
		set -- "$@" -ex "echo (gdb) $c\\n" -ex "$c"
		shift
	done
	# shellcheck disable=SC2086
	GDB=$GDB "$here/deferdb" -nx -batch -iex "set pagination off" -iex "set width 0" \
		-iex "set confirm off" "$@" -ex kill --args $line 2>&1 |
		grep -v -e '^\[Thread debugging' -e '^Using host libthread_db' \
			-e '^\[New Thread' -e '^\[Thread .* exited' -e '^\[Inferior' \
			-e 'No such file or directory\.$' |
		sed "s|$root/||g"
}

if [ $# -gt 0 ]; then
	echo "== Threads at work (after ${DEMO_SKIP:-20} deferred calls), then the first panic"
	gdbrun "$*" "break -probe-stap libdefer:defer" "ignore 1 ${DEMO_SKIP:-20}" run "info defers all" bt \
		delete "break -probe-stap libdefer:panic" continue "info panics" "info defers" bt
	exit 0
fi

engine=$root/build/examples/engine
if [ -x "$engine" ]; then
	echo "== 1. Three workers, each parked in a job with deferred calls pending"
	gdbrun "$engine 3 --hold" "break engine_parked" run "info defers all" \
		"thread 2" bt
	echo
	echo "== 2. Job 7 panics; the worker's deferred count_failure recovers it"
	gdbrun "$engine 12" 'break count_failure if $_panicking()' run "info panics" \
		"info defers" bt 'print $_panic_message()'
	echo
	echo "== 3. Following a panic with catch panic and defer step, to where it resumes"
	gdbrun "$root/build/examples/handler /admin" "catch panic" run "defer step" \
		"defer step" "defer step" "defer step"
	exit 0
fi

# No examples: the scenario program of tests/gdb.
prog=$(cd "$root" && /usr/bin/python3 -c '
import sys; sys.path[:0] = ["tests", "tests/gdb"]
from gdbtest import scen; print(scen("gcc", "-O2", "static"))') || exit 1

echo "== 1. Three worker threads and main, each with pending deferred calls"
gdbrun "$prog threads 3 3" "break checkpoint" run "info defers all" "thread 2" bt
echo
echo "== 2. Nested frames: bt shows each frame's deferred calls under it"
gdbrun "$prog basic" "break checkpoint" run bt "info defers -frame 1" "print *allgs"
echo
echo "== 3. During a panic that panicked again"
gdbrun "$prog panic" "break in_second" run "info panics" "info defers" bt 'print $_panicking()'
