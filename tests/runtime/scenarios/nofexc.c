/* SPDX-License-Identifier: MIT */
/* Built without -fexceptions, for unwinding.c's "mixed" case: a plain
 * frame with a deferred call and a cleanup variable that no unwinder can
 * run (it has no landing pad). */
#include <stdio.h>
#include <defer.h>

static void note(const char *s) { printf("defer %s\n", s); }
static void say(const char *const *s) { printf("cleanup %s\n", *s); }

__attribute__((noinline)) void crossplain(void (*f)(void))
{
	__attribute__((cleanup(say))) const char *c = "plain (never runs: no landing pad)";
	defer_frame;
	defer(note, "plain");
	f();
	(void)c;
}
