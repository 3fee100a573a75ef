/* SPDX-License-Identifier: MIT */
/* sites.c - the `defer-inspect sites` command: every place the program
 * defers a call (found by dr_sites, src/defersites.c). */
#include <stdlib.h>
#include <string.h>
#include "tool.h"

/*
 * One row per defer() line.  An open-coded defer() is found twice, by its
 * probe and by the deferproc call of its slow path; the row names every
 * way its line was found ("sdt-probe+dwarf-call-site").
 */
struct row { uint64_t pc; const char *func, *file; unsigned line, hows; };
struct rows { struct dr_elf *e; struct row *v; size_t n, cap; };

static const char *const hownames[] = {
	[DR_SITE_PROBE] = "sdt-probe",
	[DR_SITE_CALLSITE] = "dwarf-call-site",
	[DR_SITE_CALLMEM] = "call-through-pointer",
	[DR_SITE_LOAD] = "load",
};
/* The order the names are joined in. */
static const enum dr_site_how howorder[] = { DR_SITE_PROBE, DR_SITE_CALLSITE, DR_SITE_CALLMEM,
					     DR_SITE_LOAD };

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int onsite(const struct dr_site *s, void *arg)
{
	struct rows *r = arg;
	struct where w;
	size_t i;

	where_elf(r->e, s->pc, s->how != DR_SITE_LOAD && s->how != DR_SITE_PROBE, &w);
	/* Sites come in address order; a line's paths may interleave with
	 * other lines', so look at every row of the same function. */
	for (i = r->n; i-- > 0 && same(r->v[i].func, s->func);)
		if (w.line && r->v[i].line == w.line && same(r->v[i].file, w.file)) {
			r->v[i].hows |= 1u << s->how;
			return 0;
		}
	if (r->n == r->cap) {
		struct row *v = realloc(r->v, (r->cap = r->cap ? 2 * r->cap : 64) * sizeof *v);
		if (!v)
			return DR_ENOMEM;
		r->v = v;
	}
	r->v[r->n++] = (struct row){ s->pc, s->func, w.file, w.line, 1u << s->how };
	return 0;
}

/*
 * A row without a line (an optimiser merged or hoisted code) in a function
 * whose open-coded defers were found by their probes is the slow path
 * those lines share, already listed under their own lines: drop it.
 */
static void drop_lineless(struct rows *r)
{
	size_t i, j, k = 0;

	for (i = 0; i < r->n; i++) {
		int probed = 0;
		if (!r->v[i].line)
			for (j = 0; j < r->n && !probed; j++)
				probed = r->v[j].line && same(r->v[j].func, r->v[i].func) &&
					 (r->v[j].hows & 1u << DR_SITE_PROBE);
		if (!probed)
			r->v[k++] = r->v[i];
	}
	r->n = k;
}

static void hows(char *buf, size_t len, unsigned mask)
{
	size_t i;

	buf[0] = 0;
	for (i = 0; i < sizeof howorder / sizeof howorder[0]; i++)
		if (mask & 1u << howorder[i]) {
			if (buf[0])
				strncat(buf, "+", len - strlen(buf) - 1);
			strncat(buf, hownames[howorder[i]], len - strlen(buf) - 1);
		}
}

int cmd_sites(const char *path, int json)
{
	struct rows r = { 0 };
	char msg[512], how[96];
	size_t i;
	int rc;

	if ((rc = openbin(path, &r.e)))
		return rc;
	if (dr_sym(r.e, "__defer_deferproc", NULL, NULL) != 0 && dr_sym(r.e, "deferproc", NULL, NULL) != 0 &&
	    dr_sym(r.e, "__defer_deferproc_tls", NULL, NULL) != 0) {
		/* A program on a shared libdefer has only a GOT slot for it. */
		const char *name;
		int k, linked = 0;
		for (k = 0; dr_elf_needed(r.e, k, &name) == 0; k++)
			linked |= strstr(name, "libdefer") != NULL;
		if (!linked) {
			snprintf(msg, sizeof msg, "%s: not linked with libdefer", path);
			dr_elf_close(r.e);
			return fail(DR_ENODEFER, msg);
		}
	}
	rc = dr_sites(r.e, onsite, &r);
	drop_lineless(&r);
	if (json)
		printf("{\"schema\": %d, \"binary\": ", JSON_SCHEMA), json_str(stdout, path), printf(", \"sites\": [");
	else
		printf("%12s  %-24s %s  [%s]\n", "pc", "function", "file:line", "found by");
	for (i = 0; i < r.n; i++) {
		const struct row *w = &r.v[i];

		hows(how, sizeof how, w->hows);
		if (json) {
			printf("%s{\"pc\": %lu, \"function\": ", i ? ", " : "", (unsigned long)w->pc);
			json_str(stdout, w->func);
			printf(", \"file\": ");
			json_str(stdout, w->file);
			printf(", \"line\": %u, \"how\": \"%s\", \"deferred\": null}", w->line, how);
		} else {
			char fn[512], file[512];

			printf("%#12lx  %-24s %s:%u  [%s]\n", (unsigned long)w->pc,
			       w->func ? esc(fn, sizeof fn, w->func) : "?",
			       w->file ? esc(file, sizeof file, basename_of(w->file)) : "?", w->line, how);
		}
	}
	if (json)
		printf("]}\n");
	else if (!r.n)
		printf("(no defer sites: the program never calls defer())\n");
	if (rc == DR_ENOENT && !json)
		printf("(%s does not reference __defer_deferproc)\n", esc(msg, sizeof msg, path));
	free(r.v);
	dr_elf_close(r.e);
	return rc == DR_ENOMEM ? fail(rc, "out of memory") : 0;
}
