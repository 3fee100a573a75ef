/* SPDX-License-Identifier: MIT */
/*
 * g.c - per-thread records (struct g), the allgs registry, and the pool
 * deferred-call records come from.
 *
 * A thread gets its g the first time it defers.  Every g is linked into
 * allgs for good: debuggers walk that list instead of thread-local storage,
 * which they cannot always read (cores, gdbserver, static-pie).  When a
 * thread ends its g is marked dead and its pool freed; the next new thread
 * reuses it, so thread churn does not grow the list.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include "runtime.h"

extern const char __defer_gdb_autoload[];	/* gdb_autoload.c */

__thread struct defer_tls __defer_tls __attribute__((tls_model("initial-exec")));
struct g *volatile allgs;

static pthread_mutex_t allglock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t gkey;
static pthread_once_t gonce = PTHREAD_ONCE_INIT;

/* Records are carved from chunks; a chunk is freed only with its thread. */
#define CHUNK 64
struct chunk {
	struct chunk *next;
	struct _defer d[CHUNK];
};

static void freechunks(struct g *g)
{
	struct chunk *c = g->chunks, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	g->chunks = NULL;
	g->pool = NULL;
}

/*
 * A thread that ended with calls pending was ended by pthread_exit or a
 * cancellation whose unwinding ran no cleanups: code built without
 * -fexceptions (glibc's forced unwinding runs __attribute__((cleanup)),
 * and so deferreturn, only in code built with it); or its start routine
 * returned after a longjmp or a C++ exception left deferring frames of
 * such code (stale.c).  Their frames are gone:
 * the calls cannot run now.  Said once per process: the program does it
 * the same way every time.
 */
/* Whether d can be a record of g: built into a mark on g's stack
 * [lo, hi), or one of its pool's chunks; and aligned as records are. */
int ownrecord(const struct g *g, const struct _defer *d, uintptr_t lo, uintptr_t hi)
{
	uintptr_t a = (uintptr_t)d;

	if (a % _Alignof(struct _defer))
		return 0;
	if (a - lo < hi - lo && hi - a >= sizeof *d)
		return 1;
	for (const struct chunk *c = g->chunks; c; c = c->next)
		if (a >= (uintptr_t)c->d && a < (uintptr_t)(c->d + CHUNK))
			return (a - (uintptr_t)c->d) % sizeof *d == 0;
	return 0;
}

static void lostcalls(const struct g *g)
{
	/* Static: the frames the unwinding skipped may have left
	 * AddressSanitizer's redzones on this stack; and only the one thread
	 * that wins `said` writes it. */
	static char line[256];
	static int said;
	long n = 0;
	int k, more = 0;
	/* The records of the frames the unwinding left are in stack memory
	 * that this destructor's frames, and every call made from here, may
	 * reuse: so the walk comes first, calls nothing, and follows a link
	 * only to where a record of this thread can be (its stack, as newg
	 * found it, or its chunks).  A clobbered link ends the count instead
	 * of the process. */
	uintptr_t lo = g->stacklo, hi = g->stackhi;

	if (!g->_defer || __atomic_load_n(&said, __ATOMIC_RELAXED))
		return;
	for (const struct _defer *d = g->_defer; d && n < 1000000; d = d->link) {
		if (!ownrecord(g, d, lo, hi)) {
			more = 1;
			break;
		}
		n++;
	}
	if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	k = snprintf(line, sizeof line,
		     "libdefer: thread %d ended with %s%ld deferred call(s) pending: not run "
		     "(pthread_exit, cancellation, longjmp or a C++ exception crossed a "
		     "defer_frame built without -fexceptions)\n",
		     g->tid, more ? "at least " : "", n + more);
	if (write(2, line, (size_t)k) < 0)
		return;
}

/* Thread exit.  Pending records cannot survive their thread: the stack
 * frames that own them are gone. */
static void gexit(void *arg)
{
	struct g *g = arg;

	lostcalls(g);
	overflow_thread_exit(g->altstack);
	pthread_mutex_lock(&allglock);
	g->altstack = NULL;
	g->_defer = NULL;
	g->_panic = NULL;
	freechunks(g);
	g->status = DEFER_G_DEAD;
	pthread_mutex_unlock(&allglock);
	__defer_tls.g = NULL;
}

/* In a fork child only the forking thread exists; its tid changed. */
static void gafterfork(void)
{
	struct g *g, *me = __defer_tls.g;

	for (g = allgs; g; g = g->alllink)
		if (g != me)
			g->status = DEFER_G_DEAD;
	if (me)
		me->tid = gettid();
	pthread_mutex_init(&allglock, NULL);
}

