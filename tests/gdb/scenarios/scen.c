/* SPDX-License-Identifier: MIT */
/*
 * scen.c - scenario program for the gdb extension's tests.
 *
 *   scen basic          nested frames with deferred calls of every argument kind,
 *                       stops in checkpoint()
 *   scen threads N M    N worker threads with M pending calls each, plus a
 *                       thread that never deferred; main stops in checkpoint()
 *   scen many N         N pending calls in one frame
 *   scen panic          nested panics: checkpoint() runs inside a deferred call
 *                       of the second panic
 *   scen fatal          unrecovered nested panic (DEFER_TRACEBACK=crash: a core)
 *   scen recover        a recovered panic, then checkpoint()
 *   scen nodefer        never defers at all
 *   scen sleep N M      like threads, but main waits (for `attach`) forever
 *   scen exited         a thread deferred, ran its calls and ended before
 *                       checkpoint()
 *   scen fatal          also leaves 2 worker threads with 3 pending calls each
 *   scen goexit         a thread ends with defer_goexit(); checkpoint() runs in
 *                       one of the calls it runs
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

struct conn {
	int fd;
	const char *peer;
};

volatile int sink;

__attribute__((noinline)) void checkpoint(const char *why)
{
	sink += (int)strlen(why);
}

__attribute__((noinline)) void release(int id, const char *what)
{
	sink += id + (int)strlen(what);
}

__attribute__((noinline)) void scale(double factor, float ratio, long count)
{
	sink += (int)(factor * ratio) + (int)count;
}

__attribute__((noinline)) void close_conn(struct conn *c, unsigned char flags, _Bool force)
{
	sink += c->fd + flags + force;
}

__attribute__((noinline)) void note(void)
{
	sink++;
}

__attribute__((noinline)) void step_many(long i)
{
	sink += (int)i;
}

__attribute__((noinline)) void inner(struct conn *c)
{
	defer_frame;
	defer(close_conn, c, (unsigned char)3, (_Bool)1);
	defer(printf, "%s=%d\n", "inner", 42);
	checkpoint("basic");
}

__attribute__((noinline)) void outer(int id)
{
	defer_frame;
	static struct conn conn = { 7, "10.0.0.1" };
	FILE *f = fopen("/dev/null", "r");

	defer(fclose, f);
	defer(release, id, "outer");
	defer(scale, 2.5, 0.5f, -3L);
	defer(note);
	inner(&conn);
}

/* ---- threads ---- */
static pthread_barrier_t ready, done;
static int per_thread;

__attribute__((noinline)) void worker_hold(long n)
{
	defer_frame;
	for (long i = 0; i < n; i++)
		defer(step_many, i);
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&done);
}

static void *worker(void *arg)
{
	(void)arg;
	worker_hold(per_thread);
	return 0;
}

static void *idle(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&done);
	return 0;
}

static void start_workers(int n, int m, pthread_t *t, pthread_t *it)
{
	per_thread = m;
	pthread_barrier_init(&ready, 0, n + 2);
	pthread_barrier_init(&done, 0, n + 2);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], 0, worker, 0);
	pthread_create(it, 0, idle, 0);
	pthread_barrier_wait(&ready);
}

__attribute__((noinline)) void wait_forever(void)
{
	defer_frame;
	defer(release, 7, "sleeper");
	for (;;)
		pause();
}

static void *exiting(void *arg)
{
	defer_frame;
	(void)arg;
	defer(release, 3, "gone");
	return 0;
}

__attribute__((noinline)) void in_goexit(int step)
{
	sink += step;
	checkpoint("goexit");
}

__attribute__((noinline)) void leave_early(void)
{
	defer_frame;
	defer(release, 9, "goexit-outer");
	defer(in_goexit, 1);
	defer_goexit();
}

static void *goexiting(void *arg)
{
	(void)arg;
	leave_early();
	return 0;
}

static void threads(int n, int m)
{
	pthread_t t[1024];
	pthread_t it;

	per_thread = m;
	pthread_barrier_init(&ready, 0, n + 2);
	pthread_barrier_init(&done, 0, n + 2);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], 0, worker, 0);
	pthread_create(&it, 0, idle, 0);
	pthread_barrier_wait(&ready);
	{
		defer_frame;
		defer(release, -1, "main");
		checkpoint("threads");
	}
	pthread_barrier_wait(&done);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], 0);
	pthread_join(it, 0);
}

__attribute__((noinline)) void many(long n)
{
	defer_frame;
	for (long i = 0; i < n; i++)
		defer(step_many, i);
	checkpoint("many");
}

/* ---- panics ---- */
static int error_object = 99;

__attribute__((noinline)) void in_second(void)
{
	checkpoint("panic");
}

__attribute__((noinline)) void repanic(int level)
{
	panic("second panic, level %d", level);
	sink++; /* not a tail call: the raise site stays in repanic at -O2 */
}

__attribute__((noinline)) void recoverer(int *status)
{
	const struct _panic *p = recover();
	if (p)
		*status = 500;
}

__attribute__((noinline)) void panicky(int fatal)
{
	defer_frame;
	defer(release, 1, "after-panics");
	if (!fatal)
		defer(in_second);
	defer(repanic, 2);
	panic_value(&error_object, "first panic: %s", "boom");
}

__attribute__((noinline)) int guarded(int fatal)
{
	int status = 200;
	defer_frame;
	defer_result(status);
	if (!fatal)
		defer(recoverer, &status);
	panicky(fatal);
	return status;
}

__attribute__((noinline)) int recovered(void)
{
	int status = 200;
	defer_frame;
	defer_result(status);
	defer(recoverer, &status);
	panic("will be recovered");
	return status;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";

	setvbuf(stdout, 0, _IONBF, 0);
	if (!strcmp(mode, "basic")) {
		outer(5);
	} else if (!strcmp(mode, "threads")) {
		threads(argc > 2 ? atoi(argv[2]) : 3, argc > 3 ? atoi(argv[3]) : 2);
	} else if (!strcmp(mode, "many")) {
		many(argc > 2 ? atol(argv[2]) : 1000);
	} else if (!strcmp(mode, "panic")) {
		printf("status %d\n", guarded(0));
	} else if (!strcmp(mode, "fatal")) {
		pthread_t t[2], it;
		start_workers(2, 3, t, &it);
		guarded(1);
	} else if (!strcmp(mode, "goexit")) {
		pthread_t t;
		pthread_create(&t, 0, goexiting, 0);
		pthread_join(t, 0);
	} else if (!strcmp(mode, "sleep")) {
		pthread_t t[1024], it;
		start_workers(argc > 2 ? atoi(argv[2]) : 2, argc > 3 ? atoi(argv[3]) : 2, t, &it);
		printf("ready %d\n", (int)getpid());
		wait_forever();
	} else if (!strcmp(mode, "exited")) {
		pthread_t t;
		pthread_create(&t, 0, exiting, 0);
		pthread_join(t, 0);
		checkpoint("exited");
	} else if (!strcmp(mode, "recover")) {
		printf("status %d\n", recovered());
		checkpoint("recover");
	} else if (!strcmp(mode, "nodefer")) {
		checkpoint("nodefer");
	}
	return 0;
}
