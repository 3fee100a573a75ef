/* SPDX-License-Identifier: MIT */
/*
 * forced_unwind.c - built with -fexceptions: what it would cost to run
 * the cleanups of the frames a panic crosses the way glibc's thread
 * cancellation runs them, by the unwinder's forced unwinding
 * (_Unwind_ForcedUnwind with a stop function that ends it by a jump): the
 * mechanism a panic uses to cross frames with landing pads (docs/runtime.md,
 * "Cleanups of the frames a panic crosses"), without libdefer.  A shared
 * object of defer_bench's (libdefer/build.mk says why).
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>

void bench_forced_unwind_once(void *unused);

static jmp_buf target;
static uintptr_t target_cfa;
static struct _Unwind_Exception exc;
static volatile long cleaned;

/* Called for every frame the unwind reaches, before its landing pad: the
 * first frame above the target's local is the catcher's own. */
static _Unwind_Reason_Code stop(int version, _Unwind_Action actions, _Unwind_Exception_Class cls,
				struct _Unwind_Exception *e, struct _Unwind_Context *ctx, void *arg)
{
	(void)version, (void)cls, (void)e, (void)arg;
	if ((actions & _UA_END_OF_STACK) || _Unwind_GetCFA(ctx) > target_cfa)
		longjmp(target, 1);
	return _URC_NO_REASON;
}

__attribute__((noinline)) static void raise_forced(void)
{
	memset(&exc, 0, sizeof exc);
	exc.exception_class = 0x4c44454647500000ull;	/* "LDEFGP\0\0" */
	_Unwind_ForcedUnwind(&exc, stop, 0);
	abort();
}

static void count(int *p)
{
	cleaned += *p;
}

/* The crossed frame: one cleanup variable, like a _cleanup_free_. */
__attribute__((noinline)) static void crossed(void)
{
	int one __attribute__((cleanup(count))) = 1;
	raise_forced();
	__asm__ volatile("" ::"r"(one));
}

void bench_forced_unwind_once(void *unused)
{
	volatile char here;

	(void)unused;
	target_cfa = (uintptr_t)&here;
	if (setjmp(target))
		return;
	crossed();
}

/* 1 if the cleanup ran n times. */
int bench_forced_unwind_ran(long n)
{
	return cleaned == n;
}
