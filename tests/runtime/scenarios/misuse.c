/* SPDX-License-Identifier: MIT */
/* Misuse that must fail clearly or just work. argv[1] picks the case. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <defer.h>

static void say(const char *s) { printf("%s\n", s); }
static void catch(void)
{
	const struct _panic *p = recover();
	printf("caught: %s\n", p ? p->msg : "nothing");
}

static void nil_deferred(void)
{
	void (*fn)(const char *) = 0;
	defer_frame;
	defer(catch);
	defer(fn, "never");
	say("nil_deferred: body done");
}

/* A panic reaches the NULL call first: it panics in turn, aborting the
 * first panic, and catch recovers the second. */
static void nil_in_panic(void)
{
	void (*fn)(void) = 0;
	defer_frame;
	defer(catch);
	defer(fn);
	panic("first");
}

static jmp_buf jb;
static void jumper(void)
{
	defer_frame;
	defer(say, "jumper: skipped by longjmp");
	longjmp(jb, 1);
}
static void longjmp_across(void)
{
	defer_frame;
	defer(say, "longjmp_across: deferred");
	if (setjmp(jb) == 0)
		jumper();
	say("longjmp_across: after longjmp");
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "nil"))
		nil_deferred();
	else if (!strcmp(c, "nil_fatal")) {
		void (*fn)(void) = 0;
		defer_frame;
		defer(fn);
	} else if (!strcmp(c, "nil_in_panic"))
		nil_in_panic();
	else if (!strcmp(c, "longjmp"))
		longjmp_across();
	say("main: done");
	return 0;
}
