/* SPDX-License-Identifier: MIT */
/*
 * overflow.c - a stack overflow in a deferring thread is reported, not left
 * to corrupt the chain silently.
 *
 * A thread that overflows its stack cannot run its deferred calls (there is
 * no stack to run them on), so, as Go does, we report "stack overflow" and
 * end the process; with a core file, debuggers then see the intact chain.
 * The handler runs on an alternate signal stack, which each deferring
 * thread gets unless it has one, and is installed only if the program left
 * SIGSEGV at its default: a program's own handler always wins.  Any other
 * fault is sigpanic.c's (onfault).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "runtime.h"

#define ALTSTACK (64 * 1024)
#define SLOP (64 * 1024)	/* faults this close to the stack's end */

static void say(const char *s)
{
	ssize_t r = write(2, s, strlen(s));
	(void)r;
}

/* Whether a SIGSEGV at address a is g's stack overflowing. */
int overflowed(const struct g *g, uintptr_t a)
{
	return g && g->stacklo && a + SLOP >= g->stacklo && a < g->stacklo + SLOP;
}

void overflow_report(const struct g *g)
{
	char line[160];
	long n = 0;

	for (struct _defer *d = g->_defer; d && n < 100000000; d = d->link)
		n++;
	snprintf(line, sizeof line,
		 "fatal error: stack overflow\n\nthread %d \"%s\" [running]: %ld deferred "
		 "call(s) pending%s, not run\n", g->tid, g->name, n,
		 g->_panic ? ", panicking" : "");
	say(line);
	signal(SIGABRT, SIG_DFL);
	abort();
}

/* Once per process. */
void overflow_init(void)
{
	struct sigaction old, sa;

	if (sigaction(SIGSEGV, 0, &old) != 0 || old.sa_handler != SIG_DFL ||
	    (old.sa_flags & SA_SIGINFO))
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = onfault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, 0);
}

/* Per thread: an alternate stack, unless the thread has one.  Returns the
 * mapping overflow_thread_exit unmaps at thread exit, or NULL. */
void *overflow_thread(void)
{
	stack_t old, ss;
	void *p;

	if (sigaltstack(0, &old) != 0 || !(old.ss_flags & SS_DISABLE))
		return 0;
	p = mmap(0, ALTSTACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	ss.ss_sp = p;
	ss.ss_size = ALTSTACK;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, 0) != 0) {
		munmap(p, ALTSTACK);
		return 0;
	}
	return p;
}

void overflow_thread_exit(void *p)
{
	stack_t ss = { .ss_flags = SS_DISABLE };

	if (!p)
		return;
	sigaltstack(&ss, 0);
	munmap(p, ALTSTACK);
}
