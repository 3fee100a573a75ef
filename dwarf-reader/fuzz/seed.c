/* SPDX-License-Identifier: MIT */
/* seed.c - the program whose binaries and core seed the fuzzers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "defer.h"

static void note(const char *s, int i, double x) { printf("%s %d %g\n", s, i, x); }

/* With "abort", a core of the held calls without a debugger (qemu writes
 * its guest's core on abort). */
static void hold(int n, int die)
{
	defer_frame;
	for (int i = 0; i < n; i++)
		defer(note, "held", i, 0.5 * i);
	defer(free, malloc(8));
	if (die)
		abort();
	pause();
}

int main(int argc, char **argv)
{
	if (argc > 1)
		hold(3, !strcmp(argv[1], "abort"));
	return 0;
}
