/* SPDX-License-Identifier: MIT */
/* panic, recover, and where execution resumes. */
#include <stdio.h>
#include <string.h>
#include <defer.h>

struct error { int code; const char *what; };

static void say(const char *s) { printf("%s\n", s); }

/* Recovers, and sets the result through a pointer (Go's named result). */
static void recover_status(int *status)
{
	const struct _panic *p = recover();
	if (p) {
		printf("recovered: %s\n", p->msg);
		*status = 500;
	}
}

static void boom(const char *why) { panic("boom: %s", why); }

static int handle(const char *why)
{
	int status = 200;
	defer_frame;
	defer_result(status);
	defer(say, "handle: runs after the recovery, before handle returns");
	defer(recover_status, &status);
	defer(say, "handle: runs first, during the panic");
	boom(why);
	say("handle: not reached");
	return status;
}

static double ratio(void)
{
	double r = 0.5;
	int ignored;
	defer_frame;
	defer_result(r);
	defer(recover_status, &ignored);
	panic("ratio");
	r = 1.0;
	return r;
}

/* No defer_result: a recovered function returns zero, like Go's unnamed
 * results. */
static int zero_result(int x)
{
	int ignored;
	defer_frame;
	defer(recover_status, &ignored);
	if (x > 0)
		panic("zero_result");
	return x + 7;
}

/* A void function resumes at defer_result(): recovery is a jump. */
static void void_resume(void)
{
	int ignored;
	defer_frame;
	defer_result();
	defer(say, "void_resume: remaining deferred call");
	defer(recover_status, &ignored);
	panic("void_resume");
	say("void_resume: not reached");
}

static void catch_error(void)
{
	const struct _panic *p = recover();
	if (p) {
		const struct error *e = p->arg;
		printf("caught error code=%d what=%s msg=%s\n", e->code, e->what, p->msg);
	}
}

static void with_value(void)
{
	static struct error e = { 42, "disk full" };
	defer_frame;
	defer(catch_error);
	panic_value(&e, "write failed: %s", e.what);
}

__attribute__((noinline)) static void helper(void)
{
	printf("helper: recover() = %s\n", recover() ? "value" : "NULL");
}
static void calls_helper(void)
{
	helper();
	printf("calls_helper: after helper\n");
}
/* Compiled as a tail call at -O2 (jmp tail_target): tail_target then runs
 * in the frame the deferred call had, and must still not recover. */
__attribute__((noinline)) static void tail_target(void)
{
	printf("tail_target: recover() = %s\n", recover() ? "value" : "NULL");
}
__attribute__((noinline)) static void tail_helper(void)
{
	tail_target();
}
static void recover_twice(void)
{
	const struct _panic *a = recover();
	const struct _panic *b = recover();
	printf("recover_twice: first %s, second %s\n", a ? "value" : "NULL", b ? "value" : "NULL");
}

static void rules(void)
{
	defer_frame;
	defer(recover_twice);
	defer(recover);                     /* like Go's `defer recover()`: no-op */
	defer(calls_helper);
	defer(tail_helper);
	panic("rules");
}

static void normal_exit_recover(void)
{
	printf("normal_exit_recover: %s\n", recover() ? "value" : "NULL");
}
static void not_panicking(void)
{
	defer_frame;
	defer(normal_exit_recover);
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("handle returned %d\n", handle("disk"));
	printf("ratio returned %g\n", ratio());
	printf("zero_result returned %d\n", zero_result(argc));
	void_resume();
	say("after void_resume");
	with_value();
	rules();
	not_panicking();
	printf("recover outside a deferred call: %s\n", recover() ? "value" : "NULL");
	say("main: done");
	return 0;
}
