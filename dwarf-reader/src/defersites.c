/* SPDX-License-Identifier: MIT */
/*
 * defersites.c - where a program defers calls (see dr_sites in dreader.h).
 *
 * No disassembler: a scanner per architecture, chosen by the file's
 * machine (defersites_x86_64.c, defersites_aarch64.c), looks for the few
 * instruction shapes that can reach the const pointer __defer_deferproc
 * (or a GOT slot holding its address), and DWARF call-site entries say
 * which calls use what was loaded.
 */
#include <stdlib.h>
#include <string.h>
#include "defersites.h"

#define MAXHITS (1u << 20)

void dr_sites_add(struct sites *s, struct hit h)
{
	if (s->n == s->cap) {
		struct hit *v;
		if (s->cap >= MAXHITS)
			return;
		s->cap = s->cap ? 2 * s->cap : 64;
		if (!(v = realloc(s->v, s->cap * sizeof *v)))
			return;
		s->v = v;
	}
	s->v[s->n++] = h;
}

int dr_sites_in(const uint64_t *v, int n, uint64_t a)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i] == a)
			return 1;
	return 0;
}

/* The const pointers the defer() macro calls deferproc through: gcc's
 * (frame mark in %r10) and clang's (frame mark in __defer_tls). */
static const char *const procs[] = { "__defer_deferproc", "__defer_deferproc_tls" };
static const char *const callees[] = { "deferproc", "deferproc_tls" };

static int isproc(const char *name)
{
	return !strcmp(name, procs[0]) || !strcmp(name, procs[1]);
}

/* GOT slots that hold &__defer_deferproc (shared libdefer, or an
 * unrelaxed GOTPCREL load). */
static void gotslots(struct dr_elf *e, struct sites *s)
{
	const uint8_t *rel, *sym, *str;
	size_t nrel, nsym, nstr, i;

	if (!(rel = dr_elf_section(e, ".rela.dyn", NULL, &nrel)))
		return;
	sym = dr_elf_section(e, ".dynsym", NULL, &nsym);
	str = dr_elf_section(e, ".dynstr", NULL, &nstr);
	for (i = 0; i + 24 <= nrel && s->naddr < MAXTARGETS; i += 24) {
		uint64_t off, info, idx, nameoff;
		int64_t add;
		uint32_t type;

		memcpy(&off, rel + i, 8);
		memcpy(&info, rel + i + 8, 8);
		memcpy(&add, rel + i + 16, 8);
		type = (uint32_t)info;
		idx = info >> 32;
		if (dr_elf_reltype(e, type) == DR_REL_RELATIVE && dr_sites_in(s->value, s->nvalue, (uint64_t)add)) {
			s->addr[s->naddr++] = off;
		} else if ((dr_elf_reltype(e, type) == DR_REL_GLOB_DAT ||
			    dr_elf_reltype(e, type) == DR_REL_ABS64) && sym && str &&
			   idx < nsym / 24) {
			uint32_t n32;
			memcpy(&n32, sym + idx * 24, 4);
			nameoff = n32;
			if (nameoff < nstr && memchr(str + nameoff, 0, nstr - nameoff) &&
			    isproc((const char *)str + nameoff))
				s->addr[s->naddr++] = off;
		}
	}
}

int dr_probe_open_coded(struct dr_elf *e, const struct dr_probe *p, const char **func,
			uint64_t *fstart)
{
	const char *f;

	if (strcmp(p->provider, "libdefer") != 0 || strcmp(p->name, "defer") != 0)
		return 0;
	f = dr_sym_at(e, p->pc, fstart);
	if (func)
		*func = f;
	return !f || (strcmp(f, callees[0]) != 0 && strcmp(f, callees[1]) != 0);
}

struct probearg { struct dr_elf *e; struct sites *s; };

static int onprobe(const struct dr_probe *p, void *arg)
{
	struct probearg *a = arg;
	const char *func;
	uint64_t fstart = 0;

	if (dr_probe_open_coded(a->e, p, &func, &fstart))
		dr_sites_add(a->s, (struct hit){ p->pc, DR_SITE_PROBE, -1, 0, fstart, func });
	return 0;
}

