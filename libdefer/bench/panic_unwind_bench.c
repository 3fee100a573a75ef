/* SPDX-License-Identifier: MIT */
/*
 * panic_unwind_bench.c - built with -fexceptions: instructions per panic +
 * recover when the panic unwinds frames with landing pads, for make bench
 * (scripts/panic_bench).
 *
 *	panic_unwind_bench MODE N
 *   crossed	through one frame with a cleanup variable, recovered by a
 *		frame with defer_result
 *   owner	no frame in between: only the recovering frame's own
 *		defer_frame is a landing pad
 */
#include <stdlib.h>
#include <string.h>
#include <defer.h>

static volatile long cleaned;

static void catch(void)
{
	recover();
}

__attribute__((noinline)) static void thrower(void)
{
	panic("x");
}

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

__attribute__((noinline)) static void with_owner(void)
{
	defer_frame;
	defer_result();
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
	if (!strcmp(argv[1], "crossed"))
		f = with_crossed;
	else if (!strcmp(argv[1], "owner"))
		f = with_owner;
	if (!f)
		return 2;
	f();
	cleaned = 0;
	for (long i = 0; i < n; i++)
		f();
	/* Every crossed cleanup ran. */
	return f == with_crossed && cleaned != n;
}
