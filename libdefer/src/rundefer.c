/* SPDX-License-Identifier: MIT */
/*
 * rundefer.c - running deferred calls from C, the slow parts: dropstarted
 * for a record a panic or goexit finds abandoned (rundefer itself, their
 * one-record runner, is inline in runtime.h), and the two checks
 * deferreturn (defer.S) and rundefer call out to: a NULL function
 * (nildefer) and a record that outlived its frame (__defer_checkstale).
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

void dropstarted(struct g *g, struct _defer *d)
{
	if (d->_panic)
		d->_panic->aborted = 1;
	g->_defer = d->link;
	freedefer(g, d);
}
