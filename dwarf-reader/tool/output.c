/* SPDX-License-Identifier: MIT */
/*
 * output.c - the output and time budgets of a command.
 *
 * stdout is replaced by a stream that counts what it writes and drops
 * everything past --max-output bytes, so that no target, however large
 * its chains, makes the tool write more than that; the commands check
 * out_full() to stop early.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tool.h"

struct budgets budgets = { { DR_MAX_G, DR_MAX_DEFERS, DR_MAX_PANICS, 0 }, 256u << 20, 60 };

static uint64_t written;
static int full, late;

static ssize_t counted(void *cookie, const char *buf, size_t n)
{
	size_t keep = n, done = 0;

	(void)cookie;
	if (written + n > budgets.output) {
		keep = (size_t)(budgets.output - written);
		full = 1;
	}
	while (done < keep) {
		ssize_t w = write(1, buf + done, keep - done);
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	written += keep;
	/* Report all of n as written: the rest is dropped on purpose. */
	return (ssize_t)n;
}

void output_begin(void)
{
	cookie_io_functions_t io = { .write = counted };
	FILE *f = fopencookie(NULL, "w", io);

	if (f) {
		setvbuf(f, NULL, _IOFBF, 1 << 16);
		stdout = f;
	}
}

int out_full(void)
{
	if (!full && !late && budgets.lim.deadline && dr_now() > budgets.lim.deadline)
		late = 1;
	return full || late;
}

int out_budget(int r)
{
	char msg[200];

	fflush(stdout);
	if (r == DR_EBUDGET || (!full && !late))
		return r;
	if (full)
		snprintf(msg, sizeof msg,
			 "stopped at the output budget: %lu bytes written; raise it with --max-output BYTES",
			 (unsigned long)written);
	else
		snprintf(msg, sizeof msg,
			 "stopped at the time budget (%u s) while printing; raise it with --max-time SECONDS",
			 budgets.seconds);
	return fail(DR_EBUDGET, msg);
}
