/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/* threads.c NTHREADS NDEFERS [crash]: every thread defers NDEFERS calls of
 * assorted argument types and waits; main prints "ready" and waits too.
 * With "crash", main then defers one call and panics (fatal). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "defer.h"

static pthread_barrier_t bar;
static int ndefers;

static void note(const char *s, int i, double x) { printf("%s %d %g\n", s, i, x); }
static void flags(_Bool b, unsigned char c, float f, short h) { printf("%d %u %g %d\n", b, c, (double)f, h); }
static void wide(long a, unsigned long b, void *p, long long c, int d, char e) { printf("%ld %lu %p %lld %d %c\n", a, b, p, c, d, e); }

static void hold(int id)
{
	defer_frame;
	for (int i = 0; i < ndefers; i++) {
		switch (i % 4) {
		case 0: defer(note, "held", id * 1000 + i, 0.25 * i); break;
		case 1: defer(flags, 1, 200, 1.5f, -3); break;
		case 2: defer(wide, -id, 7ul << 40, (void *)&bar, -1ll, i, 'x'); break;
		case 3: defer(free, (void *)0); break;
		}
	}
	pthread_barrier_wait(&bar);
	pause();
}

static void *worker(void *a)
{
	char name[16];

	snprintf(name, sizeof name, "worker-%ld", (long)a);
	pthread_setname_np(pthread_self(), name);
	hold((int)(long)a);
	return 0;
}

static void last(const char *why) { printf("last: %s\n", why); }

static void die(void)
{
	defer_frame;
	defer(last, "main");
	panic("fatal error %d in %s", 42, "main");
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	pthread_t t;

	ndefers = argc > 2 ? atoi(argv[2]) : 4;
	pthread_barrier_init(&bar, 0, n + 1);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t, 0, worker, (void *)(i + 1)) != 0)
			return 1;
	pthread_barrier_wait(&bar);
	if (argc > 3 && !strcmp(argv[3], "crash"))
		die();
	puts("ready");
	fflush(stdout);
	pause();
	return 0;
}
