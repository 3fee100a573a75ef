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
 * A call that an unwinding panic (A) runs from a frame's landing pad
 * panics again (B), and B is nested in A as in Go (renest*):
 *   renest            an older call of the same frame recovers B; the
 *                     frame's other calls and cleanups run once each,
 *                     then main panics and recovers C, which is alone
 *   renest_fatal      nothing recovers: the report has both panics
 *   renest_recovered  the call recovered A before it panicked
 *   renest_recovered_fatal   and nothing recovers B
 *   renest_up         the call was its frame's last: the caller recovers
 *   renest_last       and the thread's last: nothing is left to recover
 *   renest_bare       renest's frame with no cleanup but defer_frame (gcc
 *                     gives that landing pad's call no landing pad), twice
 *   regoexit          the call is defer_goexit, in a thread, once with an
 *                     older call in the frame and once without
 *   renest_repeat     renest, renest_up and relanding 1000 times each, quietly
 *                     (every unwind's slot is given back)
 *   incleanup         A's landing pad runs a cleanup whose own unwinding
 *                     panic's landing pad has a call that panics again; the
 *                     caller then recovers A, and a call of its that runs
 *                     after that unwinds a panic of its own
 *   resignal          the call raises SIGUSR1, whose handler panics: the
 *                     handover leaves the handler, and unblocks SIGUSR1
 *   cleanup_panics    not a call but a cleanup variable's function panics
 *                     again (docs/runtime.md, Limits: it crosses the
 *                     landing pad's call)
 *   relanding         A is recovered in the landing pad, and a later call
 *                     of that frame panics (C): the caller recovers C
 */
#include <pthread.h>
#include <signal.h>
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

/* Run by the first panic from the landing pad of recovering(first). */
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

/* Calls f, and returns 42 if catcher, deferred, recovers what it panics
 * with (else 1). */
__attribute__((noinline)) static int recovering(void (*f)(void), void (*catcher)(int *))
{
	int r = 1;
	defer_frame;
	defer_result(r);
	defer(catcher, &r);
	f();
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

/* What recover() returned, and the panic under it. */
static void catch_chain(int *r)
{
	const struct _panic *p = recover();
	const struct _panic *l = p ? p->link : 0;

	printf("catch: %s over %s%s\n", p ? p->msg : "nothing", l ? l->msg : "nothing",
	       !l ? "" : l->recovered ? " (recovered, aborted)" : l->aborted ? " (aborted)" : "");
	if (p)
		*r = 42;
}

static void repanic(const char *why)
{
	printf("repanic %s\n", why);
	panic("%s", why);
}

static void recover_repanic(void)
{
	const struct _panic *p = recover();

	printf("recovered %s, repanic B\n", p ? p->msg : "nothing");
	panic("B");
}

__attribute__((noinline)) static void raise_a(void)
{
	CLEANUP(c, "raise_a");
	defer_frame;
	defer(note, "raise_a");
	panic("A");
	(void)c;
}

/* The frame whose landing pad runs the call that panics again. */
__attribute__((noinline)) static int renest(int rec, int recfirst)
{
	CLEANUP(c, "renest before defer_frame");
	int r = 1;
	defer_frame;
	defer_result(r);
	CLEANUP(d, "renest after defer_result");
	defer(note, "renest 0");
	if (rec)
		defer(catch_chain, &r);
	defer(note, "renest 1");
	if (recfirst)
		defer(recover_repanic);
	else
		defer(repanic, "B");
	defer(note, "renest 2");
	raise_a();
	(void)c, (void)d;
	return 0;
}

__attribute__((noinline)) static int renest_bare(void)
{
	int r = 1;
	defer_frame;
	defer_result(r);
	defer(note, "renest_bare 0");
	defer(catch_chain, &r);
	defer(repanic, "B");
	raise_a();
	return 0;
}

__attribute__((noinline)) static void again(void)
{
	int r = 0;
	defer_frame;
	defer(catch_chain, &r);
	panic("C");
}

__attribute__((noinline)) static void renest_mid(void)
{
	CLEANUP(c, "renest_mid");
	defer_frame;
	defer(repanic, "B");
	raise_a();
	(void)c;
}

static void exitnow(void)
{
	printf("goexit\n");
	defer_goexit();
}

__attribute__((noinline)) static void goexit_pad(int older)
{
	CLEANUP(c, "goexit_pad");
	defer_frame;
	if (older)
		defer(note, "goexit_pad 0");
	defer(exitnow);
	raise_a();
	(void)c;
}

static void *goexit_pad_thread(void *older)
{
	CLEANUP(c, "thread");
	goexit_pad(older != 0);
	(void)c;
	return 0;
}

__attribute__((noinline)) static void inner_unwinding(void)
{
	int r = 0;
	CLEANUP(c, "inner_unwinding");
	defer_frame;
	defer(catch_chain, &r);
	defer(repanic, "Y");
	panic("X");
	(void)c;
}

static void unwinds_in_cleanup(const int *unused)
{
	(void)unused;
	inner_unwinding();
}

__attribute__((noinline)) static void cleanup_unwinds(void)
{
	__attribute__((cleanup(unwinds_in_cleanup))) int x = 0;
	defer_frame;
	defer(note, "cleanup_unwinds");
	panic("A");
	(void)x;
}

/* Runs after its frame recovered A, in the landing pad: an unwinding
 * panic of its own, recovered. */
static void unwinds_later(void)
{
	int r = 0;
	CLEANUP(c, "unwinds_later");
	defer_frame;
	defer(catch_chain, &r);
	panic("Z");
	(void)c;
}

__attribute__((noinline)) static int incleanup(void)
{
	int r = 1;
	defer_frame;
	defer_result(r);
	defer(note, "incleanup 0");
	defer(unwinds_later);
	defer(catch_chain, &r);
	cleanup_unwinds();
	return 0;
}

static void onusr1(int sig)
{
	(void)sig;
	panic("B in a handler");
}

static void raise_usr1(void)
{
	raise(SIGUSR1);
}

__attribute__((noinline)) static void resignal(void)
{
	CLEANUP(c, "resignal");
	int r = 0;
	defer_frame;
	defer(catch_chain, &r);
	defer(raise_usr1);
	raise_a();
	(void)c;
}

static void panicky(const char *const *s)
{
	printf("cleanup %s panics\n", *s);
	panic("B");
}

__attribute__((noinline)) static void cleanup_panics(void)
{
	CLEANUP(c, "cleanup_panics before");
	__attribute__((cleanup(panicky))) const char *p = "cleanup_panics";
	defer_frame;
	defer(note, "cleanup_panics");
	panic("A");
	(void)c, (void)p;
}

__attribute__((noinline)) static void relanding(void)
{
	CLEANUP(c, "relanding before defer_frame");
	int r = 0;
	defer_frame;
	defer(note, "relanding 0");
	defer(repanic, "C");
	defer(catch_chain, &r);
	raise_a();
	(void)c;
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
		printf("outer_nested returned %d\n", recovering(first, catch_set));
	} else if (!strcmp(mode, "goexit")) {
		pthread_t t;

		pthread_create(&t, 0, goexit_thread, 0);
		pthread_join(t, 0);
		printf("joined\n");
	} else if (!strcmp(mode, "renest_up")) {
		printf("renest_up returned %d\n", recovering(renest_mid, catch_chain));
	} else if (!strcmp(mode, "renest_repeat")) {
		long sum = 0;

		if (!freopen("/dev/null", "w", stdout))
			return 1;
		for (int i = 0; i < 1000; i++)
			sum += renest(1, i & 1) + recovering(renest_mid, catch_chain) + recovering(relanding, catch_chain);
		fprintf(stderr, "sum %ld\n", sum);
	} else if (!strcmp(mode, "incleanup")) {
		printf("incleanup returned %d\n", incleanup());
	} else if (!strcmp(mode, "resignal")) {
		sigset_t now;

		signal(SIGUSR1, onusr1);
		resignal();
		pthread_sigmask(SIG_SETMASK, 0, &now);
		printf("SIGUSR1 blocked afterwards: %d\n", sigismember(&now, SIGUSR1));
	} else if (!strcmp(mode, "cleanup_panics")) {
		printf("cleanup_panics_up returned %d\n", recovering(cleanup_panics, catch_chain));
		again();
	} else if (!strcmp(mode, "renest_bare")) {
		printf("renest_bare returned %d\n", renest_bare());
		printf("renest_bare returned %d\n", renest_bare());
		again();
	} else if (!strcmp(mode, "renest_last")) {
		renest_mid();
	} else if (!strcmp(mode, "regoexit")) {
		for (long older = 1; older >= 0; older--) {
			pthread_t t;

			pthread_create(&t, 0, goexit_pad_thread, (void *)older);
			pthread_join(t, 0);
			printf("joined\n");
		}
	} else if (!strncmp(mode, "renest", 6)) {
		/* renest, renest_fatal, renest_recovered, renest_recovered_fatal */
		printf("renest returned %d\n", renest(!strstr(mode, "fatal"), !!strstr(mode, "recovered")));
		again();
	} else if (!strcmp(mode, "relanding")) {
		printf("relanding_up returned %d\n", recovering(relanding, catch_chain));
	}
#ifdef WITH_PLAIN
	else if (!strcmp(mode, "mixed"))
		printf("mixed returned %d\n", mixed());
#endif
	return 0;
}
