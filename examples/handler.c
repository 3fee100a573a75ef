/* SPDX-License-Identifier: MIT */
/*
 * handler.c - a request handler that turns a panic anywhere below it into
 * an error status, the way a Go HTTP server recovers a handler's panic.
 *
 *	handler PATH...   each PATH is one request
 */
#include <stdio.h>
#include <string.h>
#include <defer.h>

struct request { const char *path; int user; };
struct error { int status; const char *reason; };

static struct error not_found = { 404, "no such page" };

static void log_request(const struct request *rq, int *status)
{
	printf("%-12s -> %d\n", rq->path, *status);
}

/* Recover, and map the panic to a status: a panic_value carrying a
 * struct error keeps its status; anything else is a 500. */
static void to_status(int *status)
{
	const struct _panic *p = recover();
	if (!p)
		return;
	const struct error *e = p->arg;
	*status = e ? e->status : 500;
	fprintf(stderr, "recovered: %s\n", p->msg);
}

static const char *lookup_user(int id)
{
	static const char *users[] = { "ann", "bob" };
	if (id < 0 || id >= 2)
		panic("lookup_user: index %d out of range [0,2)", id);
	return users[id];
}

static void render(const struct request *rq)
{
	if (!strcmp(rq->path, "/missing"))
		panic_value(&not_found, "render: %s: %s", rq->path, not_found.reason);
	printf("hello, %s\n", lookup_user(rq->user));
}

static int handle(const struct request *rq)
{
	int status = 200;
	defer_frame;
	defer_result(status);                 /* a recovered panic returns status */
	defer(log_request, rq, &status);
	defer(to_status, &status);
	render(rq);
	return status;
}

int main(int argc, char **argv)
{
	int failures = 0;
	for (int i = 1; i < argc; i++) {
		struct request rq = { argv[i], !strcmp(argv[i], "/admin") ? 7 : 1 };
		failures += handle(&rq) != 200;
	}
	printf("%d of %d requests failed\n", failures, argc - 1);
	return 0;
}
