/* SPDX-License-Identifier: MIT */
/* A plugin that defers: built as a shared object, linked with libdefer.a
 * or libdefer.so, dlopened by plugin_host.c. */
#include <stdio.h>
#include <defer.h>

static void say(const char *s) { printf("%s\n", s); fflush(stdout); }

void plugin_work(void)
{
	defer_frame;
	defer(say, "plugin: deferred call ran");
}
