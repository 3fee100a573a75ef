/* SPDX-License-Identifier: MIT */
/*
 * goexit.c - defer_goexit: Go's runtime.Goexit.  Run every pending call of
 * the thread, newest first, then end the thread.
 *
 * It pushes a pseudo-panic marked goexit, as Go does, so that recover()
 * returns NULL in the calls it runs and debuggers can tell why the calls
 * are running.  A record found already started was abandoned by a panic in
 * its call, whose panic is then aborted, exactly as in gopanic.  Frames
 * with landing pads are unwound, as by a panic (unwound.c), so that their
 * cleanups run in order with the calls; the unwind ends the thread.
 */
#include <pthread.h>
#include <stdio.h>
#include "runtime.h"

/* The goexit loop; also where a recovery that would bypass a goexit goes
 * (panic.c, recovery). */
void goexit1(struct g *g)
{
	struct _panic p = { .goexit = 1 };
	uintptr_t from = (uintptr_t)__builtin_dwarf_cfa();
	struct scan seen;
	struct _defer *d;

	__defer_inruntime = 1;
	p.textlen = snprintf(p.msg, sizeof p.msg, "goexit");
	p.text = p.msg;
	p.link = g->_panic;
	g->_panic = &p;
	seen.next = from;
	seen.seen = 0;
	seen.walk.state = 0;
	while ((d = g->_defer)) {
		checklive(g, d, from);
		if (d->started) {
			dropstarted(g, d);
			continue;
		}
		/* Frames with landing pads from here: unwind them, as a panic
		 * does, so that their cleanups and calls interleave; the unwind
		 * ends the thread (unwound.c). */
		if (crossescleanups(from, d->sp, &seen))
			unwindpanic(g, &p, from);
		rundefer(g, d, &p, NULL, "goexit");
		freedefer(g, d);
	}
	__defer_unwindrest(g, &p, from);
	g->_panic = p.link;
	pthread_exit(0);
}

void defer_goexit(void)
{
	goexit1(getg());
}
