/* SPDX-License-Identifier: MIT */
/* seed.c - the program whose binaries and core seed the fuzzers. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "defer.h"

static void note(const char *s, int i, double x) { printf("%s %d %g\n", s, i, x); }

static void hold(int n)
{
	defer_frame;
	for (int i = 0; i < n; i++)
		defer(note, "held", i, 0.5 * i);
	defer(free, malloc(8));
	pause();
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		hold(3);
	return 0;
}
