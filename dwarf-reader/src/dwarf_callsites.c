/* SPDX-License-Identifier: MIT */
/* dwarf_callsites.c - which calls return to an address range, from DWARF
 * call-site entries (DW_TAG_call_site, gcc's DW_TAG_GNU_call_site), with
 * the callee or the register an indirect call goes through. */
#include <stdlib.h>
#include <string.h>
#include "dwarf_impl.h"

struct csq {
	uint64_t lo, hi;
	int (*fn)(const struct dr_callsite *, void *);
	void *arg;
	unsigned steps;
};

static int callsites(struct dr_elf *e, Dwarf_Die d, struct csq *q, int depth)
{
	Dwarf_Die c;
	int r = 0;

	if (depth > DR_MAXDEPTH)
		return 0;
	for (c = dr_child(e, d); c && !r && q->steps++ < DR_MAXSTEPS; c = dr_next(e, c)) {
		int tg = dr_tag(e, c);
		struct dr_callsite cs = { 0, 0, 0, -1 };
		uint64_t o;
		uint8_t buf[16];
		size_t n = sizeof buf;

		if (tg == DW_TAG_call_site || tg == DW_TAG_GNU_call_site) {
			if (dr_udata(e, c, DW_AT_call_return_pc, &cs.ret_pc) != 0 &&
			    dr_lowpc(e, c, &cs.ret_pc) != 0) {
				Dwarf_Attribute a = dr_attr(e, c, DW_AT_call_return_pc);
				Dwarf_Addr ad = 0;
				Dwarf_Error er = 0;
				if (!a)
					continue;
				if (dwarf_formaddr(a, &ad, &er) == DW_DLV_OK)
					cs.ret_pc = ad;
				dr_drop(e, er);
				dwarf_dealloc_attribute(a);
			}
			if (dr_ref(e, c, DW_AT_call_origin, &o) == 0 || dr_ref(e, c, DW_AT_abstract_origin, &o) == 0) {
				Dwarf_Die org = dr_offdie(e, o);
				if (org) {
					cs.callee = dr_strdup(e, dr_diename(e, org));
					dwarf_dealloc_die(org);
				}
			} else if (!dr_has(e, c, DW_AT_call_target) && !dr_has(e, c, DW_AT_GNU_call_site_target)) {
				/* gcc's entry for a call through a register it
				 * could not describe. */
				cs.indirect = 1;
			} else if (dr_expr(e, c, DW_AT_call_target, buf, &n) == 0 ||
				   (n = sizeof buf, dr_expr(e, c, DW_AT_GNU_call_site_target, buf, &n) == 0)) {
				cs.indirect = 1;
				if (n >= 1 && buf[0] >= DW_OP_breg0 && buf[0] <= DW_OP_breg31)
					cs.reg = buf[0] - DW_OP_breg0;
				else if (n >= 1 && buf[0] >= DW_OP_reg0 && buf[0] <= DW_OP_reg31)
					cs.reg = buf[0] - DW_OP_reg0;
			}
			if (cs.ret_pc >= q->lo && cs.ret_pc <= q->hi)
				r = q->fn(&cs, q->arg);
		} else if (tg == DW_TAG_lexical_block || tg == DW_TAG_inlined_subroutine) {
			r = callsites(e, c, q, depth + 1);
		}
	}
	if (c)
		dwarf_dealloc_die(c);
	return r;
}

static int subvisit(struct dr_elf *e, Dwarf_Die cu, Dwarf_Die c, void *arg)
{
	struct dr_subs *ss = arg;
	struct dr_sub sub = { 0, 0, dr_dieoff(e, c), 0 }, *v;

	(void)cu;
	if (dr_tag(e, c) != DW_TAG_subprogram)
		return 0;
	if (dr_pcrange(e, c, &sub.lo, &sub.hi) != 0) {
		if (!dr_has(e, c, DW_AT_ranges))
			return 0;
		sub.ranges = 1;
	}
	if (!(v = realloc(ss->v, (ss->n + 1) * sizeof *v)))
		return DR_ENOMEM;
	ss->v = v;
	ss->v[ss->n++] = sub;
	return 0;
}

/* The unit's top-level functions, walked once per unit: every call-site
 * question about the unit is answered from this list. */
static const struct dr_subs *subindex(struct dr_elf *e, Dwarf_Die cu)
{
	struct dr_subs ss = { dr_dieoff(e, cu), 0, 0 }, *v;
	unsigned steps = 0;
	size_t i;

	for (i = 0; i < e->nsubs; i++)
		if (e->subs[i].cu == ss.cu)
			return &e->subs[i];
	dr_eachchild(e, cu, subvisit, &ss, &steps);
	if (!(v = realloc(e->subs, (e->nsubs + 1) * sizeof *v))) {
		free(ss.v);
		return NULL;
	}
	e->subs = v;
	e->subs[e->nsubs] = ss;
	return &e->subs[e->nsubs++];
}

int dr_callsites(struct dr_elf *e, uint64_t lo, uint64_t hi,
		 int (*fn)(const struct dr_callsite *, void *), void *arg)
{
	Dwarf_Die cu = dr_cu_at(e, lo), d;
	const struct dr_subs *ss;
	struct csq q = { lo, hi, fn, arg, 0 };
	size_t i;
	int r = 0;

	if (!cu)
		return DR_ENOENT;
	ss = subindex(e, cu);
	dwarf_dealloc_die(cu);
	if (!ss)
		return DR_ENOMEM;
	/* A function split in parts is searched whole; the call sites are
	 * filtered by address anyway. */
	for (i = 0; i < ss->n && !r; i++)
		if ((ss->v[i].ranges || (ss->v[i].lo < hi && lo < ss->v[i].hi)) &&
		    (d = dr_offdie(e, ss->v[i].off))) {
			r = callsites(e, d, &q, 0);
			dwarf_dealloc_die(d);
		}
	return r;
}
