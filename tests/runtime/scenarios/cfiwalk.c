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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <alloca.h>
#include <dlfcn.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>
#include <defer.h>
#ifdef __cplusplus
#include <algorithm>
#include <functional>
#include <mutex>
#endif

#ifdef __cplusplus
extern "C"
#endif
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
 * answering is right only if the answer is libgcc's.  Every walk starts
 * here, so this frame must not be one the walker declines (a stack
 * realigned for AVX locals), or no frame beyond it would be compared. */
#if defined(__x86_64__)
__attribute__((target("no-avx")))
#endif
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
	char *p = (char *)alloca((size_t)n + 16);

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

/* Frames whose stack is realigned, or that have no fixed size (a VLA),
 * or huge ones (save places far below the CFA), each keeping values live
 * across its call; then a chain of NCHAIN distinct functions, more return
 * addresses than the walker's cache has entries. */
__attribute__((noinline)) static int chain0(int n);
__attribute__((noinline)) static int realigned(int n);

__attribute__((noinline)) static int huge(int n)
{
	char big[100000];
	uint64_t a = seed * 13, b = seed ^ 0x77, c = seed + 99;
	int r;

	memset(big, n, sizeof big - (seed & 1));
	r = realigned(n);
	return r + big[seed % sizeof big] + (int)(a + b + c);
}

__attribute__((noinline)) static int vla(int n)
{
	char v[n + (int)(seed & 15) + 1];
	uint64_t a = seed * 7, b = seed ^ 0x33;
	int r;

	memset(v, n, sizeof v);
	r = chain0(n);
	return r + v[n] + (int)(a * b);
}

typedef double v4d __attribute__((vector_size(32)));

__attribute__((noinline)) static int vector(int n)
{
	v4d x = { (double)seed, (double)n, 1.5, 2.5 }, y;
	uint64_t a = seed * 17;
	int r;

	r = vla(n);
	y = x * x;
	return r + (int)(y[0] + y[3]) + (int)a;
}

__attribute__((noinline)) static int realigned(int n)
{
	char buf[64] __attribute__((aligned(64)));
	uint64_t a = seed * 5, b = seed ^ 9, c = seed >> 7;
	int r;

	memset(buf, n, sizeof buf - (seed & 1));
	r = vector(n);
	return r + buf[seed & 63] + (int)(a + b + c);
}

/* The stack realigned and of no fixed size: gcc realigns through a DRAP
 * register (the CFA then given by an expression, which the walker
 * declines), clang through a base register. */
__attribute__((noinline)) static int drap(int n)
{
	char buf[64] __attribute__((aligned(64)));
	char v[n + (int)(seed & 7) + 1];
	uint64_t a = seed * 23, b = seed ^ 0x4321;
	int r;

	memset(buf, n, sizeof buf - (seed & 1));
	memset(v, n, sizeof v);
	r = huge(n);
	return r + buf[seed & 63] + v[n] + (int)(a * b);
}

/* A call with arguments on the stack (pushed, then popped by the caller
 * after the call: the CFA at the return address includes them; with
 * -fexceptions gcc marks them with DW_CFA_GNU_args_size). */
__attribute__((noinline)) static int stackargs(int a, int b, int c, int d, int e, int f, int g,
					       int h, int i, int j)
{
	return drap(a + (b + c + d + e + f + g + h + i + j) % 7);
}

/* Two calls with an early return between: gcc's remember_state and
 * restore_state around the mid-function epilogue. */
__attribute__((noinline)) static int twoexits(int n)
{
	uint64_t a = seed * 19, b = seed ^ 0x1234, c = seed + 3;
	int r = sink;

	if (seed == 12345)
		return (int)(a + b);
	r += stackargs(n, (int)seed, (int)(seed >> 8), (int)(seed >> 16), (int)(seed >> 24),
		       (int)(seed >> 32), (int)(seed >> 40), (int)(seed >> 48), (int)(seed >> 56),
		       (int)(seed & 1));
	return r + (int)(a * b * c);
}

#define NCHAIN 80
#define CHAIN(i, next)                                                            \
	__attribute__((noinline)) static int chain##i(int n)                      \
	{                                                                         \
		uint64_t a = seed * (i + 2), b = seed ^ (i * 3);                   \
		int r = next(n + 1);                                              \
		return r + (int)(a + b);                                          \
	}
