/* SPDX-License-Identifier: MIT */
/* runtime.h - libdefer's internal interface between its source files. */
#ifndef DEFER_RUNTIME_H
#define DEFER_RUNTIME_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/sdt.h>
#include "defer.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* g.c: the calling thread's record, made and registered on first use. */
HIDDEN struct g *getg(void);
HIDDEN void freedefer(struct g *g, struct _defer *d);

/* Called by deferproc's slow path: make sure the thread has a g and a
 * non-empty record pool. */
HIDDEN void __defer_refill(void);

/* x86_64/defer.S */
/* Call d->fn with its saved argument registers.  If argp is not NULL, the
 * stack address at which the callee is entered (its CFA) is stored there
 * first, so that recover() can tell that frame from others. */
HIDDEN void __defer_invoke(struct _defer *d, uintptr_t *argp);

/* struct defer_resume (defer.h) is also the register state of a caller
 * about to continue after a callee returned. */
HIDDEN void __defer_jump(const struct defer_resume *r) __attribute__((noreturn));

/* rundefer.c: the slow parts of running records outside deferreturn
 * (panics, goexit; rundefer itself is below, inline), and deferreturn's
 * calls into C. */
/* Drop the head record d, found started: a panic in its call abandoned it,
 * and that panic is aborted (Go's rule). */
HIDDEN void dropstarted(struct g *g, struct _defer *d);
HIDDEN void nildefer(const struct _defer *d) __attribute__((noreturn));
/* g.c: whether d can be a record of g: in a mark on g's stack [lo, hi),
 * or in one of its pool's chunks, aligned as records are. */
HIDDEN int ownrecord(const struct g *g, const struct _defer *d, uintptr_t lo, uintptr_t hi);
/* stale.c: end the program: d outlived its frame; deferreturn's check of
 * a head record that is not its frame's. */
HIDDEN void stale(const struct _defer *d) __attribute__((noreturn, cold));
HIDDEN void __defer_checkstale(const struct _defer *d, const struct defer_mark *mark);
HIDDEN void checkslow(const struct g *g, const struct _defer *d, uintptr_t from);
/*
 * Whether the mark mk breaks the rules for a live frame's (checklive's and
 * checkpool's, stale.c: one rule): armed (1, or 2 while a panic unwinds
 * it), its own record's sp the mark (the frame's first call took it), and
 * what defer_result set sane: resumable 0 or 1, and if 1, resume (a local
 * of the owner's frame, which called the panic) in [from, top].  Not also
 * resume's alignment: 2 Ir on every recovered panic, against junk that
 * already matched the record's sp to the mark.
 */
static inline int deadmark(const struct defer_mark *mk, uintptr_t from, uintptr_t top)
{
	uintptr_t r = (uintptr_t)mk->resume;
	uint16_t ar;
	unsigned x;

	/* armed and resumable in one load and one test: x is 0x000 or
	 * 0x001, or 0x100 or 0x101 if resumable (armed 0 wraps). */
	__builtin_memcpy(&ar, &mk->armed, sizeof ar);
	x = ar - 1u;
	return x & ~0x101u || mk->rec.sp != (uintptr_t)mk || ((x & 0x100) && (r < from || r > top));
}
_Static_assert(offsetof(struct defer_mark, resumable) == offsetof(struct defer_mark, armed) + 1 &&
	       __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "deadmark reads armed and resumable as one");
/*
 * Before a panic or goexit whose frame's CFA is `from` runs d: end the
 * program if d outlived its frame (left by a longjmp, or an exception
 * through C without landing pads).  Every frame that owns a live record
 * called the panic, so a live record in a mark is above from, and it is
 * the mark's own (its sp is the mark; later calls take pool records,
 * which checkpool judges); its mark keeps deadmark's rule.  A frame's
 * records end with the mark's own, whose link is an outer frame's: a
 * later frame whose mark took the place of a dead one linked to the dead
 * records (the head when it deferred), and so to itself.  These rules
 * judge content: a dead mark that no later frame has written over passes
 * (docs/runtime.md, Limits).  Inline, and bounded by from alone (the
 * owner may be on an alternate stack above the thread's, whose end the
 * fast path does not know): it is on every recovered panic's path; pool
 * records, and records below from, are checkslow's.
 */
