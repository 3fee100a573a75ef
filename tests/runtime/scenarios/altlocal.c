/* SPDX-License-Identifier: MIT */
/*
 * A panic in a signal handler whose alternate stack is a local array of
 * a frame of the thread (tests/runtime/test_altstack_cleanups.py): the
 * interrupted frame below that array, inner (altlocal_inner.c, built with
 * -fexceptions), has a cleanup; this file is built without, so the owner's
 * call has no landing pad and only inner's says the panic must unwind.
 *
 *	altlocal same|alt
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <defer.h>

void say(const char *s);
void inner(void);

void say(const char *s)
{
	printf("%s\n", s);
	fflush(stdout);
}
static void onsig(int sig)
{
	(void)sig;
	panic("in the handler");
}
static void catch(void) { say(recover() ? "outer: recovered" : "outer: not recovered"); }

__attribute__((noinline)) static void withalt(int on)
{
	char alt[1 << 16];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	struct sigaction sa = { .sa_handler = onsig, .sa_flags = on ? SA_ONSTACK : 0 };

	sigaltstack(&ss, 0);
	sigaction(SIGUSR1, &sa, 0);
	inner();
	__asm__ volatile("" : : "r"(alt) : "memory");
}
__attribute__((noinline)) static void outer(int on)
{
	defer_frame;
	defer(catch);
	withalt(on);
	say("outer: after withalt");
}
int main(int argc, char **argv)
{
	if (argc != 2)
		return 64;
	outer(!strcmp(argv[1], "alt"));
	say("outer returned");
	return 0;
}