/*
 * The thread-exit key's destructor (gexit) and the SIGSEGV handler are
 * code of the object libdefer is part of: libdefer.so, or a plugin that
 * linked libdefer.a.  If a dlclose unloaded it, every later exit of a
 * thread that deferred would call into unmapped memory.  So the object
 * stays loaded for the life of the process once a thread has deferred
 * (libdefer.so is also linked -z nodelete); in the main program the
 * dlopen finds nothing to pin and does nothing.
 */
static void pin(void)
{
	Dl_info info;

	if (dladdr((void *)pin, &info) && info.dli_fname && *info.dli_fname)
		dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

static void ginit(void)
{
	/* Keep, in statically linked programs, the offsets table (tools read
	 * stripped binaries through it) and gdb's auto-load entry. */
	__asm__ volatile("" ::"r"(&_defer_debug_offsets), "r"(__defer_gdb_autoload));
	if (pthread_key_create(&gkey, gexit) != 0)
		throw("cannot create the thread-exit key");
	pthread_atfork(NULL, NULL, gafterfork);
	overflow_init();
	pin();
}

/* The bottom of the calling thread's stack (with its guard) and its end,
 * or 0 and 0. */
static uintptr_t stackbounds(uintptr_t *hi)
{
	pthread_attr_t a;
	void *lo = 0;
	size_t size = 0;

	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		if (pthread_attr_getstack(&a, &lo, &size))
			lo = 0, size = 0;
		pthread_attr_destroy(&a);
	}
	*hi = (uintptr_t)lo + size;
	return (uintptr_t)lo;
}

/*
 * Signals are blocked while a g is made: a handler that defers would
 * otherwise find no g yet and wait for allglock, which its own thread holds.
 */
static struct g *newg(void)
{
	struct g *g;
	sigset_t all, old;
	uintptr_t lo, hi;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	lo = stackbounds(&hi);
	pthread_once(&gonce, ginit);
	pthread_mutex_lock(&allglock);
	for (g = allgs; g && g->status != DEFER_G_DEAD; g = g->alllink)
		;
	if (!g) {
		/* The history ring comes with the g (history.c): a recovery,
		 * maybe in a signal handler, must not allocate. */
		g = calloc(1, sizeof *g + DEFER_HISTORY * sizeof(struct defer_recovered));
		if (!g) {
			pthread_mutex_unlock(&allglock);
			pthread_sigmask(SIG_SETMASK, &old, 0);
			throw("out of memory for a thread record");
		}
		g->hist = (struct defer_recovered *)(g + 1);
		g->histcap = DEFER_HISTORY;
		g->alllink = allgs;
		allgs = g;
	} else {
		/* A dead thread's g: the new thread's history starts empty. */
		g->recovered = 0;
		memset(g->hist, 0, g->histcap * sizeof *g->hist);
	}
	g->tid = gettid();
	g->stacklo = lo;
	g->stackhi = hi;
	memset(g->name, 0, sizeof g->name);
	prctl(PR_GET_NAME, g->name);
	g->status = DEFER_G_RUNNING;
	pthread_mutex_unlock(&allglock);
	g->altstack = overflow_thread();
	pthread_setspecific(gkey, g);
	__defer_tls.g = g;
	pthread_sigmask(SIG_SETMASK, &old, 0);
	return g;
}

struct g *getg(void)
{
	struct g *g = __defer_tls.g;

	return g ? g : newg();
}

/*
 * Called by deferproc when the pool is empty.  Signals are blocked: a
 * handler that defers would otherwise find the pool half built, or call
 * malloc inside our malloc.
 */
void __defer_refill(void)
{
	struct g *g = getg();
	struct chunk *c;
	sigset_t all, old;

	if (g->pool)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	c = malloc(sizeof *c);
	if (!c)
		throw("out of memory for deferred calls");
	c->next = g->chunks;
	g->chunks = c;
	for (int i = CHUNK - 1; i >= 0; i--) {
		c->d[i]._panic = NULL;	/* see freedefer */
		c->d[i].link = g->pool;
		g->pool = &c->d[i];
	}
	pthread_sigmask(SIG_SETMASK, &old, 0);
}

/*
 * A record a panic or defer_goexit ran goes back with _panic cleared, so
 * that every pool record holds 0 there (docs/abi.md) and deferproc's pool
 * path needs no store for it; deferreturn's records never had one.  A
 * record built into a defer_mark goes back to nobody, but its frame may
 * defer into it again (a defer_frame in a loop): cleared too.
 */
void freedefer(struct g *g, struct _defer *d)
{
	d->_panic = NULL;
	if (!d->heap)
		return;
	d->link = g->pool;
	g->pool = d;
}

void (*const __defer_deferproc)(void) = deferproc;
void (*const __defer_deferproc_tls)(void) = deferproc_tls;
