/* SPDX-License-Identifier: MIT */
/* C ports of Go's runtime/defer_test.go cases (written from the Go
 * tests' behaviour, not their code).  Each prints "ok NAME" or the first
 * thing that differs from Go, then exits 1.  argv[1] names one; crash
 * cases (crash_test.go's testprog) are whole processes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <defer.h>

static const char *test;

static void fail(const char *what, const char *got)
{
	printf("%s: %s, got %s\n", test, what, got ? got : "nil");
	exit(1);
}

/* Recovers and checks the value (NULL: expect nothing to recover). */
static void expect(const char *want)
{
	const struct _panic *p = recover();
	const char *got = p ? p->msg : 0;

	if (want ? !got || strcmp(got, want) : got != 0)
		fail(want ? want : "nil", got);
}

static int steps;
static void step(int want)
{
	char b[32];

	if (++steps != want) {
		snprintf(b, sizeof b, "step %d", steps);
		fail("steps out of order", b);
	}
}

/* Deferred panics: defer panic(n) in Go. */
#define defer_panic(s) defer(gopanic, (void *)0, "%s", s)

/* TestAbortedPanic: a panic in a deferred call aborts the first; the
 * second is recovered, and the first is gone with it. */
static void panics2(void) { panic("panic2"); }
static void aborted_panic(void)
{
	defer_frame;
	defer(expect, NULL);
	defer(expect, "panic2");
	defer(panics2);
	panic("panic1");
}

/* TestRecoverMatching: a deferred call's own deferred call cannot
 * recover the panic that runs the outer one. */
static void inner_expect_nil(void)
{
	defer_frame;
	defer(expect, NULL);
}
static void recover_matching(void)
{
	defer_frame;
	defer(expect, "panic1");
	defer(inner_expect_nil);
	panic("panic1");
}

/* TestConditionalDefers: defers in if arms run, newest first. */
static char list[16];
static void append(int i) { size_t n = strlen(list); list[n] = (char)('0' + i); }
static void conditional_defers(int n)
{
	defer_frame;
	defer(append, 1);
	if (n > 5) {
		defer(append, 2);
		if (n > 8)
			defer(append, 3);
		else
			defer(append, 4);
	}
	panic("testConditional");
}
static void check_list(void)
{
	const struct _panic *p = recover();	/* directly: expect() would be a helper */

	if (!p || strcmp(p->msg, "testConditional"))
		fail("testConditional", p ? p->msg : 0);
	if (strcmp(list, "421"))
		fail("list 421", list);
}
static void conditional(void)
{
	defer_frame;
	defer(check_list);
	conditional_defers(8);
}

/* TestDeferWithRepeatedRepanics: each level recovers and re-panics until
 * the level the value names; then a panic through frames full of
 * 0xffffffff words must find no stale record on the chain. */
static void interpret_catch(int level)
{
	const struct _panic *p = recover();

	if (p && atoi(p->msg) != level)
		panic("%s", p->msg);
}
static void interpreter(int level, int maxlevel, int rec)
{
	defer_frame;
	defer(interpret_catch, level);
	if (level + 1 < maxlevel)
		interpreter(level + 1, maxlevel, rec);
	else
		panic("%d", rec);
}
static volatile unsigned saveint;
static void recurse(int level, int maxlevel)
{
	volatile unsigned a[40];

	memset((void *)a, 0xff, sizeof a);
	if (level + 1 < maxlevel) {
		saveint = a[4];
		recurse(level + 1, maxlevel);
	} else {
		panic("recurseFn panic");
	}
}
static void swallow(void) { recover(); }
static void recurse_panic_rec(int level, int maxlevel)
{
	defer_frame;
	defer(swallow);
	recurse(level, maxlevel);
}
static void repeated_repanics(void)
{
	interpreter(0, 6, 2);
	recurse_panic_rec(0, 10);
	interpreter(0, 5, 1);
	recurse_panic_rec(0, 10);
	interpreter(0, 6, 3);
	recurse_panic_rec(0, 10);
}

/* TestIssue43921: a panic in a deferred call recovered by that call's
 * own deferred call; the first panic goes on to the outer frame. */
static void nothing(void) {}
static void panics4_recovers4(void)
{
	defer_frame;
	defer(expect, "4");
	panic("4");
}
static void issue43921_inner(void)
{
	defer_frame;
	for (;;) {
		defer(nothing);
		break;
	}
	defer(panics4_recovers4);
	panic("1");
}
static void issue43921(void)
{
	defer_frame;
	defer(expect, "1");
	issue43921_inner();
}

/* TestIssue43920: deferred panics, recovered at each level. */
static void panics4(void) { panic("4"); }
static void level3(void)
{
	defer_frame;
	defer(expect, "5");
	defer_panic("5");
	panics4();
}
static void level2(void)
{
	defer_frame;
	defer(level3);
	defer(expect, "3");
	defer_panic("3");
}
static void steps1(void)
{
	defer_frame;
	defer(step, 1);
	panic("1");
}
static void issue43920(void)
{
	steps = 0;
	defer_frame;
	defer(expect, "1");
	defer(level2);
	steps1();
}

/* ---- runtime/crash_test.go (testprog), whole processes ---- */

/* RecursivePanic: a deferred call re-panics with a wrapped value, an
 * outer one recovers it; a later panic is fatal and printed alone. */
static void print_recovered(void)
{
	const struct _panic *p = recover();
	printf("%s\n", p ? p->msg : "nil");
}
static void rewrap(void)
{
	const struct _panic *p = recover();
	if (p)
		panic("wrap: %s", p->msg);
}
static void wraps(void)
{
	defer_frame;
	defer(rewrap);
	panic("bad");
}
static void recursive_inner(void)
{
	defer_frame;
	defer(print_recovered);
	wraps();
}
static void recursive_panic(void)
{
	recursive_inner();
	panic("again");
}

/* PanicAfterGoexit: a call goexit runs panics, unrecovered: fatal. */
static void *panic_after_goexit(void *arg)
{
	(void)arg;
	defer_frame;
	defer_panic("hello");
	defer_goexit();
	return 0;
}

/* GoexitInPanic: a call the panic runs calls goexit: the thread ends,
 * the panic is never reported. */
static void *goexit_in_panic(void *arg)
{
	(void)arg;
	defer_frame;
	defer(defer_goexit);
	panic("hello");
	return 0;
}

static void in_thread(void *(*fn)(void *))
{
	pthread_t t;

	pthread_create(&t, 0, fn, 0);
	pthread_join(t, 0);
	printf("joined\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "RecursivePanic"))
		recursive_panic();
	if (argc > 1 && !strcmp(argv[1], "PanicAfterGoexit"))
		in_thread(panic_after_goexit);
	if (argc > 1 && !strcmp(argv[1], "GoexitInPanic"))
		in_thread(goexit_in_panic);
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "TestAbortedPanic", aborted_panic },
		{ "TestRecoverMatching", recover_matching },
		{ "TestConditionalDefers", conditional },
		{ "TestDeferWithRepeatedRepanics", repeated_repanics },
		{ "TestIssue43921", issue43921 },
		{ "TestIssue43920", issue43920 },
	};

	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		test = tests[i].name;
		tests[i].fn();
		printf("ok %s\n", test);
	}
	return 0;
}
