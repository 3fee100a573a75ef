/* SPDX-License-Identifier: MIT */
/*
 * runtime.c - where libdefer's records are and how they are laid out.
 *
 * Two sources, checked against each other: the binary's DWARF (the records
 * defer_abi.h's DEFER_RECORDS lists, and the variable allgs), and the
 * runtime's own table _defer_debug_offsets, which survives stripping.  DWARF wins
 * when both are complete; a disagreement is reported.
 */
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include "internal.h"
#include "defer_abi.h"

static const char *const wanted[] = {
	"allgs", "deferproc", "deferreturn", "gopanic", "gorecover", "_defer_debug_offsets",
	"fatalpanic", "__defer_deferproc",
};

/* dr_layout holds the table's blocks (both are declared from defer_abi.h's
 * DEFER_TABLE_BLOCKS): copied block by block. */
#define SAMEBLOCK(block, S, list)                                             \
	_Static_assert(sizeof(((struct dr_layout *)0)->block) ==              \
		       sizeof(((struct defer_debug_offsets *)0)->block), #block);
DEFER_RECORDS(SAMEBLOCK)

/* The table as stored in the file.  Its allgs field is relocated at load
 * time in a PIE or a shared library: the file then holds 0 and the
 * link-time address is the addend of a RELATIVE relocation (R_X86_64_,
 * R_AARCH64_), or the exported symbol's value of an absolute one. */
static int readtable(struct dr_elf *e, uint64_t at, struct dr_layout *l, uint32_t *version)
{
	struct defer_debug_offsets t;
	const uint8_t *rel;
	size_t n, i;

	if (dr_elf_read(e, at, &t, sizeof t) != sizeof t || t.magic != DEFER_DEBUG_MAGIC)
		return -1;
	*version = t.version;
	if (t.version != DEFER_ABI_VERSION || t.size < sizeof t)
		return -1;
	l->allgs = t.allgs;
	if (!l->allgs && (rel = dr_elf_section(e, ".rela.dyn", NULL, &n))) {
		size_t nsym;
		const uint8_t *sym = dr_elf_section(e, ".dynsym", NULL, &nsym);

		for (i = 0; i + 24 <= n; i += 24) {
			uint64_t off, info, idx, v;
			int64_t add;
			memcpy(&off, rel + i, 8);
			memcpy(&info, rel + i + 8, 8);
			memcpy(&add, rel + i + 16, 8);
			if (off != at + offsetof(struct defer_debug_offsets, allgs))
				continue;
			idx = info >> 32;
			if (dr_elf_reltype(e, (uint32_t)info) == DR_REL_RELATIVE) {
				l->allgs = (uint64_t)add;
			} else if (dr_elf_reltype(e, (uint32_t)info) == DR_REL_ABS64 && /* allgs is exported */
				   sym && idx < nsym / 24) {
				memcpy(&v, sym + idx * 24 + 8, 8);
				l->allgs = v + (uint64_t)add;
			}
			break;
		}
	}
#define COPYBLOCK(block, S, list) memcpy(&l->block, &t.block, sizeof l->block);
	DEFER_RECORDS(COPYBLOCK)
	return 0;
}

int dr_offsets_table(struct dr_elf *e, uint64_t *at)
{
	const uint64_t magic = DEFER_DEBUG_MAGIC;
	size_t i;

	if (dr_sym(e, "_defer_debug_offsets", at, NULL) == 0)
		return 0;
	/* A stripped static program keeps no symbol for it: the magic
	 * number is what finds it (8-aligned, in a file-backed data segment). */
	for (i = 0; i < e->nph; i++) {
		const GElf_Phdr *p = &e->ph[i];
		uint64_t o;

		if (p->p_type != PT_LOAD || (p->p_flags & PF_X) ||
		    !dr_inside(p->p_offset, p->p_filesz, e->rawsize))
			continue;
		for (o = (8 - (p->p_vaddr & 7)) & 7; o + sizeof(struct defer_debug_offsets) <= p->p_filesz; o += 8)
			if (!memcmp(e->raw + p->p_offset + o, &magic, 8)) {
				*at = p->p_vaddr + o;
				return 0;
			}
	}
	return DR_ENOENT;
}

/* Fill one record's offsets from DWARF; fields, in the table's order. */
static int fromdwarf(struct dr_elf *e, const char *sname, uint64_t hint, const char *const *fields,
		     int n, uint32_t *out)
{
	const struct dr_struct *s;
	int i;

	if (dr_struct(e, sname, hint, &s) != 0)
		return -1;
	out[0] = (uint32_t)s->size;
	for (i = 0; i < n; i++) {
		int64_t o = dr_member_offset(s, fields[i]);
		if (o < 0 || (uint64_t)o >= s->size) {
			dr_warn("%s: struct %s has no member %s", dr_elf_path(e), sname, fields[i]);
			return -1;
		}
		out[i + 1] = (uint32_t)o;
	}
	return 0;
}

/* Per record of struct dr_layout: the C struct's tag, the DWARF member
 * behind each published field (a B entry's byte: its first bit-field), and
 * each field's name in messages (the C member's; a B entry's own name).
 * All from defer_abi.h's lists. */
#define MEMBER_F(S, type, member, dims, name, code) #member,
#define MEMBER_H(S, type, member, dims)
#define MEMBER_B(S, after, name, bit0, bit1) #bit0,
#define SHOWN_B(S, after, name, bit0, bit1) #name,
#define NAMES(block, S, list)                                                 \
	static const char *const block##_members[] = { list(MEMBER_F, MEMBER_H, MEMBER_B, S) }; \
	static const char *const block##_shown[] = { list(MEMBER_F, MEMBER_H, SHOWN_B, S) };
DEFER_RECORDS(NAMES)

#define NFIELDS(a) (int)(sizeof(a) / sizeof((a)[0]))
/* Each record of struct dr_layout: its C tag, its fields after size, and
 * where it lives. */
static const struct layrec {
	const char *name;
	const char *const *fields, *const *shown;
	int n;
	size_t off;
} layrecs[] = {
#define LAYREC(block, S, list)                                                \
	{ #S + sizeof "struct" /* the tag */, block##_members, block##_shown, NFIELDS(block##_members), \
	  offsetof(struct dr_layout, block) },
	DEFER_RECORDS(LAYREC)
};

static uint32_t *recof(struct dr_layout *l, int r)
{
	return (uint32_t *)((char *)l + layrecs[r].off);
}

static int dwarflayout(struct dr_elf *e, struct dr_runtime *rt, struct dr_layout *l)
{
	uint64_t hp = 0, hg = 0;
	int r;

	if (!dr_has_dwarf(e))
		return -1;
	/* Hints: functions defined in the same source files as the types and
	 * the variable (panic.c uses every record type, g.c defines allgs),
	 * so each question starts at one unit. */
	dr_sym(e, "gopanic", &hp, NULL);
	if (dr_sym(e, "__defer_refill", &hg, NULL) != 0)
		hg = hp;
	for (r = 0; r < NFIELDS(layrecs); r++)
		if (fromdwarf(e, layrecs[r].name, hp, layrecs[r].fields, layrecs[r].n, recof(l, r)) != 0)
			return -1;
	rt->dwarf_version = dr_dwarf_version(e);
	if (dr_var_addr(e, "allgs", hg, &l->allgs) != 0) {
		dr_warn("%s: no DWARF location for allgs", dr_elf_path(e));
		return -1;
	}
	return 0;
}

/* Name the first field where the two layouts differ. */
static void compare(struct dr_runtime *rt)
{
	const uint32_t *a, *b;
	int r, i;

	if (rt->table.allgs != rt->dwarf.allgs) {
		snprintf(rt->mismatch, sizeof rt->mismatch, "allgs: DWARF %#lx, table %#lx",
			 (unsigned long)rt->dwarf.allgs, (unsigned long)rt->table.allgs);
		return;
	}
	for (r = 0; r < NFIELDS(layrecs); r++) {
		a = recof(&rt->dwarf, r);
		b = recof(&rt->table, r);
		for (i = 0; i <= layrecs[r].n; i++)
			if (a[i] != b[i]) {
				snprintf(rt->mismatch, sizeof rt->mismatch, "%s.%s: DWARF %u, table %u",
					 layrecs[r].name, !i ? "(size)" : layrecs[r].shown[i - 1],
					 a[i], b[i]);
				return;
			}
	}
}

int dr_runtime_find(struct dr_elf *e, struct dr_runtime *rt, char *err, size_t errlen)
{
	size_t i;
	uint64_t at;

	memset(rt, 0, sizeof *rt);
	rt->elf = e;
	for (i = 0; i < sizeof wanted / sizeof *wanted; i++) {
		rt->syms[i].name = wanted[i];
		rt->syms[i].found = dr_sym(e, wanted[i], &rt->syms[i].addr, NULL) == 0;
	}
	rt->nsyms = (int)i;
	if (!rt->syms[5].found && dr_offsets_table(e, &at) == 0) {
		rt->syms[5].found = 1;
		rt->syms[5].addr = at;
	}
	if (!rt->syms[0].found && !rt->syms[1].found && !rt->syms[5].found) {
		dr_setf(err, errlen, "%s: not linked with libdefer (no allgs, deferproc or "
			"_defer_debug_offsets)", dr_elf_path(e));
		return DR_ENODEFER;
	}
	if (rt->syms[5].found) {
		if (readtable(e, rt->syms[5].addr, &rt->table, &rt->abi_version) == 0) {
			rt->have_table = 1;
			/* A table can have the right magic and version and still
			 * hold nonsense (0xffffffff offsets): say so, do not trust it. */
			if (dr_layout_check(&rt->table, rt->implausible, sizeof rt->implausible) != 0)
				dr_warn("%s: _defer_debug_offsets is implausible: %s", dr_elf_path(e),
					rt->implausible);
		}
		else if (rt->abi_version && rt->abi_version != DEFER_ABI_VERSION)
			dr_warn("%s: libdefer ABI version %u is not supported (this reader knows %d)",
				dr_elf_path(e), rt->abi_version, DEFER_ABI_VERSION);
		else
			dr_warn("%s: _defer_debug_offsets is unreadable or corrupt", dr_elf_path(e));
	}
	rt->have_dwarf = dwarflayout(e, rt, &rt->dwarf) == 0;
	if (rt->have_dwarf && rt->have_table)
		compare(rt);
	if (rt->mismatch[0])
		dr_warn("%s: DWARF and _defer_debug_offsets disagree: %s", dr_elf_path(e), rt->mismatch);
	if (rt->have_dwarf)
		rt->lay = rt->dwarf;
	else if (rt->have_table)
		rt->lay = rt->table;
	else {
		dr_setf(err, errlen, "%s: no debug info for libdefer's records and no usable "
			"_defer_debug_offsets table", dr_elf_path(e));
		return DR_ENODEBUG;
	}
	/* allgs from the symbol table is the same variable: the answer when
	 * only the table was usable and it held none (a PIE's table whose
	 * relocation readtable did not find). */
	if (!rt->lay.allgs && rt->syms[0].found)
		rt->lay.allgs = rt->syms[0].addr;
	return 0;
}

/* ---- which file of a target holds the runtime ---- */

int dr_is_runtime(struct dr_elf *e)
{
	uint64_t at, magic;

	/* The symbols are cheap; the table is searched for by its magic
	 * number through the file's data when they are gone (stripped).
	 * allgs alone proves nothing: a program on the shared library that
	 * reads allgs (or the table) itself has a copy-relocated one, zero
	 * in its file. */
	return dr_sym(e, "deferproc", NULL, NULL) == 0 || dr_sym(e, "gopanic", NULL, NULL) == 0 ||
	       (dr_offsets_table(e, &at) == 0 && dr_elf_read(e, at, &magic, 8) == 8 &&
		magic == DEFER_DEBUG_MAGIC);
}

int dr_target_runtime(struct dr_target *t, struct dr_runtime *rt, uint64_t *bias, char *err, size_t errlen)
{
	struct dr_elf *exe = dr_target_exe(t);
	char why[512] = "";
	uint64_t copy;
	int i, pass, named = 0, r;

	if (dr_is_runtime(exe)) {
		*bias = dr_target_exe_bias(t);
		return dr_runtime_find(exe, rt, err, errlen);
	}
	/* A shared libdefer: look at mapped files named like it first. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < dr_nimages(t); i++) {
			struct dr_image *im = dr_image(t, i);
			const char *base = strrchr(im->path, '/');

			base = base ? base + 1 : im->path;
			if ((strstr(base, "libdefer") != NULL) != (pass == 0) || im->start == UINT64_MAX)
				continue;
			if (!dr_image_elf(im)) {
				struct dr_elf *e;

				/* The library the process mapped is gone or is no
				 * longer a file: that, not "no libdefer", is the cause. */
				if (pass == 0 && dr_elf_open(im->path, &e, why, sizeof why) != 0)
					named = 1;
				else if (pass == 0)
					dr_elf_close(e);
				continue;
			}
			if (im->elf == exe || !dr_is_runtime(im->elf))
				continue;
			*bias = im->bias;
			if ((r = dr_runtime_find(im->elf, rt, err, errlen)) != 0)
				return r;
			/* A program that names allgs has it copy-relocated: the
			 * library then uses the program's copy, not its own. */
			if (dr_sym(exe, "allgs", &copy, NULL) == 0)
				rt->lay.allgs = copy + dr_target_exe_bias(t) - im->bias;
			return 0;
		}
	if (named)
		dr_setf(err, errlen, "cannot read the libdefer the %s mapped: %s",
			dr_target_is_core(t) ? "core" : "process", why);
	else
		dr_setf(err, errlen, "%s: not linked with libdefer (no libdefer in the process either)",
			dr_elf_path(exe));
	return DR_ENODEFER;
}
