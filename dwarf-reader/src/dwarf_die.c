/* SPDX-License-Identifier: MIT */
/* dwarf_die.c - one DIE's tag, name, attributes and neighbours, each read
 * with its libdwarf error freed (dwarf_impl.h). */
#include <stdlib.h>
#include <string.h>
#include "dwarf_impl.h"

void dr_drop(struct dr_elf *e, Dwarf_Error er)
{
	if (er)
		dr_compat_free_error(e->dbg, er);
}

Dwarf_Die dr_offdie(struct dr_elf *e, uint64_t off)
{
	Dwarf_Die d = 0;
	Dwarf_Error er = 0;

	if (dwarf_offdie_b(e->dbg, off, 1, &d, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		return 0;
	}
	return d;
}

int dr_tag(struct dr_elf *e, Dwarf_Die d)
{
	Dwarf_Half t = 0;
	Dwarf_Error er = 0;

	if (dwarf_tag(d, &t, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		return 0;
	}
	return t;
}

const char *dr_diename(struct dr_elf *e, Dwarf_Die d)
{
	char *s = 0;
	Dwarf_Error er = 0;

	if (dwarf_diename(d, &s, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		return NULL;
	}
	return s;
}

uint64_t dr_dieoff(struct dr_elf *e, Dwarf_Die d)
{
	Dwarf_Off o = 0;
	Dwarf_Error er = 0;

	if (dwarf_dieoffset(d, &o, &er) != DW_DLV_OK)
		dr_drop(e, er);
	return o;
}

Dwarf_Attribute dr_attr(struct dr_elf *e, Dwarf_Die d, int at)
{
	Dwarf_Attribute a = 0;
	Dwarf_Error er = 0;

	if (dwarf_attr(d, (Dwarf_Half)at, &a, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		return 0;
	}
	return a;
}

int dr_has(struct dr_elf *e, Dwarf_Die d, int at)
{
	Dwarf_Attribute a = dr_attr(e, d, at);

	if (!a)
		return 0;
	dwarf_dealloc_attribute(a);
	return 1;
}

int dr_udata(struct dr_elf *e, Dwarf_Die d, int at, uint64_t *v)
{
	Dwarf_Attribute a = dr_attr(e, d, at);
	Dwarf_Unsigned u = 0;
	Dwarf_Error er = 0;
	int r;

	if (!a)
		return -1;
	r = dwarf_formudata(a, &u, &er);
	dr_drop(e, er);
	dwarf_dealloc_attribute(a);
	if (r != DW_DLV_OK)
		return -1;
	*v = u;
	return 0;
}

int dr_ref(struct dr_elf *e, Dwarf_Die d, int at, uint64_t *off)
{
	Dwarf_Attribute a = dr_attr(e, d, at);
	Dwarf_Off o = 0;
	Dwarf_Error er = 0;
	int r;

	if (!a)
		return -1;
	r = dwarf_global_formref(a, &o, &er);
	dr_drop(e, er);
	dwarf_dealloc_attribute(a);
	if (r != DW_DLV_OK)
		return -1;
	*off = o;
	return 0;
}

int dr_expr(struct dr_elf *e, Dwarf_Die d, int at, uint8_t *buf, size_t *len)
{
	Dwarf_Attribute a = dr_attr(e, d, at);
	Dwarf_Half form = 0;
	Dwarf_Error er = 0;
	int r = -1;

	if (!a)
		return -1;
	if (dwarf_whatform(a, &form, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		goto out;
	}
	if (form == DW_FORM_exprloc) {
		Dwarf_Unsigned n = 0;
		Dwarf_Ptr p = 0;

		if (dwarf_formexprloc(a, &n, &p, &er) == DW_DLV_OK && n <= *len) {
			memcpy(buf, p, n);
			*len = n;
			r = 0;
		}
		dr_drop(e, er);
	} else if (form == DW_FORM_block1 || form == DW_FORM_block2 || form == DW_FORM_block4 ||
		   form == DW_FORM_block) {
		Dwarf_Block *b = 0;

		if (dwarf_formblock(a, &b, &er) == DW_DLV_OK) {
			if (b->bl_len <= *len) {
				memcpy(buf, b->bl_data, b->bl_len);
				*len = b->bl_len;
				r = 0;
			}
			dwarf_dealloc(e->dbg, b, DW_DLA_BLOCK);
		}
		dr_drop(e, er);
	}
out:
	dwarf_dealloc_attribute(a);
	return r;
}

int dr_lowpc(struct dr_elf *e, Dwarf_Die d, uint64_t *lo)
{
	Dwarf_Addr a = 0;
	Dwarf_Error er = 0;

	if (dwarf_lowpc(d, &a, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		return -1;
	}
	*lo = a;
	return 0;
}

int dr_pcrange(struct dr_elf *e, Dwarf_Die d, uint64_t *lo, uint64_t *hi)
{
	Dwarf_Addr h = 0;
	Dwarf_Half form = 0;
	enum Dwarf_Form_Class cls = DW_FORM_CLASS_UNKNOWN;
	Dwarf_Error er = 0;

	if (dr_lowpc(e, d, lo) != 0)
		return -1;
	if (dwarf_highpc_b(d, &h, &form, &cls, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		return -1;
	}
	*hi = cls == DW_FORM_CLASS_CONSTANT ? *lo + h : h;
	return *hi > *lo ? 0 : -1;
}

Dwarf_Die dr_child(struct dr_elf *e, Dwarf_Die d)
{
	Dwarf_Die c = 0;
	Dwarf_Error er = 0;

	if (dwarf_child(d, &c, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		return 0;
	}
	return c;
}

Dwarf_Die dr_next(struct dr_elf *e, Dwarf_Die d)
{
	Dwarf_Die s = 0;
	Dwarf_Error er = 0;
	uint64_t o = dr_dieoff(e, d);

	if (dwarf_siblingof_b(e->dbg, d, 1, &s, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		s = 0;
	}
	dwarf_dealloc_die(d);
	if (s && dr_dieoff(e, s) <= o) {
		dwarf_dealloc_die(s);
		return 0;
	}
	return s;
}
