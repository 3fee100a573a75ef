/* SPDX-License-Identifier: MIT */
/* dwarf_funcs.c - which function starts at an address, with its parameters'
 * names and types; answers, misses included, are kept in a bounded hash
 * table (DR_FUNC_CACHE). */
#include <stdlib.h>
#include <string.h>
#include "dwarf_impl.h"

struct funcq { uint64_t addr; struct dr_func f; };

static int funcfn(struct dr_elf *e, Dwarf_Die cu, Dwarf_Die d, void *arg)
{
	struct funcq *q = arg;
	Dwarf_Die src = 0, c;
	uint64_t lo, o, t;
	const char *n;

	(void)cu;
	if (dr_tag(e, d) != DW_TAG_subprogram || dr_lowpc(e, d, &lo) != 0 || lo != q->addr)
		return 0;
	q->f.lowpc = lo;
	n = dr_diename(e, d);
	/* An out-of-line copy of an inline function, or a definition of an
	 * earlier declaration: names and parameters live at the origin. */
	if (dr_ref(e, d, DW_AT_abstract_origin, &o) == 0 || dr_ref(e, d, DW_AT_specification, &o) == 0)
		src = dr_offdie(e, o);
	if (!n && src)
		n = dr_diename(e, src);
	q->f.name = dr_strdup(e, n);
	for (c = dr_child(e, d); c; c = dr_next(e, c)) {
		Dwarf_Die p = c, org = 0;
		int tg = dr_tag(e, c);

		if (tg == DW_TAG_unspecified_parameters) {
			q->f.variadic = 1;
			continue;
		}
		if (tg != DW_TAG_formal_parameter || q->f.nparams >= 8)
			continue;
		if (dr_ref(e, c, DW_AT_abstract_origin, &o) == 0 && (org = dr_offdie(e, o)))
			p = org;
		q->f.params[q->f.nparams].name = dr_strdup(e, dr_diename(e, p));
		memset(&q->f.params[q->f.nparams].type, 0, sizeof(struct dr_type));
		if (dr_ref(e, p, DW_AT_type, &t) == 0)
			dr_describe(e, t, &q->f.params[q->f.nparams].type, 0);
		q->f.nparams++;
		if (org)
			dwarf_dealloc_die(org);
	}
	/* The variadic marker may sit only on the declaration. */
	if (src && !q->f.variadic)
		for (c = dr_child(e, src); c; c = dr_next(e, c))
			if (dr_tag(e, c) == DW_TAG_unspecified_parameters)
				q->f.variadic = 1;
	if (src)
		dwarf_dealloc_die(src);
	return 1;
}

static size_t funcslot(const struct dr_elf *e, uint64_t addr)
{
	size_t h = (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 40) & (2 * DR_FUNC_CACHE - 1);

	while (e->funchash[h] && e->funcs[e->funchash[h] - 1].lowpc != addr)
		h = (h + 1) & (2 * DR_FUNC_CACHE - 1);
	return h;
}

int dr_func_at(struct dr_elf *e, uint64_t addr, const struct dr_func **out)
{
	struct funcq q;
	struct dr_func *v;
	Dwarf_Die cu;
	size_t h = 0;
	int found = 0;

	if (!e->funchash && !(e->funchash = calloc(2 * DR_FUNC_CACHE, sizeof *e->funchash)))
		return DR_ENOMEM;
	if (e->funchash[h = funcslot(e, addr)]) {
		*out = &e->funcs[e->funchash[h] - 1];
		if (!(*out)->name)
			*out = NULL;
		return *out ? 0 : DR_ENOENT;
	}
	memset(&q, 0, sizeof q);
	q.addr = addr;
	/* Only the unit that covers addr: no scan for a function without DWARF. */
	if ((cu = dr_cu_at(e, addr))) {
		unsigned steps = 0;
		found = dr_eachchild(e, cu, funcfn, &q, &steps);
		dwarf_dealloc_die(cu);
	}
	if (!found)
		q.f.name = NULL;
	q.f.lowpc = addr;
	/* Remember misses too (name NULL): libc functions are asked for often. */
	if (e->nfuncs == e->capfuncs && e->capfuncs < DR_FUNC_CACHE &&
	    (v = realloc(e->funcs, (e->capfuncs ? 2 * e->capfuncs : 64) * sizeof *v))) {
		e->funcs = v;
		e->capfuncs = e->capfuncs ? 2 * e->capfuncs : 64;
	}
	if (e->nfuncs < e->capfuncs) {
		e->funcs[e->nfuncs] = q.f;
		e->funchash[h] = (uint32_t)++e->nfuncs;
		*out = &e->funcs[e->nfuncs - 1];
	} else {
		e->funcmiss = q.f;
		*out = &e->funcmiss;
	}
	if (!found)
		*out = NULL;
	return found ? 0 : DR_ENOENT;
}
