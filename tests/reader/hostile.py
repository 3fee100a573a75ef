# SPDX-License-Identifier: MIT
"""The hostile corpus of test_hostile.py: a program that damages its own
records in each way a debugger must survive, cores made from it, and
a way to measure a run's time and peak memory.

Everything is generated here, from the source below, by the tests
themselves: no binary or core is kept in the tree.
"""
import json
import os
import struct
import subprocess
import sys
import time

import conftest
from dr_util import OUT, TOOL

# hostile MODE [ARGS]: each mode sets up its damage, writes "ready" and
# waits (pause) until killed.
SOURCE = r'''
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "defer.h"

static void f(int x) { printf("f %d\n", x); }
static void ready(void) { printf("ready\n"); fflush(stdout); }
static void forever(void) { ready(); for (;;) pause(); }

/* This thread's record in allgs. */
static struct g *me(void)
{
	struct g *g;

	for (g = allgs; g; g = g->alllink)
		if (g->tid == gettid() && g->status == DEFER_G_RUNNING)
			return g;
	abort();
}

/* names: a thread name (set in main), a function name, a file name and a panic message
 * made of terminal escapes and newlines that would forge a "defer 9" line. */
static void evil(int x) __asm__("\"evil\033[2Jfn\"");
static void evil(int x) { printf("%d\n", x); }
#line 1 "dir\n  defer 9: forged()  [pending]\n\033[2J.c"
static void held(void) { forever(); }
static void named(void)
{
	defer_frame;
	defer(evil, 7);
	defer(held);
	panic("\033[2J\n  defer 9: forged()  [pending]");
}
#line 60 "hostile.c"

/* garbage KIND: record 2 of 3 damaged as gdb's tests damage it. */
static void garbage(const char *kind)
{
	defer_frame;
	defer(f, 3);
	defer(f, 2);
	defer(f, 1);
	struct g *g = me();
	struct _defer *d = g->_defer, *d2 = d->link;
	if (!strcmp(kind, "nargs"))
		d2->nargs = 255;
	else if (!strcmp(kind, "flags"))
		((unsigned char *)d2)[_defer_debug_offsets.d.flags] = 0xff;
	else if (!strcmp(kind, "fill"))
		memset(d2, 0xab, sizeof *d2);
	else if (!strcmp(kind, "zero"))
		memset(d2, 0, sizeof *d2);
	else if (!strcmp(kind, "into-g"))
		d->link = (struct _defer *)g;
	else
		abort();
	forever();
}

/* stale: pending records whose _panic points at the panic running now, as
 * a runtime that did not clear it would leave them (docs/abi.md V9). */
static void stale_runner(void)
{
	defer_frame;
	defer(f, 5);
	defer(f, 6);
	struct g *g = me();
	g->_defer->_panic = g->_panic;
	g->_defer->link->_panic = g->_panic;
	forever();
}
static void stale(void)
{
	defer_frame;
	defer(stale_runner);
	panic("stale");
}

/* panic-garbage: the running panic's recovered flag is 2. */
static void bad_panic_runner(void)
{
	me()->_panic->recovered = 2;
	forever();
}
static void bad_panic(void)
{
	defer_frame;
	defer(bad_panic_runner);
	panic("bad");
}

/* longmsg N HOW: a panic whose message is N bytes long; HOW "whole"
 * keeps it, "unmapped" points _panic.text at memory that is not there. */
static const char *longhow;
static void long_runner(void)
{
	if (!strcmp(longhow, "unmapped"))
		me()->_panic->text = (char *)0x7ead0000b000;
	forever();
}
static void longmsg(long n, const char *how)
{
	char *m = malloc(n + 1);
	memset(m, 'x', n);
	m[n] = 0;
	longhow = how;
	defer_frame;
	defer(long_runner);
	panic("%s", m);
}

/* panics N: a chain of N well-formed panics whose last link is
 * misaligned: a wild pointer exactly where a cap of N would stop. */
static void panics(long n)
{
	struct _panic *ps = calloc(n, sizeof *ps);
	for (long i = 0; i < n; i++) {
		ps[i].link = i + 1 < n ? &ps[i + 1] : (struct _panic *)0x13;
		ps[i].aborted = 1;
		snprintf(ps[i].msg, sizeof ps[i].msg, "panic %ld", i);
	}
	me()->_panic = ps;
	forever();
}

/* cycle N: N pending calls, the oldest linked back to the newest. */
static void cycle(long n)
{
	defer_frame;
	for (long i = 0; i < n; i++)
		defer(f, (int)i);
	struct g *g = me();
	struct _defer *d = g->_defer;
	while (d->link)
		d = d->link;
	d->link = g->_defer;
	forever();
}

/* crossed N P: N started records and P panics naming records and panics
 * that are not there: every one is looked up among the others. */
static void crossed(long n, long p)
{
	defer_frame;
	for (long i = 0; i < n; i++)
		defer(f, (int)i);
	struct g *g = me();
	struct _panic *ps = calloc(p, sizeof *ps);
	for (long i = 0; i < p; i++) {
		ps[i].link = i + 1 < p ? &ps[i + 1] : NULL;
		ps[i].defer = (struct _defer *)0x10;
		ps[i].aborted = 1;
		snprintf(ps[i].msg, sizeof ps[i].msg, "panic %ld", i);
	}
	for (struct _defer *d = g->_defer; d; d = d->link) {
		d->started = 1;
		d->_panic = (struct _panic *)0x20;
	}
	g->_panic = ps;
	forever();
}

/* fns N: N records whose functions are N different addresses. */
static void fns(long n)
{
	defer_frame;
	for (long i = 0; i < n; i++)
		defer(f, (int)i);
	long i = 0;
	for (struct _defer *d = me()->_defer; d; d = d->link)
		d->fn = (void (*)(void))((char *)f + i++);
	forever();
}

/* threads N P: N made-up thread records (tids 1000000...) whose panic
 * chains all enter one cycle of P panic records (none if P is 0). */
static void threads(long n, long p)
{
	defer_frame;
	defer(f, 0);
	struct g *fake = calloc(n, sizeof *fake);
	struct _panic *ps = calloc(p, sizeof *ps);
	for (long i = 0; i < p; i++) {
		ps[i].link = &ps[(i + 1) % p];
		snprintf(ps[i].msg, sizeof ps[i].msg, "panic %ld of the cycle", i);
	}
	for (long i = 0; i < n; i++) {
		fake[i].alllink = i + 1 < n ? &fake[i + 1] : allgs;
		fake[i]._panic = p ? &ps[i % p] : NULL;
		fake[i].tid = (int32_t)(1000000 + i);
		fake[i].status = DEFER_G_RUNNING;
		snprintf(fake[i].name, sizeof fake[i].name, "fake-%d", (int)(i & 0xffffff));
	}
	allgs = fake;
	forever();
}

/* vfork: a thread with pending calls sits in vfork() while its child
 * sleeps; the child says ready. */
static void *vforker(void *a)
{
	defer_frame;
	defer(f, 1);
	(void)a;
	if (vfork() == 0) {
		(void)!write(1, "ready\n", 6);
		sleep(60);
		_exit(0);
	}
	return 0;
}

/* zombie: the leader calls pthread_exit; a worker holds pending calls. */
static void *holder(void *a)
{
	defer_frame;
	defer(f, 2);
	(void)a;
	forever();
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t t;
	const char *mode = argc > 1 ? argv[1] : "";

	/* before the first defer: the thread's record keeps the name it had */
	if (!strcmp(mode, "names"))
		pthread_setname_np(pthread_self(), "\033[2J\ndefer 9:x");
	defer_frame;
	defer(f, 0);
	if (!strcmp(mode, "names"))
		named();
	else if (!strcmp(mode, "garbage"))
		garbage(argv[2]);
	else if (!strcmp(mode, "stale"))
		stale();
	else if (!strcmp(mode, "panic-garbage"))
		bad_panic();
	else if (!strcmp(mode, "cycle"))
		cycle(atol(argv[2]));
	else if (!strcmp(mode, "panics"))
		panics(atol(argv[2]));
	else if (!strcmp(mode, "longmsg"))
		longmsg(atol(argv[2]), argv[3]);
	else if (!strcmp(mode, "crossed"))
		crossed(atol(argv[2]), atol(argv[3]));
	else if (!strcmp(mode, "fns"))
		fns(atol(argv[2]));
	else if (!strcmp(mode, "threads"))
		threads(atol(argv[2]), atol(argv[3]));
	else if (!strcmp(mode, "vfork")) {
		pthread_create(&t, 0, vforker, 0);
		for (;;) pause();
	} else if (!strcmp(mode, "zombie")) {
		pthread_create(&t, 0, holder, 0);
		pthread_exit(0);
	} else if (!strcmp(mode, "plain"))
		forever();
	return 1;
}
'''


