/* SPDX-License-Identifier: MIT */
/*
 * What a recovered panic runs of the frames it crosses, and of the
 * recovering frame, besides libdefer's own deferred calls: the documented
 * limit (README "Limits", docs/runtime.md "Recovery").  The frames it
 * crosses are dropped as longjmp drops them, with or without
 * -fexceptions: their cleanup variables (and clang's _Defer blocks) do
 * not run.  The recovering frame with defer_result returns at the
 * defer_result line: the cleanup variables in scope there (declared
 * before it) run, those declared after it do not.
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
