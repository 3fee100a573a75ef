/* SPDX-License-Identifier: MIT */
/*
 * stale.c - records that outlived their frames.
 *
 * A frame left by longjmp, or by a C++ exception through C built without
 * -fexceptions (no landing pad runs its defer_frame's cleanup), leaves its
 * records on the thread's chain: their calls are lost, their memory is dead
 * stack that later frames reuse.  Nothing may run them.  Two places look
 * before running one: a deferring frame's exit that finds a head not its
 * own (deferreturn calls __defer_checkstale), and a panic or goexit before
 * each record (checklive, in runtime.h: it is on every recovered panic's
 * path).  Both end the program: the chain below a stale record went
 * through dead memory, so no later link can be trusted.  The end of a
 * thread (g.c) and of the process (exitcheck) count what is left.  The
 * open-coded push does not look: a test there would cost every frame's
 * first defer (docs/runtime.md, Limits).
 */
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include "runtime.h"

void stale(const struct _defer *d)
{
	throw("a deferred call (record at %p) outlived its frame "
	      "(longjmp or a C++ exception across a defer_frame in code built without "
	      "-fexceptions?)", (const void *)d);
}

/*
 * A frame is being left and the head record d is not its own.  If d
 * belongs to a deeper frame, that frame was left without running its
 * calls.  A record built into a mark lies in that dead frame, on this
 * thread's stack below the mark, and may have been overwritten since; a
 * pool record still has its sp.  Only a record below the mark by address
 * is looked at again, by stackkey: the frame being left may be a
 * handler's on an alternate stack above the frames it interrupted (inside
 * the thread's own range too, a local array), whose records are older
 * (left there when a recovery ran the handler's frame's calls and resumed
 * in an inner block of it).  Rare (a frame whose calls a recovery ran,
 * or a dead record): the kernel is asked then.
 */
void __defer_checkstale(const struct _defer *d, const struct defer_mark *mark)
{
	const struct g *g = __defer_tls.g;
	uintptr_t a = (uintptr_t)d, m = (uintptr_t)mark;
	int onstack = a < m && a >= g->stacklo, deeper = d->sp < m && !d->started;

	if (!onstack && !deeper)
		return;
	notealtstack();
	/* onstack again, now knowing every stack d can be on: a pool's
	 * chunk may lie between the thread's stack and the mark. */
	onstack = onstack && (a - g->stacklo < g->stackhi - g->stacklo || onaltstack(a));
	if ((onstack && stackkey(g, a) < stackkey(g, m)) ||
	    (deeper && stackkey(g, d->sp) < stackkey(g, m)))
		stale(d);
}

/*
 * The rules for a pool record (checklive, runtime.h), made by a frame whose
 * mark is on the stack: that mark, if on this thread's stack, must be at
 * or above the panic's frame and keep the rule for a live frame's mark
 * (deadmark).  A record in none of the
 * chunks (a mark's record whose heap byte was written over, or garbage)
 * must be judged by where it is.
 */
static void checkpool(const struct g *g, const struct _defer *d, uintptr_t from)
{
	uintptr_t lo = g->stacklo, hi = g->stackhi;

	/* A panic on an alternate signal stack: the thread's stack is no
	 * guide (its frames are all above, or all below, from). */
	if (from - lo >= hi - lo || onaltstack(from))
		return;
	/* An empty stack range [hi, hi) asks ownrecord about chunks only. */
	if (!ownrecord(g, d, hi, hi)) {
		if ((uintptr_t)d - lo < hi - lo)
			stale(d);	/* on the stack, marked a pool's */
		return;
	}
	if (d->link == d)
		stale(d);
	/* Its mark, and defer_result's resume point with it, lie between the
	 * panic's frame and the stack's end. */
	if (!d->started && d->sp - lo < hi - lo &&
	    (d->sp < from ||
	     deadmark((const struct defer_mark *)d->sp, from, hi - sizeof(struct defer_resume))))
		stale(d);
}

/*
 * A mark's record below the panic's frame: when both are on this thread's
 * stack, that is dead stack.  A record made on an alternate signal stack,
 * or a panic on one (which may lie inside the thread's own range, a local
 * array), cannot be judged by place.
 */
static void checklow(const struct g *g, const struct _defer *d, uintptr_t from)
{
	uintptr_t lo = g->stacklo, hi = g->stackhi;

	if ((uintptr_t)d - lo < hi - lo && from - lo < hi - lo && !onaltstack(from))
		stale(d);
}

/*
 * What checklive (runtime.h) leaves: a record that is not its mark's own
 * (a pool record, or a mark's record written over), or one below the
 * panic's frame.
 */
void checkslow(const struct g *g, const struct _defer *d, uintptr_t from)
{
	notealtstack();		/* a handler's alternate stack may be anywhere */
	if (d->heap)
		checkpool(g, d, from);
	else if ((uintptr_t)d < from)
		checklow(g, d, from);
	else
		stale(d);
}

/*
 * The process ends (exit(), or main returned) on this thread.  Records of
 * frames still live are left legitimately: exit() from a deferring frame
 * skips them, as Go's os.Exit does.  Records below this function's own
 * frame cannot be a live frame's: every frame that still exists called
 * exit().  Those were left by a longjmp or an exception; say how many,
 * once.  The walk follows a link only to where a record of this thread
 * can be (ownrecord), as the thread-exit count does; dead records above
 * this frame are not told from live ones, so the count is a lower bound.
 */
__attribute__((destructor)) static void exitcheck(void)
{
	static char line[256];
	const struct g *g = __defer_tls.g;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0), lo, hi;
	long n = 0, seen = 0;
	int k, more = 0;

	if (!g || !g->_defer || !g->stacklo)
		return;
	lo = g->stacklo;
	hi = g->stackhi;
	notealtstack();
	if (here - lo >= hi - lo || onaltstack(here))
		return;
	for (const struct _defer *d = g->_defer; d && seen < 1000000; d = d->link, seen++) {
		uintptr_t a = (uintptr_t)d;

		if (!ownrecord(g, d, lo, hi)) {
			more = n > 0;
			break;
		}
		if (a - lo < hi - lo ? a < here : !d->started && d->sp - lo < hi - lo && d->sp < here)
			n++;
	}
	if (!n)
		return;
	k = snprintf(line, sizeof line,
		     "libdefer: %s%ld deferred call(s) never ran: their frames were left by a "
		     "longjmp or a C++ exception across a defer_frame built without -fexceptions\n",
		     more ? "at least " : "", n);
	if (write(2, line, (size_t)k) < 0)
		return;
}
