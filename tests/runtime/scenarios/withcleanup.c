/* SPDX-License-Identifier: MIT */
/* A function with a cleanup, built with -fexceptions and linked beside
 * deeppanic.c (test_panic_scaling.py): the executable then has LSDAs, so
 * every return address into it may be a frame with a landing pad, and
 * each record a panic runs asks where the landing pads are. */
#include <stdio.h>

static void done(int *p)
{
	printf("%d\n", *p);
}

void with_cleanup(int x)
{
	int v __attribute__((cleanup(done))) = x;

	if (x > 100)
		puts("big");
}
