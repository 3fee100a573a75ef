/* SPDX-License-Identifier: MIT */
/* defer_goexit and recover (Go's TestRecoverBeforePanicAfterGoexit, issue
 * 29226), and the declarations a compiler must not draw conclusions from.
 * argv[1] picks the case; each runs in a thread that main joins. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <defer.h>

static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
static void catch(void)
{
	const struct _panic *p = recover();
	printf("catch: %s\n", p ? p->msg : "nothing");
}
static void panicker(void) { panic("hello"); }

/* A call that goexit runs panics, an older one recovers: the goexit goes
 * on, runs what is left, and the thread ends. */
static void *direct(void *arg)
{
	(void)arg;
	defer_frame;
	defer(say, "direct: oldest deferred call");
	defer(catch);
	defer(panicker);
	defer_goexit();
	say("direct: after defer_goexit (wrong)");
	return 0;
}

/* The same one frame down: the caller of the function never resumes. */
static void exits(void)
{
	defer_frame;
	defer(say, "exits: remaining deferred call");
	defer(catch);
	defer(panicker);
	defer_goexit();
}
static void *caller(void *arg)
{
	(void)arg;
	defer_frame;
	defer(say, "caller: deferred call");
	exits();
	say("caller: resumed after exits (wrong)");
	return 0;
}

/* A function every path of which ends in defer_goexit, but a panic before
 * it is recovered: the function returns (Go), and its caller's code after
 * the call must still be there, so no declaration may tell the compiler
 * that the function cannot return. */
static void maybe_exit(int x)
{
	defer_frame;
	defer(catch);
	if (x)
		panic("before goexit");
	defer_goexit();
}
static void *recovered_first(void *arg)
{
	maybe_exit(arg != 0);
	say("recovered_first: maybe_exit returned");
	return 0;
}

int main(int argc, char **argv)
{
	void *(*fn)(void *) = 0;
	pthread_t t;

	if (argc < 2)
		return 1;
	if (!strcmp(argv[1], "direct"))
		fn = direct;
	else if (!strcmp(argv[1], "caller"))
		fn = caller;
	else if (!strcmp(argv[1], "recovered_first"))
		fn = recovered_first;
	pthread_create(&t, 0, fn, argv[1]);
	pthread_join(t, 0);
	say("main: joined");
	return 0;
}
