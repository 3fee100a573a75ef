/* SPDX-License-Identifier: MIT */
/*
 * fatal.c - the end of an unrecovered panic, and of the runtime's own
 * impossible states.  Output follows Go's: the panic chain oldest first,
 * then the thread and a traceback (per frame `function(...)` and
 * `\tfile:line +0xOFF`, the runtime's frames folded as Go folds its own),
 * as much as DEFER_TRACEBACK asks; exit status 2, or abort() for a core
 * file when DEFER_TRACEBACK=crash.  Names and lines: symbolize.c; other
 * threads' stacks: stacks.c.
 *
 * The process dies exactly once, the way it says, whatever stderr is:
 *  - one report: the first thread to get here prints it and ends the
 *    process; any other thread that gets here (another panic, a throw)
 *    waits for that end and prints nothing (Go's rule), so two reports
 *    never interleave;
 *  - SIGPIPE is blocked in the dying thread: a reader that went away makes
 *    the writes fail (the report is lost) instead of killing the process
 *    with the wrong status and no core;
 *  - every write waits for room with poll, at most REPORT_STALL_MS: a
 *    reader that stalls that long loses the rest of the report;
 *  - a watchdog (SIGALRM after DIE_SECONDS) ends the process as it would
 *    have ended if anything else blocks, such as flushing a full stdout
 *    or an atexit handler.
 * Nothing here allocates or takes a lock the crash may hold: the report
 * may be printed because memory ran out, or a lock's holder died.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <unwind.h>
#include <sys/prctl.h>
#include "runtime.h"

#define REPORT_STALL_MS 1000
#define DIE_SECONDS 10

/* The report, written to fd 2 in pieces of at most one pipe buffer. */
struct report {
	int lost;		/* the reader is gone or stalled: drop the rest */
	size_t n;
	char buf[4096];
};

/* The reader is gone or stalled: the rest of the report is dropped, and fd
 * 2 becomes /dev/null, so that nothing else written there on the way out
 * blocks on that reader: an atexit handler, or qemu-user's own "uncaught
 * target signal" line before the core of DEFER_TRACEBACK=crash (whose
 * blocking write no watchdog of the guest's interrupts). */
static void lose(struct report *r)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	r->lost = 1;
	if (fd >= 0 && fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
}

static void rflush(struct report *r)
{
	size_t off = 0;

	while (off < r->n && !r->lost) {
		struct pollfd pfd = { .fd = 2, .events = POLLOUT };
		ssize_t w;
		int k = poll(&pfd, 1, REPORT_STALL_MS);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || (pfd.revents & (POLLERR | POLLNVAL))) {
			lose(r);
			break;
		}
		/* After POLLOUT a pipe has a free buffer: a write of at most
		 * PIPE_BUF bytes does not block. */
		w = write(2, r->buf + off, r->n - off);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			lose(r);
			break;
		}
		off += (size_t)w;
	}
	r->n = 0;
}

static void rput(struct report *r, const char *s, size_t len)
{
	while (len > 0 && !r->lost) {
		size_t k = sizeof r->buf - r->n;

		if (k > len)
			k = len;
		memcpy(r->buf + r->n, s, k);
		r->n += k;
		s += k;
		len -= k;
		if (r->n == sizeof r->buf)
			rflush(r);
	}
}

static void rputs(struct report *r, const char *s)
{
	rput(r, s, strlen(s));
}

