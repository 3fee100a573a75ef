/* SPDX-License-Identifier: MIT */
/*
 * shapes.c - one program per defer shape of issue 15's table, for counting
 * instructions with callgrind (libdefer/bench/instructions.py) and for
 * timing each shape against its direct twin.
 *
 *	shapes ir SHAPE N    run N operations of SHAPE, then exit
 *	shapes size          sizeof(struct _defer)
 *	shapes time N        per shape: median ns per operation, and the median
 *	                     of the per-round ratios to its direct twin
 *
 * Each shape "x" has a twin "x.direct" that calls the same functions
 * directly.  Built twice (build.mk): as is, and with DEFER_NO_OPEN_CODE,
 * where every defer() goes through deferproc.  shapes.go and anchors.cc
 * have the same shapes for Go and C++ and the same command line.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <defer.h>
#include "clock.h"

#define NOINLINE __attribute__((noinline))

static void *volatile sink;
static volatile long isink;
static volatile double dsink;

NOINLINE static void use(void *p)
{
	sink = p;
	__asm__ volatile("" ::: "memory");
}

NOINLINE static void use6(void *p, long a, double x, long b, double y, double z)
{
	sink = p;
	isink = a + b;
	dsink = x + y + z;
}

NOINLINE static void logv(void *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink = p;
	isink = fmt[0] == '%' ? va_arg(ap, int) : 0;
	va_end(ap);
}

/* A frame's only defer. */
NOINLINE static void one(void *p)
{
	defer_frame;
	defer(use, p);
}
NOINLINE static void one_direct(void *p)
{
	use(p);
}

/* One and eight defers in a frame: the difference over 7 is a later one. */
NOINLINE static void eight(void *p)
{
	defer_frame;
	defer(use, p);
	defer(use, p);
	defer(use, p);
	defer(use, p);
	defer(use, p);
	defer(use, p);
	defer(use, p);
	defer(use, p);
}
NOINLINE static void eight_direct(void *p)
{
	use(p);
	use(p);
	use(p);
	use(p);
	use(p);
	use(p);
	use(p);
	use(p);
}

/* 100 defers in a loop: per defer, the frame's cost over 100. */
NOINLINE static void loop100(void *p)
{
	defer_frame;
	for (int i = 0; i < 100; i++)
		defer(use, p);
}
NOINLINE static void loop100_direct(void *p)
{
	for (int i = 0; i < 100; i++)
		use(p);
}

/* Six arguments, three of them doubles. */
NOINLINE static void six(void *p)
{
	long a = (long)p, b = a + 1;
	double x = (double)a, y = x + 1, z = x + 2;
	defer_frame;
	defer(use6, p, a, x, b, y, z);
}
NOINLINE static void six_direct(void *p)
{
	long a = (long)p, b = a + 1;
	double x = (double)a, y = x + 1, z = x + 2;
	use6(p, a, x, b, y, z);
}

/* A variadic function: log(p, "%d", x). */
NOINLINE static void variadic(void *p)
{
	int x = (int)(long)p;
	defer_frame;
	defer(logv, p, "%d", x);
}
NOINLINE static void variadic_direct(void *p)
{
	logv(p, "%d", (int)(long)p);
}

/* panic + recover through one frame, and through ten. */
static void catch(void)
{
	recover();
}
NOINLINE static void thrower(int depth)
{
	if (depth > 1)
		thrower(depth - 1);
	else
		panic("x");
	__asm__ volatile("");
}
NOINLINE static void recover_point(void *p)
{
	(void)p;
	defer_frame;
	defer_result();
	defer(catch);
	thrower(1);
}
NOINLINE static void recover_unwind(void *p)
{
	(void)p;
	defer_frame;
	defer(catch);
	thrower(1);
}
NOINLINE static void recover_unwind10(void *p)
{
	(void)p;
	defer_frame;
	defer(catch);
	thrower(10);
}

/* The C anchor for a recovery by jump: setjmp + longjmp through one frame. */
static jmp_buf jb;
NOINLINE static void jumper(void)
{
	longjmp(jb, 1);
}
NOINLINE static void setjmp_longjmp(void *p)
{
	(void)p;
	if (!setjmp(jb))
		jumper();
}

struct shape {
	const char *name;
	void (*f)(void *);
};

static const struct shape shapes[] = {
	{ "one", one },
	{ "one.direct", one_direct },
	{ "eight", eight },
	{ "eight.direct", eight_direct },
	{ "loop100", loop100 },
	{ "loop100.direct", loop100_direct },
	{ "six", six },
	{ "six.direct", six_direct },
	{ "variadic", variadic },
	{ "variadic.direct", variadic_direct },
	{ "recover_point", recover_point },
	{ "recover_point.direct", setjmp_longjmp },
	{ "recover_unwind", recover_unwind },
	{ "recover_unwind10", recover_unwind10 },
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* Out of line and not cloned: instructions.py counts from here
 * (callgrind --toggle-collect=run). */
__attribute__((noipa)) void run(void (*f)(void *), long n);
__attribute__((noipa)) void run(void (*f)(void *), long n)
{
	for (long i = 0; i < n; i++)
		f((void *)i);
}

#define ROUNDS 21

/* A shape and its twin back to back in each round, so that a disturbance
 * of the shared machine hits both alike. */
static void timeshape(const struct shape *s, const struct shape *twin, long n)
{
	double t[ROUNDS], r[ROUNDS];

	for (int k = 0; k < ROUNDS; k++) {
		double t0 = now();
		run(s->f, n);
		double t1 = now();
		if (twin)
			run(twin->f, n);
		double t2 = now();
		t[k] = (t1 - t0) / n;
		r[k] = twin ? (t1 - t0) / (t2 - t1) : 0;
	}
	printf("%s %.2f %.3f\n", s->name, median(t, ROUNDS), median(r, ROUNDS));
}

static const struct shape *find(const char *name)
{
	for (size_t i = 0; i < NSHAPES; i++)
		if (!strcmp(shapes[i].name, name))
			return &shapes[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "ir")) {
		const struct shape *s = find(argv[2]);
		if (!s) {
			fprintf(stderr, "shapes: no shape %s\n", argv[2]);
			return 2;
		}
		run(one, 1);	/* the thread's g, and a warm pool, at any N */
		run(eight, 1);
		run(s->f, atol(argv[3]));
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "size")) {
		printf("%zu\n", sizeof(struct _defer));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "time")) {
		long n = atol(argv[2]);
		run(eight, 1);
		for (size_t i = 0; i < NSHAPES; i++) {
			char twin[64];
			if (strstr(shapes[i].name, ".direct"))
				continue;
			snprintf(twin, sizeof twin, "%s.direct", shapes[i].name);
			/* About the same time per shape: a recovery or a hundred
			 * defers cost a hundred simple ones. */
			long k = strstr(shapes[i].name, "recover") || strstr(shapes[i].name, "loop100") ? n / 100 : n;
			timeshape(&shapes[i], find(twin), k);
		}
		return 0;
	}
	fprintf(stderr, "usage: shapes ir SHAPE N | shapes time N\n");
	return 2;
}
