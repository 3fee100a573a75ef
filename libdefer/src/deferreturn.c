/*
 * deferreturn.c - running a frame's deferred calls when it exits normally.
 */
#include "runtime.h"

/* Go's `defer nil`: the panic comes when the call would run. */
void nildefer(const struct _defer *d)
{
	gopanic(0, "runtime error: invalid memory address or nil pointer dereference "
		   "(deferred function is NULL, deferred at pc %#lx)", (unsigned long)d->pc);
}

/*
 * Run one record whose turn has come.  It stays on the chain, marked
 * started, while it runs: a debugger sees it as running, and if it panics
 * gopanic finds it started and knows it was abandoned.
 */
void rundefer(struct g *g, struct _defer *d)
{
	d->started = 1;
	STAP_PROBE2(libdefer, run, d, 0);
	if (!d->fn)
		nildefer(d);
	__defer_invoke(d, 0);
	/* A deferred call pushes and pops its own records, so the head must be
	 * d again; anything else is a corrupted chain. */
	if (g->_defer != d)
		throw("bad defer entry in deferreturn");
	g->_defer = d->link;
	freedefer(g, d);
}

/*
 * deferreturn: a defer_frame is being left and has deferred calls.  Run all
 * records that belong to it, newest first.
 */
void deferreturn(struct defer_mark *frame)
{
	struct g *g = getg();
	struct _defer *d;

	while ((d = g->_defer) && d->sp == (uintptr_t)frame)
		rundefer(g, d);
	/* A record of a deeper frame that is still here was skipped: its frame
	 * was left without running its calls (longjmp, a C++ exception). */
	if (d && d->sp < (uintptr_t)frame && !d->started)
		throw("deferred call from pc %#lx outlived its frame "
		      "(longjmp or a C++ exception across a defer_frame?)",
		      (unsigned long)d->pc);
	frame->armed = 0;
}
