/* SPDX-License-Identifier: MIT */
/* common.c - opening binaries, finding the runtime, output helpers. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tool.h"

int openbin(const char *path, struct dr_elf **e)
{
	char err[512];
	int r = dr_elf_open(path, e, err, sizeof err);

	if (r)
		return fail(r, err);
	return 0;
}

const char *basename_of(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

/* Look for name along a colon-separated path list ($ORIGIN expanded). */
static struct dr_elf *search(const char *list, const char *origin, const char *name)
{
	char buf[PATH_MAX + 16], err[256];
	const char *p = list;
	struct dr_elf *e;

	while (p && *p) {
		size_t n = strcspn(p, ":");
		char dir[PATH_MAX];

		if (n && n < sizeof dir) {
			memcpy(dir, p, n);
			dir[n] = 0;
			if (!strncmp(dir, "$ORIGIN", 7))
				snprintf(buf, sizeof buf, "%s%s/%s", origin, dir + 7, name);
			else if (!strncmp(dir, "${ORIGIN}", 9))
				snprintf(buf, sizeof buf, "%s%s/%s", origin, dir + 9, name);
			else
				snprintf(buf, sizeof buf, "%s/%s", dir, name);
			if (access(buf, R_OK) == 0) {
				if (dr_elf_open(buf, &e, err, sizeof err) == 0) {
					if (dr_is_runtime(e))
						return e;
					dr_elf_close(e);
				} else if (strstr(err, DR_NOTREG)) {
					dr_warn("library search: %s", err);
				}
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return NULL;
}

int runtime_of(struct dr_elf *e, struct dr_elf **rte, struct dr_runtime *rt)
{
	char err[512], origin[PATH_MAX];
	const char *name;
	int i, r;

	*rte = e;
	if (!dr_is_runtime(e)) {
		char *rp = realpath(dr_elf_path(e), NULL);
		char *slash;

		snprintf(origin, sizeof origin, "%s", rp ? rp : dr_elf_path(e));
		free(rp);
		slash = strrchr(origin, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(origin, sizeof origin, ".");
		*rte = NULL;
		for (i = 0; !*rte && dr_elf_needed(e, i, &name) == 0; i++) {
			if (!strstr(name, "libdefer"))
				continue;
			*rte = search(dr_elf_runpath(e), origin, name);
			if (!*rte)
				*rte = search(getenv("LD_LIBRARY_PATH"), origin, name);
			if (!*rte)
				*rte = search("/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:"
					      "/usr/local/lib:/lib64:/usr/lib64:/lib:/usr/lib", origin, name);
			if (!*rte) {
				snprintf(err, sizeof err, "%s: needs %s, which was not found", dr_elf_path(e), name);
				return fail(DR_ENODEFER, err);
			}
		}
		if (!*rte) {
			snprintf(err, sizeof err, "%s: not linked with libdefer", dr_elf_path(e));
			return fail(DR_ENODEFER, err);
		}
	}
	if ((r = dr_runtime_find(*rte, rt, err, sizeof err)) != 0) {
		if (*rte != e)
			dr_elf_close(*rte);
		*rte = NULL;
		return fail(r, err);
	}
	return 0;
}

/* JSON's quoting: control and non-ASCII bytes as \u00XX. */
void json_str(FILE *f, const char *s)
{
	size_t i;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* s escaped by dr_escape, in pieces of whatever length; bytes consumed. */
static size_t escaped(FILE *f, const char *s, size_t n, int quotes)
{
	char buf[1024];
	size_t done = 0, k;

	while (done < n && s[done]) {
		k = dr_escape(buf, sizeof buf, s + done, n - done, quotes);
		fputs(buf, f);
		if (!k)
			break;
		done += k;
	}
	return done;
}

void c_str(FILE *f, const char *s, size_t n)
{
	size_t done;

	fputc('"', f);
	done = escaped(f, s, n, 1);
	fputc('"', f);
	if (done == n && s[done])
		fputs("...", f);
}

void c_text(FILE *f, const char *s)
{
	escaped(f, s, (size_t)-1, 0);
}

const char *esc(char *buf, size_t n, const char *s)
{
	if (!s)
		return NULL;
	dr_escape(buf, n, s, (size_t)-1, 0);
	return buf;
}

void where_elf(struct dr_elf *e, uint64_t addr, int retaddr, struct where *w)
{
	uint64_t start = 0;

	memset(w, 0, sizeof *w);
	if (!e)
		return;
	w->image = dr_elf_path(e);
	w->func = dr_sym_at(e, addr - (retaddr ? 1 : 0), &start);
	if (w->func)
		w->off = addr - start;
	else {
		const struct dr_func *f;
		if (dr_func_at(e, addr, &f) == 0)
			w->func = f->name;
	}
	if (dr_line(e, addr - (retaddr ? 1 : 0), &w->file, &w->line) != 0)
		w->file = NULL;
}

/* Symbolizing repeats the same few addresses thousands of times. */
#define CACHE 16384
static struct { uint64_t key; int used; struct where w; } cache[CACHE];

void where(struct dr_target *t, uint64_t addr, int retaddr, struct where *w)
{
	uint64_t key = addr * 2 + (retaddr ? 1 : 0);
	size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 50) % CACHE, i;
	struct dr_image *im;

	for (i = 0; i < 64; i++) {
		size_t k = (h + i) % CACHE;
		if (!cache[k].used)
			break;
		if (cache[k].key == key) {
			*w = cache[k].w;
			return;
		}
	}
	memset(w, 0, sizeof *w);
	if ((im = dr_image_at(t, addr))) {
		where_elf(im->elf, addr - im->bias, retaddr, w);
		w->image = im->path;
	}
	for (i = 0; i < 64; i++) {
		size_t k = (h + i) % CACHE;
		if (!cache[k].used) {
			cache[k].used = 1;
			cache[k].key = key;
			cache[k].w = *w;
			break;
		}
	}
}
