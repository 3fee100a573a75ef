#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh BUILD SECONDS - bounded libFuzzer runs over the reader (fuzz-elf)
# and the core walker (fuzz-core), seeded with real binaries and a core.
#
# libdwarf 20210528 has known memory bugs on corrupt DWARF (fixed upstream
# since, not in Debian 12).  So the fuzzers run in fork mode and keep going
# after a crash; afterwards each crashing input is replayed and classified
# by classify.py: a crash inside libdwarf is kept in regressions/ as a
# libdwarf-* input (defer-inspect must survive it: it isolates libdwarf in
# a child process, see tool/main.c); a crash in our own code fails the run.
set -e
B=$1
SECS=${2:-60}
D=$B/fuzz
REG=dwarf-reader/fuzz/regressions
mkdir -p $D/seed-elf $D/seed-core $D/corpus-elf $D/corpus-core $D/art $REG

SRC=dwarf-reader/fuzz/seed.c
for v in static shared; do
	if [ $v = static ]; then L="$B/libdefer.a"; else L="-L$B -ldefer -Wl,-rpath,$(pwd)/$B"; fi
	[ -f $D/seed-$v ] || cc -std=gnu11 -g -O2 -Ilibdefer/include $SRC $L -lpthread -o $D/seed-$v
done
cp $D/seed-static $D/seed-shared $D/seed-elf/
strip -o $D/seed-elf/seed-stripped $D/seed-shared
if [ ! -f $D/seed-core/seed.core ]; then
	$D/seed-static hold & pid=$!
	sleep 0.5
	gdb -batch -nx -p $pid -ex "generate-core-file $D/seed-core/seed.core" >/dev/null 2>&1 || true
	kill $pid 2>/dev/null || true
fi
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1
export FUZZ_EXE=$D/seed-static
rm -f $D/art/*
for t in elf core; do
	echo "fuzz: fuzz-$t for ${SECS}s"
	$D/fuzz-$t -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
		-max_total_time=$SECS -rss_limit_mb=2048 -max_len=4194304 -timeout=10 \
		-artifact_prefix=$D/art/$t- $D/corpus-$t $D/seed-$t >$D/fuzz-$t.log 2>&1 || true
	grep -E '^#[0-9]+: cov' $D/fuzz-$t.log | tail -1 || true
done
/usr/bin/python3 dwarf-reader/fuzz/classify.py $D $REG
