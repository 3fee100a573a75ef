/* SPDX-License-Identifier: MIT */
/* defer(recover) inside a deferred call: Go's recover1.go tests 5-7 and
 * recover.go's `defer recover()` no-op.  Each case prints what recovered. */
#include <stdio.h>
#include <string.h>
#include <defer.h>

static void must_not_recover(void)
{
	const struct _panic *p = recover();
	printf("must_not_recover: %s\n", p ? p->msg : "nothing");
}
static void must_recover(const char *want)
{
	const struct _panic *p = recover();
	printf("must_recover(%s): %s\n", want, p ? p->msg : "nothing");
}

/* test5: the deferred function's frame exit runs recover: it recovers. */
static void defers_recover(void)
{
	defer_frame;
	defer(recover);
}
static void test5(void)
{
	defer_frame;
	defer(must_not_recover);
	defer(defers_recover);
	panic("5");
}

/* test6: panic 3 in the deferred call is recovered by must_recover, the
 * deferred function then returns, and its defer(recover) recovers 2. */
static void second_panic(void)
{
	defer_frame;
	defer(recover);
	defer(must_recover, "3");
	panic("3");
}
static void test6(void)
{
	defer_frame;
	defer(must_not_recover);
	defer(second_panic);
	panic("2");
}

/* test7: swapped: panic 3 runs recover itself (a no-op: the runtime
 * called it), must_recover takes 3, and 2 goes on to the outer frame. */
static void second_panic_swapped(void)
{
	defer_frame;
	defer(must_recover, "3");
	defer(recover);
	panic("3");
}
static void test7(void)
{
	defer_frame;
	defer(must_recover, "2");
	defer(second_panic_swapped);
	panic("2");
}

/* A helper the deferred call calls cannot recover through defer(recover)
 * either: its frame is not the deferred call's. */
static void helper_defers_recover(void)
{
	defer_frame;
	defer(recover);
}
static void calls_helper(void) { helper_defers_recover(); }
static void helper_case(void)
{
	defer_frame;
	defer(must_recover, "helper");
	defer(calls_helper);
	panic("helper");
}

int main(void)
{
	test5();
	printf("after test5\n");
	test6();
	printf("after test6\n");
	test7();
	printf("after test7\n");
	helper_case();
	printf("main: done\n");
	return 0;
}
