/* SPDX-License-Identifier: MIT */
/* Nested panics, as Go runs them.  argv[1] picks the case. */
#include <stdio.h>
#include <string.h>
#include <defer.h>

static void say(const char *s) { printf("%s\n", s); }
static void panics_again(const char *m) { panic("%s", m); }
static void catch(void)
{
	const struct _panic *p = recover();
	printf("catch: %s\n", p ? p->msg : "nothing");
}
static void repanic(void)
{
	const struct _panic *p = recover();
	panic("re-panic after recovering \"%s\"", p ? p->msg : "?");
}

/* A panic inside a deferred call aborts the first; recovering the newer
 * one ends both. */
static void abort_then_recover(void)
{
	defer_frame;
	defer(catch);
	defer(say, "abort_then_recover: older deferred call still runs");
	defer(panics_again, "second");
	panic("first");
}

/* Nothing recovers: the report lists both, oldest first. */
static void abort_fatal(void)
{
	defer_frame;
	defer(panics_again, "second");
	panic("first");
}

static void repanic_fatal(void)
{
	defer_frame;
	defer(repanic);
	panic("first");
}

static void panic_after_recovery(void)
{
	{
		defer_frame;
		defer(catch);
		panic("one");
	}
}

static void deep(int n)
{
	defer_frame;
	defer(printf, "deep: unwinding %d\n", n);
	if (n == 0)
		panic("bottom");
	else
		deep(n - 1);
}

static void recover_from_deep(void)
{
	defer_frame;
	defer(catch);
	deep(3);
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "abort_then_recover"))
		abort_then_recover();
	else if (!strcmp(c, "abort_fatal"))
		abort_fatal();
	else if (!strcmp(c, "repanic_fatal"))
		repanic_fatal();
	else if (!strcmp(c, "panic_after_recovery")) {
		panic_after_recovery();
		say("between panics");
		panic_after_recovery();
	} else if (!strcmp(c, "deep"))
		recover_from_deep();
	say("main: done");
	return 0;
}
