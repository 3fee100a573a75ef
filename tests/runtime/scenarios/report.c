/* SPDX-License-Identifier: MIT */
/*
 * The crash report's content (tests/runtime/test_crash_report.py): which
 * frames it names, where, folded how.  Lines the test looks for carry a
 * marker comment, `@name`, that the test finds in this file.
 *
 *	report nested       a deferred call panics while a panic runs it
 *	report repanic      a deferred call recovers and re-raises: defer_repanic(p)
 *	report samevalue    the same, spelled panic_value(p->arg, "%s", p->msg)
 *	report other        a deferred call recovers and raises another panic
 *	report threads      two more threads wait with calls pending; main panics
 *	report goexit       a call that defer_goexit runs panics
 *	report badunwind    as threads, with one worker, and a third thread
 *	                    whose unwind table gives a garbage return address
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

static int err_code = 423;

static void flush(const char *what)
{
	panic("flush: %s: disk full", what);	/* @flush */
}

static void note(const char *what) { printf("note: %s\n", what); }

static void commit(int txn)
{
	defer_frame;
	defer(note, "table lock");
	defer(flush, "journal");		/* @deferflush */
	panic("commit: transaction %d conflicts", txn);	/* @commit */
}

static void rethrow(void)
{
	const struct _panic *p = recover();

	if (p) {
		printf("rethrow: %s\n", p->msg);
		defer_repanic(p);		/* @repanic */
	}
}

static void rethrow_value(void)
{
	const struct _panic *p = recover();

	if (p)
		panic_value(p->arg, "%s", p->msg);
}

static void throw_other(void)
{
	if (recover())
		panic("cleanup failed");
}

static void guarded(void (*handler)(void))
{
	defer_frame;
	defer(handler);				/* @deferhandler */
	panic_value(&err_code, "locked: code %d", err_code);	/* @locked */
}

/* A thread that waits, reading a pipe nobody writes, with a call pending. */
static int fds[2];
static pthread_barrier_t ready;

static void unlock(const char *what) { printf("unlock %s\n", what); }

static void serve(int n)
{
	char c;

	defer_frame;
	defer(unlock, "queue");			/* @deferunlock */
	pthread_barrier_wait(&ready);
	if (read(fds[0], &c, 1) < 0 || n < 0)	/* @read */
		return;
}

static void *worker(void *arg)
{
	serve((int)(long)arg);			/* @serve */
	return 0;
}

/* Spins where its unwind table says the return address is a word holding
 * 0x1008 (unmapped): an unwinder that reaches it looks for a table there,
 * finds none, and reads the instruction at 0x1008 (libgcc's signal-frame
 * fallback does).  It stores 1 to *arg first, once the table holds. */
void badcfi_spin(volatile int *arg);
#if defined(__x86_64__)
__asm__(".text\n.globl badcfi_spin\n.type badcfi_spin, @function\nbadcfi_spin:\n"
	".cfi_startproc\n"
	"\tpushq $0x1008\n"
	".cfi_adjust_cfa_offset 8\n"
	".cfi_offset 16, -16\n"	/* 16: the return-address column */
	"\tmovl $1, (%rdi)\n"
	"1:\tpause\n\tjmp 1b\n"
	".cfi_endproc\n.size badcfi_spin, .-badcfi_spin\n");
#elif defined(__aarch64__)
__asm__(".text\n.globl badcfi_spin\n.type badcfi_spin, %function\nbadcfi_spin:\n"
	".cfi_startproc\n"
	"\tmov x9, #0x1008\n"
	"\tstp x9, x9, [sp, #-16]!\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset 30, -16\n"	/* x30: the return-address column */
	"\tmov w10, #1\n\tstr w10, [x0]\n"
	"1:\tyield\n\tb 1b\n"
	".cfi_endproc\n.size badcfi_spin, .-badcfi_spin\n");
#endif

static volatile int spinning;

static void *spinner(void *arg)
{
	badcfi_spin(&spinning);
	return arg;
}

static void leave(void)
{
	defer_frame;
	defer(flush, "goexit");			/* @deferleave */
	defer_goexit();				/* @goexit */
}

static void *leaver(void *arg)
{
	leave();
	return arg;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "nested";

	setvbuf(stdout, 0, _IONBF, 0);
	if (!strcmp(mode, "nested")) {
		commit(17);			/* @main */
	} else if (!strcmp(mode, "repanic")) {
		guarded(rethrow);
	} else if (!strcmp(mode, "samevalue")) {
		guarded(rethrow_value);
	} else if (!strcmp(mode, "other")) {
		guarded(throw_other);
	} else if (!strcmp(mode, "threads")) {
		pthread_t t[2];

		if (pipe(fds))
			return 1;
		pthread_barrier_init(&ready, 0, 3);
		for (long i = 0; i < 2; i++) {
			char name[16];

			pthread_create(&t[i], 0, worker, (void *)i);
			snprintf(name, sizeof name, "server-%ld", i);
			pthread_setname_np(t[i], name);
		}
		pthread_barrier_wait(&ready);
		commit(18);
	} else if (!strcmp(mode, "badunwind")) {
		pthread_t t[2];

		if (pipe(fds))
			return 1;
		pthread_barrier_init(&ready, 0, 2);
		pthread_create(&t[0], 0, worker, 0);
		pthread_setname_np(t[0], "server-0");
		pthread_create(&t[1], 0, spinner, 0);
		pthread_setname_np(t[1], "spinner");
		pthread_barrier_wait(&ready);
		while (!spinning)
			sched_yield();
		commit(19);
	} else if (!strcmp(mode, "goexit")) {
		pthread_t t;

		pthread_create(&t, 0, leaver, 0);
		pthread_join(t, 0);
	}
	return 0;
}
