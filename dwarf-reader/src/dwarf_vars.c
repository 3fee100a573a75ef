/* SPDX-License-Identifier: MIT */
/* dwarf_vars.c - where a global variable is: its DW_AT_location, when that
 * is exactly one address. */
#include <stdlib.h>
#include <string.h>
#include "dwarf_impl.h"

struct varq { const char *name; uint64_t addr; };

/* A location that is exactly one address: DW_OP_addr or DW_OP_addrx. */
static int locaddr(struct dr_elf *e, Dwarf_Die d, uint64_t *addr)
{
	uint8_t buf[64];
	size_t n = sizeof buf;
	const uint8_t *p = buf + 1, *end;
	uint64_t idx;
	Dwarf_Addr a;
	Dwarf_Error er = 0;

	if (dr_expr(e, d, DW_AT_location, buf, &n) != 0 || n < 2)
		return -1;
	end = buf + n;
	switch (buf[0]) {
	case DW_OP_addr:
		if (n != 9)
			return -1;
		memcpy(addr, buf + 1, 8);
		return 0;
	case DW_OP_addrx:
	case DW_OP_GNU_addr_index:
		if (dr_uleb(&p, end, &idx) != 0 || p != end)
			return -1;
		if (dwarf_debug_addr_index_to_addr(d, idx, &a, &er) != DW_DLV_OK) {
			dr_drop(e, er);
			return -1;
		}
		*addr = a;
		return 0;
	}
	return -1;
}

static int varfn(struct dr_elf *e, Dwarf_Die cu, Dwarf_Die d, void *arg)
{
	struct varq *q = arg;
	const char *n;
	uint64_t spec;

	(void)cu;
	if (dr_tag(e, d) != DW_TAG_variable || !dr_has(e, d, DW_AT_location))
		return 0;
	n = dr_diename(e, d);
	if (!n && dr_ref(e, d, DW_AT_specification, &spec) == 0) {
		Dwarf_Die s = dr_offdie(e, spec);
		int match = s && (n = dr_diename(e, s)) && strcmp(n, q->name) == 0;

		if (s)
			dwarf_dealloc_die(s);
		if (!match)
			return 0;
	} else if (!n || strcmp(n, q->name) != 0) {
		return 0;
	}
	return locaddr(e, d, &q->addr) == 0;
}

int dr_var_addr(struct dr_elf *e, const char *vname, uint64_t hint, uint64_t *addr)
{
	struct varq q = { vname, 0 };

	if (!dr_eachtop(e, hint, varfn, &q))
		return DR_ENOENT;
	*addr = q.addr;
	return 0;
}

/* dr_var_type_at: a search of every DIE under a unit's top-level ones
 * (functions, their blocks, inlined copies), as deep as DR_MAXDEPTH and
 * as many as DR_MAXSTEPS in all. */
struct atq { uint64_t addr, type; unsigned steps; };

static int below(struct dr_elf *e, Dwarf_Die d, struct atq *q, int depth)
{
	Dwarf_Die c;
	uint64_t a;
	int hit = 0;

	if (dr_tag(e, d) == DW_TAG_variable && dr_has(e, d, DW_AT_location) &&
	    locaddr(e, d, &a) == 0 && a == q->addr)
		return dr_ref(e, d, DW_AT_type, &q->type) == 0;
	if (depth >= DR_MAXDEPTH)
		return 0;
	for (c = dr_child(e, d); c && !hit && q->steps < DR_MAXSTEPS; q->steps++) {
		hit = below(e, c, q, depth + 1);
		if (!hit)
			c = dr_next(e, c);
	}
	if (c)
		dwarf_dealloc_die(c);
	return hit;
}

static int atfn(struct dr_elf *e, Dwarf_Die cu, Dwarf_Die d, void *arg)
{
	(void)cu;
	return below(e, d, arg, 0);
}

int dr_var_type_at(struct dr_elf *e, uint64_t addr, uint64_t hint, struct dr_vartype *out)
{
	struct atq q = { addr, 0, 0 };

	memset(out, 0, sizeof *out);
	if (!dr_eachtop(e, hint, atfn, &q))
		return DR_ENOENT;
	dr_vartype(e, q.type, out);
	return 0;
}
