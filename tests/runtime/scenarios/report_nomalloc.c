/* SPDX-License-Identifier: MIT */
/*
 * The crash report allocates nothing (tests/runtime/test_crash_report.py):
 * this program's malloc family replaces the C library's (the executable's
 * definitions interpose), and once the program is about to panic any call
 * ends the process with status 99 instead of a report.
 *
 *	report_nomalloc     a thread waits with a call pending; main panics
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

/* A bump allocator over a static arena: enough for the C library's start
 * and one thread. */
static _Alignas(16) char arena[1 << 20];
static size_t used;
static volatile int forbidden;

static void *take(size_t n)
{
	size_t *p;

	if (forbidden) {
		static const char msg[] = "malloc during the report\n";

		if (write(2, msg, sizeof msg - 1) < 0)
			_exit(98);
		_exit(99);
	}
	n = (n + 31) & ~(size_t)15;
	if (used + n > sizeof arena)
		return 0;
	p = (size_t *)(arena + used);
	used += n;
	p[0] = n - 16;
	return p + 2;
}

void *malloc(size_t n) { return take(n); }
void free(void *p) { (void)p; }
void *calloc(size_t k, size_t n) { return take(k * n); }	/* the arena is zero */

void *realloc(void *old, size_t n)
{
	void *p = take(n);

	if (p && old) {
		size_t had = ((size_t *)old)[-2];

		memcpy(p, old, had < n ? had : n);
	}
	return p;
}

void *memalign(size_t align, size_t n)
{
	void *p = take(n + align);

	return p ? (void *)(((size_t)p + align - 1) & ~(align - 1)) : 0;
}

int posix_memalign(void **out, size_t align, size_t n)
{
	return (*out = memalign(align, n)) ? 0 : 12;
}

void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

static pthread_barrier_t ready;
static int fds[2];

static void say(const char *what)
{
	if (write(1, what, strlen(what)) < 0)
		_exit(97);
}

static void waiter(void)
{
	char c;

	defer_frame;
	defer(say, "waiter done\n");
	pthread_barrier_wait(&ready);
	if (read(fds[0], &c, 1) < 0)
		return;
}

static void *start(void *arg)
{
	waiter();
	return arg;
}

static void fail(int code)
{
	defer_frame;
	defer(say, "fail: deferred call\n");
	forbidden = 1;
	panic("failed with %d", code);
}

int main(void)
{
	pthread_t t;

	if (pipe(fds))
		return 1;
	pthread_barrier_init(&ready, 0, 2);
	pthread_create(&t, 0, start, 0);
	pthread_barrier_wait(&ready);
	fail(7);
	return 0;
}
