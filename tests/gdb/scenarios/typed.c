/* SPDX-License-Identifier: MIT */
/* Panics with typed values (panic_value), for test_typed_panic_values.py.
 * Valid C and C++: the tests build it with gcc, clang and g++.
 *   typed     a struct pointer's panic, recovered by main's caller frame
 *   repanic   the same value re-raised by defer_repanic
 *   int       an int pointer's panic
 *   fatal     the struct pointer's panic, unrecovered
 *   hold      the struct pointer's panic, its deferred call printing
 *             "ready" and waiting (for a reader attaching to the pid) */
#include <defer.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct kv_error {
	int code;
	const char *msg;
};

static struct kv_error locked = { 423, "locked" };
static int answer = 42;

static void release(void) { }

static void hold(void)
{
	printf("ready\n");
	fflush(stdout);
	pause();
}

static void swallow(void)
{
	const struct _panic *p = recover();
	if (p)
		printf("recovered: %s\n", p->msg);
}

static void again(void)
{
	const struct _panic *p = recover();
	if (p)
		defer_repanic(p);
}

__attribute__((noinline)) static void compact(struct kv_error *e)
{
	defer_frame;
	defer(release);
	panic_value(e, "compact: %s", e->msg);
}

__attribute__((noinline)) static void count(int *n)
{
	defer_frame;
	defer(release);
	panic_value(n, "count: %d", *n);
}

__attribute__((noinline)) static void guarded(void (*body)(void))
{
	defer_frame;
	defer(swallow);
	body();
}

static void typed(void) { compact(&locked); }
static void repanic(void)
{
	defer_frame;
	defer(again);
	compact(&locked);
}
static void counted(void) { count(&answer); }
static void held(void)
{
	defer_frame;
	defer(hold);
	compact(&locked);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "typed";
	if (!strcmp(mode, "typed"))
		guarded(typed);
	else if (!strcmp(mode, "repanic"))
		guarded(repanic);
	else if (!strcmp(mode, "int"))
		guarded(counted);
	else if (!strcmp(mode, "fatal"))
		typed();
	else if (!strcmp(mode, "hold"))
		held();
	return 0;
}
