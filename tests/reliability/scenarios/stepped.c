/* SPDX-License-Identifier: MIT */
/*
 * stepped.c - a little of everything the runtime does, for single-stepping
 * every instruction of deferproc, deferreturn and gopanic under gdb, and of
 * frames(), whose first defer is open-coded once the thread has a g.
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
	defer(use, 2, 2.5);         /* pool records */
	defer(use, 3, 3.5);
}

static void panics(void)
{
	defer_frame;
	defer_result();
	defer(catch);
	defer(again);               /* aborts the first panic */
	defer(use, 4, 4.5);
	panic("first");
}

int main(void)
{
	frames();                   /* no g yet: all through deferproc */
	frames();
	panics();
	printf("done\n");
	return 0;
}
