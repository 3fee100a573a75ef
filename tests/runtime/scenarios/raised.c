/* SPDX-License-Identifier: MIT */
/* Where a panic was raised, when panic() is the last thing a function
 * does (a tail call at -O2).  argv[1]: "recover" checks the panic's pc
 * from a deferred call, "fatal" leaves the report to the runtime. */
#include <stdio.h>
#include <string.h>
#include <unwind.h>
#include <defer.h>

__attribute__((noinline)) void raiser(int x);
__attribute__((noinline)) void raiser_value(int x);

static void check(void)
{
	const struct _panic *p = recover();
	void *fn = _Unwind_FindEnclosingFunction((void *)(p->pc - 1));
	printf("%s: raised in %s\n", p->msg,
	       fn == (void *)raiser ? "raiser" : fn == (void *)raiser_value ? "raiser_value" :
	       "another function");
}

void raiser(int x)
{
	if (x > 0)
		printf("raiser %d\n", x);
	panic("last call %d", x);
}

void raiser_value(int x)
{
	static int v;
	panic_value(&v, "last call with a value %d", x);
}

static void recovers(void (*f)(int))
{
	defer_frame;
	defer(check);
	f(1);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "fatal"))
		raiser(2);
	recovers(raiser);
	recovers(raiser_value);
	return 0;
}
