/* SPDX-License-Identifier: MIT */
/* Threads that end another way than returning or defer_goexit, with
 * deferred calls pending.  argv[1] picks the case:
 *   exit       pthread_exit two frames down
 *   cancel     deferred cancellation at a cancellation point
 *   async      asynchronous cancellation in a loop without calls
 *   exit_in_panic  a deferred call that calls exit() during a panic
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
static pthread_barrier_t started;
static volatile int spin = 1;

static void inner(const char *how)
{
	defer_frame;
	defer(say, "inner: deferred call");
	if (!strcmp(how, "exit"))
		pthread_exit(0);
	pthread_barrier_wait(&started);
	if (!strcmp(how, "cancel"))
		for (;;)
			pause();	/* a cancellation point */
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, 0);
	while (spin)
		;
}

static void *thread(void *arg)
{
	defer_frame;
	defer(say, "outer: deferred call");
	inner(arg);
	return 0;
}

static void exits(int code) { printf("exits(%d)\n", code); fflush(stdout); exit(code); }

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc < 2)
		return 1;
	if (!strcmp(argv[1], "exit_in_panic")) {
		defer_frame;
		defer(say, "older deferred call: skipped by exit, as by Go's os.Exit");
		defer(exits, 3);
		panic("never reported");
	}
	pthread_barrier_init(&started, 0, 2);
	pthread_create(&t, 0, thread, argv[1]);
	if (strcmp(argv[1], "exit")) {
		pthread_barrier_wait(&started);
		pthread_cancel(t);
	}
	pthread_join(t, 0);
	say("main: joined");
	/* A second thread ending the same way is not reported again. */
	if (!strcmp(argv[1], "exit")) {
		pthread_create(&t, 0, thread, argv[1]);
		pthread_join(t, 0);
		say("main: joined again");
	}
	return 0;
}
