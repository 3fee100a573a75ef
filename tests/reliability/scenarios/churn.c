/* SPDX-License-Identifier: MIT */
/*
 * churn.c - threads come and go, each deferring: memory and allgs stay flat.
 *
 *	churn TOTAL CONCURRENT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <defer.h>

static void nothing(int *x) { (*x)++; }

static void *work(void *arg)
{
	int n = 0;
	(void)arg;
	{
		defer_frame;
		for (int i = 0; i < 100; i++)
			defer(nothing, &n);      /* pool records, freed at exit */
	}
	return (void *)(long)n;
}

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv)
{
	int total = argc > 1 ? atoi(argv[1]) : 10000;
	int conc = argc > 2 ? atoi(argv[2]) : 8;
	pthread_t t[64];
	long after_first = 0, ran = 0;
	void *r;

	for (int done = 0; done < total; done += conc) {
		for (int i = 0; i < conc; i++)
			pthread_create(&t[i], 0, work, 0);
		for (int i = 0; i < conc; i++) {
			pthread_join(t[i], &r);
			ran += (long)r;
		}
		if (done == 10 * conc)
			after_first = rss_kb();
	}
	int entries = 0;
	for (struct g *g = allgs; g; g = g->alllink)
		entries++;
	printf("threads=%d ran=%ld allgs entries=%d rss after %d threads=%ld kB, at the end=%ld kB\n",
	       total, ran, entries, 11 * conc, after_first, rss_kb());
	return 0;
}
