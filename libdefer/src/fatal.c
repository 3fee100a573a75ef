/*
 * fatal.c - the end of an unrecovered panic, and of the runtime's own
 * impossible states.  Output follows Go's: the panic chain oldest first,
 * then the thread and a traceback; exit status 2, or abort() for a core
 * file when DEFER_TRACEBACK=crash.
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include "runtime.h"

/* Oldest first: recurse to the end of the chain, print on the way back. */
static void printpanics(FILE *f, const struct _panic *p, int depth)
{
	if (!p)
		return;
	if (depth > 1000) {
		fputs("...more panics...\n", f);
		return;
	}
	if (p->link) {
		printpanics(f, p->link, depth + 1);
		if (!p->link->goexit)
			fputs("\t", f);
	}
	if (p->goexit)
		return;
	fprintf(f, "panic: %s", p->msg);
	if (p->recovered)
		fputs(" [recovered]", f);
	fputs("\n", f);
}

/* Print the caller's stack, leaving out the runtime's own `skip` frames
 * below it (this function included). */
__attribute__((noinline)) static void traceback(FILE *f, int skip)
{
	void *pcs[64];
	int i, n = backtrace(pcs, 64);
	char name[128];
	const char *file;

	for (i = skip; i < n; i++) {
		uintptr_t pc = (uintptr_t)pcs[i];
		long off = symbolize(pc - 1, name, sizeof name, &file);

		if (off >= 0)
			fprintf(f, "%s(...)\n\t%s +%#lx pc=%#lx\n", name, file,
				(unsigned long)off + 1, (unsigned long)pc);
		else
			fprintf(f, "?(...)\n\t%s pc=%#lx\n", file, (unsigned long)pc);
	}
}

static __attribute__((noreturn)) void die(void)
{
	const char *tb = getenv("DEFER_TRACEBACK");

	if (tb && strcmp(tb, "crash") == 0)
		abort();
	exit(2);
}

/* A well-known symbol: debuggers stop here before an unrecovered panic ends
 * the process ("unrecovered-panic" in Delve). */
__attribute__((noinline, visibility("default")))
void fatalpanic(struct g *g)
{
	char name[17] = { 0 };

	fflush(stdout);
	prctl(PR_GET_NAME, name);
	printpanics(stderr, g->_panic, 0);
	fprintf(stderr, "\nthread %d \"%s\" [running]:\n", (int)gettid(), name);
	traceback(stderr, 2);	/* from gopanic up */
	fflush(stderr);
	die();
}

void throw(const char *why, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("fatal error: libdefer: ", stderr);
	va_start(ap, why);
	vfprintf(stderr, why, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	traceback(stderr, 2);
	abort();
}
