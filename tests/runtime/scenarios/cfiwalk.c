/* SPDX-License-Identifier: MIT */
/*
 * The runtime's own frame walker (libdefer/src/cfiwalk.c), against
 * libgcc's: from a deep stack of frames of many shapes, for every frame
 * libgcc reaches, the state of the frame's caller after it returns (pc,
 * stack pointer, every callee-saved register) must be the same from both,
 * or the walker must decline (0) where it does not follow the rules.
 * Linked with build/libdefer.a, whose hidden __defer_cfiwalk a static link
 * reaches (tests/runtime/test_cfiwalk.py).
 *
 *	cfiwalk plain    the frames below
 *	cfiwalk signal   the same from a signal handler: frames beyond the
 *	                 signal frame must be declined, never answered wrong
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>
#include <defer.h>

int __defer_cfiwalk(uintptr_t above, uintptr_t stackhi, struct defer_resume *out);

#if defined(__x86_64__)
static const int dwarf[] = { 3, 6, 12, 13, 14, 15 };	/* rbx rbp r12-r15 */
#define NREG 6
static void regsof(const struct defer_resume *r, uint64_t *v)
{
	uint64_t w[NREG] = { r->saved0, r->fp, r->saved1, r->saved2, r->saved3, r->saved4 };

	memcpy(v, w, sizeof w);
}
#elif defined(__aarch64__)
static const int dwarf[] = { 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
			     72, 73, 74, 75, 76, 77, 78, 79 };
#define NREG 19
static void regsof(const struct defer_resume *r, uint64_t *v)
{
	uint64_t w[NREG] = { r->saved0, r->saved1, r->saved2, r->saved3, r->saved4,
			     r->more[0], r->more[1], r->more[2], r->more[3], r->more[4], r->fp };

	memcpy(v, w, sizeof w);
	for (int i = 0; i < 8; i++)
		v[11 + i] = r->fsaved[i];
}
#endif

enum { MAXF = 200 };
struct seen {
	uintptr_t ip, cfa;
	int signal;
	uint64_t reg[NREG];
};
static struct seen seen[MAXF];
static int nseen;

static _Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg)
{
	struct seen *s = &seen[nseen];

	(void)arg;
	if (nseen == MAXF || !_Unwind_GetIP(ctx))
		return _URC_END_OF_STACK;
	_Unwind_GetIPInfo(ctx, &s->signal);
	s->ip = _Unwind_GetIP(ctx);
	s->cfa = _Unwind_GetCFA(ctx);
	for (int i = 0; i < NREG; i++)
		s->reg[i] = _Unwind_GetGR(ctx, dwarf[i]);
	nseen++;
	return _URC_NO_REASON;
}

static int checked, declined, wrong;

/* Compare each context k >= 2 (the first is _Unwind_Backtrace's caller's
 * state, whose callee frame is libgcc's) with the walker's answer for
 * `above` just below its CFA.  Past a signal frame, declining is right;
 * answering is right only if the answer is libgcc's. */
__attribute__((noinline)) static void check(void)
{
	int sigpast = 0;

	nseen = 0;
	_Unwind_Backtrace(collect, 0);
	for (int k = 1; k < nseen; k++) {
		struct defer_resume r;
		uint64_t v[NREG];
		int ok;

		sigpast |= seen[k - 1].signal;
		if (seen[k].cfa <= seen[k - 1].cfa)
			break;	/* libgcc's own end */
		for (int pass = 0; pass < 2; pass++) {	/* cold cache, then warm */
			if (!__defer_cfiwalk(seen[k].cfa - 1, 0, &r)) {
				declined++;
				continue;
			}
			regsof(&r, v);
			ok = r.pc == seen[k].ip && r.sp == seen[k].cfa &&
			     !memcmp(v, seen[k].reg, sizeof v);
			checked++;
			if (!ok) {
				wrong++;
				printf("frame %d%s: pc %#lx/%#lx sp %#lx/%#lx\n", k,
				       sigpast ? " (past a signal frame)" : "",
				       (unsigned long)r.pc, (unsigned long)seen[k].ip,
				       (unsigned long)r.sp, (unsigned long)seen[k].cfa);
				for (int i = 0; i < NREG; i++)
					if (v[i] != seen[k].reg[i])
						printf("\tdwarf %d: %#lx, libgcc %#lx\n", dwarf[i],
						       (unsigned long)v[i], (unsigned long)seen[k].reg[i]);
			}
		}
	}
}

/* Frames of many shapes, each keeping values live in callee-saved
 * registers across its call (so that it saves them), some with a frame
 * pointer forced by alloca, recursion, early returns. */
static volatile int sink;
static volatile uint64_t seed = 0x9e3779b97f4a7c15ull;

__attribute__((noinline)) static int keepmany(int depth);

__attribute__((noinline)) static int withalloca(int n)
{
	char *p = alloca((size_t)n + 16);

	memset(p, n, (size_t)n + 16);
	check();
	return p[n] + sink;
}

__attribute__((noinline)) static double withfloats(double a, int depth)
{
	double b = a * 1.5, c = a + 2.25, d = a - 0.125, e = a * a;
	int r = keepmany(depth - 1);

	return b * c + d * e + r;
}

__attribute__((noinline)) static int keepmany(int depth)
{
	uint64_t a = seed * 3, b = seed ^ 0x55, c = seed + 7, d = seed * 11, e = seed >> 3;
	int r;

	if (depth <= 0)
		return withalloca(24 + (int)(seed & 7));
	if (depth % 3 == 0)
		r = (int)withfloats((double)depth, depth);
	else
		r = keepmany(depth - 1);
	if (a == 1)		/* another epilogue */
		return r + 1;
	return r + (int)(a + b + c + d + e);
}

static int cmp(const void *x, const void *y)
{
	static int once;

	if (!once++)
		sink = keepmany(7);	/* through libc's qsort frames too */
	return *(const int *)x - *(const int *)y;
}

static void onsig(int sig)
{
	(void)sig;
	sink = keepmany(4);
}

int main(int argc, char **argv)
{
	int v[] = { 3, 1, 2 };

	if (argc > 1 && !strcmp(argv[1], "signal")) {
		signal(SIGUSR1, onsig);
		raise(SIGUSR1);
	} else {
		qsort(v, 3, sizeof v[0], cmp);
	}
	printf("checked %d declined %d wrong %d\n", checked, declined, wrong);
	return wrong != 0;
}
