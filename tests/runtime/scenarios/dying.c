/* SPDX-License-Identifier: MIT */
/* Unrecovered panics in hostile conditions.  argv[1] picks the case:
 *   many N     N threads panic at the same moment
 *   big N      a panic whose report is N bytes long (fills a pipe)
 *   atexit N   the same, and an atexit handler prints where fd 2 points
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

static void tell_stderr(void)
{
	char where[256] = "?";
	ssize_t n = readlink("/proc/self/fd/2", where, sizeof where - 1);

	printf("stderr at exit: %s\n", n > 0 ? where : "?");
}

static pthread_barrier_t go;

static void say(const char *s) { printf("%s\n", s); fflush(stdout); }

static void repanic(const char *m) { panic("%s", m); }

static void *panicker(void *arg)
{
	defer_frame;
	defer(say, "panicker: deferred call");
	pthread_barrier_wait(&go);
	panic("thread %d", (int)(long)arg);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 0;

	if (argc < 2)
		return 1;
	if (!strcmp(argv[1], "many")) {
		pthread_t t;

		pthread_barrier_init(&go, 0, n);
		for (long i = 0; i < n; i++)
			pthread_create(&t, 0, panicker, (void *)i);
		pthread_join(t, 0);
		say("main: not reached");
	} else if (!strcmp(argv[1], "big") || !strcmp(argv[1], "atexit")) {
		/* Nested panics of 200 bytes each, to any length. */
		char msg[201];
		if (argv[1][0] == 'a')
			atexit(tell_stderr);
		memset(msg, 'x', 200);
		msg[200] = 0;
		defer_frame;
		for (int i = 0; i < n / 210; i++)
			defer(repanic, msg);
		panic("%s", msg);
	}
	return 0;
}
