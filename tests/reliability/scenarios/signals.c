/* SPDX-License-Identifier: MIT */
/*
 * signals.c - signal handlers that defer, interrupting code that defers,
 * and fork() with calls pending.
 *
 *	signals handler   a timer signal handler defers and runs calls
 *	                  while the main loop defers in pool records
 *	signals fork      fork with calls pending; the child runs its copies,
 *	                  the parent its own
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <defer.h>

static volatile long handler_ran, handler_calls;
static long main_ran;

static void hcount(long *n) { (*n)++; }
static void mcount(void) { main_ran++; }

static void on_alarm(int sig)
{
	long n = 0;
	(void)sig;
	{
		defer_frame;
		for (int i = 0; i < 3; i++)
			defer(hcount, &n);
	}
	handler_ran += n;
	handler_calls++;
}

static void burst(void)
{
	defer_frame;
	for (int i = 0; i < 32; i++)
		defer(mcount);
}

static void say(const char *who, const char *what) { printf("%s: %s\n", who, what); fflush(stdout); }

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "handler")) {
		struct sigaction sa = { .sa_handler = on_alarm };
		struct itimerval it = { { 0, 50 }, { 0, 50 } };
		sigaction(SIGALRM, &sa, 0);
		setitimer(ITIMER_REAL, &it, 0);
		long rounds = 0;
		while (handler_calls < 2000 && rounds < 50000000) {
			burst();
			rounds++;
		}
		struct itimerval off = { 0 };
		setitimer(ITIMER_REAL, &off, 0);
		printf("handler calls=%ld (3 each: %s) main calls=%ld (32 each: %s) chain empty=%d\n",
		       handler_calls, handler_ran == 3 * handler_calls ? "ok" : "BAD", main_ran,
		       main_ran == 32 * rounds ? "ok" : "BAD", __defer_tls.g->_defer == 0);
		return !(handler_ran == 3 * handler_calls && main_ran == 32 * rounds);
	}
	if (!strcmp(c, "fork")) {
		defer_frame;
		defer(say, "parent or child", "first deferred");
		pid_t pid = fork();
		const char *who = pid == 0 ? "child" : "parent";
		defer(say, who, "second deferred");
		if (pid == 0) {
			int live = 0;
			for (struct g *g = allgs; g; g = g->alllink)
				live += g->status == DEFER_G_RUNNING;
			printf("child: allgs live=%d tid matches=%d\n", live,
			       __defer_tls.g->tid == gettid());
			fflush(stdout);
			return 0;
		}
		waitpid(pid, 0, 0);
		return 0;
	}
	return 2;
}
