/* SPDX-License-Identifier: MIT */
/*
 * stress.c - many threads deferring, panicking at random depths, recovering
 * at random depths, with nested panics; every thread checks its own books.
 *
 *	stress THREADS DEFERS PANICS
 *
 * Each thread does DEFERS deferred calls in batches and PANICS panics.  A
 * panic is raised at a random depth below a recovering frame placed at a
 * random depth; one panic in eight panics again inside a deferred call
 * (nested), which the same frame recovers.  At the end each thread checks
 * that every deferred call ran exactly once, every panic was recovered, and
 * its chain is empty.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <defer.h>

struct books { long deferred, ran, panics, recovered; unsigned seed; };

static void ran(struct books *b) { b->ran++; }

static void catch(struct books *b)
{
	if (recover())
		b->recovered++;
}

static void panic_again(struct books *b)
{
	b->ran++;
	panic("nested %ld", b->panics);
}

static void descend(struct books *b, int depth, int nested)
{
	defer_frame;
	b->deferred++;
	defer(ran, b);
	if (depth > 0) {
		descend(b, depth - 1, nested);
		return;
	}
	if (nested) {
		b->deferred++;
		defer(panic_again, b);
	}
	panic("bottom %ld", b->panics);
}

/* The recovering frame, itself some frames down. */
static void recovering(struct books *b, int above, int below, int nested)
{
	defer_frame;
	if (above > 0) {
		b->deferred++;
		defer(ran, b);
		recovering(b, above - 1, below, nested);
		return;
	}
	defer_result();
	defer(catch, b);
	b->panics++;
	descend(b, below, nested);
}

static void batch(struct books *b, int n)
{
	defer_frame;
	for (int i = 0; i < n; i++)
		defer(ran, b);
	b->deferred += n;
}

static long per_thread_defers, per_thread_panics;
static int failed;

static void *work(void *arg)
{
	struct books b = { .seed = (unsigned)(long)arg * 2654435761u };
	long panics = 0;

	while (b.deferred < per_thread_defers || panics < per_thread_panics) {
		if (b.deferred < per_thread_defers)
			batch(&b, 1 + rand_r(&b.seed) % 64);
		if (panics < per_thread_panics) {
			recovering(&b, rand_r(&b.seed) % 8, rand_r(&b.seed) % 16,
				   rand_r(&b.seed) % 8 == 0);
			panics++;
		}
	}
	/* A nested panic's second panic is recovered in its place: one
	 * recovery per panic raised by `recovering`. */
	if (b.ran != b.deferred || b.recovered != b.panics || __defer_tls.g->_defer) {
		fprintf(stderr, "thread %ld: deferred %ld ran %ld panics %ld recovered %ld chain %p\n",
			(long)arg, b.deferred, b.ran, b.panics, b.recovered,
			(void *)__defer_tls.g->_defer);
		__atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
	}
	return (void *)b.ran;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 64;
	per_thread_defers = argc > 2 ? atol(argv[2]) : 1000000;
	per_thread_panics = argc > 3 ? atol(argv[3]) : 10000;
	pthread_t *t = calloc(nthreads, sizeof *t);
	long total = 0;
	void *r;

	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], 0, work, (void *)i)) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], &r);
		total += (long)r;
	}
	int live = 0, dead = 0;
	for (struct g *g = allgs; g; g = g->alllink)
		g->status == DEFER_G_DEAD ? dead++ : live++;
	printf("threads=%d deferred calls run=%ld failed=%d allgs live=%d dead=%d\n",
	       nthreads, total, failed, live, dead);
	free(t);
	return failed;
}
