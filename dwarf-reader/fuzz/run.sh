#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh BUILD SECONDS - bounded libFuzzer runs over the reader (fuzz-elf)
# and the core walker (fuzz-core, over an x86-64 core and, with the aarch64
# build, a qemu one), seeded with real binaries and cores.
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
# core64: the core walker over a qemu-written aarch64 core (no NT_FILE:
# the link_map chain in its memory), when `make ARCH=aarch64` has built the
# runtime; a 128 KiB guest stack keeps the core under 1 MB.
A=$B/aarch64
TARGETS="elf core"
if [ -f $A/libdefer.so.1 ] && command -v qemu-aarch64-static >/dev/null; then
	mkdir -p $D/seed-core64 $D/corpus-core64 $D/qemu
	[ -f $D/seed-aarch64 ] || aarch64-linux-gnu-gcc -std=gnu11 -g -O2 -Ilibdefer/include \
		-idirafter $A/sysinclude $SRC -L$A -ldefer -Wl,-rpath,$(pwd)/$A -lpthread -o $D/seed-aarch64
	if [ ! -f $D/seed-core64/seed.core ]; then
		rm -f $D/qemu/*
		(cd $D/qemu && ulimit -c unlimited &&
		 qemu-aarch64-static -s 131072 -L /usr/aarch64-linux-gnu ../seed-aarch64 abort || true) >/dev/null 2>&1
		for c in $D/qemu/qemu_*.core; do [ -f "$c" ] && mv "$c" $D/seed-core64/seed.core; done
		rm -f $D/qemu/*
	fi
	[ -f $D/seed-core64/seed.core ] && TARGETS="$TARGETS core64"
fi
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1
rm -f $D/art/*
for t in $TARGETS; do
	echo "fuzz: fuzz-$t for ${SECS}s"
	FUZZ_EXE=$D/seed-static; [ $t = core64 ] && FUZZ_EXE=$D/seed-aarch64
	FUZZ_EXE=$FUZZ_EXE $D/fuzz-${t%64} -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
		-max_total_time=$SECS -rss_limit_mb=2048 -max_len=4194304 -timeout=10 \
		-artifact_prefix=$D/art/$t- $D/corpus-$t $D/seed-$t >$D/fuzz-$t.log 2>&1 || true
	grep -E '^#[0-9]+: cov' $D/fuzz-$t.log | tail -1 || true
done
/usr/bin/python3 dwarf-reader/fuzz/classify.py $D $REG
