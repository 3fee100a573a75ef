/* SPDX-License-Identifier: MIT */
/* sites.c: defer() in several functions and shapes; every line holding a
 * defer( call is a site `defer-inspect sites` must report. */
#include <stdio.h>
#include <stdlib.h>
#include "defer.h"

static void put(const char *s) { puts(s); }
static void two(int a, double b) { printf("%d %g\n", a, b); }

int one(void)
{
	defer_frame;
	defer(put, "one");
	return 1;
}

int loop(int n)
{
	defer_frame;
	for (int i = 0; i < n; i++)
		defer(two, i, 0.5 * i);
	return n;
}

int branches(int k)
{
	defer_frame;
	char *p = malloc(16);
	defer(free, p);
	if (k > 1) {
		defer(put, "big");
	} else {
		defer(put, "small");
	}
	defer(two, k, 1.0);
	return k;
}

int main(int argc, char **argv)
{
	(void)argv;
	return one() + loop(argc) + branches(argc) == 0;
}
