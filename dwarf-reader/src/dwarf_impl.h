/* SPDX-License-Identifier: MIT */
/*
 * dwarf_impl.h - what the DWARF files (dwarf_*.c) share: one DIE's readers
 * (dwarf_die.c) and the unit look-up and walks (dwarf_units.c), and the
 * type questions two of them ask (dwarf_types.c).
 *
 * The readers return 0 / NULL / -1 when libdwarf says no, having freed its
 * error: a malformed file answers "unknown", never a crash or a leak.
 */
#ifndef DR_DWARF_IMPL_H
#define DR_DWARF_IMPL_H

#include "internal.h"

#define DR_MAXDEPTH 24
#define DR_MAXSTEPS (1u << 24)   /* DIEs visited by one walk */

/* dwarf_die.c */
HIDDEN void dr_drop(struct dr_elf *e, Dwarf_Error er);	/* free er, if any */
HIDDEN Dwarf_Die dr_offdie(struct dr_elf *e, uint64_t off);
HIDDEN int dr_tag(struct dr_elf *e, Dwarf_Die d);
HIDDEN const char *dr_diename(struct dr_elf *e, Dwarf_Die d);
HIDDEN uint64_t dr_dieoff(struct dr_elf *e, Dwarf_Die d);
HIDDEN Dwarf_Attribute dr_attr(struct dr_elf *e, Dwarf_Die d, int at);
HIDDEN int dr_has(struct dr_elf *e, Dwarf_Die d, int at);
HIDDEN int dr_udata(struct dr_elf *e, Dwarf_Die d, int at, uint64_t *v);
HIDDEN int dr_ref(struct dr_elf *e, Dwarf_Die d, int at, uint64_t *off);
/* An expression attribute (exprloc, or a block in DWARF 2/3), copied to
 * buf; *len: buf's size in, the expression's out. */
HIDDEN int dr_expr(struct dr_elf *e, Dwarf_Die d, int at, uint8_t *buf, size_t *len);
HIDDEN int dr_lowpc(struct dr_elf *e, Dwarf_Die d, uint64_t *lo);
/* [lo, hi) of a DIE with DW_AT_low_pc and DW_AT_high_pc (not DW_AT_ranges). */
HIDDEN int dr_pcrange(struct dr_elf *e, Dwarf_Die d, uint64_t *lo, uint64_t *hi);
HIDDEN Dwarf_Die dr_child(struct dr_elf *e, Dwarf_Die d);
/* The next sibling; frees d.  Offsets must increase, or the walk stops
 * (NULL): a corrupt DW_AT_sibling must not send us round in circles. */
HIDDEN Dwarf_Die dr_next(struct dr_elf *e, Dwarf_Die d);

/* dwarf_units.c */
/* e->aranges from .debug_aranges (dr_dwarf_open calls it once). */
HIDDEN void dr_load_aranges(struct dr_elf *e);
/* The unit DIE describing pc, or 0. */
HIDDEN Dwarf_Die dr_cu_at(struct dr_elf *e, uint64_t pc);
typedef int (*dr_dievisit)(struct dr_elf *, Dwarf_Die cu, Dwarf_Die d, void *);
/* Call fn on each top-level DIE of cu until it returns non-zero (its value
 * is returned) or *steps, shared by a whole search, reaches DR_MAXSTEPS. */
HIDDEN int dr_eachchild(struct dr_elf *e, Dwarf_Die cu, dr_dievisit fn, void *arg, unsigned *steps);
/* The same over the unit for hint, then (if fn found nothing) every unit. */
HIDDEN int dr_eachtop(struct dr_elf *e, uint64_t hint, dr_dievisit fn, void *arg);

/* dwarf_types.c */
/* sizeof the type at off (arrays included), 0 if unknown. */
HIDDEN uint64_t dr_typesize(struct dr_elf *e, uint64_t off, int depth);
/* Classify and name the type at off into t (zeroed by the caller). */
HIDDEN void dr_describe(struct dr_elf *e, uint64_t off, struct dr_type *t, int depth);
/* The type at off as dr_var_type_at gives it (out zeroed by the caller). */
HIDDEN void dr_vartype(struct dr_elf *e, uint64_t off, struct dr_vartype *out);

#endif
