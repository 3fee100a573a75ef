/* SPDX-License-Identifier: MIT */
/* dwarf_types.c - what a type is: its size (arrays included), and its class
 * and C spelling for printing a deferred call's arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dwarf_impl.h"

/* Follow typedefs and qualifiers. */
static Dwarf_Die strip(struct dr_elf *e, Dwarf_Die d, int keep_typedef)
{
	int i;
	uint64_t t;

	for (i = 0; d && i < DR_MAXDEPTH; i++) {
		int tg = dr_tag(e, d);
		if (!(tg == DW_TAG_const_type || tg == DW_TAG_volatile_type ||
		      tg == DW_TAG_restrict_type || tg == DW_TAG_atomic_type ||
		      (!keep_typedef && tg == DW_TAG_typedef)))
			return d;
		if (dr_ref(e, d, DW_AT_type, &t) != 0) {
			dwarf_dealloc_die(d);
			return 0; /* void */
		}
		dwarf_dealloc_die(d);
		d = dr_offdie(e, t);
	}
	if (d)
		dwarf_dealloc_die(d);
	return 0;
}

uint64_t dr_typesize(struct dr_elf *e, uint64_t off, int depth)
{
	Dwarf_Die d = strip(e, dr_offdie(e, off), 0), c;
	uint64_t sz = 0, n, t;

	if (!d || depth > DR_MAXDEPTH)
		goto out;
	if (dr_udata(e, d, DW_AT_byte_size, &sz) == 0)
		goto out;
	if (dr_tag(e, d) == DW_TAG_pointer_type) {
		sz = 8;
	} else if (dr_tag(e, d) == DW_TAG_array_type && dr_ref(e, d, DW_AT_type, &t) == 0) {
		sz = dr_typesize(e, t, depth + 1);
		for (c = dr_child(e, d); c; c = dr_next(e, c)) {
			if (dr_tag(e, c) != DW_TAG_subrange_type)
				continue;
			if (dr_udata(e, c, DW_AT_count, &n) == 0 || (dr_udata(e, c, DW_AT_upper_bound, &n) == 0 && ++n))
				sz = n && sz <= UINT64_MAX / n ? sz * n : 0;
			else
				sz = 0;
		}
	}
out:
	if (d)
		dwarf_dealloc_die(d);
	return sz;
}

static void cat(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, "%s", s);
}

void dr_describe(struct dr_elf *e, uint64_t off, struct dr_type *t, int depth)
{
	Dwarf_Die d = dr_offdie(e, off);
	uint64_t v, sub;
	const char *n;
	int tg;

	if (!d || depth > DR_MAXDEPTH) {
		cat(t->name, sizeof t->name, "?");
		goto out;
	}
	tg = dr_tag(e, d);
	n = dr_diename(e, d);
	switch (tg) {
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		if (depth == 0 || t->cls != DR_CLASS_POINTER)
			cat(t->name, sizeof t->name, tg == DW_TAG_const_type ? "const " :
			    tg == DW_TAG_volatile_type ? "volatile " : "");
		if (dr_ref(e, d, DW_AT_type, &sub) == 0)
			dr_describe(e, sub, t, depth + 1);
		else
			cat(t->name, sizeof t->name, "void");
		break;
	case DW_TAG_typedef:
		cat(t->name, sizeof t->name, n ? n : "?");
		{
			char save[sizeof t->name];
			memcpy(save, t->name, sizeof save);
			if (dr_ref(e, d, DW_AT_type, &sub) == 0)
				dr_describe(e, sub, t, depth + 1);
			memcpy(t->name, save, sizeof save);
		}
		break;
	case DW_TAG_pointer_type:
		t->cls = DR_CLASS_POINTER;
		t->size = 8;
		if (dr_ref(e, d, DW_AT_type, &sub) == 0) {
			struct dr_type in = { 0 };
			dr_describe(e, sub, &in, depth + 1);
			cat(t->name, sizeof t->name, in.name);
			t->is_char_ptr = in.cls != DR_CLASS_POINTER && in.size == 1 &&
					 (strstr(in.name, "char") != NULL);
		} else {
			cat(t->name, sizeof t->name, "void");
		}
		cat(t->name, sizeof t->name, " *");
		t->cls = DR_CLASS_POINTER;
		t->size = 8;
		break;
	case DW_TAG_base_type:
		cat(t->name, sizeof t->name, n ? n : "?");
		t->size = dr_udata(e, d, DW_AT_byte_size, &v) == 0 ? (unsigned)v : 0;
		if (dr_udata(e, d, DW_AT_encoding, &v) != 0)
			v = 0;
		t->cls = v == DW_ATE_float ? DR_CLASS_FLOAT :
			 v == DW_ATE_boolean ? DR_CLASS_BOOL :
			 v == DW_ATE_signed || v == DW_ATE_signed_char ? DR_CLASS_SIGNED :
			 v == DW_ATE_unsigned || v == DW_ATE_unsigned_char ? DR_CLASS_UNSIGNED :
			 DR_CLASS_OTHER;
		break;
	case DW_TAG_enumeration_type:
		cat(t->name, sizeof t->name, "enum ");
		cat(t->name, sizeof t->name, n ? n : "{...}");
		t->size = dr_udata(e, d, DW_AT_byte_size, &v) == 0 ? (unsigned)v : 4;
		t->cls = DR_CLASS_UNSIGNED;
		if (dr_ref(e, d, DW_AT_type, &sub) == 0) {
			struct dr_type in = { 0 };
			dr_describe(e, sub, &in, depth + 1);
			if (in.cls == DR_CLASS_SIGNED)
				t->cls = DR_CLASS_SIGNED;
		}
		break;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		cat(t->name, sizeof t->name, tg == DW_TAG_union_type ? "union " : "struct ");
		cat(t->name, sizeof t->name, n ? n : "{...}");
		t->cls = DR_CLASS_OTHER;
		t->size = dr_udata(e, d, DW_AT_byte_size, &v) == 0 ? (unsigned)v : 0;
		break;
	case DW_TAG_subroutine_type:
		cat(t->name, sizeof t->name, "fn()");
		t->cls = DR_CLASS_OTHER;
		break;
	default:
		cat(t->name, sizeof t->name, n ? n : "?");
		t->cls = DR_CLASS_OTHER;
	}
out:
	if (d)
		dwarf_dealloc_die(d);
}

