/* SPDX-License-Identifier: MIT */
/*
 * rundefer.c - running deferred calls from C, the slow parts: dropstarted
 * for a record a panic or goexit finds abandoned (rundefer itself, their
 * one-record runner, is inline in runtime.h), and nildefer, which
 * deferreturn (defer.S) and rundefer call for a NULL function (a record
 * that outlived its frame: stale.c).
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

void dropstarted(struct g *g, struct _defer *d)
{
	if (d->_panic)
		d->_panic->aborted = 1;
	g->_defer = d->link;
	freedefer(g, d);
}
