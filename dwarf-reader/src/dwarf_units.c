/* SPDX-License-Identifier: MIT */
/*
 * dwarf_units.c - which unit describes pc, and the walks over units'
 * top-level DIEs that every question by name makes.
 *
 * Order of indexes for "which unit describes pc": .debug_aranges (gcc
 * emits it; it covers code only), then a one-time walk over unit headers
 * and their top-level subprograms (clang emits no aranges by default, and
 * libdwarf 20210528 cannot read clang's .debug_names).  Questions by name
 * take a hint pc in the same source file, so that they too start from one
 * unit; only a miss falls back to every unit's top-level DIEs.  Every walk
 * is bounded: DR_MAXSTEPS DIEs, offsets that must increase (dr_next).
 */
#include <stdlib.h>
#include <string.h>
#include "dwarf_impl.h"

static int cmpcu(const void *a, const void *b)
{
	const struct dr_cu *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void dr_load_aranges(struct dr_elf *e)
{
	Dwarf_Arange *ar = NULL;
	Dwarf_Signed n = 0, i;
	Dwarf_Error er = 0;
	int r;

	r = dwarf_get_aranges(e->dbg, &ar, &n, &er);
	if (r != DW_DLV_OK) {
		dr_drop(e, er);
		return;
	}
	if (n > 0 && n < (1 << 24))
		e->aranges = calloc((size_t)n, sizeof *e->aranges);
	for (i = 0; i < n; i++) {
		Dwarf_Unsigned seg = 0, segsz = 0, len = 0;
		Dwarf_Addr start = 0;
		Dwarf_Off cuoff = 0;

		if (e->aranges &&
		    dwarf_get_arange_info_b(ar[i], &seg, &segsz, &start, &len, &cuoff, &er) == DW_DLV_OK &&
		    len && start + len > start)
			e->aranges[e->naranges++] = (struct dr_cu){ start, start + len, cuoff };
		dr_drop(e, er);
		er = 0;
		dwarf_dealloc(e->dbg, ar[i], DW_DLA_ARANGE);
	}
	dwarf_dealloc(e->dbg, ar, DW_DLA_LIST);
	if (e->naranges)
		qsort(e->aranges, e->naranges, sizeof *e->aranges, cmpcu);
}

/* Every unit's DIE offset, by walking the unit headers once. */
static void loadcuoffs(struct dr_elf *e)
{
	Dwarf_Unsigned hlen, abbr, typeoff, nexthdr = 0;
	Dwarf_Half ver, asz, osz, xsz, htype;
	Dwarf_Sig8 sig;
	Dwarf_Error er = 0;
	size_t cap = 0;

	if (e->cu_offs)
		return;
	for (;;) {
		Dwarf_Die cu = 0;
		int r = dwarf_next_cu_header_d(e->dbg, 1, &hlen, &ver, &abbr, &asz, &osz, &xsz,
					       &sig, &typeoff, &nexthdr, &htype, &er);
		if (r != DW_DLV_OK) {
			dr_drop(e, er);
			break;
		}
		if (dwarf_siblingof_b(e->dbg, NULL, 1, &cu, &er) != DW_DLV_OK) {
			dr_drop(e, er);
			er = 0;
			continue;
		}
		if (e->ncu_offs == cap) {
			uint64_t *v;
			cap = cap ? 2 * cap : 64;
			if (!(v = realloc(e->cu_offs, cap * sizeof *v))) {
				dwarf_dealloc_die(cu);
				break;
			}
			e->cu_offs = v;
		}
		e->cu_offs[e->ncu_offs++] = dr_dieoff(e, cu);
		dwarf_dealloc_die(cu);
	}
	if (!e->cu_offs)
		e->cu_offs = calloc(1, sizeof *e->cu_offs);
}

static void addcu(struct dr_elf *e, size_t *cap, uint64_t lo, uint64_t hi, uint64_t off)
{
	if (e->ncus == *cap) {
		struct dr_cu *v;
		*cap = *cap ? 2 * *cap : 64;
		if (!(v = realloc(e->cus, *cap * sizeof *v)))
			return;
		e->cus = v;
	}
	e->cus[e->ncus++] = (struct dr_cu){ lo, hi, off };
}

/* The fallback index: each unit's pc range, or its top-level functions'. */
static void loadcus(struct dr_elf *e)
{
	size_t i, cap = 0;
	unsigned steps = 0;

	if (e->cus_loaded)
		return;
	e->cus_loaded = 1;
	loadcuoffs(e);
	for (i = 0; i < e->ncu_offs; i++) {
		Dwarf_Die cu = dr_offdie(e, e->cu_offs[i]), c;
		uint64_t lo, hi;

		if (!cu)
			continue;
		if (dr_pcrange(e, cu, &lo, &hi) == 0 && lo) {
			addcu(e, &cap, lo, hi, e->cu_offs[i]);
		} else {
			for (c = dr_child(e, cu); c && steps < DR_MAXSTEPS; c = dr_next(e, c), steps++)
				if (dr_tag(e, c) == DW_TAG_subprogram && dr_pcrange(e, c, &lo, &hi) == 0)
					addcu(e, &cap, lo, hi, e->cu_offs[i]);
			if (c)
				dwarf_dealloc_die(c);
		}
		dwarf_dealloc_die(cu);
	}
	if (e->ncus)
		qsort(e->cus, e->ncus, sizeof *e->cus, cmpcu);
}

static int findcu(const struct dr_cu *v, size_t n, uint64_t pc, uint64_t *off)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges may nest or overlap (a unit's range around its functions'):
	 * look back a little for one that covers pc. */
	for (hi = lo; hi > 0 && lo - hi < 64; hi--)
		if (pc >= v[hi - 1].lo && pc < v[hi - 1].hi) {
			*off = v[hi - 1].off;
			return 0;
		}
	return -1;
}

