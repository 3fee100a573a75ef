/* SPDX-License-Identifier: MIT */
/*
 * stacks.c - the stacks the crash report prints: the dying thread's own,
 * and with DEFER_TRACEBACK=all every other thread's.
 *
 * Frames come from libgcc's unwinder (the .eh_frame tables that recovery
 * also relies on): it allocates nothing, and finds tables without a lock
 * through glibc's _dl_find_object (glibc 2.35+, libgcc 12+).
 *
 * Another thread's registers are only reachable from that thread, so the
 * reporter sends each one SIGURG (Go's choice for preemption: programs
 * rarely use it, and debuggers pass it without stopping).  Its handler
 * unwinds its own stack into the thread's slot, says so through a futex,
 * and waits there until thawthreads: the thread is stopped while the
 * report reads its pending calls (and, for a core, until the abort).  The
 * signal ends a sleep or an unrestartable wait it was in early.  A
 * thread that has SIGURG blocked, or is stuck, is reported silent after
 * THAW_MS.  The program's own SIGURG handler is replaced: the process is
 * dying.  The thread list is read from /proc/self/task with the raw
 * getdents64 (opendir allocates).
 *
 * Every walk is guarded against faults.  A thread stopped where its unwind
 * table is wrong (ld.so's lazy-binding trampoline under qemu did it)
 * gives libgcc a garbage return address; with no table for it, libgcc's
 * signal-frame fallback reads the instruction there and faults.  Found as
 * a 1-in-30 SIGSEGV of the whole report; the guard ends that one stack.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <unwind.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include "runtime.h"

#define THAW_MS 1000

struct walk {
	struct stack *s;
	uintptr_t after;	/* record nothing up to the frame at this pc */
};

static _Unwind_Reason_Code record(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	int before = 0;
	uintptr_t pc = _Unwind_GetIPInfo(ctx, &before);

	if (w->after) {
		if (pc == w->after)
			w->after = 0;
		return _URC_NO_REASON;
	}
	if (!pc)
		return _URC_END_OF_STACK;
	if (w->s->n == MAXFRAMES) {
		w->s->more = STACK_ELIDED;
		return _URC_END_OF_STACK;
	}
	w->s->f[w->s->n++] = (struct frame){ pc, _Unwind_GetCFA(ctx), before };
	return _URC_NO_REASON;
}

/* The walk this thread is in, for onwalkfault; and the handlers it replaced. */
static __thread sigjmp_buf *walking __attribute__((tls_model("initial-exec")));
static __thread uintptr_t faultat __attribute__((tls_model("initial-exec")));
static struct sigaction oldsegv, oldbus;
static int guarding;

static void onwalkfault(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *j = walking;

	if (j) {
		walking = 0;
		faultat = (uintptr_t)si->si_addr;
		siglongjmp(*j, 1);
	}
	/* Not a walk's: the handler it would have met.  A fault returned from
	 * happens again, now there; a sent signal is sent again. */
	sigaction(sig, sig == SIGSEGV ? &oldsegv : &oldbus, 0);
	if (si->si_code <= 0)
		raise(sig);
	(void)uc;
}

/* Once, by the reporter before any walk: the process is dying, so the
 * handlers stay (a fault that is not a walk's is passed on). */
static void guardwalks(void)
{
	struct sigaction sa = { .sa_sigaction = onwalkfault, .sa_flags = SA_SIGINFO | SA_ONSTACK };

	if (__atomic_exchange_n(&guarding, 1, __ATOMIC_ACQ_REL))
		return;
	sigfillset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &oldsegv);
	sigaction(SIGBUS, &sa, &oldbus);
}

static void walk(struct stack *s, uintptr_t after)
{
	struct walk w = { s, after };
	sigjmp_buf j;
	sigset_t faults;

	s->n = s->more = 0;
	/* Restores the mask too: the faults are unblocked for the walk (a
	 * fault while blocked kills the process without a handler). */
	if (sigsetjmp(j, 1)) {
		s->more = STACK_CUT;
		s->faultat = faultat;
		return;
	}
	sigemptyset(&faults);
	sigaddset(&faults, SIGSEGV);
	sigaddset(&faults, SIGBUS);
	pthread_sigmask(SIG_UNBLOCK, &faults, 0);
	walking = &j;
	_Unwind_Backtrace(record, &w);
	walking = 0;
	if (w.after)	/* never met (no unwind tables there?): keep it all */
		walk(s, 0);
}

void ownstack(struct stack *s, uintptr_t after)
{
	sigset_t old;

	guardwalks();
	pthread_sigmask(SIG_SETMASK, 0, &old);
	walk(s, after);
	pthread_sigmask(SIG_SETMASK, &old, 0);
}

static struct thread threads[MAXTHREADS];
static int nthreads;
static int released;
enum { THREAD_TAKING = 100 };

static long futex(int *addr, int op, int val, const struct timespec *t)
{
	return syscall(SYS_futex, addr, op, val, t, 0, 0);
}

