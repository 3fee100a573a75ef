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
#include <limits.h>
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
 * cut, with a marker that says how much is missing.  ap NULL: fmt has no
 * conversions and is the text.
 */
static void longtext(struct _panic *p, int n, const char *fmt, va_list *ap);

static inline void settext(struct _panic *p, int n, const char *fmt, va_list *ap)
{
	p->text = p->msg;
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof p->msg)
		p->textlen = (size_t)n;
	else
		longtext(p, n, fmt, ap);
}

__attribute__((noinline))
static void longtext(struct _panic *p, int n, const char *fmt, va_list *ap)
{
	size_t keep;
	char *t;

	t = mmap(0, (size_t)n + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t != MAP_FAILED) {
		if (ap)
			p->textlen = (size_t)vsnprintf(t, (size_t)n + 1, fmt, *ap);
		else
			memcpy(t, fmt, (p->textlen = (size_t)n) + 1);
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

/* A format without conversions is the message: its first bytes into
 * msg, and its length; -1 if fmt has a conversion (vsnprintf, which costs
 * most of a recovered panic, then formats it). */
static int plain(char msg[DEFER_PANIC_MSG], const char *fmt)
{
	size_t n;

	for (n = 0; fmt[n]; n++) {
		if (fmt[n] == '%')
			return -1;
		if (n < DEFER_PANIC_MSG - 1)
			msg[n] = fmt[n];
	}
	msg[n < DEFER_PANIC_MSG - 1 ? n : DEFER_PANIC_MSG - 1] = 0;
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* The format sigpanic passes: the panic is a fault's, its site the
 * faulting instruction. */
const char __defer_faultfmt[] = "%s";

void gopanic(void *value, const void *vtype, const char *fmt, ...)
{
	struct g *g = __defer_tls.g ? __defer_tls.g : getg();
	struct _panic p;
	struct _defer *d;
	struct scan seen;
	uintptr_t from;
	int n;

	__defer_inruntime = 1;
	/* msg is written below, NUL-terminated; the bytes after are not read. */
	memset(&p, 0, offsetof(struct _panic, msg));
	if (!fmt)
		fmt = "(nil)";
	if ((n = plain(p.msg, fmt)) >= 0) {
		settext(&p, n, fmt, 0);
	} else {
		va_list ap, again;

		va_start(ap, fmt);
		va_copy(again, ap);
		n = vsnprintf(p.msg, DEFER_PANIC_MSG, fmt, ap);
		settext(&p, n, fmt, &again);
		va_end(again);
		va_end(ap);
	}
	p.arg = value;
	p.vtype = vtype;
	p.pc = (uintptr_t)__builtin_return_address(0);
	if (fmt == __defer_faultfmt) {
		p.pc = __defer_fault.pc + 1;	/* read as a return address, pc - 1 */
		__defer_fault.p = &p;
	}
	p.link = g->_panic;
	g->_panic = &p;
	STAP_PROBE2(libdefer, panic, &p, g);

	/* Records from the frame with landing pads on (bound) are reached by
	 * unwinding, so that cleanups and calls interleave (unwound.c). */
	from = (uintptr_t)__builtin_dwarf_cfa();
	seen.next = from;
	seen.seen = 0;
	seen.walk.state = 0;
	while ((d = g->_defer)) {
		int scan = 0;

		checklive(g, d, from);
		if (!d->started && ((scan = scanframes(g, from, d->sp, &seen)) & SCAN_CLEANUPS))
			unwindpanic(g, &p, from);
		if (panicrun(g, d, &p))
			recovery(g, d, from, scan);
	}
	__defer_unwindrest(g, &p, from);
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
	gopanic(0, 0, __defer_faultfmt, faultmsg(&__defer_fault));
	throw("recovery returned into sigpanic");
}

/*
 * Whether the pc of a recover() site lies in fn (or nothing says it does
 * not: no unwind tables).  The answer is the same on every panic, and the
 * look-up (an FDE search) cost a third of a recovered panic: a yes is kept
 * per thread, keyed by the site and the function, so a stale entry (code
 * unloaded, other code loaded at the same address) would need fn at the
 * very same address too.
 */
struct sitefn {
	const void *pc;
	void (*fn)(void);
};
static __thread struct sitefn sitecache[8] __attribute__((tls_model("initial-exec")));

/* Out of line: gorecover's usual path (a hit) then saves no registers. */
__attribute__((noinline, cold))
static int insidelookup(struct sitefn *c, const void *pc, void (*fn)(void))
{
	/* It looks up pc - 1, as for a return address; the label may be the
	 * function's first byte. */
	void *caller = _Unwind_FindEnclosingFunction((char *)pc + 1);

	if (caller && caller != (void *)fn)
		return 0;
	c->pc = pc;
	c->fn = fn;
	return 1;
}

static inline int inside(const void *pc, void (*fn)(void))
{
	struct sitefn *c = &sitecache[((uintptr_t)pc >> 4) & 7];

	if (c->pc == pc && c->fn == fn)
		return 1;
	return insidelookup(c, pc, fn);
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

/* Counting gorecover's context as 0 (unwoundcfa's, before it, is -1):
 * context 1 has its IP where gorecover returns to and the CFA of
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

/* aarch64's recover() (defer.h) passes no frame: the caller's CFA by
 * unwinding, from this frame, one below gorecover's (n starts at -1).
 * Out of line, so that gorecover's usual path saves no registers. */
__attribute__((noinline))
static uintptr_t unwoundcfa(const void *caller_pc)
{
	struct callercfa w = { _Unwind_FindEnclosingFunction((char *)caller_pc + 1), -1, 0 };

	_Unwind_Backtrace(findcallercfa, &w);
	return w.cfa ? w.cfa : UINTPTR_MAX;	/* never an argp (gorecover) */
}

__attribute__((noinline))
const struct _panic *gorecover(void *caller_frame, const void *caller_pc)
{
	struct g *g = __defer_tls.g;
	struct _panic *p = g ? g->_panic : 0;
	uintptr_t cfa;

	if (!p || p->goexit || p->recovered)
		return 0;
	/* argp is 0 while no call runs, and cfa never is (unwoundcfa says
	 * UINTPTR_MAX when it cannot tell): one comparison. */
	cfa = caller_frame ? (uintptr_t)caller_frame + __DEFER_FRAME_CFA : unwoundcfa(caller_pc);
	if (p->argp != cfa || !p->defer)
		return 0;
	if (!inside(caller_pc, p->defer->fn))
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
void callee_saved(struct defer_resume *r, struct _Unwind_Context *ctx)
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
void callee_saved(struct defer_resume *r, struct _Unwind_Context *ctx)
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
void sigframe(struct unwind *u, struct _Unwind_Context *ctx)
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
 * the owner's epilogue would have restored.  "Above" is stackkey's: from
 * a handler on an alternate stack mapped above the thread's, the
 * handler's frames are still below the mark.
 */
static _Unwind_Reason_Code findcaller(struct _Unwind_Context *ctx, void *arg)
{
	struct unwind *u = arg;
	const struct g *g = __defer_tls.g;

	if (stackkey(g, _Unwind_GetCFA(ctx)) <= stackkey(g, u->frame)) {
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
 * The address glibc's sigaction makes every handler return to (its
 * __restore_rt, the kernel's signal frame's return address), learnt from
 * the handler the runtime or the program has for SIGSEGV (restorer in
 * runtime.h keeps the answer).  A libc that reports none for an installed
 * handler never will (musl; aarch64, whose kernel returns through the
 * vDSO): the unwind then finds the signal frame (sigframe).
 */
uintptr_t __defer_rt;

uintptr_t findrestorer(void)
{
	struct sigaction sa;
	uintptr_t v;

	memset(&sa, 0, sizeof sa);
	if (sigaction(SIGSEGV, 0, &sa))
		return 0;
	v = (uintptr_t)sa.sa_restorer;
	if (v)
		__atomic_store_n(&__defer_rt, v, __ATOMIC_RELAXED);
	else if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
		__atomic_store_n(&__defer_rt, 1, __ATOMIC_RELAXED);
	return v;
}

/* More stack than this between the runtime and the owner is walked. */
enum { SCANMAX = 64 << 10 };

/*
 * The owner's CFA without unwinding, or 0.  A recovering frame with a
 * defer_result knows it (defer_result stored it), and the unwind is then
 * needed only for a signal frame the jump would leave (sigframe): the
 * kernel's frame holds the restorer as its handler's return address, so
 * when no word between gopanic's frame (from) and the owner's stack
 * pointer is that address, there is none.  gopanic's scanframes usually
 * looked already (scan has SCAN_NOSIGFRAME): those frames have not run
 * since.  A handler on an alternate stack puts from outside that range,
 * and so goes the long way too.
 */
/* It reads other frames' words, AddressSanitizer's redzones too. */
__attribute__((no_sanitize_address))
static uintptr_t ownercfa(const struct g *g, const struct defer_mark *frame, uintptr_t from,
			  int scan)
{
	const struct defer_resume *r = frame->resume;
	uintptr_t rt;
	const uintptr_t *w;

	if (!frame->resumable || r->sp > (uintptr_t)frame || (uintptr_t)frame >= r->cfa)
		return 0;
	if (from < g->stacklo || from > r->sp || r->sp - from > SCANMAX)
		return 0;
	if (scan & SCAN_NOSIGFRAME)
		return r->cfa;
	if (!(rt = restorer()))
		return 0;
	scanquiet(1);
	for (w = (const uintptr_t *)from; w < (const uintptr_t *)r->sp && *w != rt; w++)
		;
	scanquiet(0);
	return w < (const uintptr_t *)r->sp ? 0 : r->cfa;
}

/*
 * Whether d, at the head, is a record of the owner, whose frame ends at
 * cfa and starts at lo (0: not known).  With lo the frame is known whole,
 * wherever its stack is: a record outside it is not the owner's (an
 * interrupted frame's, below a handler's alternate stack, too).  Without,
 * a record above cfa on the thread's stack is a caller's wherever an
 * alternate stack is; for any other, stackkey orders the two, after the
 * kernel said where that stack is (*noted: once per runowner).
 */
static int ofowner(const struct g *g, const struct _defer *d, uintptr_t lo, uintptr_t cfa,
		   int *noted)
{
	uintptr_t sl = g->stacklo, n = g->stackhi - sl;

	if (lo)
		return d->sp - lo < cfa - lo;
	if (d->sp >= cfa && d->sp - sl < n && cfa - sl < n)
		return 0;
	if (!*noted) {
		notealtstack();
		*noted = 1;
	}
	return stackkey(g, d->sp) < stackkey(g, cfa);
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
struct defer_mark *runowner(struct g *g, struct defer_mark *frame, uintptr_t cfa)
{
	struct defer_mark *resume = frame->resumable ? frame : 0;
	/* defer_result's stack pointer: the bottom of the owner's frame. */
	uintptr_t lo = resume && resume->resume->sp <= (uintptr_t)frame ? resume->resume->sp : 0;
	struct _defer *d;
	int noted = 0;

	while ((d = g->_defer) && ofowner(g, d, lo, cfa, &noted)) {
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

/* Leave for resume's defer_result, or else for the owner's caller (r),
 * restoring the signal mask a handler's return would have (mask).
 * Inline in recovery's usual path (leave is the out-of-line copy). */
__attribute__((always_inline, noreturn))
static inline void leaving(struct g *g, struct defer_mark *frame, struct defer_mark *resume,
			   const struct defer_resume *r, const sigset_t *mask)
{
	STAP_PROBE2(libdefer, resume, frame, g);
	if (mask)
		pthread_sigmask(SIG_SETMASK, mask, 0);
	/* The frames we abandon may carry AddressSanitizer redzones. */
	if (__asan_handle_no_return)
		__asan_handle_no_return();
	__defer_inruntime = 0;	/* wherever we jump is the program's code */
	if (resume) {
		/* Back to defer_result, which returns its variable.  Every call
		 * of the owner's frames has run (runowner): the frame exit on
		 * that return has nothing to do. */
		resume->armed = 0;
		resume->resume->ret = 1;
		__defer_jump(resume->resume);
	}
	/* Otherwise the owner returns now. */
	if (!r)
		throw("recover: cannot unwind to the caller of the recovering frame "
		      "(missing unwind tables?)");
	__defer_jump(r);
}

void leave(struct g *g, struct defer_mark *frame, struct defer_mark *resume,
	   const struct defer_resume *r, const sigset_t *mask)
{
	leaving(g, frame, resume, r, mask);
}

/*
 * d's call recovered the newest panic; d is already off the chain.
 * Called on the panic's stack, which is still intact below the recovering
 * frame, so the frames' marks can still be read.  from: the CFA of
 * gopanic, the bottom of the frames the panic crossed.
 */
/* recovery without a CFA from defer_result: walk to the owner's caller.
 * Out of line, so that the usual path keeps a small frame. */
__attribute__((noinline, noreturn))
static void walktocaller(struct g *g, struct defer_mark *frame)
{
	struct unwind u;

	/* The frames' rules, cached (cfiwalk.c); libgcc for the rest (signal
	 * frames, expressions, no tables). */
	if (__defer_cfiwalk((uintptr_t)frame, g->stackhi, &u.r))
		leave(g, frame, runowner(g, frame, u.r.sp), &u.r, 0);
	memset(&u, 0, sizeof u);
	u.frame = (uintptr_t)frame;
	notealtstack();		/* for findcaller's stackkey */
	_Unwind_Backtrace(findcaller, &u);
	/* Without unwind tables only the recovering frame's calls are known. */
	if (u.found) {
		leave(g, frame, runowner(g, frame, u.r.sp), &u.r, u.masked ? &u.mask : 0);
	}
	deferreturn(frame);
	leave(g, frame, frame->resumable ? frame : 0, 0, 0);
}

void recovery(struct g *g, struct _defer *d, uintptr_t from, int scan)
{
	struct defer_mark *frame = (struct defer_mark *)d->sp;
	struct _panic *p = g->_panic;
	uintptr_t cfa;

	if (p != d->_panic)
		throw("recovery of a panic that is not the newest");
	if (d->heap)	/* the mark's own record needs no giving back */
		freedefer(g, d);
	/* The panic was raised by a call defer_goexit was running, and a
	 * recovery would bypass the goexit: as in Go since 1.14 (issue 29226)
	 * the goexit goes on instead, with the calls that are left, and the
	 * thread still ends.  So defer_goexit never returns, whatever its
	 * calls do.  Their frames are all above us: nothing is unwound. */
	if (poppanics(g, d))
		goexit1(g);
	/* Where the owner of the recovering frame returns to, before anything
	 * runs: its CFA separates its frames' records from its callers'.
	 * defer_result noted it (ownercfa); else the walk finds it.
	 * The owner's other calls run then, as Go's deferreturn runs them
	 * after the resumed deferproc; they see no panic of theirs.  (The
	 * compiler may skip a frame's exit on the path from defer_result: it
	 * may assume nothing was deferred yet when __defer_setresume
	 * returns.) */
	if ((cfa = ownercfa(g, frame, from, scan))) {
		/* frame is resumable (ownercfa): with nothing of the owner's
		 * left on the chain (the usual case), it is the one. */
		if (!g->_defer || g->_defer->sp >= cfa)
			leaving(g, frame, frame, 0, 0);
		leave(g, frame, runowner(g, frame, cfa), 0, 0);
	}
	walktocaller(g, frame);
}