/* The members of the struct or union a pointer type (at off) points to. */
static void fields(struct dr_elf *e, uint64_t off, struct dr_vartype *out)
{
	Dwarf_Die p = dr_offdie(e, off), s = 0, m;
	uint64_t t, mo;
	int tg;

	if (p && dr_tag(e, p) == DW_TAG_pointer_type && dr_ref(e, p, DW_AT_type, &t) == 0)
		s = strip(e, dr_offdie(e, t), 0);
	if (p)
		dwarf_dealloc_die(p);
	if (!s)
		return;
	tg = dr_tag(e, s);
	if (tg != DW_TAG_structure_type && tg != DW_TAG_union_type && tg != DW_TAG_class_type) {
		dwarf_dealloc_die(s);
		return;
	}
	for (m = dr_child(e, s); m && out->nfields < DR_MAXFIELDS; m = dr_next(e, m)) {
		struct dr_field *f = &out->fields[out->nfields];

		/* A bit-field or a location expression: not one we read. */
		if (dr_tag(e, m) != DW_TAG_member || dr_has(e, m, DW_AT_bit_size) ||
		    dr_udata(e, m, DW_AT_data_member_location, &mo) != 0 ||
		    dr_ref(e, m, DW_AT_type, &t) != 0)
			continue;
		f->name = dr_strdup(e, dr_diename(e, m));
		f->offset = mo;
		dr_describe(e, t, &f->type, 0);
		if (f->type.cls == DR_CLASS_OTHER || f->type.cls == DR_CLASS_NONE)
			f->type.size = (unsigned)dr_typesize(e, t, 0);
		out->nfields++;
	}
	if (m)
		dwarf_dealloc_die(m);
	dwarf_dealloc_die(s);
}

void dr_vartype(struct dr_elf *e, uint64_t off, struct dr_vartype *out)
{
	Dwarf_Die d;
	int i;

	/* The site object is `T const`: the value's type is T. */
	for (i = 0; i < DR_MAXDEPTH && (d = dr_offdie(e, off)); i++) {
		int tg = dr_tag(e, d), more = tg == DW_TAG_const_type || tg == DW_TAG_volatile_type;
		uint64_t sub = 0;

		more = more && dr_ref(e, d, DW_AT_type, &sub) == 0;
		dwarf_dealloc_die(d);
		if (!more)
			break;
		off = sub;
	}
	dr_describe(e, off, &out->type, 0);
	fields(e, off, out);
}
