/* SPDX-License-Identifier: MIT */
/*
 * deep.c - 10,000 nested deferring frames with a panic at the bottom,
 * recovered at the top; then the same depth exiting normally.
 */
#include <stdio.h>
#include <stdlib.h>
#include <defer.h>

static long ran;
static void count(void) { ran++; }
static void catch(void)
{
	const struct _panic *p = recover();
	printf("recovered at the top: %s\n", p ? p->msg : "nothing");
}

static void down(int n)
{
	defer_frame;
	defer(count);
	if (n == 0)
		panic("bottom of %d frames", 10000);
	else
		down(n - 1);
}

static int top(int depth)
{
	int status = 0;
	defer_frame;
	defer_result(status);
	defer(catch);
	down(depth - 1);
	return 1;
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 10000;
	int r = top(depth);
	printf("top returned %d, %ld deferred calls ran\n", r, ran);
	return ran != depth;
}
