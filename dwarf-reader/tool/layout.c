/* SPDX-License-Identifier: MIT */
/* layout.c - `defer-inspect layout`: symbols, record layouts, ABI version. */
#include <stdlib.h>
#include <string.h>
#include "tool.h"

/* Per record: the field names printed, size first (the C member's name;
 * a B entry's own, "flags"), from defer_abi.h's lists. */
#define NAME_F(S, type, member, dims, name, code) , #member
#define NAME_H(S, type, member, dims)
#define NAME_B(S, after, name, bit0, bit1) , #name
#define NAMES(block, S, list) static const char *const block##_names[] = { "size" list(NAME_F, NAME_H, NAME_B, S) };
DEFER_RECORDS(NAMES)

struct rec { const char *name, *block; const char *const *fields; int n; const uint32_t *v; };

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))
#define REC(block, S, list) + 1
enum { NREC = 0 DEFER_RECORDS(REC) };

/* Every field of struct dr_layout's records is named, size first. */
static void recs(const struct dr_layout *l, struct rec r[NREC])
{
	int i = 0;

#define FILL(block, S, list)                                                  \
	_Static_assert(sizeof l->block == 4 * N(block##_names), #block);      \
	r[i++] = (struct rec){ #S + sizeof "struct" /* the tag */, #block, block##_names, N(block##_names), &l->block.size };
	DEFER_RECORDS(FILL)
}

/* A record's name: its C tag, or for a struct's second block (g's
 * history, ghist) the block's name, so that JSON keys stay unique. */
static const char *recname(const struct rec *r, int i)
{
	for (int j = 0; j < i; j++)
		if (!strcmp(r[j].name, r[i].name))
			return r[i].block;
	return r[i].name;
}

/* The runtime's probes.  In a static program the open-coded defer()
 * sites' libdefer:defer probes are in the same file: they are counted
 * here, and listed by `sites`.  Without symbols (stripped) none can be
 * told from the runtime's own, and all are listed. */
struct probes {
	FILE *f;
	struct dr_elf *e;
	int json, n, sites;
	/* The file:line of each site counted: an open-coded defer() has a
	 * probe on each of its paths (the frame's own record, the pool), and
	 * is one site. */
	struct { char *file; unsigned line; } *seen;
	size_t nseen, cap;
};

/* Whether the defer() at pc was counted already (by its file:line; a
 * probe without line information counts on its own). */
static int counted(struct probes *ps, uint64_t pc)
{
	const char *file;
	unsigned line;
	size_t i;

	if (dr_line(ps->e, pc, &file, &line) != 0 || !file)
		return 0;
	for (i = 0; i < ps->nseen; i++)
		if (ps->seen[i].line == line && !strcmp(ps->seen[i].file, file))
			return 1;
	if (ps->nseen == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 16;
		void *v = realloc(ps->seen, cap * sizeof *ps->seen);

		if (!v)
			return 0;
		ps->seen = v, ps->cap = cap;
	}
	/* A copy: the line table that file points into may be dropped. */
	if (!(ps->seen[ps->nseen].file = strdup(file)))
		return 0;
	ps->seen[ps->nseen++].line = line;
	return 0;
}

static void forget(struct probes *ps)
{
	while (ps->nseen)
		free(ps->seen[--ps->nseen].file);
	free(ps->seen);
}

static int onprobe(const struct dr_probe *p, void *arg)
{
	struct probes *ps = arg;
	const char *func;

	if (strcmp(p->provider, "libdefer") != 0)
		return 0;
	if (dr_probe_open_coded(ps->e, p, &func, NULL) && func) {
		ps->sites += !counted(ps, p->pc);
		return 0;
	}
	if (ps->json) {
		fprintf(ps->f, "%s{\"name\": ", ps->n ? ", " : "");
		json_str(ps->f, p->name);
		fprintf(ps->f, ", \"pc\": %lu, \"args\": ", (unsigned long)p->pc);
		json_str(ps->f, p->args);
		fputc('}', ps->f);
	} else {
		char n[128], a[512];

		fprintf(ps->f, "  %-12s %#10lx  %s\n", esc(n, sizeof n, p->name), (unsigned long)p->pc,
			esc(a, sizeof a, p->args));
	}
	ps->n++;
	return 0;
}

static const char *source(const struct dr_runtime *rt)
{
	return rt->have_dwarf ? "dwarf" : "table";
}

static void text(struct dr_elf *e, struct dr_elf *rte, const struct dr_runtime *rt)
{
	struct rec r[NREC];
	struct probes ps = { .f = stdout, .e = rte };
	char buf[4096];
	int i, j;

	printf("binary        %s\n", esc(buf, sizeof buf, dr_elf_path(e)));
	if (rte != e)
		printf("runtime       %s (shared library)\n", esc(buf, sizeof buf, dr_elf_path(rte)));
	else
		printf("runtime       linked in\n");
	if (rt->have_table)
		printf("ABI version   %u (_defer_debug_offsets)\n", rt->abi_version);
	else
		printf("ABI version   unknown (no _defer_debug_offsets table)\n");
	if (rt->have_dwarf)
		printf("layouts from  DWARF %d%s\n", rt->dwarf_version,
		       !rt->have_table ? "" : rt->mismatch[0] ? ", DISAGREES with _defer_debug_offsets"
							  : ", agrees with _defer_debug_offsets");
	else
		printf("layouts from  _defer_debug_offsets (no DWARF for the records)\n");
	if (rt->implausible[0])
		printf("WARNING       _defer_debug_offsets is implausible: %s\n", rt->implausible);
	if (rt->mismatch[0])
		printf("mismatch      %s\n", rt->mismatch);
	printf("\nsymbols\n");
	for (i = 0; i < rt->nsyms; i++)
		if (rt->syms[i].found)
			printf("  %-22s %#lx\n", rt->syms[i].name, (unsigned long)rt->syms[i].addr);
		else
			printf("  %-22s (not found)\n", rt->syms[i].name);
	printf("  %-22s %#lx%s\n", "allgs (layout)", (unsigned long)rt->lay.allgs,
	       rt->have_dwarf ? " (DWARF location)" : " (table)");
	printf("\nprobes (SDT, provider libdefer)\n");
	dr_probes(rte, onprobe, &ps);
	forget(&ps);
	if (!ps.n)
		printf("  (none)\n");
	if (ps.sites)
		printf("  (and %d open-coded defer() sites: defer-inspect sites)\n", ps.sites);
	recs(&rt->lay, r);
	for (i = 0; i < NREC; i++) {
		if (recname(r, i) != r[i].name)
			printf("\nstruct %-10s (%s)\n", r[i].name, r[i].block);
		else
			printf("\nstruct %-10s size %u\n", r[i].name, r[i].v[0]);
		for (j = 1; j < r[i].n; j++)
			printf("  %-10s %4u\n", r[i].fields[j], r[i].v[j]);
	}
}

static void layoutjson(const char *key, const struct dr_layout *l)
{
	struct rec r[NREC];
	int i, j;

	recs(l, r);
	printf(", \"%s\": {\"allgs\": %lu", key, (unsigned long)l->allgs);
	for (i = 0; i < NREC; i++) {
		printf(", \"%s\": {", recname(r, i));
		for (j = 0; j < r[i].n; j++)
			printf("%s\"%s\": %u", j ? ", " : "", r[i].fields[j], r[i].v[j]);
		printf("}");
	}
	printf("}");
}

static void json(struct dr_elf *e, struct dr_elf *rte, const struct dr_runtime *rt)
{
	struct probes ps = { .f = stdout, .e = rte, .json = 1 };
	int i;

	printf("{\"schema\": %d, \"binary\": ", JSON_SCHEMA);
	json_str(stdout, dr_elf_path(e));
	printf(", \"runtime\": ");
	json_str(stdout, dr_elf_path(rte));
	printf(", \"shared\": %s", rte != e ? "true" : "false");
	printf(", \"abi_version\": %u, \"source\": \"%s\", \"dwarf_version\": %d",
	       rt->abi_version, source(rt), rt->have_dwarf ? rt->dwarf_version : 0);
	printf(", \"have_table\": %s, \"have_dwarf\": %s, \"agree\": %s, \"mismatch\": ",
	       rt->have_table ? "true" : "false", rt->have_dwarf ? "true" : "false",
	       rt->have_table && rt->have_dwarf ? (rt->mismatch[0] ? "false" : "true") : "null");
	json_str(stdout, rt->mismatch[0] ? rt->mismatch : NULL);
	printf(", \"implausible\": ");
	json_str(stdout, rt->implausible[0] ? rt->implausible : NULL);
	printf(", \"symbols\": {");
	for (i = 0; i < rt->nsyms; i++) {
		printf("%s\"%s\": ", i ? ", " : "", rt->syms[i].name);
		if (rt->syms[i].found)
			printf("%lu", (unsigned long)rt->syms[i].addr);
		else
			printf("null");
	}
	printf("}, \"probes\": [");
	dr_probes(rte, onprobe, &ps);
	forget(&ps);
	printf("], \"open_coded_sites\": %d", ps.sites);
	layoutjson("layout", &rt->lay);
	if (rt->have_dwarf)
		layoutjson("dwarf", &rt->dwarf);
	if (rt->have_table)
		layoutjson("table", &rt->table);
	printf("}\n");
}

int cmd_layout(const char *path, int asjson)
{
	struct dr_elf *e, *rte;
	struct dr_runtime rt;
	int r;

	if ((r = openbin(path, &e)))
		return r;
	if ((r = runtime_of(e, &rte, &rt))) {
		dr_elf_close(e);
		return r;
	}
	if (asjson)
		json(e, rte, &rt);
	else
		text(e, rte, &rt);
	if (rte != e)
		dr_elf_close(rte);
	dr_elf_close(e);
	return 0;
}
