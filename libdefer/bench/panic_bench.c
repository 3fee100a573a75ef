/* SPDX-License-Identifier: MIT */
/*
 * panic_bench.c - instructions per panic + recover, for make bench.
 *
 *	panic_bench MODE N	runs N panics of one shape
 *
 * scripts/panic_bench runs it under callgrind at two counts and prints
 * the difference per operation, so that start-up cancels.  MODE:
 *   point	recovered in the frame above, which has defer_result()
 *   unwind	the same without defer_result (the owner's return is found
 *		by unwinding)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <defer.h>

static void catch(void)
{
	recover();
}

__attribute__((noinline)) static void thrower(void)
{
	panic("x");
}

__attribute__((noinline)) static void with_point(void)
{
	defer_frame;
	defer_result();
	defer(catch);
	thrower();
}

__attribute__((noinline)) static void with_unwind(void)
{
	defer_frame;
	defer(catch);
	thrower();
}

int main(int argc, char **argv)
{
	void (*f)(void) = 0;
	long n;

	if (argc != 3)
		return 2;
	n = atol(argv[2]);
	if (!strcmp(argv[1], "point"))
		f = with_point;
	else if (!strcmp(argv[1], "unwind"))
		f = with_unwind;
	if (!f)
		return 2;
	f();	/* the thread's g, first look-ups */
	for (long i = 0; i < n; i++)
		f();
	return 0;
}
