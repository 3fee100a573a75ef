/* SPDX-License-Identifier: MIT */
/* chain.c: a fatal panic raised inside a deferred call that a first panic
 * is running: at the end the thread has panic 1 "second" (running) and
 * panic 2 "first" (aborted), and calls still pending in main. */
#include <stdio.h>
#include "defer.h"

static void bye(int code) { printf("bye %d\n", code); }

static void again(const char *what)
{
	defer_frame;
	defer(bye, 2);
	panic("second: %s", what);
}

static void work(void)
{
	defer_frame;
	defer(again, "from work");
	defer(bye, 1);
	panic("first");
}

int main(void)
{
	defer_frame;
	defer(bye, 0);
	work();
	return 0;
}