/* SIGURG in a thread the reporter stops: take the stack, then wait. */
static void onurg(int sig, siginfo_t *si, void *uc)
{
	int me = gettid();

	(void)sig;
	(void)si;
	(void)uc;
	for (int i = 0; i < nthreads; i++) {
		struct thread *t = &threads[i];
		int asked = THREAD_ASKED;
		int k = 0;

		if (t->tid != me)
			continue;
		if (!__atomic_compare_exchange_n(&t->state, &asked, THREAD_TAKING, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return;
		ownstack(&t->stack, 0);
		/* Drop the handler's frames: the interrupted frame is the first
		 * that libgcc marks as a signal frame's. */
		while (k < t->stack.n && !t->stack.f[k].signal)
			k++;
		if (k < t->stack.n) {
			memmove(t->stack.f, t->stack.f + k, (size_t)(t->stack.n - k) * sizeof t->stack.f[0]);
			t->stack.n -= k;
		} else {
			t->stack.n = 0;
		}
		__atomic_store_n(&t->state, THREAD_STOPPED, __ATOMIC_RELEASE);
		futex(&t->state, FUTEX_WAKE_PRIVATE, INT_MAX, 0);
		while (!__atomic_load_n(&released, __ATOMIC_ACQUIRE))
			futex(&released, FUTEX_WAIT_PRIVATE, 0, 0);
		return;
	}
}

/* Read a small /proc file into buf (NUL-terminated); its length or -1. */
static int readproc(const char *path, char *buf, int len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), n;

	if (fd < 0)
		return -1;
	n = (int)read(fd, buf, (size_t)len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* /proc/self/task/TID/<what> */
static void taskpath(char *buf, int tid, const char *what)
{
	char digits[12];
	int n = 0;

	do
		digits[n++] = (char)('0' + tid % 10);
	while ((tid /= 10) && n < 11);
	strcpy(buf, "/proc/self/task/");
	buf += strlen(buf);
	while (n)
		*buf++ = digits[--n];
	*buf++ = '/';
	strcpy(buf, what);
}

static void describe(struct thread *t)
{
	char path[64], buf[512], *p;

	taskpath(path, t->tid, "comm");
	if (readproc(path, t->name, sizeof t->name) > 0 && (p = strchr(t->name, '\n')))
		*p = 0;
	taskpath(path, t->tid, "stat");
	/* "tid (comm) S ...": the comm may hold ')' itself; the last one ends it. */
	if (readproc(path, buf, sizeof buf) > 0 && (p = strrchr(buf, ')')) && p[1] == ' ')
		t->run = p[2];
}

static long msleft(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

int freezethreads(struct thread **out, int *more)
{
	struct sigaction sa = { .sa_sigaction = onurg, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART };
	int me = gettid(), pid = getpid(), fd, n = 0;
	struct timespec end;
	char buf[4096];
	long k;

	*out = threads;
	*more = 0;
	guardwalks();
	sigfillset(&sa.sa_mask);
	sigaction(SIGURG, &sa, 0);
	fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd >= 0 && (k = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < k;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			int tid = 0;

			off += de->d_reclen;
			for (const char *c = de->d_name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (*c - '0');
			if (tid <= 0 || tid == me)
				continue;
			if (n == MAXTHREADS) {
				++*more;
				continue;
			}
			memset(&threads[n], 0, sizeof threads[n]);
			threads[n].tid = tid;
			describe(&threads[n]);
			threads[n].state = THREAD_ASKED;
			n++;
		}
	}
	if (fd >= 0)
		close(fd);
	__atomic_store_n(&nthreads, n, __ATOMIC_RELEASE);
	for (int i = 0; i < n; i++)
		if (syscall(SYS_tgkill, pid, threads[i].tid, SIGURG) < 0)
			threads[i].state = THREAD_GONE;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += THAW_MS / 1000;
	end.tv_nsec += (THAW_MS % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (int i = 0; i < n; i++) {
		int s, asked = THREAD_ASKED;
		long left;

		while ((s = __atomic_load_n(&threads[i].state, __ATOMIC_ACQUIRE)) != THREAD_STOPPED &&
		       s != THREAD_GONE && (left = msleft(&end)) > 0) {
			struct timespec t = { left / 1000, (left % 1000) * 1000000L };

			futex(&threads[i].state, FUTEX_WAIT_PRIVATE, s, &t);
		}
		/* Too late: a handler that starts now finds it not asked. */
		if (s != THREAD_STOPPED && s != THREAD_GONE &&
		    !__atomic_compare_exchange_n(&threads[i].state, &asked, THREAD_SILENT, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
		    asked == THREAD_TAKING)
			threads[i].state = THREAD_SILENT;	/* still unwinding: not read */
	}
	return n;
}

void thawthreads(void)
{
	__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
	futex(&released, FUTEX_WAKE_PRIVATE, INT_MAX, 0);
}
