/* SPDX-License-Identifier: MIT */
/*
 * step.c - scenarios for catchpoints, defer step, the TUI window and MI.
 *
 *   step normal     three calls deferred by one frame, run by its normal exit
 *   step panic      bottom panics; bottom's and middle's calls see it, top's
 *                   recovers it; top returns its defer_result
 *   step nested     a deferred call panics again; an outer frame recovers
 *   step threads    two threads defer three calls each at the same time
 *   step race       two threads defer and run calls in a loop; thread 1 calls
 *                   here() once
 *   step fatal      an unrecovered panic
 *   step sleepfatal prints "ready PID", sleeps 3 s (attach now), then panics
 *   step never      main never defers
 *   step exec [M]   execs itself in mode M (default `normal`)
 *   step plain      recovery without defer_result: resumes in the caller
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

volatile int sink;

__attribute__((noinline)) void here(const char *why)
{
	sink += (int)strlen(why);
}

__attribute__((noinline)) void first_call(int id)
{
	sink += id;                                  /* first_call body */
}

__attribute__((noinline)) void second_call(int id)
{
	sink += 2 * id;                              /* second_call body */
}

__attribute__((noinline)) void third_call(int id)
{
	sink += 3 * id;                              /* third_call body */
}

__attribute__((noinline)) void normal(int id)
{
	defer_frame;
	defer(first_call, id);
	defer(second_call, id);
	defer(third_call, id);
	here("normal");
}                                                    /* normal closing brace */

/* ---- panic through three frames ---- */
__attribute__((noinline)) void seen_bottom(int n)
{
	sink += n;                                   /* seen_bottom body */
}

__attribute__((noinline)) void seen_middle(int n)
{
	sink += n;                                   /* seen_middle body */
}

__attribute__((noinline)) void recover_it(int *status)
{
	const struct _panic *p = recover();          /* recover_it recover */
	if (p)
		*status = 500;
}

__attribute__((noinline)) void bottom(void)
{
	defer_frame;
	defer(seen_bottom, 1);
	panic("bottom failed: %d", 42);              /* bottom panic line */
	sink++;
}

__attribute__((noinline)) void middle(void)
{
	defer_frame;
	defer(seen_middle, 2);
	bottom();
	sink++;
}

__attribute__((noinline)) int top(void)
{
	int status = 200;
	defer_frame;
	defer_result(status);                        /* top resume line */
	defer(recover_it, &status);
	middle();
	return status;
}

/* ---- nested ---- */
__attribute__((noinline)) void panic_again(int n)
{
	panic("second panic %d", n);                 /* panic_again line */
	sink++;
}

__attribute__((noinline)) void inner_panics(void)
{
	defer_frame;
	defer(seen_bottom, 3);
	defer(panic_again, 2);
	panic("first panic");                        /* inner_panics line */
	sink++;
}

__attribute__((noinline)) int nested(void)
{
	int status = 200;
	defer_frame;
	defer_result(status);                        /* nested resume line */
	defer(recover_it, &status);
	inner_panics();
	return status;
}

/* ---- recovery without defer_result ---- */
__attribute__((noinline)) void plain_owner(int *status)
{
	defer_frame;
	defer(recover_it, status);
	panic("plain");
}

__attribute__((noinline)) int plain(void)
{
	int status = 200;
	plain_owner(&status);                        /* plain call line */
	return status;
}

/* ---- threads ---- */
static pthread_barrier_t both;

__attribute__((noinline)) void thread_calls(int id)
{
	defer_frame;
	defer(first_call, id);
	defer(second_call, id);
	defer(third_call, id);
	pthread_barrier_wait(&both);
	here("thread");
	pthread_barrier_wait(&both);
}

static void *thread_main(void *arg)
{
	thread_calls((int)(long)arg);
	return 0;
}

/* Both threads keep deferring and running calls, never waiting on each
 * other: other threads' events arrive all the time. */
static volatile int racing = 1;

static void *race_main(void *arg)
{
	int id = (int)(long)arg;
	for (long n = 0; racing; n++) {
		defer_frame;
		defer(first_call, id);
		defer(second_call, id);
		defer(third_call, id);
		if (id == 1 && n == 1000)
			here("race");
	}
	return 0;
}

/* ---- fatal ---- */
__attribute__((noinline)) void fatal(void)
{
	defer_frame;
	defer(seen_bottom, 9);
	panic("nobody recovers %s", "this");          /* fatal panic line */
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "normal";

	setvbuf(stdout, 0, _IONBF, 0);
	if (!strcmp(mode, "normal")) {
		normal(7);
		here("after normal");
	} else if (!strcmp(mode, "panic")) {
		printf("status %d\n", top());            /* main top call */
	} else if (!strcmp(mode, "nested")) {
		printf("status %d\n", nested());
	} else if (!strcmp(mode, "plain")) {
		printf("status %d\n", plain());
	} else if (!strcmp(mode, "threads")) {
		pthread_t a, b;
		pthread_barrier_init(&both, 0, 2);
		pthread_create(&a, 0, thread_main, (void *)1L);
		pthread_create(&b, 0, thread_main, (void *)2L);
		pthread_join(a, 0);
		pthread_join(b, 0);
	} else if (!strcmp(mode, "race")) {
		pthread_t a, b;
		pthread_create(&a, 0, race_main, (void *)1L);
		pthread_create(&b, 0, race_main, (void *)2L);
		sleep(2);
		racing = 0;
		pthread_join(a, 0);
		pthread_join(b, 0);
	} else if (!strcmp(mode, "fatal")) {
		fatal();
	} else if (!strcmp(mode, "sleepfatal")) {
		printf("ready %d\n", (int)getpid());
		sleep(3);
		fatal();
	} else if (!strcmp(mode, "never")) {
		here("never");
	} else if (!strcmp(mode, "exec")) {
		here("before exec");
		execl(argv[0], argv[0], argc > 2 ? argv[2] : "normal", (char *)0);
		return 1;
	}
	return 0;
}
