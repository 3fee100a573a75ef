/* SPDX-License-Identifier: MIT */
/*
 * What a recovered panic runs of the frames it crosses, and of the
 * recovering frame, besides libdefer's own deferred calls
 * (docs/runtime.md "Cleanups of the frames a panic crosses").  Without
 * -fexceptions the frames it crosses are dropped as longjmp drops them:
 * their cleanup variables do not run, and the recovering frame with
 * defer_result returns at the defer_result line: the cleanup variables in
 * scope there (declared before it) run, those declared after it do not.
 * With -fexceptions the panic unwinds them and every cleanup (and
 * clang's _Defer blocks) runs once, innermost first.
 */
#include <stdio.h>
#include <defer.h>

static void say(const char *const *s) { printf("cleanup %s\n", *s); }
static void note(const char *s) { printf("defer %s\n", s); }
static void catch_(int *r) { if (recover()) *r = -1; }

__attribute__((noinline)) static void inner(void)
{
	__attribute__((cleanup(say))) const char *c = "inner";
	defer_frame;
	defer(note, "inner");
#ifdef DEFER_TS
	_Defer puts("_Defer inner");
#endif
	panic("boom");
	(void)c;
}

__attribute__((noinline)) static void middle(void)
{
	__attribute__((cleanup(say))) const char *c = "middle";
	inner();
	(void)c;
}

__attribute__((noinline)) static int withresult(void)
{
	__attribute__((cleanup(say))) const char *before = "before-defer_result";
	int r = 0;
	defer_frame;
	defer_result(r);
	__attribute__((cleanup(say))) const char *after = "after-defer_result";
	defer(catch_, &r);
	middle();
	(void)before, (void)after;
	return r;
}

__attribute__((noinline)) static void noresult(void)
{
	__attribute__((cleanup(say))) const char *c = "noresult";
	int r = 0;
	defer_frame;
	defer(catch_, &r);
	middle();
	(void)c;
}

int main(void)
{
	printf("withresult %d\n", withresult());
	noresult();
	puts("end");
	return 0;
}
