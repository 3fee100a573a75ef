/* SPDX-License-Identifier: MIT */
/*
 * panic_bench.c - instructions per panic + recover, for make bench.
 *
 *	panic_bench MODE N	runs N panics of one shape
 *
 * Built twice (build.mk): as panic_bench, and with -fexceptions as
 * panic_unwind_bench, whose frames have landing pads (the recovering
 * frame's defer_frame is one: the panic unwinds it).  Not linked into one
 * program: a single frame with an LSDA makes every panic of the
 * executable look for landing pads.  scripts/panic_bench runs it under
 * callgrind at two counts and prints the difference per operation, so
 * that start-up cancels.  MODE:
 *   point	recovered in the frame above, which has defer_result()
 *   unwind	the same without defer_result (the owner's return is found
 *		by unwinding)
 *   crossed	(-fexceptions only) through one frame with a cleanup
 *		variable, which runs, recovered as in point
 */
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

#ifdef __EXCEPTIONS
static volatile long cleaned;

static void count(int *p)
{
	cleaned += *p;
}

__attribute__((noinline)) static void crossing(void)
{
	int one __attribute__((cleanup(count))) = 1;
	thrower();
	__asm__ volatile("" ::"r"(one));
}

__attribute__((noinline)) static void with_crossed(void)
{
	defer_frame;
	defer_result();
	defer(catch);
	crossing();
}
#endif

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
#ifdef __EXCEPTIONS
	else if (!strcmp(argv[1], "crossed"))
		f = with_crossed;
#endif
	if (!f)
		return 2;
	f();	/* the thread's g, first look-ups */
#ifdef __EXCEPTIONS
	cleaned = 0;
#endif
	for (long i = 0; i < n; i++)
		f();
#ifdef __EXCEPTIONS
	/* Every crossed cleanup ran. */
	return f == with_crossed && cleaned != n;
#else
	return 0;
#endif
}
