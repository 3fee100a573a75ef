/* SPDX-License-Identifier: MIT */
/* Every macro of defer.h, in code that users build with
 * -std=c11 (c17, c2x, gnu11) -Wall -Wextra -pedantic -Werror -Wshadow
 * -Wconversion -Wcast-qual: the header must add no warning of its own. */
#include <pthread.h>
#include <stdio.h>
#include <defer.h>

struct err { int code; };

static void say(const char *s) { printf("%s\n", s); }
static void six(int a, long b, double c, float d, unsigned e, const char *f)
{
	printf("six %d %ld %g %g %u %s\n", a, b, c, (double)d, e, f);
}
static void set_status(int *status)
{
	const struct _panic *p = recover();
	if (p) {
		printf("recovered: %s\n", p->msg);
		*status = p->arg ? ((const struct err *)p->arg)->code : 500;
	}
}
static void just_recover(void)
{
	const struct _panic *p = recover();
	printf("just_recover: %s\n", p ? p->msg : "(nothing)");
}

static int with_result(int fail)
{
	int status = 200;
	defer_frame;
	defer_result(status);
	defer(set_status, &status);
	{
		defer_frame;            /* an inner frame shadows the outer one */
		defer(say, "inner frame done");
	}
	if (fail) {
		static struct err e = { 503 };
		panic_value(&e, "unavailable %d", fail);
	}
	return status;
}
static void void_result(void)
{
	defer_frame;
	defer_result();
	defer(just_recover);
	panic("void_result");
}
static void *exiter(void *arg)
{
	defer_frame;
	defer(say, (const char *)arg);
	defer_goexit();
	return NULL;	/* not reached; defer_goexit is not noreturn (defer.h says why) */
}

int main(void)
{
	pthread_t t;
	defer_frame;
	defer(say, "main done");
	defer(six, 1, 2L, 3.5, 4.25f, 5u, "six");
	printf("with_result(0) = %d\n", with_result(0));
	printf("with_result(1) = %d\n", with_result(1));
	void_result();
	pthread_create(&t, NULL, exiter, (void *)"goexit ran the thread's calls");
	pthread_join(t, NULL);
	return 0;
}
