/* SPDX-License-Identifier: MIT */
/* Panic messages of any length.  argv[1] picks the case:
 *   recover N   a panic of N bytes (with % signs in it) is recovered whole,
 *               100 times
 *   fatal N     the report prints it whole
 *   oom N       memory for it cannot be had: the message is cut, marked
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <defer.h>

static char *big;
static size_t n;

static void check(void)
{
	const struct _panic *p = recover();

	printf("textlen=%zu whole=%d msg is its start=%d\n", (size_t)p->textlen,
	       p->textlen == n && !memcmp(p->text, big, n) && !p->text[n],
	       !strncmp(p->msg, big, sizeof p->msg - 1) && strlen(p->msg) == sizeof p->msg - 1);
}

static void show(void)
{
	const struct _panic *p = recover();

	printf("textlen=%zu starts=%d\nends with: %s\n", (size_t)p->textlen,
	       !strncmp(p->text, big, 207), p->text + 207);
}

static void raise_big(void (*catcher)(void))
{
	defer_frame;
	defer(catcher);
	panic("%s", big);
}

static void nothing(void)
{
}

static void warm(void)
{
	defer_frame;
	defer(nothing);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 1;
	n = strtoul(argv[2], 0, 10);
	big = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = "ab%d %s %%\n"[i % 11];
	big[n] = 0;
	if (!strcmp(argv[1], "recover")) {
		for (int i = 0; i < 100; i++)
			raise_big(check);
	} else if (!strcmp(argv[1], "fatal")) {
		panic("%s", big);
	} else if (!strcmp(argv[1], "oom")) {
		/* No address space left for the message's mapping.  The
		 * thread's first records are taken first: musl's malloc, unlike
		 * glibc's, has no heap left over to give them under the limit. */
		struct rlimit rl;
		long pages;
		FILE *f = fopen("/proc/self/statm", "r");

		if (!f || fscanf(f, "%ld", &pages) != 1)
			return 1;
		fclose(f);
		rl.rlim_cur = rl.rlim_max = (rlim_t)pages * 4096 + 16 * 4096;
		warm();
		setrlimit(RLIMIT_AS, &rl);
		raise_big(show);
	}
	return 0;
}
