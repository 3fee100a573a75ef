/* SPDX-License-Identifier: MIT */
/*
 * sigpanic.c - the runtime's SIGSEGV handler, and defer_panic_on_fault:
 * faults of the program's code as recoverable panics with Go's runtime
 * errors (src/runtime/signal_unix.go, sigpanic).
 *
 * A fault is turned into a panic only when all of these hold: the program
 * asked for it (defer_panic_on_fault), the kernel made the signal (si_code
 * > 0: a real fault, not a kill or raise), the thread has deferred (it has
 * a g, and so an alternate signal stack), it is not a stack overflow
 * (overflow.c reports those: there is no stack to run calls on), and the
 * faulting code is not the runtime's (defer.S, or C code of the runtime
 * outside the deferred calls it makes: __defer_inruntime).  Anything else
 * gets the default action back and happens again, fatally.
 *
 * The handler does not panic itself: it makes the thread, once the
 * handler returns, call sigpanic as if the faulting instruction had called
 * it (Go injects the same call).  The kernel's sigreturn puts back the
 * thread's signal mask, the panic runs on the thread's own stack (not the
 * 64 KB alternate one), and unwinders see the faulting function as the
 * caller of __defer_sigpanic_tramp (defer.S), whose unwind rules say where
 * the faulting frame's pc and stack pointer were saved.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include "runtime.h"

__thread int __defer_inruntime __attribute__((tls_model("initial-exec")));
__thread struct fault __defer_fault __attribute__((tls_model("initial-exec")));

/* The faulting thread's pc and stack pointer in its signal context, and
 * the bytes below its stack pointer that its code may use (the System V
 * red zone; AAPCS64 has none). */
#if defined(__x86_64__)
#define CTX_PC(uc) ((uc)->uc_mcontext.gregs[REG_RIP])
#define CTX_SP(uc) ((uc)->uc_mcontext.gregs[REG_RSP])
#define REDZONE 128
#elif defined(__aarch64__)
#define CTX_PC(uc) ((uc)->uc_mcontext.pc)
#define CTX_SP(uc) ((uc)->uc_mcontext.sp)
#define REDZONE 0
#endif

static int paniconfault;

static int inruntime(uintptr_t pc)
{
	return __defer_inruntime ||
	       (pc >= (uintptr_t)__defer_text_start && pc < (uintptr_t)__defer_text_end);
}

void onfault(int sig, siginfo_t *si, void *ctx)
{
	struct g *g = __defer_tls.g;
	ucontext_t *uc = ctx;
	uintptr_t sp;

	if (sig == SIGSEGV && overflowed(g, (uintptr_t)si->si_addr))
		overflow_report(g);
	if (!__atomic_load_n(&paniconfault, __ATOMIC_RELAXED) || !g || si->si_code <= 0 ||
	    inruntime((uintptr_t)CTX_PC(uc))) {
		signal(sig, SIG_DFL);	/* not ours: the fault repeats, fatally */
		if (si->si_code <= 0)
			raise(sig);	/* a sent signal does not */
		return;
	}
	__defer_fault = (struct fault){ 0, sig, si->si_code, (uintptr_t)si->si_addr,
					(uintptr_t)CTX_PC(uc) };
	/* The call, past the red zone: __defer_sigpanic_tramp finds the
	 * faulting pc at 0(sp) and its stack pointer at 8(sp). */
	sp = (((uintptr_t)CTX_SP(uc) - REDZONE) & ~(uintptr_t)15) - 16;
	((uintptr_t *)sp)[0] = (uintptr_t)CTX_PC(uc);
	((uintptr_t *)sp)[1] = (uintptr_t)CTX_SP(uc);
	CTX_SP(uc) = sp;
	CTX_PC(uc) = (uintptr_t)__defer_sigpanic_tramp;
}

/* Go's messages (runtime/panic.go: panicmem, panicdivide, panicoverflow,
 * panicfloat). */
const char *faultmsg(const struct fault *f)
{
	if (f->sig == SIGFPE)
		return f->code == FPE_INTDIV ? "runtime error: integer divide by zero" :
		       f->code == FPE_INTOVF ? "runtime error: integer overflow" :
		       "runtime error: floating point error";
	return "runtime error: invalid memory address or nil pointer dereference";
}

/* Go prints the signal under the panics when one of them was a fault:
 * [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f4f6]. */
int faultline(const struct _panic *p, char *buf, size_t len)
{
	const struct fault *f = &__defer_fault;
	const char *name = f->sig == SIGSEGV ? "SIGSEGV: segmentation violation" :
			   f->sig == SIGBUS ? "SIGBUS: bus error" :
			   "SIGFPE: floating-point exception";

	while (p && p != f->p)
		p = p->link;
	if (!p)
		return 0;
	snprintf(buf, len, "[signal %s code=0x%x addr=0x%lx pc=0x%lx]\n", name, (unsigned)f->code,
		 (unsigned long)f->addr, (unsigned long)f->pc);
	return 1;
}

static int installed;

/* Our handler for sig unless the program has one of its own. */
static int install(int sig)
{
	struct sigaction old, sa;

	if (sigaction(sig, 0, &old) != 0)
		return -1;
	if ((old.sa_flags & SA_SIGINFO) ? old.sa_sigaction != onfault : old.sa_handler != SIG_DFL)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = onfault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, 0);
}

static void installall(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE };
	int r = 0;

	for (int i = 0; i < 3; i++)
		r |= install(sigs[i]);
	installed = r ? -1 : 0;
}

int defer_panic_on_fault(int on)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (on) {
		getg();	/* the thread's alternate stack, and the overflow handler */
		pthread_once(&once, installall);
	}
	__atomic_store_n(&paniconfault, on != 0, __ATOMIC_RELAXED);
	return on ? installed : 0;
}