static inline void checklive(const struct g *g, const struct _defer *d, uintptr_t from)
{
	/* mk by pointer arithmetic, so that the compiler sees d->sp and
	 * mk->rec.sp as one load (deadmark's test of it costs nothing). */
	const struct defer_mark *mk =
		(const struct defer_mark *)((const char *)d - offsetof(struct defer_mark, rec));
	const struct _defer *l = d->link;

	if (d->sp != (uintptr_t)mk || (uintptr_t)d < from) {
		checkslow(g, d, from);
		return;
	}
	if (deadmark(mk, from, UINTPTR_MAX) || (l && l->sp == (uintptr_t)mk))
		stale(d);
}

/* A section of a mapped file: n bytes at p (p NULL: none). */
struct sec {
	const unsigned char *p;
	uint64_t n;
};

/* dwarf_line.c: the file and line of addr (a link-time address) from the
 * line programs in lines, or 0. */
HIDDEN int dwarf_line(const struct sec *lines, const struct sec *linestr, const struct sec *str,
		      uint64_t addr, char *file, size_t len, unsigned *line);

/* symbolize.c: what the crash report says about a code address. */
struct symbol {
	const char *object;	/* the loaded object's path, or "?" */
	uint64_t objaddr;	/* the address in the object's file (link-time) */
	char name[128];		/* the function, or "" */
	uintptr_t start;	/* its first byte (run-time), if named */
	char file[256];		/* the source file, or "" */
	unsigned line;		/* and line, or 0 */
};
/* Snapshot the loaded objects; call before stopping other threads. */
HIDDEN void symbolize_init(void);
HIDDEN void symbolize(uintptr_t addr, struct symbol *s);
/* Unmap the files symbolize mapped (before an abort writes a core). */
HIDDEN void symbolize_fini(void);
/* addr lies in the executable. */
HIDDEN int mainobject(uintptr_t addr);

/* stacks.c: the frames of a thread, innermost first. */
#define MAXFRAMES 100
struct frame {
	uintptr_t pc;	/* a return address, or (signal) the interrupted instruction */
	uintptr_t cfa;	/* the CFA of the frame pc returns into's callee (libgcc's) */
	int signal;	/* pc is not a return address: look it up as it is */
};
struct stack {
	int n, more;	/* frames, and STACK_* if some were left out */
	uintptr_t faultat;	/* STACK_CUT: the address the walk faulted at */
	struct frame f[MAXFRAMES];
};
enum { STACK_ELIDED = 1, STACK_CUT };
/* The calling thread's stack, from the caller of the frame whose pc is
 * `after` (a return address taken with __builtin_return_address), or
 * whole if after is 0. */
HIDDEN void ownstack(struct stack *s, uintptr_t after);
/* Every other thread of the process, stopped in a signal handler with
 * its stack taken, until thawthreads. */
struct thread {
	int tid;
	int state;	/* THREAD_*: what the report can say of it */
	char name[16];
	char run;	/* its /proc state letter before it was stopped */
	struct stack stack;
};
enum { THREAD_ASKED = 1, THREAD_STOPPED, THREAD_GONE, THREAD_SILENT };
#define MAXTHREADS 64
/* Returns the number of threads in t, and in *more how many did not fit. */
HIDDEN int freezethreads(struct thread **t, int *more);
HIDDEN void thawthreads(void);

/* overflow.c: report stack overflows in deferring threads. */
HIDDEN int overflowed(const struct g *g, uintptr_t addr);
HIDDEN void overflow_report(const struct g *g) __attribute__((noreturn));
HIDDEN void overflow_init(void);
HIDDEN void *overflow_thread(void);
HIDDEN void overflow_thread_exit(void *altstack);