/* Formatted pieces are short (a line); longer ones are cut. */
__attribute__((format(printf, 2, 0)))
static void rvprintf(struct report *r, const char *fmt, va_list ap)
{
	char line[512];
	int n = vsnprintf(line, sizeof line, fmt, ap);

	if (n > 0)
		rput(r, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

__attribute__((format(printf, 2, 3)))
static void rprintf(struct report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rvprintf(r, fmt, ap);
	va_end(ap);
}

/*
 * Go 1.25's re-panic form: a deferred call that recovered p->link and
 * raised the same value again (repanic(), or panic_value with the same
 * pointer and text) is printed as one line, "panic: X [recovered,
 * repanicked]".  Go compares the interface value; C has the pointer and
 * the message.  Only a recovered panic is folded: a deferred call that
 * panics with the same value without recovering (Go issue 76099) prints
 * both lines, as before.
 */
static int repanicked(const struct _panic *p)
{
	const struct _panic *o = p ? p->link : 0;

	return o && !p->goexit && !o->goexit && o->recovered && o->arg == p->arg &&
	       o->text && p->text && o->textlen == p->textlen &&
	       !memcmp(o->text, p->text, p->textlen);
}

/* Oldest first: recurse to the end of the chain, print on the way back.
 * newer is the panic raised after p (NULL for the newest). */
static void printpanics(struct report *r, const struct _panic *p, const struct _panic *newer,
			int depth)
{
	if (!p)
		return;
	if (depth > 1000) {
		rputs(r, "...more panics...\n");
		return;
	}
	if (p->link) {
		printpanics(r, p->link, p, depth + 1);
		if (repanicked(p))
			return;		/* its line was the older one's */
		if (!p->link->goexit)
			rputs(r, "\t");
	}
	if (p->goexit)
		return;
	rputs(r, "panic: ");
	if (p->text)
		rput(r, p->text, p->textlen);
	else
		rputs(r, p->msg);
	if (p->recovered)
		rputs(r, repanicked(newer) ? " [recovered, repanicked]" : " [recovered]");
	rputs(r, "\n");
}

/* ---- the traceback ---- */

/* DEFER_TRACEBACK, as Go's GOTRACEBACK: none prints no stacks, single
 * (the default, also for an unknown value) the dying thread's, all every
 * thread's and their pending calls, system also the runtime's own frames,
 * crash as system, then abort() for a core file. */
enum { TB_NONE, TB_SINGLE, TB_ALL, TB_SYSTEM, TB_CRASH };

static int tblevel(void)
{
	static const char *const names[] = { "none", "single", "all", "system", "crash" };
	const char *tb = getenv("DEFER_TRACEBACK");

	for (int i = 0; tb && i < 5; i++)
		if (!strcmp(tb, names[i]))
			return i;
	return TB_SINGLE;
}

/* The runtime's functions, by address (these also name nothing in a
 * stripped program) and, for those the address cannot reach (static
 * ones, compiler-made parts such as gopanic.cold), by name. */
static int runtimefn(uintptr_t pc, const char *name, const void *const *fns, size_t nfns,
		     const char *const *names)
{
	const void *fn = _Unwind_FindEnclosingFunction((void *)pc);
	size_t n = strcspn(name, ".");

	for (size_t i = 0; i < nfns; i++)
		if (fn && fn == fns[i])
			return 1;
	for (size_t i = 0; n && names[i]; i++)
		if (strlen(names[i]) == n && !strncmp(name, names[i], n))
			return 1;
	return 0;
}

enum { FR_USER, FR_RUNTIME, FR_PANIC, FR_GOEXIT };

/* The C library's frames below main and a thread's start routine: like
 * Go's runtime.main and runtime.goexit, shown only with the runtime's. */
static int libcstart(const char *name)
{
	static const char *const names[] = { "_start", "start_thread", "clone", "clone3",
					     "__clone", "__clone3", "__clone_internal", 0 };

	if (!strncmp(name, "__libc_start", 12))
		return 1;
	for (int i = 0; names[i]; i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

static int classify(uintptr_t addr, const struct symbol *s)
{
	static const void *const panics[] = { (const void *)gopanic };
	static const char *const panicnames[] = { "gopanic", 0 };
	static const void *const goexits[] = { (const void *)goexit1, (const void *)defer_goexit };
	static const char *const goexitnames[] = { "goexit1", "defer_goexit", 0 };
	static const void *const others[] = {
		(const void *)fatalpanic, (const void *)throw,
		(const void *)sigpanic, (const void *)nildefer, (const void *)recovery,
		(const void *)dropstarted, (const void *)gorecover, (const void *)deferredrecover,
		(const void *)__defer_checkstale,
	};
	static const char *const othernames[] = {
		"fatalpanic", "sigpanic", "nildefer", "runowner", "dropstarted",
		"deferredrecover", "gorecover", "rundefer", "walktocaller", 0 };

	if (runtimefn(addr, s->name, panics, 1, panicnames))
		return FR_PANIC;
	if (runtimefn(addr, s->name, goexits, 2, goexitnames))
		return FR_GOEXIT;
	if ((addr >= (uintptr_t)__defer_text_start && addr < (uintptr_t)__defer_text_end) ||
	    !strncmp(s->name, "__defer_", 8) || libcstart(s->name) ||
	    runtimefn(addr, s->name, others, sizeof others / sizeof others[0], othernames))
		return FR_RUNTIME;
	return FR_USER;
}

/* An object of the C library (libc.so.6; libpthread.so.0 before glibc 2.34). */
static int inlibc(const char *object)
{
	const char *base = strrchr(object, '/');

	base = base ? base + 1 : object;
	/* musl's libc.so is its dynamic linker, ld-musl-ARCH.so.1. */
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libpthread.so", 13) ||
	       !strncmp(base, "ld-musl-", 8);
}

/* Where a code address is, as Go prints it: file:line +0xOFF when there
 * is line information, else the object and the offset in the function,
 * else the object and the address in it (for addr2line). */
static void where(struct report *r, const struct symbol *s, uintptr_t pc)
{
	if (s->line)
		rprintf(r, "\t%s:%u", s->file, s->line);
	else
		rprintf(r, "\t%s", s->object);
	if (s->name[0])
		rprintf(r, " +%#lx", (unsigned long)(pc - s->start));
	else
		rprintf(r, "(+%#lx)", (unsigned long)s->objaddr);
	if (!s->line)
		rprintf(r, " pc=%#lx", (unsigned long)pc);
	rputs(r, "\n");
}

/* "deferred by FUNCTION at FILE:LINE" for a defer site (a return address). */
static void deferredby(struct report *r, uintptr_t site)
{
	struct symbol s;

	symbolize(site - 1, &s);
	if (s.name[0] && s.line)
		rprintf(r, "deferred by %s at %s:%u", s.name, s.file, s.line);
	else if (s.name[0])
		rprintf(r, "deferred by %s +%#lx", s.name, (unsigned long)(site - s.start));
	else
		rprintf(r, "deferred at pc=%#lx", (unsigned long)site);
}

/* The record that g's panics run in the frame at pc whose callee's CFA
 * is cfa: the call entered at a panic's argp, or NULL.  An aborted panic's
 * record was dropped, and may have been reused since: it must still be a
 * call of the frame's function. */
static const struct _defer *runby(const struct g *g, uintptr_t pc, uintptr_t cfa)
{
	int n = 0;

	for (const struct _panic *p = g ? g->_panic : 0; p && n < 1000; p = p->link, n++)
		if (p->argp == cfa && p->defer)
			return _Unwind_FindEnclosingFunction((void *)pc) == (void *)p->defer->fn ?
			       p->defer : 0;
	return 0;
}

/*
 * Print a stack as Go does.  Unless `system`, the runtime's frames are
 * folded: a run of them is one "panic(...)" line where a panic runs
 * deferred calls (the boundary between the program's code and the calls
 * the panic runs, as Go keeps runtime.gopanic), one "defer_goexit(...)"
 * where defer_goexit does, and nothing elsewhere (deferreturn, the fault
 * trampoline, and the dying panic itself at the top, which Go leaves out
 * too).  A deferred call that a panic runs says where it was deferred
 * (goexit keeps no record of the call it runs once a panic dropped it).
 */
static void printstack(struct report *r, const struct stack *st, const struct g *g, int system)
{
	static struct symbol syms[MAXFRAMES];
	int kind[MAXFRAMES], belowmain = 0;

	for (int i = 0; i < st->n; i++) {
		uintptr_t addr = st->f[i].pc - (st->f[i].signal ? 0 : 1);

		symbolize(addr, &syms[i]);
		kind[i] = classify(addr, &syms[i]);
		/* What runs main is the C library's, named or not. */
		if (belowmain)
			kind[i] = FR_RUNTIME;
		belowmain |= kind[i] == FR_USER && !strcmp(syms[i].name, "main") && mainobject(addr);
	}
	/* And what starts a thread: the bottom frames in the C library; in a
	 * static musl program the bottom frame, musl's static start (its libc
	 * has no unwind tables: unwinding ends there). */
	for (int i = st->n - 1; i > 0 && !syms[i].name[0] && inlibc(syms[i].object); i--)
		kind[i] = FR_RUNTIME;
	if (st->n > 1 && (!strcmp(syms[st->n - 1].name, "start") ||
			  !strcmp(syms[st->n - 1].name, "start_c11")))
		kind[st->n - 1] = FR_RUNTIME;
	for (int i = 0; i < st->n; i++) {
		const struct _defer *d;

		if (!system && kind[i] != FR_USER) {
			int j = i, fold = -1;

			for (; j < st->n && kind[j] != FR_USER; j++)
				if (fold < 0 && (kind[j] == FR_PANIC || kind[j] == FR_GOEXIT))
					fold = j;
			if (i > 0 && fold >= 0) {
				rputs(r, kind[fold] == FR_PANIC ? "panic(...)\n" : "defer_goexit(...)\n");
				where(r, &syms[fold], st->f[fold].pc);
			}
			i = j - 1;
			continue;
		}
		rprintf(r, "%s(...)\n", syms[i].name[0] ? syms[i].name : "?");
		where(r, &syms[i], st->f[i].pc);
		if (i + 1 < st->n &&
		    (d = runby(g, st->f[i].pc - (st->f[i].signal ? 0 : 1), st->f[i + 1].cfa))) {
			rputs(r, "\t");
			deferredby(r, d->pc);
			rputs(r, "\n");
		}
	}
	if (st->more == STACK_ELIDED)
		rputs(r, "...additional frames elided...\n");
	else if (st->more == STACK_CUT)
		rprintf(r, "...stack unreadable beyond here (the unwinder faulted at %#lx)...\n",
			(unsigned long)st->faultat);
}

/* The calls still pending on g's chain, newest first. */
static void printpending(struct report *r, const struct g *g)
{
	const struct _defer *d = g ? g->_defer : 0;
	int n = 0;

	if (!d)
		return;
	rputs(r, "pending deferred calls, newest first:\n");
	for (; d && n < 1000; d = d->link, n++) {
		struct symbol s;

		if (n == 50) {
			rputs(r, "\t...more...\n");
			break;
		}
		symbolize((uintptr_t)d->fn, &s);
		if (s.name[0])
			rprintf(r, "\t%s(...) ", s.name);
		else
			rprintf(r, "\t%#lx(...) ", (unsigned long)(uintptr_t)d->fn);
		deferredby(r, d->pc);
		rputs(r, d->started ? " [started]\n" : "\n");
	}
}

/* The g of thread tid, if it ever deferred. */
static const struct g *gof(int tid)
{
	int n = 0;

	for (const struct g *g = allgs; g && n < 100000; g = g->alllink, n++)
		if (g->tid == tid && g->status == DEFER_G_RUNNING)
			return g;
	return 0;
}

static const char *statename(char c)
{
	switch (c) {
	case 'R': return "running";
	case 'S': return "sleeping";
	case 'D': return "uninterruptible";
	case 'T': return "stopped";
	case 't': return "traced";
	default: return "unknown";
	}
}

/* Every other thread: its stack and pending calls.  They stay stopped
 * for a core file (crash: abort() flushes nothing); otherwise they are let
 * go, because exit() flushes stdio, whose lock a stopped thread may hold. */
static void printothers(struct report *r, int system, int keepstopped)
{
	struct thread *t;
	int more, n = freezethreads(&t, &more);

	for (int i = 0; i < n; i++) {
		int state = __atomic_load_n(&t[i].state, __ATOMIC_ACQUIRE);
		const struct g *g = gof(t[i].tid);

		rprintf(r, "\nthread %d \"%s\" [%s]:\n", t[i].tid, t[i].name, statename(t[i].run));
		if (state == THREAD_STOPPED) {
			printstack(r, &t[i].stack, g, system);
			printpending(r, g);
		} else {
			rputs(r, state == THREAD_GONE ? "\tthread exited\n"
						      : "\tstack unavailable (SIGURG blocked?)\n");
		}
	}
	if (more)
		rprintf(r, "\n...%d more threads...\n", more);
	if (!keepstopped)
		thawthreads();
}

/* The dying thread's report after the panic lines: its stack from the
 * caller of its caller (fatalpanic, throw), or the stack the dying panic p
 * had if it unwound; with "all" everything else. */
__attribute__((noinline))
static void traceback(struct report *r, const struct g *g, const struct _panic *p, int level,
		      int system)
{
	static struct stack mine;
	char name[17] = { 0 };
	void *const *pcs;
	int n = p ? unwoundpcs(p, &pcs) : 0;

	prctl(PR_GET_NAME, name);
	rprintf(r, "\nthread %d \"%s\" [running]:\n", (int)gettid(), name);
	if (n > 1) {
		/* A panic that unwound (it crossed cleanups) has lost its
		 * stack: the one it had, from the frame above unwindpanic's,
		 * is the report's.  Only the pcs were kept (unwound.c), so no
		 * frame is matched to a record by its CFA. */
		mine.n = mine.more = 0;
		for (int i = 1; i < n && mine.n < MAXFRAMES; i++)
			mine.f[mine.n++] = (struct frame){ (uintptr_t)pcs[i], 0, 0 };
	} else {
		/* From the caller of our caller (fatalpanic, throw): gopanic. */
		ownstack(&mine, (uintptr_t)__builtin_return_address(0));
	}
	printstack(r, &mine, g, system);
	if (level >= TB_ALL) {
		printpending(r, g);
		printothers(r, system, level == TB_CRASH);
	}
}

/* The thread's history (history.c): how many panics it recovered before
 * this one, and with "all" the ones its ring still holds, newest first. */
static void printhistory(struct report *r, const struct g *g, int list)
{
	uint64_t n = g ? g->recovered : 0, now;
	struct timespec ts;
	struct symbol s;

	if (!n)
		return;
	rprintf(r, "\nthis thread recovered %lu panic%s before%s\n", (unsigned long)n,
		n == 1 ? "" : "s", list ? ", newest first:" : "");
	if (!list || !g->hist || !g->histcap)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	for (uint64_t seq = n; seq > 0 && seq + g->histcap > n; seq--) {
		const struct defer_recovered *h = &g->hist[(seq - 1) % g->histcap];
		uint64_t us;

		if (h->seq != seq)
			break;
		us = (now - h->time) / 1000;

		/* Integers only: glibc's %f may allocate. */
		rprintf(r, "recovered panic %lu, %lu.%06lus ago: %s%s\n", (unsigned long)seq,
			(unsigned long)(us / 1000000), (unsigned long)(us % 1000000), h->msg,
			h->textlen >= sizeof h->msg ? " [...]" : "");
		symbolize(h->pc - 1, &s);
		rprintf(r, "\traised in %s(...)\n", s.name[0] ? s.name : "?");
		where(r, &s, h->pc - 1);
		symbolize((uintptr_t)h->fn, &s);
		rprintf(r, "\trecovered by %s, ", s.name[0] ? s.name : "?");
		deferredby(r, h->site);
		rputs(r, "\n");
	}
}

static int crash(void)
{
	return tblevel() == TB_CRASH;
}

static __attribute__((noreturn)) void die(void)
{
	if (crash()) {
		symbolize_fini();
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	exit(2);
}

/* The watchdog: the end die() would have made, without what blocked. */
static void ondie(int sig)
{
	(void)sig;
	if (crash()) {
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	_exit(2);
}

/* The tid of the thread that is ending the process, or 0. */
static int dying;

/*
 * Become the one thread that reports and ends the process, or wait for
 * that end if another thread already is.  The same thread getting here
 * again failed while reporting: it ends the process at once.
 */
static void startdying(void)
{
	int me = gettid(), none = 0;
	sigset_t set;

	if (!__atomic_compare_exchange_n(&dying, &none, me, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		if (none == me)
			ondie(0);
		for (;;)
			pause();
	}
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, 0);
	signal(SIGALRM, ondie);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &set, 0);
	alarm(DIE_SECONDS);
}

/* A well-known symbol: debuggers stop here before an unrecovered panic ends
 * the process ("unrecovered-panic" in Delve). */
__attribute__((noinline, visibility("default")))
void fatalpanic(struct g *g)
{
	const struct _panic *p = g->_panic;
	struct report r = { 0 };
	int level = tblevel();
	char sigline[128];

	startdying();
	symbolize_init();
	fflush(stdout);
	printpanics(&r, p, 0, 0);
	if (faultline(p, sigline, sizeof sigline))
		rputs(&r, sigline);
	if (level > TB_NONE)
		traceback(&r, g, p, level, level >= TB_SYSTEM);
	printhistory(&r, g, level >= TB_ALL);
	rflush(&r);
	die();
}

/* An impossible state: the runtime's frames are shown, as Go shows them
 * for a throw. */
void throw(const char *why, ...)
{
	struct report r = { 0 };
	int level = tblevel();
	va_list ap;

	startdying();
	symbolize_init();
	fflush(stdout);
	rputs(&r, "fatal error: libdefer: ");
	va_start(ap, why);
	rvprintf(&r, why, ap);
	va_end(ap);
	rputs(&r, "\n");
	traceback(&r, __defer_tls.g, 0, level > TB_SINGLE ? level : TB_SINGLE, 1);
	rflush(&r);
	symbolize_fini();
	signal(SIGABRT, SIG_DFL);
	abort();
}
