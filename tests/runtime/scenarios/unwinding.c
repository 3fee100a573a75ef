/* SPDX-License-Identifier: MIT */
/*
 * A panic that crosses frames built with -fexceptions runs their
 * cleanups (cleanup variables, pthread_cleanup_push handlers, clang-22's
 * _Defer blocks with -DDEFER_TS) interleaved with the frames' deferred
 * calls, innermost first.  argv[1] picks:
 *   order     every kind in three frames, recovered by the outermost,
 *             which returns its defer_result variable
 *   noresult  recovered by a frame without defer_result
 *   double    a double-valued defer_result after unwinding
 *   repeat    1000 times, with malloc'd cleanups (no leak under valgrind)
 *   fatal     unrecovered: every cleanup runs, then the report
 *   nested    a call that an unwinding panic runs panics and recovers
 *             in frames of its own, which then return normally: their
 *             calls are not the first panic's
 *   goexit    defer_goexit in a thread: the same order, then the thread
 *             ends (recover() finds nothing)
 *   mixed     (-DWITH_PLAIN, linked with nofexc.c built without
 *             -fexceptions) the panic crosses plain frames between frames
 *             with cleanups
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <defer.h>

static void say(const char *const *s) { printf("cleanup %s\n", *s); }
static void note(const char *s) { printf("defer %s\n", s); }
static void handler(void *s) { printf("pthread_cleanup %s\n", (const char *)s); }
static void freeit(char **p) { free(*p); }

#define CLEANUP(name, text) __attribute__((cleanup(say))) const char *name = text

static void catch_set(int *r)
{
	const struct _panic *p = recover();
	printf("catch: %s\n", p ? p->msg : "nothing");
	if (p)
		*r = 42;
}

__attribute__((noinline)) static void inner(void)
{
	CLEANUP(c, "inner before defer_frame");
	defer_frame;
	CLEANUP(d, "inner after defer_frame");
	defer(note, "inner 1");
#ifdef DEFER_TS
	_Defer puts("_Defer inner");
#endif
	defer(note, "inner 2");
	pthread_cleanup_push(handler, "inner");
	panic("boom");
	pthread_cleanup_pop(0);
	(void)c, (void)d;
}

__attribute__((noinline)) static void middle(void)
{
	CLEANUP(c, "middle");
	{
		defer_frame;
		defer(note, "middle block");
		CLEANUP(b, "middle block");
		inner();
		(void)b;
	}
	(void)c;
}

__attribute__((noinline)) static int outer(void)
{
	CLEANUP(c, "outer before defer_frame");
	int r = 1;
	defer_frame;
	defer_result(r);
	CLEANUP(d, "outer after defer_result");
	defer(note, "outer");
	defer(catch_set, &r);
	middle();
	(void)c, (void)d;
	return 0;
}

__attribute__((noinline)) static void noresult(void)
{
	CLEANUP(c, "noresult");
	int r = 0;
	defer_frame;
	defer(catch_set, &r);
	middle();
	(void)c;
}

static void catch_quiet(double *r)
{
	if (recover())
		*r = 2.5;
}

__attribute__((noinline)) static void leaky(int i)
{
	__attribute__((cleanup(freeit))) char *p = malloc(64);
	defer_frame;
	defer(free, malloc(32));
	snprintf(p, 64, "%d", i);
	panic("leaky %s", p);
}

__attribute__((noinline)) static double withdouble(int i)
{
	double r = 0;
	defer_frame;
	defer_result(r);
	defer(catch_quiet, &r);
	leaky(i);
	return -1;
}

static void catch_quiet_print(void)
{
	const struct _panic *p = recover();
	printf("catch: %s\n", p ? p->msg : "nothing");
}

__attribute__((noinline)) static void second(void)
{
	CLEANUP(c, "second");
	defer_frame;
	defer_result();
	defer(catch_quiet_print);
	panic("second");
	(void)c;
}

/* Run by the first panic from outer_nested's landing pad. */
static void run_nested(void)
{
	defer_frame;
	defer(catch_quiet_print);	/* a normal exit: recovers nothing */
	second();
	printf("second returned\n");
}

__attribute__((noinline)) static void first(void)
{
	CLEANUP(c, "first");
	defer_frame;
	defer(run_nested);
	panic("first");
	(void)c;
}

__attribute__((noinline)) static int outer_nested(void)
{
	int r = 1;
	defer_frame;
	defer_result(r);
	defer(catch_set, &r);
	first();
	return 0;
}

__attribute__((noinline)) static void exiter(void)
{
	CLEANUP(c, "exiter before defer_frame");
	int r = 0;
	defer_frame;
	defer(catch_set, &r);
	CLEANUP(d, "exiter after defer_frame");
	defer_goexit();
	(void)c, (void)d;
}

static void *goexit_thread(void *arg)
{
	CLEANUP(c, "thread");
	defer_frame;
	defer(note, "thread");
	exiter();
	(void)c;
	return arg;
}

#ifdef WITH_PLAIN
void crossplain(void (*f)(void));	/* nofexc.c */

static void inner_via_plain(void)
{
	crossplain(inner);
}

__attribute__((noinline)) static int mixed(void)
{
	CLEANUP(c, "mixed");
	int r = 1;
	defer_frame;
	defer_result(r);
	defer(catch_set, &r);
	crossplain(inner_via_plain);
	(void)c;
	return 0;
}
#endif

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "order";

	setvbuf(stdout, 0, _IONBF, 0);
	if (!strcmp(mode, "order")) {
		printf("outer returned %d\n", outer());
	} else if (!strcmp(mode, "noresult")) {
		noresult();
		printf("noresult returned\n");
	} else if (!strcmp(mode, "double")) {
		printf("withdouble returned %g\n", withdouble(7));
	} else if (!strcmp(mode, "repeat")) {
		double sum = 0;
		for (int i = 0; i < 1000; i++)
			sum += withdouble(i);
		printf("sum %g\n", sum);
	} else if (!strcmp(mode, "fatal")) {
		middle();
	} else if (!strcmp(mode, "nested")) {
		printf("outer_nested returned %d\n", outer_nested());
	} else if (!strcmp(mode, "goexit")) {
		pthread_t t;

		pthread_create(&t, 0, goexit_thread, 0);
		pthread_join(t, 0);
		printf("joined\n");
	}
#ifdef WITH_PLAIN
	else if (!strcmp(mode, "mixed"))
		printf("mixed returned %d\n", mixed());
#endif
	return 0;
}
