/* SPDX-License-Identifier: MIT */
/*
 * Recoveries without defer_result (so the owner's caller is found by the
 * runtime's frame walker, cfiwalk.c, or by libgcc where it declines), and
 * what the caller sees afterwards: every value it kept live across the
 * call that panicked (eight integers and four doubles, more than the
 * callee-saved registers, so some live in its frame) must be intact, and
 * its stack pointer too (it passes the owner nine arguments on the stack
 * and pops them after the call).  The owners and the frames between them
 * and the panic have many shapes (tests/runtime/test_cfiwalk.py).
 * argv[1] picks:
 *
 *	frames      each owner shape, 200 times
 *	threads N   N threads at once, each every owner shape 200 times, with
 *	            inputs of its own (the rule cache shared)
 *	handler     in a SIGUSR1 handler, on the thread's stack and then on an
 *	            alternate one, with the owner inside the handler (no
 *	            signal frame crossed)
 *	outside     the handler panics, the owner outside it: the recovery
 *	            leaves the handler (through raise, a libc frame)
 *	fault       defer_panic_on_fault: the panicking call faults
 *
 * A last argument "nolibc" leaves libc's qsort out of the frames between
 * (musl's libc has no unwind tables).
 *
 * Prints "<case>: ok <n>" per case, or "<case>: WRONG ..." and exits 1.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <defer.h>

struct in {
	uint64_t a[8];
	double d[4];
};

/* An owner's parameters: n, then nine the caller passes on the stack (so
 * that the caller's stack pointer after the call, which the recovery
 * gives back, is below those arguments: the caller pops them). */
#define U __attribute__((unused)) int
#define OWNER(name) void name(int n, U p1, U p2, U p3, U p4, U p5, U p6, U p7, U p8, U p9)
typedef OWNER(ownerfn);

/* What the caller computes from its live values, one call a value: each
 * stays live across the calls before its own, so the compiler keeps them
 * in callee-saved registers (and the rest in the caller's frame), not in
 * vector registers it spills once. */
__attribute__((noinline)) static uint64_t step(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull;
}

__attribute__((noinline)) static uint64_t stepd(uint64_t h, double d)
{
	return step(h, (uint64_t)(int64_t)(d * 1000.0));
}

static uint64_t mix(const uint64_t *a, const double *d)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < 8; i++)
		h = step(h, a[i]);
	for (int i = 0; i < 4; i++)
		h = stepd(h, d[i]);
	return h;
}

/* Loads every input before the call and uses them all after it. */
__attribute__((noinline)) static uint64_t caller(const volatile struct in *in, ownerfn *owner,
						 int arg)
{
	uint64_t a0 = in->a[0], a1 = in->a[1], a2 = in->a[2], a3 = in->a[3];
	uint64_t a4 = in->a[4], a5 = in->a[5], a6 = in->a[6], a7 = in->a[7];
	double d0 = in->d[0], d1 = in->d[1], d2 = in->d[2], d3 = in->d[3];
	uint64_t h = 0xcbf29ce484222325ull;

	owner(arg, (int)a0, (int)a1, (int)a2, (int)a3, (int)a4, (int)a5, (int)a6, (int)a7,
	      (int)d0);
	h = step(step(step(step(h, a0), a1), a2), a3);
	h = step(step(step(step(h, a4), a5), a6), a7);
	return stepd(stepd(stepd(stepd(h, d0), d1), d2), d3);
}

static volatile int sink;
static volatile uint64_t seed = 0x9e3779b97f4a7c15ull;
static int libcframes = 1;

static void rec(void)
{
	recover();
}

/* Frames between the owner and the panic, each keeping values live. */
__attribute__((noinline)) static void boom(int n)
{
	panic("boom %d", n);
}

__attribute__((noinline)) static void invla(int n)
{
	char v[n + (int)(seed & 7) + 1];
	uint64_t a = seed * 3, b = seed ^ 5;

	memset(v, n, sizeof v);
	boom(n);
	sink = v[n] + (int)(a + b);
}

