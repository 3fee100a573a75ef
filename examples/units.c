/* SPDX-License-Identifier: MIT */
/*
 * units.c - systemd-style C (_cleanup_(freep), _cleanup_close_) mixed with
 * defer: load every *.unit file of a directory, each a list of key=value
 * lines, and report the ones that do not parse.
 *
 *	units DIR
 *
 * A malformed line panics in parse_line; load_unit_safe, three frames up
 * (parse_line <- parse_unit <- load_unit <- load_unit_safe), recovers the
 * panic, and load_dir goes on with the next file.
 *
 * What runs when that panic crosses load_unit and parse_unit: their
 * defer() calls, newest first, and the panicking frame's own.  Not their
 * __attribute__((cleanup)) variables: libdefer drops the frames it
 * crosses as longjmp does (README, "Limits").  So the rule this file
 * follows, and that code mixing the two styles needs:
 *  - a resource held across a call that may panic is released by defer();
 *  - _cleanup_ holds everything else: in frames above the recovering one
 *    (load_dir: a panic never crosses it, it returns normally), and in
 *    functions that cannot panic (read_all);
 *  - the recovering frame holds nothing of its own: with defer_result a
 *    recovery returns from it at the defer_result line, where cleanup
 *    variables declared later are not in scope, so they would not run.
 * Run under valgrind or AddressSanitizer, it leaks nothing and leaves no
 * descriptor open (tests/examples/test_example_programs.py).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <defer.h>

/* systemd's macros (src/fundamental/macro-fundamental.h, src/basic/fd-util.h). */
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(const int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

struct unit {
	const char *name;
	char *description;
	char *exec;
	char *error;		/* the panic's message, if the unit did not parse */
};

static void unit_done(struct unit *u)
{
	free(u->description);
	free(u->exec);
	free(u->error);
}

/* The names of the directory's units, sorted, from scandir. */
struct names {
	struct dirent **v;
	int n;
};

static void names_free(struct names *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Cannot panic: every early return frees buf through its cleanup. */
static char *read_all(int fd)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	do {
		if (len + 1 >= cap) {
			char *bigger = realloc(buf, cap = cap ? 2 * cap : 256);
			if (!bigger)
				return NULL;
			buf = bigger;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0)
			return NULL;
		len += (size_t)n;
	} while (n > 0);
	buf[len] = 0;
	return TAKE_PTR(buf);
}

/* Panics on a malformed line: its key is freed by the panic. */
static void parse_line(struct unit *u, int lineno, const char *line)
{
	const char *eq = strchr(line, '=');
	char **slot;

	if (!eq)
		panic("%s:%d: missing '=' in \"%s\"", u->name, lineno, line);
	char *key = strndup(line, (size_t)(eq - line));
	if (!key)
		panic("out of memory");
	defer_frame;
	defer(free, key);
	if (!strcmp(key, "Description"))
		slot = &u->description;
	else if (!strcmp(key, "ExecStart"))
		slot = &u->exec;
	else {
		panic("%s:%d: unknown key %s", u->name, lineno, key);
		return;	/* not reached: panic is not noreturn, on purpose */
	}
	free(*slot);
	*slot = strdup(eq + 1);
}

/* Crossed by parse_line's panic: the copy it splits is deferred. */
static void parse_unit(struct unit *u, const char *text)
{
	char *copy = strdup(text), *save = NULL;
	int lineno = 0;

	if (!copy)
		panic("out of memory");
	defer_frame;
	defer(free, copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (++lineno, line[0] != '#')
			parse_line(u, lineno, line);
}

/* Crossed too: the descriptor and the text are deferred. */
static int load_unit(int dfd, struct unit *u)
{
	int fd = openat(dfd, u->name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	defer_frame;
	defer(close, fd);
	char *text = read_all(fd);
	if (!text)
		return -errno;
	defer(free, text);
	parse_unit(u, text);
	return 0;
}

static void bad_unit(struct unit *u, int *r)
{
	const struct _panic *p = recover();

	if (p) {
		u->error = strdup(p->text);
		*r = -EBADMSG;
	}
}

/* The recovering frame: a panic below it becomes -EBADMSG. */
static int load_unit_safe(int dfd, struct unit *u)
{
	int r = 0;
	defer_frame;
	defer_result(r);
	defer(bad_unit, u, &r);
	r = load_unit(dfd, u);
	return r;
}

static int is_unit(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 5 && !strcmp(e->d_name + n - 5, ".unit");
}

/* Above the recovery: no panic crosses it, so cleanup variables serve. */
static int load_dir(const char *dir)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(names_free) struct names l = { 0 };
	int loaded = 0;

	if (dfd < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	l.n = scandir(dir, &l.v, is_unit, alphasort);
	if (l.n < 0) {
		l.n = 0;
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < l.n; i++) {
		_cleanup_(unit_done) struct unit u = { .name = l.v[i]->d_name };
		int r = load_unit_safe(dfd, &u);

		if (r == -EBADMSG)
			printf("bad  %s: %s\n", u.name, u.error);
		else if (r < 0)
			printf("fail %s: %s\n", u.name, strerror(-r));
		else
			printf("ok   %s: %s (%s)\n", u.name, u.description ? u.description : "-",
			       u.exec ? u.exec : "-");
		loaded += r == 0;
	}
	printf("loaded %d of %d units\n", loaded, l.n);
	return loaded == l.n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: units DIR\n");
		return 2;
	}
	return load_dir(argv[1]) < 0 ? 2 : 0;
}