struct csarg { struct sites *s; size_t first, last; uint64_t fstart; const char *func; };

static int oncall(const struct dr_callsite *cs, void *arg)
{
	struct csarg *a = arg;
	size_t i;

	if (cs->callee && (!strcmp(cs->callee, callees[0]) || !strcmp(cs->callee, callees[1]))) {
		dr_sites_add(a->s, (struct hit){ cs->ret_pc, DR_SITE_CALLSITE, -1, 0, a->fstart, a->func });
		return 0;
	}
	if (!cs->indirect)
		return 0;
	/* The call uses a register a load of __defer_deferproc filled
	 * earlier in the function (or, where gcc did not say which register,
	 * any indirect call after such a load). */
	for (i = a->first; i < a->last; i++)
		if (a->s->v[i].kind == 0 && a->s->v[i].reg >= 0 && a->s->v[i].pc < cs->ret_pc &&
		    (a->s->v[i].reg == cs->reg || cs->reg < 0)) {
			a->s->v[i].used = 1;
			dr_sites_add(a->s, (struct hit){ cs->ret_pc, DR_SITE_CALLSITE, -1, 0, a->fstart, a->func });
			return 0;
		}
	return 0;
}

static int cmphit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return x->pc < y->pc ? -1 : x->pc > y->pc;
}

int dr_sites(struct dr_elf *e, int (*fn)(const struct dr_site *, void *), void *arg)
{
	struct sites s;
	uint64_t a;
	size_t i, j, nscan;
	int r = 0;

	memset(&s, 0, sizeof s);
	for (i = 0; i < 2; i++)
		if (dr_sym(e, procs[i], &a, NULL) == 0)
			s.value[s.nvalue++] = a;
	gotslots(e, &s);
	if (!s.nvalue && !s.naddr)
		return DR_ENOENT;
	for (i = 0; i < e->nph; i++) {
		const GElf_Phdr *p = &e->ph[i];
		if (p->p_type != PT_LOAD || !(p->p_flags & PF_X) ||
		    !dr_inside(p->p_offset, p->p_filesz, e->rawsize))
			continue;
		if (e->eh.e_machine == EM_AARCH64)
			dr_scan_aarch64(&s, e, e->raw + p->p_offset, p->p_filesz, p->p_vaddr);
		else
			dr_scan_x86_64(&s, e->raw + p->p_offset, p->p_filesz, p->p_vaddr);
	}
	nscan = s.n;
	for (i = 0; i < nscan; i++)
		s.v[i].func = dr_sym_at(e, s.v[i].pc - (s.v[i].kind ? 1 : 0), &s.v[i].fstart);
	{
		struct probearg pa = { e, &s };
		dr_probes(e, onprobe, &pa);
	}
	/* Per function with loads, ask DWARF which calls use them. */
	if (nscan)
		qsort(s.v, nscan, sizeof *s.v, cmphit);
	for (i = 0; i < nscan; i = j) {
		struct csarg ca = { &s, i, 0, s.v[i].fstart, s.v[i].func };
		const struct dr_sym *sym = s.v[i].func ? dr_symbol_at(e, s.v[i].fstart) : NULL;

		for (j = i + 1; j < nscan && s.v[j].fstart == s.v[i].fstart && s.v[j].func == s.v[i].func; j++)
			;
		ca.last = j;
		/* By address: a name may belong to several static functions. */
		if (!sym || !sym->size)
			continue;
		dr_callsites(e, sym->addr, sym->addr + sym->size, oncall, &ca);
	}
	if (s.n)
		qsort(s.v, s.n, sizeof *s.v, cmphit);
	for (i = 0; i < s.n && !r; i++) {
		struct dr_site site;

		if (i && s.v[i].pc == s.v[i - 1].pc)
			continue;
		if (s.v[i].kind == 0 && s.v[i].used)
			continue;
		site.pc = s.v[i].pc;
		site.how = s.v[i].kind ? (enum dr_site_how)s.v[i].kind : DR_SITE_LOAD;
		site.func = s.v[i].func;
		site.func_start = s.v[i].fstart;
		r = fn(&site, arg);
	}
	free(s.v);
	return r;
}