__attribute__((noinline)) static void inalloca(int n)
{
	char *p = (char *)alloca((size_t)n + 32);
	uint64_t a = seed * 7;

	memset(p, n, (size_t)n + 32);
	invla(n);
	sink = p[n] + (int)a;
}

static int cmp(const void *x, const void *y)
{
	inalloca(4);	/* through libc's qsort frames */
	return *(const int *)x - *(const int *)y;
}

__attribute__((noinline)) static void inqsort(int n)
{
	int v[4] = { 4, 3, 2, 1 };
	uint64_t a = seed * 11, b = seed + n;

	qsort(v, 4, sizeof v[0], cmp);
	sink = v[0] + (int)(a * b);
}

__attribute__((noinline)) static void deep(int n)
{
	uint64_t a = seed ^ 0x77, b = seed * 13, c = seed >> 5;
	double x = (double)n * 1.25;

	if (n > 0)
		deep(n - 1);
	else if (libcframes)
		inqsort(n);
	else
		inalloca(n);
	sink = (int)(a + b + c) + (int)x;
}

/* The owners: the frame whose caller the walker must restore. */
static OWNER(owner_plain)
{
	defer_frame;
	defer(rec);
	deep(n);
}

static OWNER(owner_savesall)
{
	uint64_t a = seed * 17, b = seed ^ 19, c = seed + 23, d = seed * 29, e = seed >> 9;
	double x = (double)(seed & 0xff), y = x * 0.5, z = x + 3.0;

	defer_frame;
	defer(rec);
	deep(n);
	sink = (int)(a + b + c + d + e) + (int)(x * y * z);
}

static OWNER(owner_vla)
{
	char v[n + (int)(seed & 15) + 1];
	uint64_t a = seed * 31;

	memset(v, 1, sizeof v);
	defer_frame;
	defer(rec);
	deep(n);
	sink = v[n] + (int)a;
}

static OWNER(owner_aligned)
{
	char buf[64] __attribute__((aligned(64)));
	uint64_t a = seed * 37, b = seed ^ 41;

	memset(buf, n, sizeof buf - (seed & 1));
	defer_frame;
	defer(rec);
	deep(n);
	sink = buf[seed & 63] + (int)(a * b);
}

static OWNER(owner_huge)
{
	char big[100000];
	uint64_t a = seed * 43, b = seed + 47;

	memset(big, n, sizeof big - (seed & 1));
	defer_frame;
	defer(rec);
	deep(n);
	sink = big[seed % sizeof big] + (int)(a + b);
}

/* gcc realigns this one through a DRAP register: the walker declines, and
 * libgcc walks. */
static OWNER(owner_drap)
{
	char buf[64] __attribute__((aligned(64)));
	char v[n + (int)(seed & 7) + 1];
	uint64_t a = seed * 53;

	memset(buf, n, sizeof buf - (seed & 1));
	memset(v, n, sizeof v);
	defer_frame;
	defer(rec);
	deep(n);
	sink = buf[seed & 63] + v[n] + (int)a;
}

static const struct {
	const char *name;
	ownerfn *fn;
} owners[] = {
	{ "plain", owner_plain },	{ "savesall", owner_savesall }, { "vla", owner_vla },
	{ "aligned", owner_aligned },	{ "huge", owner_huge },		{ "drap", owner_drap },
};
enum { NOWNER = sizeof owners / sizeof owners[0] };

static void fill(struct in *in, uint64_t k)
{
	for (int i = 0; i < 8; i++)
		in->a[i] = (k + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)i << 40;
	for (int i = 0; i < 4; i++)
		in->d[i] = (double)(k % 1000) + 0.25 * i;
}

/* One owner, n times with inputs from k on: the number wrong. */
static int rounds(const char *what, ownerfn *owner, uint64_t k, int n, int depth)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		struct in in;
		uint64_t got;

		fill(&in, k + (uint64_t)i);
		got = caller(&in, owner, depth + i % 3);
		if (got != mix(in.a, in.d)) {
			if (!bad)
				printf("%s: WRONG at round %d\n", what, i);
			bad++;
		}
	}
	return bad;
}

