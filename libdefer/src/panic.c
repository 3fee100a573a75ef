/* SPDX-License-Identifier: MIT */
/*
 * panic.c - gopanic, gorecover and recovery.
 *
 * The rules are Go's (src/runtime/panic.go):
 *
 * A panic runs the thread's pending deferred calls newest first, whatever
 * frame they belong to.  Each record is marked started and tagged with the
 * panic before its call, and stays on the chain while the call runs.
 *
 * If a record is already started when a panic reaches it, its call began
 * earlier and is now being abandoned: it panicked itself.  The panic that
 * was running it (if any) is aborted: it will never finish, because this
 * newer panic has taken over its deferred calls.  The record is dropped.
 *
 * recover() succeeds only in the deferred call the current panic is running
 * (checked by stack address, as Go checks argp), and only once.  When that
 * call returns, the panic is over: we pop it and every aborted panic behind
 * it (their gopanic activations are on the stack we are about to abandon),
 * run the recovering frame's remaining calls, and make the function that
 * owns that frame return to its caller.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unwind.h>
#include "runtime.h"

/*
 * The whole message.  A long one gets memory of its own from mmap, which
 * is safe in a signal handler and takes nothing from malloc, whose heap
 * may be why we panic; it is unmapped when the panic is recovered, and
 * left to the process's end otherwise.  If mmap fails, msg is the message,
 * cut, with a marker that says how much is missing.
 */
__attribute__((format(printf, 3, 0)))
static void settext(struct _panic *p, int n, const char *fmt, va_list ap)
{
	size_t keep;
	char *t;

	p->text = p->msg;
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof p->msg) {
		p->textlen = (size_t)n;
		return;
	}
	t = mmap(0, (size_t)n + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t != MAP_FAILED) {
		p->textlen = (size_t)vsnprintf(t, (size_t)n + 1, fmt, ap);
		p->text = t;
		return;
	}
	/* Room for the marker at its longest (a 20-digit count). */
	keep = sizeof p->msg - 1 - sizeof " [... 18446744073709551615 more bytes not shown]" + 1;
	snprintf(p->msg + keep, sizeof p->msg - keep, " [... %zu more bytes not shown]",
		 (size_t)n - keep);
	p->textlen = strlen(p->msg);
}

void freetext(struct _panic *p)
{
	if (p->text && p->text != p->msg)
		munmap((void *)p->text, p->textlen + 1);
	p->text = p->msg;
}

/* The format sigpanic passes: the panic is a fault's, its site the
 * faulting instruction. */
const char __defer_faultfmt[] = "%s";

void gopanic(void *value, const char *fmt, ...)
{
	struct g *g = getg();
	struct _panic p = { 0 };
	struct _defer *d;
	va_list ap, again;
	int n;

	__defer_inruntime = 1;
	if (!fmt)
		fmt = "(nil)";
	va_start(ap, fmt);
	va_copy(again, ap);
	n = vsnprintf(p.msg, sizeof p.msg, fmt, ap);
	settext(&p, n, fmt, again);
	va_end(again);
	va_end(ap);
	p.arg = value;
	p.pc = (uintptr_t)__builtin_return_address(0);
	if (fmt == __defer_faultfmt) {
		p.pc = __defer_fault.pc + 1;	/* read as a return address, pc - 1 */
		__defer_fault.p = &p;
	}
	p.link = g->_panic;
	g->_panic = &p;
	STAP_PROBE2(libdefer, panic, &p, g);

	while ((d = g->_defer)) {
		if (d->started) {
			dropstarted(g, d);
			continue;
		}
		p.defer = d;
		rundefer(g, d, &p, &p.argp, "panic");
		p.argp = 0;
		p.defer = 0;
		if (p.recovered)
			recovery(g, d);
		freedefer(g, d);
	}
	STAP_PROBE2(libdefer, fatal, &p, g);
	fatalpanic(g);
}

/*
 * A fault the program's code made, turned into a panic (sigpanic.c): the
 * handler made the faulting thread call this, on its own stack, with the
 * signal mask it had, as if the faulting instruction had called it.
 */
void sigpanic(void)
{
	gopanic(0, __defer_faultfmt, faultmsg(&__defer_fault));
	throw("recovery returned into sigpanic");
}

/*
 * Only the deferred call itself may recover (Go's argp rule): its frame is
 * the one __defer_invoke entered.  caller_frame is what recover() passes:
 * __DEFER_FRAME_CFA below the caller's CFA (on x86-64 its frame pointer),
 * or NULL to find that CFA by unwinding (aarch64); caller_pc is a pc
 * inside the caller.  A function
 * that the deferred call reached by a tail call sits in the same frame; the
 * enclosing-function check tells it apart when unwind tables are there to
 * ask.
 */
