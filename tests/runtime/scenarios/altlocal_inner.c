/* SPDX-License-Identifier: MIT */
/* altlocal.c's interrupted frame, built with -fexceptions: its call of
 * sendsig (through a pointer, so not provably nothrow) has a landing pad. */
#include <signal.h>

void say(const char *s);
void inner(void);

static void cleanup(int *p)
{
	(void)p;
	say("inner: cleanup ran");
}
__attribute__((noinline)) static void sendsig(void)
{
	raise(SIGUSR1);
	__asm__ volatile("");
}
void inner(void)
{
	int v __attribute__((cleanup(cleanup))) = 0;
	void (*volatile send)(void) = sendsig;

	send();
	say("inner: after the signal");
	__asm__ volatile("" : : "r"(&v) : "memory");
}
