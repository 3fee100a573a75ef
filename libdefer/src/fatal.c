/* SPDX-License-Identifier: MIT */
/*
 * fatal.c - the end of an unrecovered panic, and of the runtime's own
 * impossible states.  Output follows Go's: the panic chain oldest first,
 * then the thread and a traceback; exit status 2, or abort() for a core
 * file when DEFER_TRACEBACK=crash.
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
 * Nothing here allocates: the report may be printed because memory ran
 * out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
			r->lost = 1;
			break;
		}
		/* After POLLOUT a pipe has a free buffer: a write of at most
		 * PIPE_BUF bytes does not block. */
		w = write(2, r->buf + off, r->n - off);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			r->lost = 1;
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

/* Oldest first: recurse to the end of the chain, print on the way back. */
static void printpanics(struct report *r, const struct _panic *p, int depth)
{
	if (!p)
		return;
	if (depth > 1000) {
		rputs(r, "...more panics...\n");
		return;
	}
	if (p->link) {
		printpanics(r, p->link, depth + 1);
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
		rputs(r, " [recovered]");
	rputs(r, "\n");
}

/* Print the caller's stack, leaving out the runtime's own `skip` frames
 * below it (this function included); or the stack p had, if p is a panic
 * that unwound. */
__attribute__((noinline)) static void traceback(struct report *r, int skip, const struct _panic *p)
{
	void *mine[64];
	void *const *pcs = mine;
	int i, n;
	char name[128];
	const char *file;

	/* A panic that unwound has lost its stack: the one it had (its
	 * first pc is unwindpanic's) is the report's. */
	if ((n = unwoundpcs(p, &pcs)))
		skip = 1;
	else
		n = backtrace(mine, 64);
	for (i = skip; i < n; i++) {
		uintptr_t pc = (uintptr_t)pcs[i];
		long off = symbolize(pc - 1, name, sizeof name, &file);

		if (off >= 0)
			rprintf(r, "%s(...)\n\t%s +%#lx pc=%#lx\n", name, file,
				(unsigned long)off + 1, (unsigned long)pc);
		else
			rprintf(r, "?(...)\n\t%s pc=%#lx\n", file, (unsigned long)pc);
	}
}

static int crash(void)
{
	const char *tb = getenv("DEFER_TRACEBACK");

	return tb && strcmp(tb, "crash") == 0;
}

static __attribute__((noreturn)) void die(void)
{
	if (crash()) {
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
	char name[17] = { 0 }, sigline[128];
	struct report r = { 0 };

	startdying();
	fflush(stdout);
	prctl(PR_GET_NAME, name);
	printpanics(&r, g->_panic, 0);
	if (faultline(g->_panic, sigline, sizeof sigline))
		rputs(&r, sigline);
	rprintf(&r, "\nthread %d \"%s\" [running]:\n", (int)gettid(), name);
	traceback(&r, 2, g->_panic);	/* from gopanic up */
	rflush(&r);
	die();
}

void throw(const char *why, ...)
{
	struct report r = { 0 };
	va_list ap;

	startdying();
	fflush(stdout);
	rputs(&r, "fatal error: libdefer: ");
	va_start(ap, why);
	rvprintf(&r, why, ap);
	va_end(ap);
	rputs(&r, "\n\n");
	traceback(&r, 2, 0);
	rflush(&r);
	signal(SIGABRT, SIG_DFL);
	abort();
}
