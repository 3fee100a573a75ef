/* SPDX-License-Identifier: MIT */
/*
 * A panic through N deferring frames, recovered above them: every frame's
 * call runs once, innermost first (tests/runtime/test_panic_scaling.py
 * counts its instructions at several N).
 *
 *	deeppanic N
 */
#include <stdio.h>
#include <stdlib.h>
#include <defer.h>

static long ran, last = -1;

static void count(int i)
{
	if (i != last + 1)
		abort();	/* out of order */
	last = i;
	ran++;
}

static void catch(void)
{
	if (!recover())
		abort();
}

__attribute__((noinline)) static void dive(int n)
{
	defer_frame;
	defer(count, n);
	if (n == 0)
		panic("bottom");
	else
		dive(n - 1);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

__attribute__((noinline)) static void top(int n)
{
	defer_frame;
	defer(catch);
	dive(n);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;

	top(n);
	printf("ran %ld\n", ran);
	return ran != n + 1;
}