static int allowners(uint64_t k, int n)
{
	int bad = 0;

	for (int o = 0; o < NOWNER; o++)
		bad += rounds(owners[o].name, owners[o].fn, k + (uint64_t)o * 100000, n, 2);
	return bad;
}

static void *thread(void *arg)
{
	return (void *)(intptr_t)allowners((uint64_t)(intptr_t)arg * 10000000, 200);
}

static int threads_case(int n)
{
	pthread_t t[64];
	int bad = 0;

	for (int i = 0; i < n; i++)
		pthread_create(&t[i], 0, thread, (void *)(intptr_t)(i + 1));
	for (int i = 0; i < n; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += (int)(intptr_t)r;
	}
	return bad;
}

/* ---- signal handlers ---- */

static volatile int handlerbad, handlerruns;

static void inside(int sig)
{
	(void)sig;
	handlerbad += allowners(7000000, 5);
	handlerruns++;
}

static void panics(int sig)
{
	handlerruns++;
	panic("in the handler %d", sig);
}

/* The owner of a recovery whose panic a handler raised. */
static OWNER(owner_raise)
{
	defer_frame;
	defer(rec);
	if (n >= 0)
		raise(SIGUSR1);
}

/* On the thread's stack, then on an alternate one: handler runs in each. */
static int inhandlers(void (*handler)(int), int (*body)(const char *))
{
	static char alt[1 << 20];	/* owner_huge needs 100 KB */
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	struct sigaction sa;
	int bad = 0;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = handler;
	for (int onstack = 0; onstack < 2; onstack++) {
		if (onstack) {
			sigaltstack(&ss, 0);
			sa.sa_flags = SA_ONSTACK;
		}
		sigaction(SIGUSR1, &sa, 0);
		bad += body(onstack ? "alternate stack" : "thread's stack");
	}
	return bad;
}

static int raise3(const char *where)
{
	(void)where;
	for (int i = 0; i < 3; i++)
		raise(SIGUSR1);
	return 0;
}

static int raising(const char *where)
{
	return rounds(where, owner_raise, 8000000, 50, 0);
}

static int handler_case(void)
{
	int bad = inhandlers(inside, raise3) + handlerbad;

	if (handlerruns != 2 * 3)
		printf("handler: ran %d times\n", handlerruns), bad++;
	return bad;
}

static int outside_case(void)
{
	int bad = inhandlers(panics, raising);

	if (handlerruns != 2 * 50)
		printf("handler: ran %d times\n", handlerruns), bad++;
	return bad;
}

/* ---- faults ---- */

static int *volatile nilp;

__attribute__((noinline)) static OWNER(owner_fault)
{
	defer_frame;
	defer(rec);
	if (n >= 0)
		*nilp = n;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "frames";
	int bad, n = 0;

	if (argc > 2 && !strcmp(argv[argc - 1], "nolibc"))
		libcframes = 0;

	if (!strcmp(mode, "threads")) {
		n = argc > 2 && strcmp(argv[2], "nolibc") ? atoi(argv[2]) : 8;
		bad = threads_case(n < 64 ? n : 64);
		n *= NOWNER * 200;
	} else if (!strcmp(mode, "handler")) {
		bad = handler_case();
		n = 2 * 3 * NOWNER * 5;
	} else if (!strcmp(mode, "outside")) {
		bad = outside_case();
		n = 2 * 50;
	} else if (!strcmp(mode, "fault")) {
		if (defer_panic_on_fault(1)) {
			printf("defer_panic_on_fault failed\n");
			return 2;
		}
		bad = rounds("fault", owner_fault, 9000000, 200, 0);
		n = 200;
	} else {
		bad = allowners(0, 200);
		n = NOWNER * 200;
	}
	if (bad)
		printf("%s: WRONG %d of %d\n", mode, bad, n);
	else
		printf("%s: ok %d\n", mode, n);
	return bad != 0;
}