struct callercfa {
	const void *caller;	/* the function that called gorecover */
	int n;
	uintptr_t cfa;
};

/* Context 1 has its IP where gorecover returns to and the CFA of
 * gorecover; context 2 the CFA of that caller, unless the caller
 * tail-called gorecover (context 1's IP is then in the caller's caller,
 * and gorecover's CFA is the caller's). */
static _Unwind_Reason_Code findcallercfa(struct _Unwind_Context *ctx, void *arg)
{
	struct callercfa *w = arg;

	if (w->n == 1 && _Unwind_FindEnclosingFunction((void *)(_Unwind_GetIP(ctx) - 1)) != w->caller) {
		w->cfa = _Unwind_GetCFA(ctx);
		return _URC_END_OF_STACK;
	}
	if (w->n++ == 2) {
		w->cfa = _Unwind_GetCFA(ctx);
		return _URC_END_OF_STACK;
	}
	return _URC_NO_REASON;
}

__attribute__((noinline))
const struct _panic *gorecover(void *caller_frame, const void *caller_pc)
{
	struct g *g = __defer_tls.g;
	struct _panic *p = g ? g->_panic : 0;
	uintptr_t cfa;
	void *caller;

	if (!p || p->goexit || p->recovered || !p->argp || !p->defer)
		return 0;
	cfa = (uintptr_t)caller_frame + __DEFER_FRAME_CFA;
	if (!caller_frame) {	/* aarch64's recover() (defer.h): unwind */
		struct callercfa w = { _Unwind_FindEnclosingFunction((char *)caller_pc + 1), 0, 0 };

		_Unwind_Backtrace(findcallercfa, &w);
		cfa = w.cfa;
	}
	if (p->argp != cfa)
		return 0;
	/* It looks up pc - 1, as for a return address; the label may be the
	 * function's first byte. */
	caller = _Unwind_FindEnclosingFunction((char *)caller_pc + 1);
	if (caller && caller != (void *)p->defer->fn)
		return 0;
	p->recovered = 1;
	STAP_PROBE2(libdefer, recover, p, p->defer);
	return p;
}

/*
 * recover as a plain function, and defer(recover).  Go (recover1.go):
 * `defer recover()` in a deferred function F recovers when F's frame exit
 * runs it, "like a normal call from this func"; a panic that runs it
 * itself makes it a no-op (the runtime called it); and a direct call of
 * recover from F recovers.  So:
 *  - deferreturn (defer.S) runs a record whose function is recover through
 *    deferredrecover(mark, defer site) instead: it recovers if the frame
 *    being left, mark, lies in F's activation, the one the panic entered
 *    at argp, and the defer site is F's code, also when recovery runs F's
 *    frame exits for it (runowner);
 *  - a panic runs recover itself through __defer_invoke: no frame of F
 *    called it, and findfunc finds the runtime;
 *  - (recover)() called directly is gorecover's rule, by unwinding: its
 *    caller is F, entered at argp.
 */
struct walk {
	uintptr_t argp;
	uintptr_t prevcfa;	/* the previous context's CFA */
	uintptr_t lo;		/* F's stack pointer at its call: F's frame is [lo, argp) */
	const void *fn;		/* the function that called (recover)() */
	uintptr_t cfa;		/* and its CFA */
	int state;
};

/* F's frame: the context whose CFA is argp has its IP in F's caller, and
 * the one before, whose IP is in F, has the CFA of F's callee. */
static _Unwind_Reason_Code findframe(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	uintptr_t cfa = _Unwind_GetCFA(ctx);

	if (cfa == w->argp) {
		w->lo = w->prevcfa;
		return _URC_END_OF_STACK;
	}
	if (cfa > w->argp)
		return _URC_END_OF_STACK;
	w->prevcfa = cfa;
	return _URC_NO_REASON;
}

static _Unwind_Reason_Code findfunc(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	uintptr_t ip = _Unwind_GetIP(ctx);

	if (w->state == 1) {
		w->cfa = _Unwind_GetCFA(ctx);	/* the caller's CFA (see findcaller) */
		return _URC_END_OF_STACK;
	}
	w->fn = _Unwind_FindEnclosingFunction((void *)(ip - 1));
	if (w->fn != (void *)recover)
		w->state = 1;
	return _URC_NO_REASON;
}

static struct _panic *recoverable(void)
{
	struct g *g = __defer_tls.g;
	struct _panic *p = g ? g->_panic : 0;

	if (!p || p->goexit || p->recovered || !p->argp || !p->defer)
		return 0;
	return p;
}


/* The checks passed: recover as if the deferred function, at `at` in its
 * code, had called recover() (gorecover fires the probe `catch recover`
 * stops at, in one place). */
