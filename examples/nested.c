/* SPDX-License-Identifier: MIT */
/*
 * nested.c - nested panics, as Go runs them: a deferred call that panics
 * while the program is already panicking.  Nothing recovers the second
 * panic, so the program ends with Go's report of both, oldest first, and
 * exit status 2 (or a core file with DEFER_TRACEBACK=crash).
 */
#include <stdio.h>
#include <defer.h>

static void flush_journal(const char *path)
{
	printf("flushing journal %s\n", path);
	panic("flush_journal: %s: disk full", path);
}

static void release(const char *what) { printf("released %s\n", what); }

static void commit(int txn)
{
	defer_frame;
	defer(release, "table lock");
	defer(flush_journal, "/var/db/journal");
	panic("commit: transaction %d conflicts", txn);
}

int main(void)
{
	defer_frame;
	defer(release, "database");
	commit(17);
	return 0;
}
