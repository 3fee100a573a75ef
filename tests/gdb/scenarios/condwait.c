/* SPDX-License-Identifier: MIT */
/* A worker blocks in pthread_cond_wait holding two pending deferred calls;
 * main stops at checkpoint() with one of its own. */
#include <pthread.h>
#include <stdio.h>
#include <defer.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int waiting, go;
volatile int sink;

__attribute__((noinline)) void release(int what) { sink += what; }
__attribute__((noinline)) void checkpoint(void) { sink++; }

static void *worker(void *arg)
{
	defer_frame;
	(void)arg;
	defer(release, 1);
	defer(pthread_mutex_unlock, &mu);
	pthread_mutex_lock(&mu);
	waiting = 1;
	pthread_cond_broadcast(&cv);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	return 0;
}

int main(void)
{
	pthread_t t;
	defer_frame;

	defer(release, 2);
	pthread_create(&t, 0, worker, 0);
	pthread_mutex_lock(&mu);
	while (!waiting)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	checkpoint();
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, 0);
	return 0;
}
