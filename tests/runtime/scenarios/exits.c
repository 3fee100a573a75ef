/* SPDX-License-Identifier: MIT */
/* Deferred calls run LIFO when their frame is left by any path. */
#include <stdio.h>
#include <string.h>
#include <defer.h>

static void say(const char *s) { printf("%s\n", s); }

static int early_return(int x)
{
	defer_frame;
	defer(say, "early_return: first deferred");
	defer(say, "early_return: second deferred");
	if (x > 0)
		return x;
	say("early_return: not reached when x > 0");
	return 0;
}

static void falls_off(void)
{
	defer_frame;
	defer(say, "falls_off: deferred");
	say("falls_off: body");
}

static void block_break(void)
{
	for (int i = 0; i < 5; i++) {
		defer_frame;                  /* block-scoped: runs each iteration */
		defer(printf, "block_break: deferred i=%d\n", i);
		if (i == 1)
			continue;
		if (i == 2)
			break;
		printf("block_break: body i=%d\n", i);
	}
	say("block_break: after loop");
}

static void goto_out(void)
{
	{
		defer_frame;
		defer(say, "goto_out: deferred");
		goto out;
	}
out:
	say("goto_out: at label");
}

static void function_level_loop(void)
{
	defer_frame;                          /* Go's unit: the whole function */
	for (int i = 0; i < 3; i++)
		defer(printf, "function_level_loop: deferred i=%d\n", i);
	say("function_level_loop: body done");
}

static void nested_blocks(void)
{
	defer_frame;
	defer(say, "nested_blocks: outer");
	{
		defer_frame;
		defer(say, "nested_blocks: inner");
	}
	say("nested_blocks: between");
}

int main(void)
{
	printf("early_return -> %d\n", early_return(5));
	falls_off();
	block_break();
	goto_out();
	function_level_loop();
	nested_blocks();
	return 0;
}
