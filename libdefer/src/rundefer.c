/* SPDX-License-Identifier: MIT */
/*
 * rundefer.c - running deferred calls from C: rundefer, the one-record
 * runner of panics (panic.c) and goexit (goexit.c), dropstarted for a
 * record they find abandoned, and the two checks deferreturn (defer.S)
 * calls out to: a NULL function (nildefer) and a record that outlived its
 * frame (__defer_checkstale).
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

/*
 * A frame is being left and the head record d is not its own.  If d
 * belongs to a deeper frame, that frame was left without running its calls
 * (longjmp, a C++ exception): its calls are lost, and running them now would
 * use dead stack.  A record built into a mark lies in that dead frame, on
 * this thread's stack below the mark, and may have been overwritten since;
 * a pool record still has its sp.
 */
void __defer_checkstale(const struct _defer *d, const struct defer_mark *mark)
{
	struct g *g = __defer_tls.g;
	uintptr_t a = (uintptr_t)d, m = (uintptr_t)mark;

	if (a < m && a >= g->stacklo)
		;
	else if (d->sp < m && !d->started)
		;
	else
		return;
	throw("a deferred call (record at %p) outlived its frame "
	      "(longjmp or a C++ exception across a defer_frame?)", (const void *)d);
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
