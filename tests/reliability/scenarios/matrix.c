/* SPDX-License-Identifier: MIT */
/*
 * matrix.c - the portability matrix's core scenario: three threads with
 * calls pending, a recovered panic, then an unrecovered one.
 *
 *	matrix          run to the end (exit 2, or abort with DEFER_TRACEBACK=crash)
 *	matrix wait     stop after the recovery and wait (for attach), printing
 *	                "ready PID" first
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

static pthread_barrier_t parked;
static volatile int sink;

__attribute__((noinline)) void worker_cleanup(int id, const char *what) { sink += id + (int)strlen(what); }
__attribute__((noinline)) void main_cleanup(const char *what) { sink += (int)strlen(what); }
__attribute__((noinline)) void checkpoint(void) { sink++; }

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	defer_frame;
	defer(worker_cleanup, id, "buffer");
	defer(worker_cleanup, id, "lock");
	pthread_barrier_wait(&parked);
	for (;;)
		pause();
	return 0;
}

static void catch(int *status)
{
	if (recover())
		*status = 500;
}

static int handle(void)
{
	int status = 200;
	defer_frame;
	defer_result(status);
	defer(catch, &status);
	panic("recoverable: bad request");
	return status;
}

int main(int argc, char **argv)
{
	pthread_t t[3];

	pthread_barrier_init(&parked, 0, 4);
	for (long i = 0; i < 3; i++)
		pthread_create(&t[i], 0, worker, (void *)(i + 1));
	pthread_barrier_wait(&parked);
	printf("handle returned %d\n", handle());
	defer_frame;
	defer(main_cleanup, "config");
	checkpoint();
	if (argc > 1 && !strcmp(argv[1], "wait")) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	panic("fatal: matrix scenario");
	return 0;
}