Dwarf_Die dr_cu_at(struct dr_elf *e, uint64_t pc)
{
	uint64_t off;

	if (!dr_dwarf_open(e) || !pc)
		return 0;
	if (findcu(e->aranges, e->naranges, pc, &off) != 0) {
		loadcus(e);
		if (findcu(e->cus, e->ncus, pc, &off) != 0)
			return 0;
	}
	return dr_offdie(e, off);
}

/* The unit that answered a question sets dr_dwarf_version's answer. */
static void setversion(struct dr_elf *e, Dwarf_Die cu)
{
	Dwarf_Half v = 0, osz = 0;

	if (dwarf_get_version_of_die(cu, &v, &osz) == DW_DLV_OK)
		e->dw_version = v;
}

int dr_eachchild(struct dr_elf *e, Dwarf_Die cu, dr_dievisit fn, void *arg, unsigned *steps)
{
	Dwarf_Die c;
	int r = 0;

	for (c = dr_child(e, cu); c && *steps < DR_MAXSTEPS; (*steps)++) {
		if ((r = fn(e, cu, c, arg)))
			break;
		c = dr_next(e, c);
	}
	if (c)
		dwarf_dealloc_die(c);
	return r;
}

int dr_eachtop(struct dr_elf *e, uint64_t hint, dr_dievisit fn, void *arg)
{
	Dwarf_Die cu;
	uint64_t first = ~(uint64_t)0;
	size_t i;
	unsigned steps = 0;
	int r = 0;

	if (!dr_dwarf_open(e))
		return 0;
	if ((cu = dr_cu_at(e, hint))) {
		first = dr_dieoff(e, cu);
		if ((r = dr_eachchild(e, cu, fn, arg, &steps)))
			setversion(e, cu);
		dwarf_dealloc_die(cu);
		if (r)
			return r;
	}
	loadcuoffs(e);
	for (i = 0; i < e->ncu_offs && !r; i++) {
		if (e->cu_offs[i] == first || !(cu = dr_offdie(e, e->cu_offs[i])))
			continue;
		if ((r = dr_eachchild(e, cu, fn, arg, &steps)))
			setversion(e, cu);
		dwarf_dealloc_die(cu);
	}
	return r;
}