static int chainend(int n)
{
	return withalloca(n & 15);
}
#define C10(t, next) CHAIN(t##9, next) CHAIN(t##8, chain##t##9) CHAIN(t##7, chain##t##8) \
	CHAIN(t##6, chain##t##7) CHAIN(t##5, chain##t##6) CHAIN(t##4, chain##t##5)       \
	CHAIN(t##3, chain##t##4) CHAIN(t##2, chain##t##3) CHAIN(t##1, chain##t##2)       \
	CHAIN(t##0, chain##t##1)
C10(7, chainend) C10(6, chain70) C10(5, chain60) C10(4, chain50) C10(3, chain40)
C10(2, chain30) C10(1, chain20)
CHAIN(9, chain10) CHAIN(8, chain9) CHAIN(7, chain8) CHAIN(6, chain7) CHAIN(5, chain6)
CHAIN(4, chain5) CHAIN(3, chain4) CHAIN(2, chain3) CHAIN(1, chain2) CHAIN(0, chain1)

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

#ifdef __cplusplus
/* C++ frames: landing pads (a CIE with a personality and an LSDA), a
 * try block, std::sort's frames (the program's own template code),
 * std::function's, and std::call_once's, which run in libstdc++.so's
 * __once_proxy and libc's pthread_once. */
struct guard {
	uint64_t v;
	~guard() { sink = (int)v; }
};

__attribute__((noinline)) static int inonce(void)
{
	static std::once_flag flag;
	int r = 0;

	std::call_once(flag, [&r] { r = keepmany(4); });
	return r;
}

static bool less(int x, int y)
{
	static int once;

	if (!once++)
		sink = inonce();
	return x < y;
}

__attribute__((noinline)) static int sorting(int n)
{
	guard g{ seed * 29 };
	int v[40];
	std::function<bool(int, int)> cmp = less;

	for (int i = 0; i < 40; i++)
		v[i] = (int)((seed >> (i % 32)) & 0xff) + i;
	std::sort(v, v + 40, [&cmp](int x, int y) { return cmp(x, y); });
	return v[n % 40];
}

__attribute__((noinline)) static int guarded(int n)
{
	guard g{ seed * 31 };
	uint64_t a = seed ^ 0x99;
	int r;

	try {
		r = sorting(n);
	} catch (int e) {
		r = e;
	}
	return r + (int)a;
}
#endif

#if defined(__x86_64__)
/* Code made at run time with unwind tables registered by hand
 * (__register_frame, as JIT compilers do), then replaced by other code at
 * the same address with other tables: no object is unloaded, so the C
 * library's count of unloaded objects does not change, and a rule cached
 * for the first code must not answer for the second.  Both call their
 * argument at offset 34 (return address +36); A saves rbx, rbp, r12 and
 * changes them, B saves nothing and writes -1 where A kept them. */
#ifdef __cplusplus
extern "C" {
#endif
extern void __register_frame(void *begin);
extern void __deregister_frame(void *begin);
#ifdef __cplusplus
}
#endif

static const unsigned char jita[] = {
	0x53, 0x55, 0x41, 0x54,				/* push rbx; push rbp; push r12 */
	0x48, 0xbb, 1, 1, 1, 1, 1, 1, 1, 1,		/* movabs $..., %rbx */
	0x48, 0xbd, 2, 2, 2, 2, 2, 2, 2, 2,		/* movabs $..., %rbp */
	0x49, 0xbc, 3, 3, 3, 3, 3, 3, 3, 3,		/* movabs $..., %r12 */
	0xff, 0xd7,					/* call *%rdi */
	0x4c, 0x8b, 0x24, 0x24,				/* mov (%rsp), %r12 */
	0x48, 0x83, 0xc4, 0x08,				/* add $8, %rsp */
	0x5d, 0x5b, 0xc3,				/* pop rbp; pop rbx; ret */
};
static const unsigned char jitacfi[] = {
	0x41, 0x0e, 16, 0x83, 2,	/* advance 1; cfa rsp+16; rbx at cfa-16 */
	0x41, 0x0e, 24, 0x86, 3,	/* advance 1; cfa rsp+24; rbp at cfa-24 */
	0x42, 0x0e, 32, 0x8c, 4,	/* advance 2; cfa rsp+32; r12 at cfa-32 */
	/* The epilogue's rows, past the return address (36): */
	0x64, 0x08, 12,			/* advance 36 (past mov); r12 holds the caller's */
	0x44, 0x0e, 24,			/* advance 4 (past add); cfa rsp+24 */
	0x41, 0x0e, 16, 0xc6,		/* advance 1; cfa rsp+16; rbp back */
	0x41, 0x0e, 8, 0xc3,		/* advance 1; cfa rsp+8; rbx back */
};
static const unsigned char jitb[] = {
	0x48, 0x83, 0xec, 0x18,				/* sub $24, %rsp */
	0x48, 0xc7, 0x04, 0x24, 0xff, 0xff, 0xff, 0xff,	/* movq $-1, (%rsp) */
	0x48, 0xc7, 0x44, 0x24, 0x08, 0xff, 0xff, 0xff, 0xff,
	0x48, 0xc7, 0x44, 0x24, 0x10, 0xff, 0xff, 0xff, 0xff,
	0x0f, 0x1f, 0x40, 0x00,				/* nopl */
	0xff, 0xd7,					/* call *%rdi */
	0x48, 0x83, 0xc4, 0x18, 0xc3,			/* add $24, %rsp; ret */
};
static const unsigned char jitbcfi[] = {
	0x44, 0x0e, 32,			/* advance 4; cfa rsp+32 */
};

/* .eh_frame for one function at pc, range bytes: a CIE ("zR", FDE
 * pointers absolute, or (indirect) the address of a word holding them:
 * DW_EH_PE_indirect, which libgcc follows), an FDE with prog, a
 * terminator. */
static size_t ehframe(unsigned char *out, uintptr_t pc, size_t range, const unsigned char *prog,
		      size_t n, const uint64_t *indirect)
{
	static const unsigned char cie[] = {
		20, 0, 0, 0, 0, 0, 0, 0,	/* length, CIE id */
		1, 'z', 'R', 0, 1, 0x78, 16,	/* version, aug, code 1, data -8, ra 16 */
		1, 0x00,			/* aug data: FDE pointers absptr */
		0x0c, 7, 8, 0x90, 1,		/* cfa rsp+8; ra at cfa-8 */
		0, 0,				/* nops to 24 bytes */
	};
	uint32_t fdelen = (uint32_t)((4 + 8 + 8 + 1 + n + 3) & ~(size_t)3), cieptr = 28;
	uint64_t begin = indirect ? (uint64_t)(uintptr_t)indirect : pc, len = range;

	memcpy(out, cie, sizeof cie);
	if (indirect)
		out[16] = 0x80;
	memset(out + 24, 0, 4 + fdelen + 4);
	memcpy(out + 24, &fdelen, 4);
	memcpy(out + 28, &cieptr, 4);
	memcpy(out + 32, &begin, 8);
	memcpy(out + 40, &len, 8);
	memcpy(out + 49, prog, n);	/* after the aug data length, 0 */
	return 24 + 4 + fdelen + 4;
}

__attribute__((noinline)) static void jitcallee(void)
{
	sink = keepmany(2);
}

/* Code at page + at, its FDE's range the 88 bytes there; indirect: its
 * start in the word just below it. */
static void runjit(unsigned char *page, size_t at, const unsigned char *code, size_t len,
		   const unsigned char *prog, size_t n, int indirect)
{
	static unsigned char eh[128];
	uint64_t start = (uintptr_t)page + at;

	mprotect(page, 4096, PROT_READ | PROT_WRITE);
	memcpy(page + at, code, len);
	memcpy(page + at - 8, &start, 8);
	mprotect(page, 4096, PROT_READ | PROT_EXEC);
	ehframe(eh, start, 88, prog, n, indirect ? (const uint64_t *)(page + at - 8) : 0);
	__register_frame(eh);
	((void (*)(void (*)(void)))(page + at))(jitcallee);
	__deregister_frame(eh);
}

/* A then B at each of 8 places in the page (8 cache slots); then A with
 * indirect FDE pointers at each (the walker must follow them: the rows
 * after the call, the epilogue's, must not apply at the return address). */
__attribute__((noinline)) static void jit(void)
{
	unsigned char *page = (unsigned char *)mmap(0, 4096, PROT_READ | PROT_WRITE,
						    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED) {
		perror("mmap");
		exit(3);
	}
	for (size_t at = 8; at < 8 * 96; at += 96) {
		runjit(page, at, jita, sizeof jita, jitacfi, sizeof jitacfi, 0);
		runjit(page, at, jitb, sizeof jitb, jitbcfi, sizeof jitbcfi, 0);
	}
	for (size_t at = 8; at < 8 * 96; at += 96)
		runjit(page, at, jita, sizeof jita, jitacfi, sizeof jitacfi, 1);
	munmap(page, 4096);
}

/* Unwind tables no compiler makes (the linker would refuse them in
 * .eh_frame: they are registered by hand for code made at run time), which
 * the walker must decline without crashing or hanging; libgcc is not
 * asked (some would crash it).  The code pushes rbx and calls its
 * argument; its FDE has, before the call:
 *	1  a register rule by expression whose length runs 16 bytes back
 *	   (2^64 - 16): skipping it must not loop over the same bytes
 *	2  an expression whose length runs past the end of the FDE
 *	3  an opcode DWARF does not define (0x3f)
 *	4  remember_state nested deeper than the walker keeps
 *	5  a ULEB128 that does not end within the FDE
 *	6  pointers given indirectly, and a DW_CFA_set_loc whose pointer
 *	   the FDE's end cuts short (nothing to read through) */
static const unsigned char badcode[] = {
	0x53, 0xff, 0xd7, 0x5b, 0xc3,	/* push rbx; call *%rdi; pop rbx; ret */
};
#define BADHEAD 0x41, 0x0e, 16, 0x83, 2	/* advance 1; cfa rsp+16; rbx at cfa-16 */
static const unsigned char bad1[] = { BADHEAD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				      0x10, 1, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				      0xff, 0x01 };
static const unsigned char bad2[] = { BADHEAD, 0x10, 1, 0x7f, 0x77 };
static const unsigned char bad3[] = { BADHEAD, 0x3f };
static const unsigned char bad4[] = { BADHEAD, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a };
static const unsigned char bad5[] = { BADHEAD, 0x05, 0x83, 0xff, 0xff, 0xff };
static const unsigned char bad6[] = { BADHEAD, 0x01 };

static uintptr_t badabove;

__attribute__((noinline)) static void badprobe(void)
{
	struct defer_resume r;

	if (__defer_cfiwalk(badabove, 0, &r))
		checked++;
	else
		declined++;
}

__attribute__((noinline)) static void garbage(void)
{
	static const struct {
		const unsigned char *prog;
		size_t n;
		int indirect;
	} bad[] = { { bad1, sizeof bad1, 0 }, { bad2, sizeof bad2, 0 }, { bad3, sizeof bad3, 0 },
		    { bad4, sizeof bad4, 0 }, { bad5, sizeof bad5, 0 }, { bad6, sizeof bad6, 1 } };
	static uint64_t start;
	unsigned char *page = (unsigned char *)mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
						    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static unsigned char eh[128];

	if (page == MAP_FAILED) {
		perror("mmap");
		exit(3);
	}
	badabove = (uintptr_t)__builtin_frame_address(0);
	for (int i = 0; i < 6; i++) {
		memcpy(page + 64 * i, badcode, sizeof badcode);
		start = (uintptr_t)page + 64 * i;
		ehframe(eh, start, sizeof badcode, bad[i].prog, bad[i].n,
			bad[i].indirect ? &start : 0);
		__register_frame(eh);
		((void (*)(void (*)(void)))(page + 64 * i))(badprobe);
		__deregister_frame(eh);
		printf("bad%d: %s\n", i + 1, declined == i + 1 ? "declined" : "answered");
		fflush(stdout);
	}
}
#endif

/* dlopen liba, walk through its frame, dlclose it, dlopen libb (built
 * to land where liba was, with another rule at the same return address)
 * and walk again: the walker's answers must be libgcc's both times. */
__attribute__((noinline)) static void dlcallee(void)
{
	sink = keepmany(2);
}

static int throughlib(const char *path, uintptr_t *base)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	void (*call)(void (*)(void));

	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return -1;
	}
	*(void **)&call = dlsym(h, "cfiwalk_lib_call");
	*base = (uintptr_t)call;
	call(dlcallee);
	return dlclose(h);
}


int main(int argc, char **argv)
{
	int v[] = { 3, 1, 2 };

#ifdef __cplusplus
	if (argc > 1 && !strcmp(argv[1], "cxx")) {
		sink = guarded(1);
	} else
#endif
#if defined(__x86_64__)
	if (argc > 1 && !strcmp(argv[1], "jit")) {
		jit();
	} else if (argc > 1 && !strcmp(argv[1], "garbage")) {
		garbage();
	} else
#endif
	if (argc > 3 && !strcmp(argv[1], "dlopen")) {
		uintptr_t a, b;

		if (throughlib(argv[2], &a) || throughlib(argv[3], &b))
			return 3;
		printf("%s at the same address\n", a == b ? "loaded" : "not loaded");
	} else if (argc > 1 && !strcmp(argv[1], "shapes")) {
		sink = twoexits(1);
	} else if (argc > 1 && !strcmp(argv[1], "signal")) {
		signal(SIGUSR1, onsig);
		raise(SIGUSR1);
	} else {
		qsort(v, 3, sizeof v[0], cmp);
	}
	printf("checked %d declined %d wrong %d\n", checked, declined, wrong);
	return wrong != 0;
}
