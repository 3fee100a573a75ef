/* SPDX-License-Identifier: MIT */
/* An unrecovered panic: the report, the exit status, DEFER_TRACEBACK=crash. */
#include <stdio.h>
#include <defer.h>

static void cleanup(const char *what) { printf("cleanup: %s\n", what); }

static void load_config(const char *path)
{
	defer_frame;
	defer(cleanup, "config file");
	panic("cannot parse %s: line %d", path, 12);
}

int main(void)
{
	defer_frame;
	defer(cleanup, "main");
	printf("starting\n");
	load_config("/etc/app.conf");
	return 0;
}
