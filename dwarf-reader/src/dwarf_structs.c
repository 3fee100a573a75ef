/* SPDX-License-Identifier: MIT */
/* dwarf_structs.c - how a struct is laid out: its size and each member's
 * offset and size (the records' layout, runtime.c). */
#include <stdlib.h>
#include <string.h>
#include "dwarf_impl.h"

/* A member's offset: a constant, or DW_OP_plus_uconst (DWARF 2),
 * or DW_AT_data_bit_offset for bit-fields. */
static int memberoff(struct dr_elf *e, Dwarf_Die m, uint64_t *off)
{
	uint8_t buf[32];
	size_t n = sizeof buf;
	const uint8_t *p, *end;
	uint64_t v;

	if (dr_udata(e, m, DW_AT_data_member_location, off) == 0)
		return 0;
	if (dr_expr(e, m, DW_AT_data_member_location, buf, &n) == 0 && n >= 2) {
		p = buf + 1;
		end = buf + n;
		if (buf[0] == DW_OP_plus_uconst && dr_uleb(&p, end, off) == 0 && p == end)
			return 0;
		if (buf[0] == DW_OP_constu && dr_uleb(&p, end, off) == 0 &&
		    p + 1 == end && *p == DW_OP_plus)
			return 0;
		return -1;
	}
	if (dr_udata(e, m, DW_AT_data_bit_offset, &v) == 0) {
		*off = v / 8;
		return 0;
	}
	/* A union member, or the first member in old DWARF. */
	*off = 0;
	return 0;
}

struct structq { const char *name; struct dr_struct s; };

static int structfn(struct dr_elf *e, Dwarf_Die cu, Dwarf_Die d, void *arg)
{
	struct structq *q = arg;
	const char *n;
	Dwarf_Die m;
	uint64_t sz, t;
	int tg = dr_tag(e, d), cap = 0;

	(void)cu;
	if ((tg != DW_TAG_structure_type && tg != DW_TAG_union_type) ||
	    dr_has(e, d, DW_AT_declaration) || !(n = dr_diename(e, d)) || strcmp(n, q->name) != 0 ||
	    dr_udata(e, d, DW_AT_byte_size, &sz) != 0)
		return 0;
	q->s.size = sz;
	for (m = dr_child(e, d); m; m = dr_next(e, m)) {
		struct dr_member mm = { 0, 0, 0 };

		if (dr_tag(e, m) != DW_TAG_member)
			continue;
		if (memberoff(e, m, &mm.offset) != 0) {
			dr_warn("%s: struct %s: unreadable member location", e->path, q->name);
			continue;
		}
		mm.name = dr_strdup(e, dr_diename(e, m));
		if (dr_ref(e, m, DW_AT_type, &t) == 0)
			mm.size = dr_typesize(e, t, 0);
		if (q->s.nmembers == cap) {
			struct dr_member *v;
			if (cap >= 4096)
				break;
			cap = cap ? 2 * cap : 16;
			if (!(v = realloc(q->s.members, cap * sizeof *v)))
				break;
			q->s.members = v;
		}
		q->s.members[q->s.nmembers++] = mm;
	}
	if (m)
		dwarf_dealloc_die(m);
	return 1;
}

int dr_struct(struct dr_elf *e, const char *sname, uint64_t hint, const struct dr_struct **out)
{
	struct structq q = { sname, { 0 } };
	struct dr_struct *v;
	size_t i;

	for (i = 0; i < e->nstructs; i++)
		if (strcmp(e->structs[i].name, sname) == 0) {
			*out = &e->structs[i];
			return 0;
		}
	if (!dr_eachtop(e, hint, structfn, &q))
		return DR_ENOENT;
	if (!(v = realloc(e->structs, (e->nstructs + 1) * sizeof *v))) {
		free(q.s.members);
		return DR_ENOMEM;
	}
	e->structs = v;
	q.s.name = dr_strdup(e, sname);
	e->structs[e->nstructs] = q.s;
	*out = &e->structs[e->nstructs++];
	return 0;
}

int64_t dr_member_offset(const struct dr_struct *s, const char *member)
{
	int i;

	for (i = 0; i < s->nmembers; i++)
		if (s->members[i].name && strcmp(s->members[i].name, member) == 0)
			return (int64_t)s->members[i].offset;
	return -1;
}
