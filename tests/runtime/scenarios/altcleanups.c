/* SPDX-License-Identifier: MIT */
/*
 * A panic (or goexit) in a signal handler crosses the cleanups of the
 * frames the signal interrupted (tests/runtime/test_altstack_cleanups.py).
 * Built with -fexceptions: inner's cleanup variable has a landing pad at
 * its call, which the panic must unwind, whichever stack the handler runs on.
 *
 *	altcleanups same|alt|below panic|goexit|result
 *
 * "alt": the handler runs on an alternate stack just above the thread's
 * own, so the panic's frame lies above the record's; "below": on one in
 * .bss, below it (the scan read the words up to the record across the
 * unmapped memory between).  "result": no cleanup; the owner has a
 * defer_result, so its recovery unwinds nothing (for musl, whose raise()
 * has no unwind tables; built without -fexceptions there).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <defer.h>

static char below[1 << 16];
static int alt, goexit, result;

static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
static void onsig(int sig)
{
	(void)sig;
	if (goexit)
		defer_goexit();
	panic("in the handler");
}
static void catch(void) { say(recover() ? "outer: recovered" : "outer: not recovered"); }
static void cleanup(int *p) { (void)p; say("inner: cleanup ran"); }

/* Out of line and called through a pointer: a call the compilers cannot
 * prove nothrow (raise() is), so inner's call has a landing pad. */
__attribute__((noinline)) void sendsig(void)
{
	raise(SIGUSR1);
	__asm__ volatile("");
}
__attribute__((noinline)) static void inner(void)
{
	int v __attribute__((cleanup(cleanup))) = 0;
	void (*volatile send)(void) = sendsig;

	send();
	say("inner: after the signal");
	__asm__ volatile("" : : "r"(&v) : "memory");
}
__attribute__((noinline)) static void withresult(void)
{
	defer_frame;
	defer_result();
	defer(catch);
	raise(SIGUSR1);
	say("outer: after the signal");
}
__attribute__((noinline)) static void outer(void)
{
	defer_frame;
	defer(catch);
	inner();
	say("outer: after inner");
}
enum { STACK = 1 << 20, ALT = 1 << 16 };

static void *thread(void *mem)
{
	stack_t ss = { .ss_sp = alt > 1 ? below : (char *)mem + STACK, .ss_size = ALT };
	struct sigaction sa = { .sa_handler = onsig, .sa_flags = alt ? SA_ONSTACK : 0 };

	sigaltstack(&ss, 0);
	sigaction(SIGUSR1, &sa, 0);
	if (result)
		withresult();
	else
		outer();
	return "outer returned";
}
int main(int argc, char **argv)
{
	pthread_attr_t a;
	pthread_t t;
	void *r, *mem;

	/* One mapping: the thread's stack, then the alternate stack above it. */
	mem = mmap(0, STACK + ALT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (argc != 3 || mem == MAP_FAILED)
		return 64;
	alt = !strcmp(argv[1], "alt") ? 1 : !strcmp(argv[1], "below") ? 2 : 0;
	goexit = !strcmp(argv[2], "goexit");
	result = !strcmp(argv[2], "result");
	pthread_attr_init(&a);
	pthread_attr_setstack(&a, mem, STACK);
	pthread_create(&t, &a, thread, mem);
	pthread_join(t, &r);
	say(r ? r : "thread ended");
	return 0;
}
