/* SPDX-License-Identifier: MIT */
/*
 * filecopy.c - copy a file; both files are closed on every path out,
 * including the error returns, without a single goto.
 *
 *	filecopy FROM TO
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <defer.h>

static void close_file(FILE *f, const char *name)
{
	if (fclose(f) != 0)
		fprintf(stderr, "close %s: %s\n", name, strerror(errno));
	else
		printf("closed %s\n", name);
}

static int copy(const char *from, const char *to)
{
	char buf[4096];
	size_t n;
	defer_frame;

	FILE *in = fopen(from, "rb");
	if (!in) {
		fprintf(stderr, "open %s: %s\n", from, strerror(errno));
		return -1;
	}
	defer(close_file, in, from);

	FILE *out = fopen(to, "wb");
	if (!out) {
		fprintf(stderr, "create %s: %s\n", to, strerror(errno));
		return -1;                      /* `in` is closed here too */
	}
	defer(close_file, out, to);

	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n) {
			fprintf(stderr, "write %s: %s\n", to, strerror(errno));
			return -1;
		}
	if (ferror(in)) {
		fprintf(stderr, "read %s: %s\n", from, strerror(errno));
		return -1;
	}
	printf("copied %s to %s\n", from, to);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: filecopy FROM TO\n");
		return 2;
	}
	return copy(argv[1], argv[2]) == 0 ? 0 : 1;
}
