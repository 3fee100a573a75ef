/* SPDX-License-Identifier: MIT */
/* Recovery in a block-scoped frame: a defer_frame in a loop body or an if
 * arm whose deferred call recovers.  argv[1] picks the case; each case
 * prints every deferred call it runs, then what its caller saw. */
#include <stdio.h>
#include <string.h>
#include <defer.h>

static void say(const char *s) { printf("%s\n", s); }
static void sayi(const char *s, int i) { printf("%s %d\n", s, i); }
static void catch(void)
{
	const struct _panic *p = recover();
	printf("catch: %s\n", p ? p->msg : "nothing");
}
static void catch_set(int *r)
{
	const struct _panic *p = recover();
	printf("catch_set: %s\n", p ? p->msg : "nothing");
	if (p)
		*r = 500;
}

/* The recovering frame is a loop body's; the function-level frame's calls
 * must still run, once, after the block's, and the function returns. */
static int in_loop(void)
{
	defer_frame;
	defer(say, "in_loop: function-level call");
	for (int i = 0; i < 3; i++) {
		defer_frame;
		defer(sayi, "in_loop: block call, i =", i);
		defer(catch);
		if (i == 1)
			panic("loop %d", i);
		sayi("in_loop: body end, i =", i);
	}
	say("in_loop: not reached");
	return 7;
}

/* The same with defer_result in the function-level frame: the recovery
 * returns its variable. */
static int in_if_with_result(int x)
{
	int r = 1;
	defer_frame;
	defer_result(r);
	defer(say, "in_if_with_result: function-level call");
	if (x) {
		defer_frame;
		defer(say, "in_if_with_result: block call");
		defer(catch_set, &r);
		panic("if arm");
	}
	return r;
}

/* defer_result in the recovering block itself. */
static int result_in_block(int x)
{
	int r = 2;
	defer_frame;
	defer(say, "result_in_block: function-level call");
	if (x) {
		defer_frame;
		defer_result(r);
		defer(say, "result_in_block: block call");
		defer(catch_set, &r);
		panic("block with result");
	}
	return r;
}

/* Three levels of blocks, each with calls, in a function of the caller's
 * frame: every call runs once, innermost first. */
static void three_levels(void)
{
	defer_frame;
	defer(say, "three_levels: level 0");
	{
		defer_frame;
		defer(say, "three_levels: level 1");
		defer(say, "three_levels: level 1 again");
		{
			defer_frame;
			defer(catch);
			defer(say, "three_levels: level 2");
			panic("three");
		}
	}
}

static void later_panic(void) { panic("later"); }

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	defer_frame;
	defer(catch);   /* a later panic finds nothing of the frames above */

	if (!strcmp(c, "loop"))
		{ (void)in_loop(); say("in_loop returned"); }
	else if (!strcmp(c, "if_result"))
		printf("in_if_with_result returned %d\n", in_if_with_result(argc));
	else if (!strcmp(c, "result_in_block"))
		printf("result_in_block returned %d\n", result_in_block(argc));
	else if (!strcmp(c, "three")) {
		three_levels();
		say("after three_levels");
	}
	/* Nothing of the frames above is left on the chain: the head is this
	 * frame's own record. */
	printf("chain head is main's: %d\n",
	       __defer_tls.g->_defer == &__defer_fr.rec && !__defer_fr.rec.link);
	say("main: panicking again");
	later_panic();
	say("main: not reached");
	return 0;
}