def program(link="static"):
    return conftest.compile_program(SOURCE, cc="gcc", opt="-O0", link=link, name="hostile")


def measured(*args, timeout=300, stdin=None):
    """Run defer-inspect ARGS in a fresh interpreter that reports the run's
    wall time and the peak RSS of the tool and its child (getrusage of
    children: only this run's processes)."""
    code = ("import json, resource, subprocess, sys, time\n"
            "t = time.monotonic()\n"
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
            "t = time.monotonic() - t\n"
            "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "json.dump({'rc': r.returncode, 'seconds': t, 'rss_mb': rss / 1024,\n"
            "           'out_bytes': len(r.stdout), 'out': r.stdout.decode('utf-8', 'replace')[-200000:],\n"
            "           'err': r.stderr.decode('utf-8', 'replace')[-20000:]}, sys.stdout)\n")
    p = subprocess.run([sys.executable, "-c", code, str(TOOL), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    record(args, res)
    return res


FIGURES = OUT / "hostile-figures.txt"


def record(args, res):
    """Keep each run's figures for docs/defer-inspect.md."""
    OUT.mkdir(parents=True, exist_ok=True)
    with open(FIGURES, "a") as f:
        f.write("%-60s rc=%d %.3f s %.1f MB out=%d\n" % (
            " ".join(os.path.basename(str(a)) for a in args)[:60], res["rc"], res["seconds"],
            res["rss_mb"], res["out_bytes"]))


def add_notes(core, notes, out):
    """Copy core to out with one more PT_NOTE segment holding `notes`
    ((type, desc) pairs, owner CORE), as the kernel would have written."""
    data = bytearray(open(core, "rb").read())
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    blob = bytearray()
    for typ, desc in notes:
        blob += struct.pack("<III", 5, len(desc), typ) + b"CORE\0\0\0\0" + desc
        while len(blob) % 4:
            blob.append(0)
    while len(data) % 8:
        data.append(0)
    note_off = len(data)
    data += blob
    while len(data) % 8:
        data.append(0)
    new_phoff = len(data)
    data += data[phoff:phoff + phentsize * phnum]
    data += struct.pack("<IIQQQQQQ", 4, 0, note_off, 0, 0, len(blob), 0, 4)
    struct.pack_into("<Q", data, 32, new_phoff)
    struct.pack_into("<H", data, 56, phnum + 1)
    open(out, "wb").write(bytes(data))
    return out


def add_thread_notes(core, tids, out):
    """One NT_PRSTATUS per tid (registers zero): threads the core did not have."""
    def prstatus(tid):
        desc = bytearray(336)                   # sizeof(struct elf_prstatus) on x86-64
        struct.pack_into("<i", desc, 32, tid)   # pr_pid
        return bytes(desc)
    return add_notes(core, [(1, prstatus(tid)) for tid in tids], out)


def add_file_note(core, n, out):
    """An NT_FILE naming n one-page mappings of n distinct missing files."""
    desc = struct.pack("<QQ", n, 4096)
    for i in range(n):
        start = 0x100000000000 + i * 0x2000
        desc += struct.pack("<QQQ", start, start + 0x1000, 0)
    desc += b"".join(b"/nonexistent/lib%05d.so\0" % i for i in range(n))
    return add_notes(core, [(0x46494c45, desc)], out)


class Target:
    """hostile MODE ARGS running until closed."""

    def __init__(self, *args, exe=None, wrap=()):
        env = dict(os.environ)
        env.pop("DEFER_TRACEBACK", None)
        self.p = subprocess.Popen([*wrap, str(exe or program()), *map(str, args)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                  start_new_session=True)
        line = self.p.stdout.readline()
        assert b"ready" in line, (line, self.p.stderr.read() if self.p.poll() is not None else b"")
        self.pid = self.p.pid

    def tasks(self, pid=None):
        return [int(t) for t in os.listdir("/proc/%d/task" % (pid or self.pid))]

    def close(self):
        import signal
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def task_status(pid, tid):
    """(state letter, TracerPid) of one thread."""
    text = open("/proc/%d/task/%d/status" % (pid, tid)).read()
    fields = dict(l.split(":\t", 1) for l in text.splitlines() if ":\t" in l)
    return fields["State"][0], int(fields["TracerPid"])


def wait_for(cond, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()
