/* SPDX-License-Identifier: MIT */
/*
 * rundefer.c - running deferred calls from C: rundefer, the one-record
 * runner of panics (panic.c) and goexit (goexit.c), dropstarted for a
 * record they find abandoned, and nildefer, which deferreturn (defer.S)
 * calls for a NULL function (a record that outlived its frame: stale.c).
 */
#include "runtime.h"

/* Go's `defer nil`: the panic comes when the call would run.  gopanic
 * returns only through a recovery, which resumes a frame further out. */
void nildefer(const struct _defer *d)
{
	gopanic(0, 0, "runtime error: invalid memory address or nil pointer dereference "
		   "(deferred function is NULL, deferred at pc %#lx)", (unsigned long)d->pc);
	throw("recovery returned into a NULL deferred call");
}

void rundefer(struct g *g, struct _defer *d, struct _panic *p, uintptr_t *argp,
	      const char *what)
{
	/* Started, and left on the chain while it runs: a panic in the call
	 * finds it started and knows it was abandoned (dropstarted). */
	d->started = 1;
	d->_panic = p;
	STAP_PROBE2(libdefer, run, d, p);
	if (!d->fn)
		nildefer(d);
	__defer_inruntime = 0;
	__defer_invoke(d, argp);
	__defer_inruntime = 1;
	if (g->_defer != d)
		throw("bad defer entry in %s", what);
	g->_defer = d->link;
}

void dropstarted(struct g *g, struct _defer *d)
{
	if (d->_panic)
		d->_panic->aborted = 1;
	g->_defer = d->link;
	freedefer(g, d);
}
