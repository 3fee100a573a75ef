/* SPDX-License-Identifier: MIT */
/* Every thread has its own chain; argv[1] picks the case. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

static pthread_barrier_t ready;
static volatile int other_ran;

static void mark_other(const char *who) { other_ran = 1; printf("%s deferred call ran\n", who); }
static void say(const char *s) { printf("%s\n", s); fflush(stdout); }

/* Holds a pending call while main panics. */
static void *holder(void *arg)
{
	(void)arg;
	defer_frame;
	defer(mark_other, "holder");
	pthread_barrier_wait(&ready);
	pause();
	return 0;
}

static void try_recover(void)
{
	printf("inner: recover() during goexit = %s\n", recover() ? "value" : "NULL");
}
static void inner_exit(void)
{
	defer_frame;
	defer(try_recover);
	defer_goexit();           /* runs the calls of every frame, innermost first */
	say("inner_exit: not reached");
}
static void *exiter(void *arg)
{
	(void)arg;
	defer_frame;
	defer(say, "exiter: first deferred");
	defer(say, "exiter: second deferred");
	inner_exit();
	say("exiter: not reached");
	return 0;
}

/* defer_goexit in a call a panic runs: the panic is aborted, not fatal,
 * and the thread's remaining calls run. */
static void exit_in_defer(void) { defer_goexit(); }
static void *panicking_exiter(void *arg)
{
	(void)arg;
	defer_frame;
	defer(say, "panicking_exiter: older deferred call");
	defer(exit_in_defer);
	panic("never reported");
	return 0;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	defer_frame;
	for (int i = 0; i < 1000; i++) {
		defer_frame;
		defer(printf, "%s", "");
	}
	defer(printf, "worker %ld done\n", id);
	return 0;
}

/* allgs lists every thread that deferred, by kernel tid. */
static int in_allgs(pid_t tid)
{
	for (struct g *g = allgs; g; g = g->alllink)
		if (g->tid == tid && g->status == DEFER_G_RUNNING)
			return 1;
	return 0;
}

static void *registrar(void *arg)
{
	defer_frame;
	defer(say, "registrar: deferred");
	*(int *)arg = in_allgs(gettid());
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	pthread_t t;

	if (!strcmp(c, "isolation")) {
		pthread_barrier_init(&ready, 0, 2);
		pthread_create(&t, 0, holder, 0);
		pthread_barrier_wait(&ready);
		defer_frame;
		defer(say, "main deferred call ran");
		panic("main panics");
	} else if (!strcmp(c, "goexit")) {
		pthread_create(&t, 0, exiter, 0);
		pthread_join(t, 0);
		say("main: joined exiter");
		pthread_create(&t, 0, panicking_exiter, 0);
		pthread_join(t, 0);
		say("main: joined panicking_exiter");
	} else if (!strcmp(c, "many")) {
		pthread_t ts[8];
		for (long i = 0; i < 8; i++)
			pthread_create(&ts[i], 0, worker, (void *)i);
		for (int i = 0; i < 8; i++)
			pthread_join(ts[i], 0);
		say("main: all joined");
	} else if (!strcmp(c, "allgs")) {
		int found = 0;
		pthread_create(&t, 0, registrar, &found);
		pthread_join(t, 0);
		printf("registrar found itself in allgs: %d\n", found);
		int dead = 0;
		for (struct g *g = allgs; g; g = g->alllink)
			dead += g->status == DEFER_G_DEAD;
		printf("dead entries after join: %d\n", dead);
	}
	return 0;
}
