/* SPDX-License-Identifier: MIT */
/*
 * history.c - each thread's last DEFER_HISTORY recovered panics, written as
 * poppanics takes a recovered panic off the thread.
 *
 * A ring of struct defer_recovered that the thread's g points to (g.c
 * allocates it with the g), so that a debugger, a core reader or the crash
 * report can say what went wrong before.  Only a recovery writes it: the
 * deferring fast paths never touch it.  A reader trusts a slot only if its
 * seq is the one the slot's place implies (docs/abi.md, V11-V12), so seq
 * is cleared first and stored last: a core written mid-recovery shows the
 * older records and says the newest is being written.
 */
#include <string.h>
#include <time.h>
#include "runtime.h"

/* Note in g's history that d's call recovered p. */
static void remember(struct g *g, const struct _panic *p, const struct _defer *d)
{
	struct defer_recovered *h;
	struct timespec ts;
	uint64_t seq;

	if (!g->hist || g->histcap != DEFER_HISTORY)
		return;
	/* The vDSO's clock: no system call, safe in a signal handler.  The
	 * coarse one (the kernel tick's resolution, 1-4 ms; seq orders the
	 * records): it reads no hardware counter, and CLOCK_MONOTONIC cost
	 * a third of a recovery's time here (docs/runtime.md, Costs).  Read
	 * first: only g, p and d live across the call. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	seq = g->recovered + 1;
	/* Every g this runtime makes has histcap DEFER_HISTORY (g.c): a
	 * constant divisor, a mask for the default 16 (readers still take
	 * the count from g). */
	h = &g->hist[(seq - 1) % DEFER_HISTORY];
	__atomic_store_n(&h->seq, 0, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	h->time = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	h->arg = p->arg;
	h->type = p->vtype;
	h->pc = p->pc;
	h->fn = d->fn;
	h->site = d->pc;
	h->textlen = p->textlen;
	/* The first bytes whole, then the end: cheaper than measuring the
	 * message (the recovery is timed by make bench).  Bytes after an
	 * early NUL are gopanic's, not read by anyone. */
	memcpy(h->msg, p->msg, sizeof h->msg - 1);
	h->msg[sizeof h->msg - 1] = 0;
	__atomic_store_n(&h->seq, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&g->recovered, seq, __ATOMIC_RELEASE);
}

/* Pop the recovered panic and the aborted ones behind it; 1 if one of
 * those was a goexit (see recovery).  d made the recovery: every path
 * that ends a panic by recovering it comes here, so the history is
 * written here. */
int poppanics(struct g *g, const struct _defer *d)
{
	int goexit = 0;

	remember(g, g->_panic, d);
	releasepanic(g, g->_panic);
	g->_panic = g->_panic->link;
	while (g->_panic && g->_panic->aborted) {
		goexit |= g->_panic->goexit;
		releasepanic(g, g->_panic);
		g->_panic = g->_panic->link;
	}
	return goexit;
}
