/* SPDX-License-Identifier: MIT */
/*
 * dwarf.c - finding one unit, and one DIE in it, without reading the rest.
 *
 * Order of indexes for "which unit describes pc": .debug_aranges (gcc
 * emits it; it covers code only), then a one-time walk over unit headers
 * and their top-level subprograms (clang emits no aranges by default, and
 * libdwarf 20210528 cannot read clang's .debug_names).  Questions by name
 * take a hint pc in the same source file, so that they too start from one
 * unit; only a miss falls back to every unit's top-level DIEs.
 *
 * libdwarf 20210528 predates many fuzzing fixes: before handing it the
 * file we check that every .debug_* section lies inside the file, and we
 * bound every walk (depth, sibling count, offsets that must increase).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define MAXDEPTH 24
#define MAXSTEPS (1u << 24)   /* DIEs visited by one walk */

static void drop(struct dr_elf *e, Dwarf_Error er)
{
	if (er)
		dr_compat_free_error(e->dbg, er);
}

int dr_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;

	while (*p < end) {
		uint8_t b = *(*p)++;
		if (shift < 64)
			r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
		if (shift > 70)
			return -1;
	}
	return -1;
}

int dr_sleb(const uint8_t **p, const uint8_t *end, int64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;
	uint8_t b = 0;

	while (*p < end) {
		b = *(*p)++;
		if (shift < 64)
			r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				r |= ~(uint64_t)0 << shift;
			*v = (int64_t)r;
			return 0;
		}
		if (shift > 70)
			return -1;
	}
	return -1;
}

/* ---- opening ---- */

