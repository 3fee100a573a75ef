/* SPDX-License-Identifier: MIT */
/* Panics from signal handlers, and faults as panics.  argv[1] picks:
 *   handler      a program's own SIGSEGV/SIGBUS/SIGFPE handler panics; the
 *                panic is recovered, three times per signal: the signal
 *                must not stay blocked
 *   handler_result  the same, recovered by frames with defer_result(), the
 *                handler on the thread's stack and on an alternate one
 *   fault        defer_panic_on_fault: real SIGSEGV and SIGBUS faults, and
 *                SIGFPE with its fault codes, recovered three times each
 *   fault_fatal  an unrecovered nil dereference: Go's report
 *   fault_off    the same without defer_panic_on_fault: the signal kills
 *   fault_threads  four threads fault 200 times each, all recovered
 *   fault_runtime  a fault inside the runtime (panic's formatting of a bad
 *                %s) is never turned into a panic
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <defer.h>

static void catch(void)
{
	const struct _panic *p = recover();
	printf("catch: %s\n", p ? p->msg : "nothing");
}

static void onsig(int sig)
{
	panic("handler got signal %d", sig);
}

static int *volatile nowhere __attribute__((unused));

/* A real fault for SIGSEGV; SIGBUS and SIGFPE are sent (an integer
 * division by zero does not trap on every virtual machine). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
static void fault(int sig)
{
#ifndef __SANITIZE_ADDRESS__	/* UBSan reports the null store itself */
	if (sig == SIGSEGV)
		*nowhere = 1;
	else
#endif
		raise(sig);
}

static void raise_in_frame(int sig)
{
	defer_frame;
	defer(catch);
	fault(sig);
	printf("raise_in_frame: not reached\n");
}

/* A recovery that resumes at defer_result() leaves the handler too. */
static void raise_in_result_frame(int sig)
{
	defer_frame;
	defer_result();
	defer(catch);
	fault(sig);
	printf("raise_in_result_frame: not reached\n");
}

static void catch_count(int *n)
{
	if (recover())
		++*n;
}

static void handler_case(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE };
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsig;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, 0);
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 3; k++)
			raise_in_frame(sigs[i]);
	sigset_t now;
	pthread_sigmask(SIG_SETMASK, 0, &now);
	printf("blocked afterwards: %d %d %d\n", sigismember(&now, SIGSEGV),
	       sigismember(&now, SIGBUS), sigismember(&now, SIGFPE));
}

static void handler_result_case(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE };
	static char alt[1 << 16];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	struct sigaction sa;
	sigset_t now;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsig;
	sigemptyset(&sa.sa_mask);
	for (int onstack = 0; onstack < 2; onstack++) {
		if (onstack) {
			sigaltstack(&ss, 0);
			sa.sa_flags = SA_ONSTACK;
		}
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &sa, 0);
		for (int i = 0; i < 3; i++)
			for (int k = 0; k < 2; k++)
				raise_in_result_frame(sigs[i]);
		pthread_sigmask(SIG_SETMASK, 0, &now);
		printf("blocked afterwards%s: %d %d %d\n", onstack ? " (alternate stack)" : "",
		       sigismember(&now, SIGSEGV), sigismember(&now, SIGBUS),
		       sigismember(&now, SIGFPE));
	}
}

/* ---- defer_panic_on_fault ---- */

__attribute__((noinline)) void deref(void);
__attribute__((noinline)) void bus(void);
static int *volatile nilp;
static volatile char *beyond;	/* a mapping past the end of its file */

void deref(void)
{
	*nilp = 1;
	printf("deref: not reached\n");
}

void bus(void)
{
	beyond[0] = 1;
	printf("bus: not reached\n");
}

/* A SIGFPE with the code a divide by zero has (an integer division by
 * zero does not trap on every virtual machine; a thread may send itself
 * any code). */
static void fpe(int code)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	si.si_signo = SIGFPE;
	si.si_code = code;
	syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGFPE, &si);
	printf("fpe: not reached\n");
}

static void catch_fault(void)
{
	const struct _panic *p = recover();
	void *fn = p ? _Unwind_FindEnclosingFunction((void *)(p->pc - 1)) : 0;

	printf("catch: %s, raised in %s\n", p ? p->msg : "nothing",
	       fn == (void *)deref ? "deref" : fn == (void *)bus ? "bus" : "another function");
}

static void faults_in(void (*f)(void))
{
	defer_frame;
	defer(catch_fault);
	f();
}

static void fpe_in(int code)
{
	defer_frame;
	defer(catch);
	fpe(code);
}

static void map_beyond(void)
{
	long page = sysconf(_SC_PAGESIZE);
	FILE *f = tmpfile();

	fputc('x', f);
	fflush(f);
	beyond = mmap(0, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fileno(f), 0);
	beyond += page;
}

static void fault_case(void)
{
	printf("defer_panic_on_fault: %d\n", defer_panic_on_fault(1));
	map_beyond();
	for (int k = 0; k < 3; k++)
		faults_in(deref);
	for (int k = 0; k < 3; k++)
		faults_in(bus);
	for (int k = 0; k < 3; k++) {
		fpe_in(FPE_INTDIV);
		fpe_in(FPE_INTOVF);
		fpe_in(FPE_FLTINV);
	}
}

static void fault_counted(int *n)
{
	defer_frame;
	defer(catch_count, n);
	deref();
}

static void *fault_thread(void *arg)
{
	int n = 0;

	(void)arg;
	for (int k = 0; k < 200; k++)
		fault_counted(&n);
	return (void *)(long)n;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "handler"))
		handler_case();
	else if (argc > 1 && !strcmp(argv[1], "handler_result"))
		handler_result_case();
	else if (argc > 1 && !strcmp(argv[1], "fault"))
		fault_case();
	else if (argc > 1 && !strcmp(argv[1], "fault_fatal")) {
		defer_panic_on_fault(1);
		deref();
	} else if (argc > 1 && !strcmp(argv[1], "fault_off")) {
		defer_frame;
		defer(catch);
		deref();
	} else if (argc > 1 && !strcmp(argv[1], "fault_threads")) {
		pthread_t t[4];
		void *n;

		defer_panic_on_fault(1);
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], 0, fault_thread, 0);
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], &n);
			printf("thread %d recovered %ld\n", i, (long)n);
		}
	} else if (argc > 1 && !strcmp(argv[1], "fault_runtime")) {
		defer_panic_on_fault(1);
		defer_frame;
		defer(catch);
		panic("%s", (const char *)(uintptr_t)16);
	}
	printf("main: done\n");
	return 0;
}
