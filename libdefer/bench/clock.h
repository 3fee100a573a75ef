/* SPDX-License-Identifier: MIT */
/* clock.h - the benchmarks' clock and medians (defer_bench.c, shapes.c). */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H
#include <stdlib.h>
#include <time.h>

static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts t. */
static inline double median(double *t, int n)
{
	qsort(t, n, sizeof t[0], cmp_double);
	return t[n / 2];
}
#endif