static int cmpcu(const void *a, const void *b)
{
	const struct dr_cu *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void loadaranges(struct dr_elf *e)
{
	Dwarf_Arange *ar = NULL;
	Dwarf_Signed n = 0, i;
	Dwarf_Error er = 0;
	int r;

	r = dwarf_get_aranges(e->dbg, &ar, &n, &er);
	if (r != DW_DLV_OK) {
		drop(e, er);
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
		drop(e, er);
		er = 0;
		dwarf_dealloc(e->dbg, ar[i], DW_DLA_ARANGE);
	}
	dwarf_dealloc(e->dbg, ar, DW_DLA_LIST);
	if (e->naranges)
		qsort(e->aranges, e->naranges, sizeof *e->aranges, cmpcu);
}

/* Every .debug_* section must be inside the file before libdwarf sees it. */
static int sections_sane(struct dr_elf *e)
{
	Elf_Scn *s = NULL;
	GElf_Shdr sh;
	size_t strndx;
	const char *n;
	int any = 0;

	if (elf_getshdrstrndx(e->elf, &strndx) != 0)
		return 0;
	while ((s = elf_nextscn(e->elf, s))) {
		if (!gelf_getshdr(s, &sh))
			return 0;
		n = elf_strptr(e->elf, strndx, sh.sh_name);
		if (!n || strncmp(n, ".debug_", 7) != 0)
			continue;
		if (sh.sh_type == SHT_NOBITS)
			continue;
		if (!dr_inside(sh.sh_offset, sh.sh_size, e->rawsize)) {
			dr_warn("%s: section %s lies outside the file; ignoring its DWARF", e->path, n);
			return 0;
		}
		if (strcmp(n, ".debug_info") == 0 && sh.sh_size)
			any = 1;
	}
	return any;
}

int dr_no_dwarf;

int dr_dwarf_open(struct dr_elf *e)
{
	char msg[200];

	if (e->dw_tried)
		return e->dbg != NULL;
	e->dw_tried = 1;
	if (dr_no_dwarf || e->eh.e_type == ET_CORE)
		return 0;
	if (!sections_sane(e)) {
		/* Distributions ship debug info apart, found by build-id under
		 * $DEFER_INSPECT_DEBUG_DIR (e.g. /usr/lib/debug). */
		const uint8_t *id;
		size_t n = dr_elf_build_id(e, &id), i;
		const char *dir = getenv("DEFER_INSPECT_DEBUG_DIR");
		char path[4200], err[64];
		int k;

		/* Off unless asked for: libc's debug file alone costs ~50 ms to
		 * open, more than the whole dump of a large core. */
		if (!dir || n < 2 || n > 40 || !*dir || strlen(dir) > 4000)
			return 0;
		k = snprintf(path, sizeof path, "%s/.build-id/%02x/", dir, id[0]);
		for (i = 1; i < n; i++)
			k += snprintf(path + k, sizeof path - k, "%02x", id[i]);
		snprintf(path + k, sizeof path - k, ".debug");
		if (dr_elf_open(path, &e->debugfile, err, sizeof err) != 0)
			return 0;
		if (!sections_sane(e->debugfile))
			return 0;
	}
	if (dr_compat_init(e->debugfile ? e->debugfile->fd : e->fd, &e->dbg, msg, sizeof msg) != DW_DLV_OK) {
		dr_warn("%s: cannot read DWARF: %s", e->path, msg);
		e->dbg = NULL;
		return 0;
	}
	loadaranges(e);
	return 1;
}

void dr_dwarf_close(struct dr_elf *e)
{
	size_t i;

	for (i = 0; i < e->nlts; i++) {
		dwarf_srclines_dealloc_b(e->lts[i].ctx);
		free(e->lts[i].addr);
		free(e->lts[i].seq);
	}
	free(e->lts);
	for (i = 0; i < e->nsubs; i++)
		free(e->subs[i].v);
	free(e->subs);
	for (i = 0; i < e->nstructs; i++)
		free(e->structs[i].members);
	free(e->structs);
	free(e->funcs);
	free(e->funchash);
	free(e->aranges);
	free(e->cus);
	free(e->cu_offs);
	if (e->dbg)
		dr_compat_finish(e->dbg);
	e->dbg = NULL;
	dr_elf_close(e->debugfile);
	e->debugfile = NULL;
}

int dr_has_dwarf(struct dr_elf *e) { return dr_dwarf_open(e); }
int dr_dwarf_version(struct dr_elf *e) { return e->dw_version; }

/* ---- small DIE helpers ---- */

static Dwarf_Die offdie(struct dr_elf *e, uint64_t off)
{
	Dwarf_Die d = 0;
	Dwarf_Error er = 0;

	if (dwarf_offdie_b(e->dbg, off, 1, &d, &er) != DW_DLV_OK) {
		drop(e, er);
		return 0;
	}
	return d;
}

static int tag(struct dr_elf *e, Dwarf_Die d)
{
	Dwarf_Half t = 0;
	Dwarf_Error er = 0;

	if (dwarf_tag(d, &t, &er) != DW_DLV_OK) {
		drop(e, er);
		return 0;
	}
	return t;
}

static const char *name(struct dr_elf *e, Dwarf_Die d)
{
	char *s = 0;
	Dwarf_Error er = 0;

	if (dwarf_diename(d, &s, &er) != DW_DLV_OK) {
		drop(e, er);
		return NULL;
	}
	return s;
}

static uint64_t dieoff(struct dr_elf *e, Dwarf_Die d)
{
	Dwarf_Off o = 0;
	Dwarf_Error er = 0;

	if (dwarf_dieoffset(d, &o, &er) != DW_DLV_OK)
		drop(e, er);
	return o;
}

static Dwarf_Attribute attr(struct dr_elf *e, Dwarf_Die d, int at)
{
	Dwarf_Attribute a = 0;
	Dwarf_Error er = 0;

	if (dwarf_attr(d, (Dwarf_Half)at, &a, &er) != DW_DLV_OK) {
		drop(e, er);
		return 0;
	}
	return a;
}

static int has(struct dr_elf *e, Dwarf_Die d, int at)
{
	Dwarf_Attribute a = attr(e, d, at);

	if (!a)
		return 0;
	dwarf_dealloc_attribute(a);
	return 1;
}

static int udata(struct dr_elf *e, Dwarf_Die d, int at, uint64_t *v)
{
	Dwarf_Attribute a = attr(e, d, at);
	Dwarf_Unsigned u = 0;
	Dwarf_Error er = 0;
	int r;

	if (!a)
		return -1;
	r = dwarf_formudata(a, &u, &er);
	drop(e, er);
	dwarf_dealloc_attribute(a);
	if (r != DW_DLV_OK)
		return -1;
	*v = u;
	return 0;
}

static int ref(struct dr_elf *e, Dwarf_Die d, int at, uint64_t *off)
{
	Dwarf_Attribute a = attr(e, d, at);
	Dwarf_Off o = 0;
	Dwarf_Error er = 0;
	int r;

	if (!a)
		return -1;
	r = dwarf_global_formref(a, &o, &er);
	drop(e, er);
	dwarf_dealloc_attribute(a);
	if (r != DW_DLV_OK)
		return -1;
	*off = o;
	return 0;
}

/* An expression attribute (exprloc, or a block in DWARF 2/3): copied to buf. */
static int expr(struct dr_elf *e, Dwarf_Die d, int at, uint8_t *buf, size_t *len)
{
	Dwarf_Attribute a = attr(e, d, at);
	Dwarf_Half form = 0;
	Dwarf_Error er = 0;
	int r = -1;

	if (!a)
		return -1;
	if (dwarf_whatform(a, &form, &er) != DW_DLV_OK) {
		drop(e, er);
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
		drop(e, er);
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
		drop(e, er);
	}
out:
	dwarf_dealloc_attribute(a);
	return r;
}

static int lowpc(struct dr_elf *e, Dwarf_Die d, uint64_t *lo)
{
	Dwarf_Addr a = 0;
	Dwarf_Error er = 0;

	if (dwarf_lowpc(d, &a, &er) != DW_DLV_OK) {
		drop(e, er);
		return -1;
	}
	*lo = a;
	return 0;
}

static int pcrange(struct dr_elf *e, Dwarf_Die d, uint64_t *lo, uint64_t *hi)
{
	Dwarf_Addr h = 0;
	Dwarf_Half form = 0;
	enum Dwarf_Form_Class cls = DW_FORM_CLASS_UNKNOWN;
	Dwarf_Error er = 0;

	if (lowpc(e, d, lo) != 0)
		return -1;
	if (dwarf_highpc_b(d, &h, &form, &cls, &er) != DW_DLV_OK) {
		drop(e, er);
		return -1;
	}
	*hi = cls == DW_FORM_CLASS_CONSTANT ? *lo + h : h;
	return *hi > *lo ? 0 : -1;
}

static Dwarf_Die child(struct dr_elf *e, Dwarf_Die d)
{
	Dwarf_Die c = 0;
	Dwarf_Error er = 0;

	if (dwarf_child(d, &c, &er) != DW_DLV_OK) {
		drop(e, er);
		return 0;
	}
	return c;
}

/* The next sibling; frees d.  Offsets must increase, or the walk stops:
 * a corrupt DW_AT_sibling must not send us round in circles. */
static Dwarf_Die next(struct dr_elf *e, Dwarf_Die d)
{
	Dwarf_Die s = 0;
	Dwarf_Error er = 0;
	uint64_t o = dieoff(e, d);

	if (dwarf_siblingof_b(e->dbg, d, 1, &s, &er) != DW_DLV_OK) {
		drop(e, er);
		s = 0;
	}
	dwarf_dealloc_die(d);
	if (s && dieoff(e, s) <= o) {
		dwarf_dealloc_die(s);
		return 0;
	}
	return s;
}

/* ---- units ---- */

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
			drop(e, er);
			break;
		}
		if (dwarf_siblingof_b(e->dbg, NULL, 1, &cu, &er) != DW_DLV_OK) {
			drop(e, er);
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
		e->cu_offs[e->ncu_offs++] = dieoff(e, cu);
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
		Dwarf_Die cu = offdie(e, e->cu_offs[i]), c;
		uint64_t lo, hi;

		if (!cu)
			continue;
		if (pcrange(e, cu, &lo, &hi) == 0 && lo) {
			addcu(e, &cap, lo, hi, e->cu_offs[i]);
		} else {
			for (c = child(e, cu); c && steps < MAXSTEPS; c = next(e, c), steps++)
				if (tag(e, c) == DW_TAG_subprogram && pcrange(e, c, &lo, &hi) == 0)
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

/* The unit DIE describing pc, or 0. */
static Dwarf_Die cu_at(struct dr_elf *e, uint64_t pc)
{
	uint64_t off;

	if (!dr_dwarf_open(e) || !pc)
		return 0;
	if (findcu(e->aranges, e->naranges, pc, &off) != 0) {
		loadcus(e);
		if (findcu(e->cus, e->ncus, pc, &off) != 0)
			return 0;
	}
	return offdie(e, off);
}

static void setversion(struct dr_elf *e, Dwarf_Die cu)
{
	Dwarf_Half v = 0, osz = 0;
	Dwarf_Error er = 0;

	if (dwarf_get_version_of_die(cu, &v, &osz) == DW_DLV_OK)
		e->dw_version = v;
	drop(e, er);
}

typedef int (*dievisit)(struct dr_elf *, Dwarf_Die cu, Dwarf_Die d, void *);

/* Call fn on each top-level DIE of cu until it returns non-zero (its value
 * is returned) or *steps, shared by a whole search, reaches MAXSTEPS. */
static int eachchild(struct dr_elf *e, Dwarf_Die cu, dievisit fn, void *arg, unsigned *steps)
{
	Dwarf_Die c;
	int r = 0;

	for (c = child(e, cu); c && *steps < MAXSTEPS; (*steps)++) {
		if ((r = fn(e, cu, c, arg)))
			break;
		c = next(e, c);
	}
	if (c)
		dwarf_dealloc_die(c);
	return r;
}

/*
 * Call fn on each top-level DIE of the unit for hint, then (if fn found
 * nothing) of every unit.  fn returns non-zero to stop.
 */
static int eachtop(struct dr_elf *e, uint64_t hint, dievisit fn, void *arg)
{
	Dwarf_Die cu;
	uint64_t first = ~(uint64_t)0;
	size_t i;
	unsigned steps = 0;
	int r = 0;

	if (!dr_dwarf_open(e))
		return 0;
	if ((cu = cu_at(e, hint))) {
		first = dieoff(e, cu);
		if ((r = eachchild(e, cu, fn, arg, &steps)))
			setversion(e, cu);
		dwarf_dealloc_die(cu);
		if (r)
			return r;
	}
	loadcuoffs(e);
	for (i = 0; i < e->ncu_offs && !r; i++) {
		if (e->cu_offs[i] == first || !(cu = offdie(e, e->cu_offs[i])))
			continue;
		if ((r = eachchild(e, cu, fn, arg, &steps)))
			setversion(e, cu);
		dwarf_dealloc_die(cu);
	}
	return r;
}

/* ---- variables ---- */

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

	if (expr(e, d, DW_AT_location, buf, &n) != 0 || n < 2)
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
			drop(e, er);
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
	if (tag(e, d) != DW_TAG_variable || !has(e, d, DW_AT_location))
		return 0;
	n = name(e, d);
	if (!n && ref(e, d, DW_AT_specification, &spec) == 0) {
		Dwarf_Die s = offdie(e, spec);
		int match = s && (n = name(e, s)) && strcmp(n, q->name) == 0;

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

	if (!eachtop(e, hint, varfn, &q))
		return DR_ENOENT;
	*addr = q.addr;
	return 0;
}

/* ---- types ---- */

/* Follow typedefs and qualifiers. */
static Dwarf_Die strip(struct dr_elf *e, Dwarf_Die d, int keep_typedef)
{
	int i;
	uint64_t t;

	for (i = 0; d && i < MAXDEPTH; i++) {
		int tg = tag(e, d);
		if (!(tg == DW_TAG_const_type || tg == DW_TAG_volatile_type ||
		      tg == DW_TAG_restrict_type || tg == DW_TAG_atomic_type ||
		      (!keep_typedef && tg == DW_TAG_typedef)))
			return d;
		if (ref(e, d, DW_AT_type, &t) != 0) {
			dwarf_dealloc_die(d);
			return 0; /* void */
		}
		dwarf_dealloc_die(d);
		d = offdie(e, t);
	}
	if (d)
		dwarf_dealloc_die(d);
	return 0;
}

/* sizeof the type at off (arrays included), 0 if unknown. */
static uint64_t typesize(struct dr_elf *e, uint64_t off, int depth)
{
	Dwarf_Die d = strip(e, offdie(e, off), 0), c;
	uint64_t sz = 0, n, t;

	if (!d || depth > MAXDEPTH)
		goto out;
	if (udata(e, d, DW_AT_byte_size, &sz) == 0)
		goto out;
	if (tag(e, d) == DW_TAG_pointer_type) {
		sz = 8;
	} else if (tag(e, d) == DW_TAG_array_type && ref(e, d, DW_AT_type, &t) == 0) {
		sz = typesize(e, t, depth + 1);
		for (c = child(e, d); c; c = next(e, c)) {
			if (tag(e, c) != DW_TAG_subrange_type)
				continue;
			if (udata(e, c, DW_AT_count, &n) == 0 || (udata(e, c, DW_AT_upper_bound, &n) == 0 && ++n))
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

/* A member's offset: a constant, or DW_OP_plus_uconst (DWARF 2),
 * or DW_AT_data_bit_offset for bit-fields. */
static int memberoff(struct dr_elf *e, Dwarf_Die m, uint64_t *off)
{
	uint8_t buf[32];
	size_t n = sizeof buf;
	const uint8_t *p, *end;
	uint64_t v;

	if (udata(e, m, DW_AT_data_member_location, off) == 0)
		return 0;
	if (expr(e, m, DW_AT_data_member_location, buf, &n) == 0 && n >= 2) {
		p = buf + 1;
		end = buf + n;
		if (buf[0] == DW_OP_plus_uconst && dr_uleb(&p, end, off) == 0 && p == end)
			return 0;
		if (buf[0] == DW_OP_constu && dr_uleb(&p, end, off) == 0 &&
		    p + 1 == end && *p == DW_OP_plus)
			return 0;
		return -1;
	}
	if (udata(e, m, DW_AT_data_bit_offset, &v) == 0) {
		*off = v / 8;
		return 0;
	}
	/* A union member, or the first member in old DWARF. */
	*off = 0;
	return 0;
}

struct structq { const char *name; struct dr_struct s; struct dr_elf *e; };

static int structfn(struct dr_elf *e, Dwarf_Die cu, Dwarf_Die d, void *arg)
{
	struct structq *q = arg;
	const char *n;
	Dwarf_Die m;
	uint64_t sz, t;
	int tg = tag(e, d), cap = 0;

	(void)cu;
	if ((tg != DW_TAG_structure_type && tg != DW_TAG_union_type) ||
	    has(e, d, DW_AT_declaration) || !(n = name(e, d)) || strcmp(n, q->name) != 0 ||
	    udata(e, d, DW_AT_byte_size, &sz) != 0)
		return 0;
	q->s.size = sz;
	for (m = child(e, d); m; m = next(e, m)) {
		struct dr_member mm = { 0, 0, 0 };

		if (tag(e, m) != DW_TAG_member)
			continue;
		if (memberoff(e, m, &mm.offset) != 0) {
			dr_warn("%s: struct %s: unreadable member location", e->path, q->name);
			continue;
		}
		mm.name = dr_strdup(e, name(e, m));
		if (ref(e, m, DW_AT_type, &t) == 0)
			mm.size = typesize(e, t, 0);
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
	struct structq q = { sname, { 0 }, e };
	struct dr_struct *v;
	size_t i;

	for (i = 0; i < e->nstructs; i++)
		if (strcmp(e->structs[i].name, sname) == 0) {
			*out = &e->structs[i];
			return 0;
		}
	if (!eachtop(e, hint, structfn, &q))
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

/* ---- functions ---- */

static void cat(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, "%s", s);
}

/* Classify and name the type at off. */
static void describe(struct dr_elf *e, uint64_t off, struct dr_type *t, int depth)
{
	Dwarf_Die d = offdie(e, off);
	uint64_t v, sub;
	const char *n;
	int tg;

	if (!d || depth > MAXDEPTH) {
		cat(t->name, sizeof t->name, "?");
		goto out;
	}
	tg = tag(e, d);
	n = name(e, d);
	switch (tg) {
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		if (depth == 0 || t->cls != DR_CLASS_POINTER)
			cat(t->name, sizeof t->name, tg == DW_TAG_const_type ? "const " :
			    tg == DW_TAG_volatile_type ? "volatile " : "");
		if (ref(e, d, DW_AT_type, &sub) == 0)
			describe(e, sub, t, depth + 1);
		else
			cat(t->name, sizeof t->name, "void");
		break;
	case DW_TAG_typedef:
		cat(t->name, sizeof t->name, n ? n : "?");
		{
			char save[sizeof t->name];
			memcpy(save, t->name, sizeof save);
			if (ref(e, d, DW_AT_type, &sub) == 0)
				describe(e, sub, t, depth + 1);
			memcpy(t->name, save, sizeof save);
		}
		break;
	case DW_TAG_pointer_type:
		t->cls = DR_CLASS_POINTER;
		t->size = 8;
		if (ref(e, d, DW_AT_type, &sub) == 0) {
			struct dr_type in = { 0 };
			describe(e, sub, &in, depth + 1);
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
		t->size = udata(e, d, DW_AT_byte_size, &v) == 0 ? (unsigned)v : 0;
		if (udata(e, d, DW_AT_encoding, &v) != 0)
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
		t->size = udata(e, d, DW_AT_byte_size, &v) == 0 ? (unsigned)v : 4;
		t->cls = DR_CLASS_UNSIGNED;
		if (ref(e, d, DW_AT_type, &sub) == 0) {
			struct dr_type in = { 0 };
			describe(e, sub, &in, depth + 1);
			if (in.cls == DR_CLASS_SIGNED)
				t->cls = DR_CLASS_SIGNED;
		}
		break;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		cat(t->name, sizeof t->name, tg == DW_TAG_union_type ? "union " : "struct ");
		cat(t->name, sizeof t->name, n ? n : "{...}");
		t->cls = DR_CLASS_OTHER;
		t->size = udata(e, d, DW_AT_byte_size, &v) == 0 ? (unsigned)v : 0;
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

struct funcq { uint64_t addr; struct dr_func f; };

static int funcfn(struct dr_elf *e, Dwarf_Die cu, Dwarf_Die d, void *arg)
{
	struct funcq *q = arg;
	Dwarf_Die src = 0, c;
	uint64_t lo, o, t;
	const char *n;

	(void)cu;
	if (tag(e, d) != DW_TAG_subprogram || lowpc(e, d, &lo) != 0 || lo != q->addr)
		return 0;
	q->f.lowpc = lo;
	n = name(e, d);
	/* An out-of-line copy of an inline function, or a definition of an
	 * earlier declaration: names and parameters live at the origin. */
	if (ref(e, d, DW_AT_abstract_origin, &o) == 0 || ref(e, d, DW_AT_specification, &o) == 0)
		src = offdie(e, o);
	if (!n && src)
		n = name(e, src);
	q->f.name = dr_strdup(e, n);
	for (c = child(e, d); c; c = next(e, c)) {
		Dwarf_Die p = c, org = 0;
		int tg = tag(e, c);

		if (tg == DW_TAG_unspecified_parameters) {
			q->f.variadic = 1;
			continue;
		}
		if (tg != DW_TAG_formal_parameter || q->f.nparams >= 8)
			continue;
		if (ref(e, c, DW_AT_abstract_origin, &o) == 0 && (org = offdie(e, o)))
			p = org;
		q->f.params[q->f.nparams].name = dr_strdup(e, name(e, p));
		memset(&q->f.params[q->f.nparams].type, 0, sizeof(struct dr_type));
		if (ref(e, p, DW_AT_type, &t) == 0)
			describe(e, t, &q->f.params[q->f.nparams].type, 0);
		q->f.nparams++;
		if (org)
			dwarf_dealloc_die(org);
	}
	/* The variadic marker may sit only on the declaration. */
	if (src && !q->f.variadic)
		for (c = child(e, src); c; c = next(e, c))
			if (tag(e, c) == DW_TAG_unspecified_parameters)
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
	if ((cu = cu_at(e, addr))) {
		unsigned steps = 0;
		found = eachchild(e, cu, funcfn, &q, &steps);
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

/* ---- lines ---- */

/* lt->addr and the sequences from the rows; 0 if a row cannot be read. */
static int rowindex(struct dr_elf *e, struct dr_linetab *lt)
{
	Dwarf_Signed i, first = 0;
	Dwarf_Addr a;
	Dwarf_Bool end;
	Dwarf_Error er = 0;

	lt->addr = malloc((lt->n ? lt->n : 1) * sizeof *lt->addr);
	lt->seq = malloc((lt->n ? lt->n : 1) * 2 * sizeof *lt->seq);
	if (!lt->addr || !lt->seq)
		goto fail;
	for (i = 0; i < lt->n; i++) {
		if (dwarf_lineaddr(lt->lines[i], &a, &er) != DW_DLV_OK ||
		    dwarf_lineendsequence(lt->lines[i], &end, &er) != DW_DLV_OK) {
			drop(e, er);
			goto fail;
		}
		lt->addr[i] = a;
		if (end) {
			if (i > first) {
				lt->seq[2 * lt->nseq] = first;
				lt->seq[2 * lt->nseq + 1] = i;
				lt->nseq++;
			}
			first = i + 1;
		}
	}
	return 1;
fail:
	free(lt->addr);
	free(lt->seq);
	lt->addr = 0;
	lt->seq = 0;
	lt->nseq = 0;
	return 0;
}

static struct dr_linetab *linetab(struct dr_elf *e, Dwarf_Die cu)
{
	uint64_t off = dieoff(e, cu);
	Dwarf_Unsigned ver = 0;
	Dwarf_Small count = 0;
	Dwarf_Error er = 0;
	struct dr_linetab lt = { off, 0, 0, 0, 0, 0, 0, 0 }, *v;
	char *producer = 0;
	size_t i;

	for (i = 0; i < e->nlts; i++)
		if (e->lts[i].cu == off)
			return e->lts[i].ctx ? &e->lts[i] : NULL;
	/*
	 * libdwarf 20210528 starts each sequence of a DWARF 5 line table with
	 * the file register at 0, where DWARF 5 (6.2.2) says 1 (libdwarf issue
	 * 137): rows before the sequence's first DW_LNS_set_file name the
	 * primary file instead of file 1.  GCC never sets file 0 itself, so in
	 * its tables a 0 is that default and means 1.  (clang does use file 0,
	 * and sets it.)
	 */
	if (dwarf_die_text(cu, DW_AT_producer, &producer, &er) == DW_DLV_OK) {
		lt.file0is1 = !strncmp(producer, "GNU ", 4);
		dwarf_dealloc(e->dbg, producer, DW_DLA_STRING);
	} else {
		drop(e, er);
	}
	if (dwarf_srclines_b(cu, &ver, &count, &lt.ctx, &er) != DW_DLV_OK) {
		drop(e, er);
		lt.ctx = 0;
	} else if (lt.file0is1 = lt.file0is1 && ver == 5,
		   dwarf_srclines_from_linecontext(lt.ctx, &lt.lines, &lt.n, &er) != DW_DLV_OK) {
		drop(e, er);
		dwarf_srclines_dealloc_b(lt.ctx);
		lt.ctx = 0;
	}
	if (lt.ctx && !rowindex(e, &lt)) {
		dwarf_srclines_dealloc_b(lt.ctx);
		lt.ctx = 0;
	}
	if (!(v = realloc(e->lts, (e->nlts + 1) * sizeof *v))) {
		if (lt.ctx) {
			dwarf_srclines_dealloc_b(lt.ctx);
			free(lt.addr);
			free(lt.seq);
		}
		return NULL;
	}
	e->lts = v;
	e->lts[e->nlts] = lt;
	return lt.ctx ? &e->lts[e->nlts++] : (e->nlts++, NULL);
}

/* The row whose file name row i has: itself, or if its file reads 0 in a
 * table where that means 1 (see linetab), any row of file 1. */
static Dwarf_Signed namerow(struct dr_elf *e, struct dr_linetab *lt, Dwarf_Signed i)
{
	Dwarf_Unsigned f;
	Dwarf_Error er = 0;
	Dwarf_Signed j;

	if (!lt->file0is1)
		return i;
	if (dwarf_line_srcfileno(lt->lines[i], &f, &er) != DW_DLV_OK || f != 0) {
		drop(e, er);
		return i;
	}
	for (j = 0; j < lt->n; j++) {
		if (dwarf_line_srcfileno(lt->lines[j], &f, &er) != DW_DLV_OK) {
			drop(e, er);
			break;
		}
		if (f == 1)
			return j;
	}
	return i;
}

int dr_line(struct dr_elf *e, uint64_t pc, const char **file, unsigned *line)
{
	Dwarf_Die cu = cu_at(e, pc);
	struct dr_linetab *lt;
	Dwarf_Signed best = -1, lo, hi, mid;
	Dwarf_Unsigned ln;
	Dwarf_Error er = 0;
	char *src = 0;
	size_t k;

	if (!cu)
		return DR_ENOENT;
	lt = linetab(e, cu);
	dwarf_dealloc_die(cu);
	if (!lt)
		return DR_ENOENT;
	/* Rows come in sequences of increasing addresses, each closed by an
	 * end row; in the first sequence that covers pc, the row that covers
	 * it is the last one at or below it. */
	for (k = 0; k < lt->nseq && best < 0; k++) {
		lo = lt->seq[2 * k];
		hi = lt->seq[2 * k + 1];
		if (pc < lt->addr[lo] || pc >= lt->addr[hi])
			continue;
		while (lo + 1 < hi) {
			mid = lo + (hi - lo) / 2;
			if (lt->addr[mid] <= pc)
				lo = mid;
			else
				hi = mid;
		}
		best = lo;
	}
	if (best < 0)
		return DR_ENOENT;
	if (dwarf_lineno(lt->lines[best], &ln, &er) != DW_DLV_OK ||
	    dwarf_linesrc(lt->lines[namerow(e, lt, best)], &src, &er) != DW_DLV_OK) {
		drop(e, er);
		return DR_ENOENT;
	}
	*file = dr_strdup(e, src);
	dwarf_dealloc(e->dbg, src, DW_DLA_STRING);
	*line = (unsigned)ln;
	return *file ? 0 : DR_ENOMEM;
}

/* ---- call sites ---- */

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

	if (depth > MAXDEPTH)
		return 0;
	for (c = child(e, d); c && !r && q->steps++ < MAXSTEPS; c = next(e, c)) {
		int tg = tag(e, c);
		struct dr_callsite cs = { 0, 0, 0, -1 };
		uint64_t o;
		uint8_t buf[16];
		size_t n = sizeof buf;

		if (tg == DW_TAG_call_site || tg == DW_TAG_GNU_call_site) {
			if (udata(e, c, DW_AT_call_return_pc, &cs.ret_pc) != 0 &&
			    lowpc(e, c, &cs.ret_pc) != 0) {
				Dwarf_Attribute a = attr(e, c, DW_AT_call_return_pc);
				Dwarf_Addr ad = 0;
				Dwarf_Error er = 0;
				if (!a)
					continue;
				if (dwarf_formaddr(a, &ad, &er) == DW_DLV_OK)
					cs.ret_pc = ad;
				drop(e, er);
				dwarf_dealloc_attribute(a);
			}
			if (ref(e, c, DW_AT_call_origin, &o) == 0 || ref(e, c, DW_AT_abstract_origin, &o) == 0) {
				Dwarf_Die org = offdie(e, o);
				if (org) {
					cs.callee = dr_strdup(e, name(e, org));
					dwarf_dealloc_die(org);
				}
			} else if (!has(e, c, DW_AT_call_target) && !has(e, c, DW_AT_GNU_call_site_target)) {
				/* gcc's entry for a call through a register it
				 * could not describe. */
				cs.indirect = 1;
			} else if (expr(e, c, DW_AT_call_target, buf, &n) == 0 ||
				   (n = sizeof buf, expr(e, c, DW_AT_GNU_call_site_target, buf, &n) == 0)) {
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
	struct dr_sub sub = { 0, 0, dieoff(e, c), 0 }, *v;

	(void)cu;
	if (tag(e, c) != DW_TAG_subprogram)
		return 0;
	if (pcrange(e, c, &sub.lo, &sub.hi) != 0) {
		if (!has(e, c, DW_AT_ranges))
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
	struct dr_subs ss = { dieoff(e, cu), 0, 0 }, *v;
	unsigned steps = 0;
	size_t i;

	for (i = 0; i < e->nsubs; i++)
		if (e->subs[i].cu == ss.cu)
			return &e->subs[i];
	eachchild(e, cu, subvisit, &ss, &steps);
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
	Dwarf_Die cu = cu_at(e, lo), d;
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
		    (d = offdie(e, ss->v[i].off))) {
			r = callsites(e, d, &q, 0);
			dwarf_dealloc_die(d);
		}
	return r;
}