/* fatal.c */
void fatalpanic(struct g *g) __attribute__((noreturn));
HIDDEN void throw(const char *why, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* goexit.c: run every pending call of the thread, then end it. */
HIDDEN void goexit1(struct g *g) __attribute__((noreturn));

/* sigpanic.c: the handler of SIGSEGV (stack overflows, and with
 * defer_panic_on_fault SIGBUS and SIGFPE too: runtime-error panics). */
HIDDEN void onfault(int sig, siginfo_t *si, void *ctx);
/* Non-zero while the thread runs runtime code, outside the deferred calls
 * it makes: a fault there is never turned into a panic.  Initial-exec TLS,
 * read by the signal handler. */
extern __thread int __defer_inruntime __attribute__((tls_model("initial-exec"))) HIDDEN;
/* x86_64/defer.S: the bounds of its code, and the frame a fault's panic
 * starts from (it calls sigpanic as if the faulting instruction had). */
extern const char __defer_text_start[] HIDDEN, __defer_text_end[] HIDDEN;
HIDDEN void __defer_sigpanic_tramp(void);
/* The thread's last fault turned into a panic: what the report's
 * [signal ...] line says about it. */
struct fault {
	const struct _panic *p;	/* the panic it became */
	int sig, code;
	uintptr_t addr, pc;
};
extern __thread struct fault __defer_fault __attribute__((tls_model("initial-exec"))) HIDDEN;
/* Go's runtime error for the fault. */
HIDDEN const char *faultmsg(const struct fault *f);
/* The [signal ...] line of the report, if p is a fault's panic. */
HIDDEN int faultline(const struct _panic *p, char *buf, size_t len);

/* Run the head record d of g for p (a panic, or goexit's pseudo-panic);
 * argp receives the call's CFA for recover() (NULL: none may recover).
 * d is unlinked after its call, not freed.  `what` names the caller in
 * the message if the call left the chain in a bad state.  Inline: its
 * call and saved registers were a tenth of a recovered panic. */
static inline void rundefer(struct g *g, struct _defer *d, struct _panic *p, uintptr_t *argp,
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

/* panic.c */
HIDDEN extern const char __defer_faultfmt[];
/* What deferreturn calls for a record whose function is recover. */
HIDDEN const struct _panic *deferredrecover(const struct defer_mark *mark, uintptr_t pc);
/* Give back the memory of a long message; text is msg afterwards. */
HIDDEN void freetext(struct _panic *p);
HIDDEN void sigpanic(void) __attribute__((noreturn));
/* scan: what scanframes said of d's frame (0 if not asked). */
HIDDEN void recovery(struct g *g, struct _defer *d, uintptr_t from, int scan)
	__attribute__((noreturn));
/* Run the head record d for panic p (drop it if an older panic started
 * it); 1 if its call recovered p: d is then off the chain, not freed.
 * Inline: it is most of a panic's loop. */
static inline int panicrun(struct g *g, struct _defer *d, struct _panic *p)
{
	if (d->started) {
		dropstarted(g, d);
		return 0;
	}
	p->defer = d;
	rundefer(g, d, p, &p->argp, "panic");
	p->argp = 0;
	p->defer = 0;
	if (p->recovered)
		return 1;
	freedefer(g, d);
	return 0;
}
/* history.c: pop the recovered newest panic, which d's call recovered,
 * and the aborted ones behind it, noting it in g's history; 1 if a goexit
 * was among them. */
HIDDEN int poppanics(struct g *g, const struct _defer *d);
/* The walk to the owner's caller (recovery, and unwound.c's stop). */
struct unwind {
	uintptr_t frame;     /* the defer_mark: inside the owner's stack frame */
	int found;
	int masked;          /* the recovery leaves a signal handler: restore mask */
	uintptr_t prevcfa, previp; /* the context before the current one */
	sigset_t mask;
	struct defer_resume r;
};
struct _Unwind_Context;
/* altstack.c: the alternate signal stack this thread runs on, as
 * notealtstack last found it ([0, 0) if none). */
struct altrange {
	uintptr_t lo, hi;
};
extern __thread struct altrange __defer_alt __attribute__((tls_model("initial-exec"))) HIDDEN;
HIDDEN void notealtstack(void);
static inline int onaltstack(uintptr_t a)
{
	return a - __defer_alt.lo < __defer_alt.hi - __defer_alt.lo;
}
/*
 * Frames on an alternate signal stack are newer than every frame of the
 * thread's own stack, which they interrupted, wherever that stack is
 * mapped (inside the thread's own range too, as a local array); an unwind
 * from a handler crosses from one to the other.  Keys that order stack
 * addresses so: the thread's own stack above anything else (user
 * addresses are below 2^63).  Valid after notealtstack.
 */
static inline uintptr_t stackkey(const struct g *g, uintptr_t a)
{
	return a - g->stacklo < g->stackhi - g->stacklo && !onaltstack(a) ?
		a | (uintptr_t)1 << 63 : a;
}
/* The address every signal handler returns to (the kernel's signal
 * frame's sigreturn trampoline), or 0 if unknown.  __defer_rt: that
 * address once known, 1 if it cannot be (panic.c), 0 not yet asked. */
extern uintptr_t __defer_rt HIDDEN;
HIDDEN uintptr_t findrestorer(void);
static inline uintptr_t restorer(void)
{
	uintptr_t v = __atomic_load_n(&__defer_rt, __ATOMIC_RELAXED);

	return v > 1 ? v : v ? 0 : findrestorer();
}
/* Note a signal frame the walk passes (its mask is to be restored). */
HIDDEN void sigframe(struct unwind *u, struct _Unwind_Context *ctx);
/* The callee-saved registers of ctx into r, by the architecture's DWARF
 * numbers (panic.c). */
HIDDEN void callee_saved(struct defer_resume *r, struct _Unwind_Context *ctx);
/* cfiwalk.c: findcaller's answer for the frame holding `above` without
 * libgcc, from the frames' CFI rules (cached by pc); 0 when it cannot
 * tell (a signal frame, an expression, no tables): then ask libgcc. */
HIDDEN int __defer_cfiwalk(uintptr_t above, uintptr_t stackhi, struct defer_resume *out);
/* Run the owner's records below cfa, from frame out; the innermost of
 * those frames with a defer_result, or NULL. */
HIDDEN struct defer_mark *runowner(struct g *g, struct defer_mark *frame, uintptr_t cfa);
/* End a recovery: to resume's defer_result, else to r (the owner's
 * caller), restoring mask if not NULL. */
HIDDEN void leave(struct g *g, struct defer_mark *frame, struct defer_mark *resume,
		  const struct defer_resume *r, const sigset_t *mask) __attribute__((noreturn));

/* The stack scans (ownercfa, scanframes) read words nobody
 * initialised, on purpose: under valgrind's memcheck they turn its error
 * reporting off meanwhile (no-ops elsewhere, and without valgrind's
 * header).  scanframes runs first in every panic and asks. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define DEFER_VALGRIND 1
#endif
#endif
#ifdef DEFER_VALGRIND
/* Per thread, set by the first scanframes: 1 under memcheck. */
extern __thread int __defer_memcheck __attribute__((tls_model("initial-exec"))) HIDDEN;
HIDDEN void __defer_scanquiet(int begin);
static inline int memcheck(void)
{
	return __builtin_expect(__defer_memcheck, 0);
}
#else
static inline int memcheck(void)
{
	return 0;
}
static inline void __defer_scanquiet(int begin)
{
	(void)begin;
}
#endif
static inline void scanquiet(int begin)
{
	if (memcheck())
		__defer_scanquiet(begin);
}

/* unwound.c: panics that cross frames with landing pads. */
/* What scanframes found between gopanic's CFA (from) and the frame
 * holding mark, a set of bits:
 *  - SCAN_CLEANUPS: a frame there has a landing pad where it is: the
 *    mark's records are then reached by unwinding;
 *  - SCAN_NOSIGFRAME: no word from `from` up to the owner's stack
 *    pointer (defer_result's, if the mark is resumable) or else the mark
 *    is the sigreturn trampoline's address (restorer): no signal frame
 *    lies between (ownercfa). */
enum { SCAN_CLEANUPS = 1, SCAN_NOSIGFRAME = 2 };
/* What one panic's (or goexit's) scans have seen so far, next = from,
 * seen = 0 and walk.state = 0 before its first: the records come in the order of their frames,
 * outward, so each scan reads only the words above the last one's.  Sound because
 * the words that matter, the frames' return addresses, stay as they are
 * while the panic runs calls below `from`; a panic through N deferring
 * frames costs O(N) words, not O(N^2). */
/* cfiwalk.c: the walk scanframes' landing-pad questions resume (the
 * registers it tracks: the callee-saved ones, the stack pointer, the
 * return address; must match cfiwalk.c's slots). */
#if defined(__aarch64__)
#define CFI_NSLOT 21
#else
#define CFI_NSLOT 8
#endif
struct cfiwalk {
	uint64_t v[CFI_NSLOT];
	uintptr_t pc;
	uint64_t subs;
	int state;	/* 0 before the first question; 1; -1 declined */
};
HIDDEN int __defer_cfilp(struct cfiwalk *w, uintptr_t from, uintptr_t upto, uintptr_t stackhi);
/* unwound.c: whether the call-site table of lsda gives ip, in the
 * function starting at start, a landing pad. */
HIDDEN int haslp(const unsigned char *lsda, uintptr_t start, uintptr_t ip);
struct scan {
	uintptr_t next;	/* where the next scan starts: from, at first */
	int seen;	/* SEEN_*: what the words read so far pointed into */
	struct cfiwalk walk;	/* state 0 at first */
};
/* SEEN_OTHER: outside the stack and the executable; SEEN_LSDA: into an
 * object with LSDAs. */
enum { SEEN_OTHER = 1, SEEN_LSDA = 2 };
HIDDEN int scanframes(const struct g *g, uintptr_t from, uintptr_t mark, struct scan *s);
static inline int crossescleanups(uintptr_t from, uintptr_t mark, struct scan *s)
{
	return scanframes(__defer_tls.g, from, mark, s) & SCAN_CLEANUPS;
}
/* Go on with p by unwinding: the frames' landing pads run their cleanups
 * and (defer_frame being one) their calls, as p's.  from: the CFA of the
 * gopanic or goexit1 that unwinds (checklive). */
HIDDEN void unwindpanic(struct g *g, struct _panic *p, uintptr_t from) __attribute__((noreturn));
/* Before p (a panic or goexit) whose chain ran out ends the program or
 * the thread: if it was raised by a call that a landing pad runs, it goes
 * on by unwinding from there (unwindpanic), so that the landing pads'
 * cleanups run first, as for any panic that unwinds; else it returns.
 * Named so that the crash report folds it with the runtime's frames. */
HIDDEN void __defer_unwindrest(struct g *g, struct _panic *p, uintptr_t from);
/* Give back a popped panic: its text, and its slot if it unwound. */
HIDDEN void freepanic(struct _panic *p);
/* The same, inline for what most recoveries pop: gopanic's own panic, on
 * the thread's stack (a slot is in unwound.c's mapping), whose text is in
 * its msg: nothing to give back. */
static inline void releasepanic(const struct g *g, struct _panic *p)
{
	if (p->text != p->msg || (uintptr_t)p - g->stacklo >= g->stackhi - g->stacklo)
		freepanic(p);
}
/* The stack an unwound panic had when it began to unwind, for the
 * report: the number of pcs, 0 if p did not unwind. */
HIDDEN int unwoundpcs(const struct _panic *p, void *const **pcs);

#endif
