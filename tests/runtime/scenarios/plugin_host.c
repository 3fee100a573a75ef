/* SPDX-License-Identifier: MIT */
/* Loads argv[1] (plugin.c), has a thread defer through it, unloads it,
 * and only then lets that thread end: its exit must not call into the
 * unloaded library.  Not linked with libdefer itself. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static pthread_barrier_t worked, closed;
static void (*work)(void);

static void *worker(void *arg)
{
	(void)arg;
	work();
	pthread_barrier_wait(&worked);
	pthread_barrier_wait(&closed);
	return 0;   /* thread-specific data destructors run now */
}

int main(int argc, char **argv)
{
	pthread_t t;
	void *h;

	if (argc < 2 || !(h = dlopen(argv[1], RTLD_NOW))) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	work = (void (*)(void))dlsym(h, "plugin_work");
	pthread_barrier_init(&worked, 0, 2);
	pthread_barrier_init(&closed, 0, 2);
	pthread_create(&t, 0, worker, 0);
	pthread_barrier_wait(&worked);
	printf("dlclose: %d\n", dlclose(h));
	pthread_barrier_wait(&closed);
	pthread_join(t, 0);
	printf("host: done\n");
	return 0;
}
