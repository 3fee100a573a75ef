/* SPDX-License-Identifier: MIT */
/*
 * engine.c - an engine with worker threads.  Each worker takes jobs from a
 * queue; every lock is released and every resource returned by a deferred
 * call, so a job that panics cannot leave the queue locked.  A panicking
 * job is recovered by the worker and counted as failed.
 *
 *	engine [JOBS] [--hold]   --hold: each worker parks in a job with
 *	                         calls pending (for the debugger demo) until
 *	                         SIGINT
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

#define WORKERS 3

struct engine {
	const char *name;
	pthread_mutex_t mu;
	int next, jobs, done, failed;
	int running;
};

struct buffer { char *data; size_t len; };

static int hold, stop;
static pthread_barrier_t parked;
static pthread_mutex_t stopmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stopcv = PTHREAD_COND_INITIALIZER;

static void engine_stop(struct engine *e)
{
	pthread_mutex_lock(&e->mu);
	e->running = 0;
	pthread_mutex_unlock(&e->mu);
	printf("engine %s stopped: %d done, %d failed\n", e->name, e->done, e->failed);
}

static void buffer_free(struct buffer *b, const char *why)
{
	free(b->data);
	b->data = 0;
	(void)why;
}

static void count_failure(struct engine *e, int job)
{
	const struct _panic *p = recover();
	if (!p)
		return;
	pthread_mutex_lock(&e->mu);
	e->failed++;
	pthread_mutex_unlock(&e->mu);
	printf("job %d failed: %s\n", job, p->msg);
}

/* Job 7 is poisoned: it panics while holding a buffer. */
static void render(struct engine *e, int job, struct buffer *out)
{
	defer_frame;
	out->data = malloc(64);
	out->len = (size_t)snprintf(out->data, 64, "job %d of %s", job, e->name);
	if (job == 7)
		panic("render: corrupt input in job %d", job);
	if (hold) {
		pthread_barrier_wait(&parked);  /* every worker is here, calls pending */
		pthread_mutex_lock(&stopmu);
		while (!stop)
			pthread_cond_wait(&stopcv, &stopmu);
		pthread_mutex_unlock(&stopmu);
	}
}

static void run_job(struct engine *e, int job)
{
	struct buffer out = { 0, 0 };
	defer_frame;
	defer(count_failure, e, job);
	defer(buffer_free, &out, "job done");
	render(e, job, &out);
	pthread_mutex_lock(&e->mu);
	e->done++;
	pthread_mutex_unlock(&e->mu);
}

static int take(struct engine *e)
{
	defer_frame;
	pthread_mutex_lock(&e->mu);
	defer(pthread_mutex_unlock, &e->mu);
	if (e->next >= e->jobs)
		return -1;
	return e->next++;
}

struct worker { struct engine *e; int id; };

static void *worker(void *arg)
{
	struct worker *w = arg;
	int job;
	defer_frame;
	defer(printf, "worker %d exits\n", w->id);
	while ((job = take(w->e)) >= 0)
		run_job(w->e, job);
	return 0;
}

/* Where the debugger demo stops: every worker is parked in render(). */
__attribute__((noinline)) void engine_parked(void)
{
	__asm__ volatile("");
}

int main(int argc, char **argv)
{
	struct engine e = { .name = "main", .mu = PTHREAD_MUTEX_INITIALIZER, .running = 1 };
	pthread_t t[WORKERS];
	struct worker w[WORKERS];
	char name[16];

	e.jobs = argc > 1 ? atoi(argv[1]) : 12;
	hold = argc > 2 && !strcmp(argv[2], "--hold");
	sigset_t sigint;
	sigemptyset(&sigint);
	sigaddset(&sigint, SIGINT);
	if (hold) {
		e.jobs = WORKERS;           /* one parked job per worker */
		pthread_sigmask(SIG_BLOCK, &sigint, 0);  /* main takes it with sigwait */
		pthread_barrier_init(&parked, 0, WORKERS + 1);
	}
	defer_frame;
	defer(engine_stop, &e);
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ &e, i };
		pthread_create(&t[i], 0, worker, &w[i]);
		snprintf(name, sizeof name, "worker-%d", i);
		pthread_setname_np(t[i], name);
	}
	if (hold) {
		pthread_barrier_wait(&parked);
		printf("engine: %d workers parked with deferred calls pending\n", WORKERS);
		fflush(stdout);
		engine_parked();
		int sig;
		sigwait(&sigint, &sig);
		pthread_mutex_lock(&stopmu);
		stop = 1;
		pthread_cond_broadcast(&stopcv);
		pthread_mutex_unlock(&stopmu);
	}
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], 0);
	return 0;
}