static const struct _panic *asif(const struct _panic *p, const void *at)
{
	return gorecover((void *)(p->argp - __DEFER_FRAME_CFA), (const char *)at - 1);
}

const struct _panic *deferredrecover(const struct defer_mark *mark, uintptr_t pc)
{
	struct _panic *p = recoverable();
	struct walk w = { 0 };

	/* The frame's code must be F's too: a function F reached by a tail
	 * call runs in F's activation. */
	if (!p || _Unwind_FindEnclosingFunction((void *)(pc - 1)) != (void *)p->defer->fn)
		return 0;
	w.argp = p->argp;
	_Unwind_Backtrace(findframe, &w);
	if (!w.lo || (uintptr_t)mark < w.lo || (uintptr_t)mark >= w.argp)
		return 0;
	return asif(p, (const char *)pc - 1);
}

__attribute__((noinline))
const struct _panic *(recover)(void)
{
	struct _panic *p = recoverable();
	struct walk w = { 0 };

	if (!p)
		return 0;
	_Unwind_Backtrace(findfunc, &w);
	if (w.cfa != p->argp || w.fn != (void *)p->defer->fn)
		return 0;
	return asif(p, w.fn);
}

/* ---- recovery: make the owner of the recovering frame return ---- */

extern void __asan_handle_no_return(void) __attribute__((weak));

struct unwind {
	uintptr_t frame;     /* the defer_mark: inside the owner's stack frame */
	int found;
	int masked;          /* the recovery leaves a signal handler: restore mask */
	uintptr_t prevcfa, previp; /* the context before the current one */
	sigset_t mask;
	struct defer_resume r;
};

/*
 * What differs per architecture (docs/runtime.md): the sigreturn
 * trampoline the kernel's signal frame returns to (glibc's __restore_rt on
 * x86-64; the vDSO's __kernel_rt_sigreturn on aarch64, and qemu's copy of
 * it), where the ucontext lies from that frame's CFA (aarch64's rt_sigframe
 * starts with the siginfo), and the callee-saved registers by their DWARF
 * numbers.
 */
#if defined(__x86_64__)
static const unsigned char restore_rt[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00,
					    0x0f, 0x05 };	/* mov $15, %rax; syscall */
#define UCONTEXT_AT 0
static void callee_saved(struct defer_resume *r, struct _Unwind_Context *ctx)
{
	r->saved0 = _Unwind_GetGR(ctx, 3);	/* rbx */
	r->fp = _Unwind_GetGR(ctx, 6);		/* rbp */
	r->saved1 = _Unwind_GetGR(ctx, 12);
	r->saved2 = _Unwind_GetGR(ctx, 13);
	r->saved3 = _Unwind_GetGR(ctx, 14);
	r->saved4 = _Unwind_GetGR(ctx, 15);
}
#elif defined(__aarch64__)
static const unsigned char restore_rt[] = { 0x68, 0x11, 0x80, 0xd2,	/* mov x8, #139 */
					    0x01, 0x00, 0x00, 0xd4 };	/* svc #0 */
#define UCONTEXT_AT sizeof(siginfo_t)
static void callee_saved(struct defer_resume *r, struct _Unwind_Context *ctx)
{
	int i;

	r->saved0 = _Unwind_GetGR(ctx, 19);
	r->saved1 = _Unwind_GetGR(ctx, 20);
	r->saved2 = _Unwind_GetGR(ctx, 21);
	r->saved3 = _Unwind_GetGR(ctx, 22);
	r->saved4 = _Unwind_GetGR(ctx, 23);
	for (i = 0; i < 5; i++)
		r->more[i] = _Unwind_GetGR(ctx, 24 + i);
	r->fp = _Unwind_GetGR(ctx, 29);
	for (i = 0; i < 8; i++)		/* d8-d15 are DWARF 72-79 */
		r->fsaved[i] = _Unwind_GetGR(ctx, 72 + i);
}
#endif

/*
 * A recovery that jumps out of a signal handler skips its sigreturn, which
 * would have put back the signal mask of the code the signal interrupted
 * (without the signal itself, and sa_mask): left as it is, the signal
 * stays blocked and its next occurrence kills the process.  libgcc unwinds
 * through the kernel's signal frame (it recognises the sigreturn
 * trampoline, restore_rt above, whose "frame" has the ucontext at its CFA,
 * UCONTEXT_AT past it) and
 * marks the interrupted frame's context as a signal frame.  The mask to
 * restore is that of the outermost handler the jump leaves.
 */
