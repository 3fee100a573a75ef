/* SPDX-License-Identifier: MIT */
/*
 * stepped.c - a little of everything the runtime does, for single-stepping
 * every instruction of deferproc, deferreturn and gopanic under gdb, and of
 * frames(), whose defers with exact argument types are open-coded once the
 * thread has a g (the first into the mark's record, later ones from the
 * pool).  Arguments that need converting go through deferproc.
 */
#include <stdio.h>
#include <defer.h>

static volatile int sink;
__attribute__((noinline)) void use(int a, double b) { sink += a + (int)b; }
static void catch(void) { recover(); }
static void again(void) { panic("nested"); }

__attribute__((noinline)) static void frames(void)
{
	defer_frame;
	defer(use, 1, 1.5);         /* the frame's own record: open-coded */
	defer(use, 2, 2.5);         /* a pool record, open-coded */
	defer(use, 3, 3);           /* 3 to a double: a pool record from deferproc */
}

__attribute__((noinline)) static void converted(void)
{
	defer_frame;
	defer(use, 5, 5);           /* deferproc: the mark's own record */
	defer(use, 6, 6);           /* deferproc: a pool record */
}

static void panics(void)
{
	defer_frame;
	defer_result();
	defer(catch);
	defer(again);               /* aborts the first panic */
	defer(use, 4, 4);
	panic("first");
}

int main(void)
{
	frames();                   /* no g yet: the first through deferproc */
	frames();
	converted();
	converted();
	panics();
	printf("done\n");
	return 0;
}
