/* SPDX-License-Identifier: MIT */
/*
 * Panic history: each thread recovers some panics, then all stop at
 * checkpoint().  Usage: history N [WORKERS [crash|sleep]]
 *   main recovers N panics "main failure 1".."main failure N" (value:
 *   &values[i]); worker k (1..WORKERS) recovers k panics "worker k
 *   failure j".  Then main calls checkpoint(); with crash it panics
 *   unrecovered ("fatal after history"), with sleep it prints "ready" and
 *   waits to be attached to.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

static int values[1000];
static pthread_barrier_t ready, done;

__attribute__((noinline)) void checkpoint(void) { __asm__ volatile(""); }

static void noop(void) {}

static void catcher(void)
{
	recover();
}

__attribute__((noinline)) static void fail(const char *who, int i)
{
	panic_value(&values[i % 1000], "%s failure %d", who, i); /* @raise */
}

__attribute__((noinline)) static void attempt(const char *who, int i)
{
	defer_frame;
	defer(catcher); /* @defer */
	fail(who, i);
}

static void *worker(void *arg)
{
	int k = (int)(long)arg;
	char who[32];

	snprintf(who, sizeof who, "worker %d", k);
	for (int j = 1; j <= k; j++)
		attempt(who, j);
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&done);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3, workers = argc > 2 ? atoi(argv[2]) : 0;
	const char *then = argc > 3 ? argv[3] : "";
	pthread_t t[16];
	defer_frame;

	defer(noop);	/* main has a g even if it recovers nothing */
	pthread_barrier_init(&ready, 0, (unsigned)workers + 1);
	pthread_barrier_init(&done, 0, (unsigned)workers + 1);
	for (long k = 1; k <= workers && k <= 16; k++)
		pthread_create(&t[k - 1], 0, worker, (void *)k);
	for (int i = 1; i <= n; i++)
		attempt("main", i);
	pthread_barrier_wait(&ready);
	checkpoint();
	if (!strcmp(then, "sleep")) {
		printf("ready\n");
		fflush(stdout);
		pause();
	}
	if (!strcmp(then, "crash"))
		panic("fatal after history");
	pthread_barrier_wait(&done);
	for (int k = 0; k < workers && k < 16; k++)
		pthread_join(t[k], 0);
	return 0;
}
