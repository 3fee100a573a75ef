/*
 * deferreturn.c - the C side of running deferred calls: what deferreturn
 * (defer.S) calls when something is wrong, and the one-record runner that
 * goexit uses.
 */
#include "runtime.h"

/* Go's `defer nil`: the panic comes when the call would run.  gopanic
 * returns only through a recovery, which resumes a frame further out. */
void nildefer(const struct _defer *d)
{
	gopanic(0, "runtime error: invalid memory address or nil pointer dereference "
		   "(deferred function is NULL, deferred at pc %#lx)", (unsigned long)d->pc);
	throw("recovery returned into a NULL deferred call");
}

void __defer_stale(const struct _defer *d)
{
	throw("deferred call from pc %#lx outlived its frame "
	      "(longjmp or a C++ exception across a defer_frame?)", (unsigned long)d->pc);
}

/* Run the head record, then drop it: as deferreturn does, one at a time. */
void rundefer(struct g *g, struct _defer *d)
{
	d->started = 1;
	STAP_PROBE2(libdefer, run, d, d->_panic);
	if (!d->fn)
		nildefer(d);
	__defer_invoke(d, 0);
	if (g->_defer != d)
		throw("bad defer entry in goexit");
	g->_defer = d->link;
	freedefer(g, d);
}