static void sigframe(struct unwind *u, struct _Unwind_Context *ctx)
{
	int before = 0;

	_Unwind_GetIPInfo(ctx, &before);
	if (before && u->previp && !memcmp((const void *)u->previp, restore_rt, sizeof restore_rt)) {
		u->mask = ((const ucontext_t *)(u->prevcfa + UCONTEXT_AT))->uc_sigmask;
		u->masked = 1;
	}
	u->prevcfa = _Unwind_GetCFA(ctx);
	u->previp = _Unwind_GetIP(ctx);
}

/*
 * libgcc hands us each frame as the state of its caller at the call:
 * IP is the return address into the caller, CFA is the callee's CFA, which
 * is the caller's stack pointer once the callee has returned.  The first
 * such state whose CFA lies above the marker is therefore the owner's
 * caller right after the owner returns, with the callee-saved registers
 * the owner's epilogue would have restored.
 */
static _Unwind_Reason_Code findcaller(struct _Unwind_Context *ctx, void *arg)
{
	struct unwind *u = arg;

	if (_Unwind_GetCFA(ctx) <= u->frame) {
		sigframe(u, ctx);
		return _URC_NO_REASON;
	}
	callee_saved(&u->r, ctx);
	u->r.pc = _Unwind_GetIP(ctx);
	u->r.sp = _Unwind_GetCFA(ctx);
	u->found = 1;
	return _URC_END_OF_STACK;
}

/*
 * The frames of the owner: every record at the head of the chain whose
 * mark lies below the owner's CFA belongs to one of the owner's
 * defer_frames (the recovering one, blocks around it, the function-level
 * one); deeper frames' records were newer and the panic ran them.  They
 * run now, innermost frame first, as the owner's block exits would have
 * run them had it returned.  Returns the innermost frame that has a
 * defer_result, starting with the recovering one.
 */
static struct defer_mark *runowner(struct g *g, struct defer_mark *frame, uintptr_t cfa)
{
	struct defer_mark *resume = frame->resumable ? frame : 0;
	struct _defer *d;

	while ((d = g->_defer) && d->sp < cfa) {
		struct defer_mark *m = (struct defer_mark *)d->sp;

		if (d->started) {	/* abandoned by an older panic (see header) */
			dropstarted(g, d);
			continue;
		}
		if (!resume && m->resumable)
			resume = m;
		deferreturn(m);
	}
	return resume;
}

/*
 * d's call recovered the newest panic; d is already off the chain.
 * Called on the panic's stack, which is still intact below the recovering
 * frame, so the frames' marks can still be read.
 */
void recovery(struct g *g, struct _defer *d)
{
	struct defer_mark *frame = (struct defer_mark *)d->sp, *resume;
	struct _panic *p = g->_panic;
	struct unwind u = { .frame = d->sp };
	int goexit = 0;

	if (p != d->_panic)
		throw("recovery of a panic that is not the newest");
	freedefer(g, d);
	g->_panic = p->link;
	freetext(p);
	while (g->_panic && g->_panic->aborted) {
		goexit |= g->_panic->goexit;
		freetext(g->_panic);
		g->_panic = g->_panic->link;
	}
	/* The panic was raised by a call defer_goexit was running, and a
	 * recovery would bypass the goexit: as in Go since 1.14 (issue 29226)
	 * the goexit goes on instead, with the calls that are left, and the
	 * thread still ends.  So defer_goexit never returns, whatever its
	 * calls do.  Their frames are all above us: nothing is unwound. */
	if (goexit)
		goexit1(g);
	/* Where the owner of the recovering frame returns to, before anything
	 * runs: its CFA separates its frames' records from its callers'. */
	_Unwind_Backtrace(findcaller, &u);
	/* The owner's other calls run now, as Go's deferreturn runs them after
	 * the resumed deferproc; they see no panic of theirs.  (The compiler
	 * may skip a frame's exit on the path from defer_result: it may
	 * assume nothing was deferred yet when __defer_setresume returns.)
	 * Without unwind tables only the recovering frame's are known. */
	if (u.found) {
		resume = runowner(g, frame, u.r.sp);
	} else {
		deferreturn(frame);
		resume = frame->resumable ? frame : 0;
	}
	STAP_PROBE2(libdefer, resume, frame, g);
	if (u.masked)
		pthread_sigmask(SIG_SETMASK, &u.mask, 0);
	/* The frames we abandon may carry AddressSanitizer redzones. */
	if (__asan_handle_no_return)
		__asan_handle_no_return();
	__defer_inruntime = 0;	/* wherever we jump is the program's code */
	if (resume) {
		/* Back to defer_result, which returns its variable. */
		resume->resume->ret = 1;
		__defer_jump(resume->resume);
	}
	/* Otherwise the owner returns now. */
	if (!u.found)
		throw("recover: cannot unwind to the caller of the recovering frame "
		      "(missing unwind tables?)");
	__defer_jump(&u.r);
}
