/* SPDX-License-Identifier: MIT */
/*
 * hostile.c - a program whose strings attack the debugger that reads them.
 *
 * Deferred functions whose only symbol names are gdb expressions
 * (hostile_names.S; the test strips their plain names), a defer site in a
 * "file" whose name holds a newline, a forged "defer 9:" line and an
 * escape sequence, a thread name and a panic message likewise.
 *
 *   hostile MARKER    panics; `cmd` would create MARKER if gdb ever
 *                     evaluated the symbol name that calls system(cmd)
 */
#define _GNU_SOURCE
#include <defer.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

char cmd[4096];
void hostile_eval(int);		/* symbol "_main',($pwned=42),'main" */
void hostile_call(int);		/* symbol "_main',((int(*)(char*))system)(cmd),'main" */
extern char hostile_buf[];	/* renamed "evilbuf\033[31m\n  defer 9: FORGED" by the test */
volatile int sink;

__attribute__((noinline)) void checkpoint(void)
{
	sink++;
}

static void stop_here(int x, const char *buf)
{
	(void)x;
	(void)buf;
	checkpoint();
}

#line 1 "forged\n  defer 9: forged_call()  [pending]\x1b[2J.c"
static void site(void)
{
	defer_frame;
	defer(hostile_eval, 1);
	defer(hostile_call, 2);
	defer(stop_here, 3, hostile_buf);
	panic("\x1b]0;pwned\x07\n  panic 9: \"forged\"  [recovered]");
}

#line 50 "hostile.c"
int main(int argc, char **argv)
{
	if (argc > 1 && system(NULL) >= 0)	/* keeps system() in static links */
		snprintf(cmd, sizeof cmd, "touch %s", argv[1]);
	pthread_setname_np(pthread_self(), "\x1b[2J\n  defer 9:");
	site();
	return 0;
}
