/*
 * stepped.c - a little of everything the runtime does, for single-stepping
 * every instruction of deferproc, deferreturn and gopanic under gdb.
 */
#include <stdio.h>
#include <defer.h>

static volatile int sink;
__attribute__((noinline)) void use(int a, double b) { sink += a + (int)b; }
static void catch(void) { recover(); }
static void again(void) { panic("nested"); }

static void frames(void)
{
	defer_frame;
	defer(use, 1, 1.5);         /* the frame's own record */
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
	frames();
	panics();
	printf("done\n");
	return 0;
}
