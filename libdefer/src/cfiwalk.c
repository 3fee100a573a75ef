/* SPDX-License-Identifier: MIT */
/*
 * cfiwalk.c - the registers of the owner's caller, for a recovery without
 * defer_result, found by reading the frames' CFI directly.
 *
 * libgcc's _Unwind_Backtrace costs about 1,200 instructions a frame (an
 * FDE search, the CIE and FDE parsed, the CFA program run, for every
 * frame of every walk), and a recovery walks four or five.  The rule of a
 * frame depends only on its pc, so it is computed once: for each return
 * address, the CFA as a register plus an offset, and where below the CFA
 * each callee-saved register was saved.  A walk then costs a hash probe
 * and a few loads per frame.
 *
 * Only the plain case is done here; anything else returns 0 and the
 * caller walks with libgcc (which is also what makes this safe to keep
 * small): no FDE (a signal trampoline without tables, JIT code), a signal
 * frame ('S'), a CFA or register rule given by an expression, a saved
 * register's slot at or above the CFA, pointer authentication, a frame not
 * above the last.  A signal frame between us and the owner always ends the
 * fast walk, so the frames it passes are all on the stack we run on.
 *
 * The rules are cached process-wide (two ways in each of 128 sets, a
 * seqlock per entry, every word an atomic), keyed by pc and by the C library's count of unloaded objects
 * (dl_iterate_phdr's dlpi_subs, read once per walk): code unloaded by
 * dlclose takes its rules with it, as libgcc's own FDE cache does.  Only
 * loaded objects' rules are cached: code made at run time, whose tables
 * were registered by hand (__register_frame), can be replaced at the same
 * address with other tables and no count changing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include "runtime.h"
#ifndef DLFO_EH_SEGMENT_TYPE	/* <dlfcn.h> without it: musl */
#include "musl/dl_find_object.h"
#endif

/* The registers a walk tracks, by slot: the callee-saved ones, the stack
 * pointer, the return-address column.  REG_SLOT maps DWARF numbers. */
#if defined(__x86_64__)
enum { NSLOT = 8, SP = 6, RA = 7 };
static int slotof(unsigned long reg)
{
	switch (reg) {
	case 3: return 0;	/* rbx */
	case 6: return 1;	/* rbp */
	case 12: case 13: case 14: case 15: return (int)reg - 10;
	case 7: return SP;
	case 16: return RA;
	default: return -1;
	}
}
#elif defined(__aarch64__)
enum { NSLOT = 21, RA = 11, SP = 12 };
static int slotof(unsigned long reg)
{
	if (reg >= 19 && reg <= 30)	/* x19-x28, x29 (fp), x30 (lr) */
		return (int)reg - 19;
	if (reg == 31)
		return SP;
	if (reg >= 72 && reg <= 79)	/* d8-d15 */
		return (int)reg - 72 + 13;
	return -1;
}
#endif

/* One frame's rule.  off[s]: the slot's save place as CFA + off[s]
 * (negative), for the slots in `saved` (the bits below CFASHIFT; the
 * others are unchanged: callee-saved registers the frame did not save).
 * The CFA is slot `saved >> CFASHIFT` plus cfaoff.  Packed in words so
 * that the cache reads and writes atomics (4 on x86-64). */
struct rule {
	uintptr_t pc;
	int32_t cfaoff;
	uint32_t saved;
	int16_t off[NSLOT];
};
/* LPBIT: the call at pc - 1 has a landing pad (cfilp). */
enum { CFASHIFT = 24, LPBIT = 1u << 23, SLOTBITS = (1u << NSLOT) - 1 };
_Static_assert(NSLOT < 23, "the slots' bits, LPBIT and the CFA's slot share `saved`");
#define RULEWORDS ((sizeof(struct rule) + 7) / 8)
struct entry {
	uint64_t seq;	/* odd while written */
	uint64_t subs;	/* dlpi_subs when written */
	uint64_t w[RULEWORDS];
};
/* 128 sets of two: a walk's four or five pcs must not evict each other
 * (a direct-mapped cache of 64 had two of them collide whenever code
 * moved, and then every walk parsed both FDEs again: 1,351 -> 4,681 Ir). */
enum { NSET = 128, NWAY = 2 };
static struct entry cache[NSET][NWAY];

static struct entry *setfor(uintptr_t pc)
{
	return cache[(uint64_t)pc * 0x9e3779b97f4a7c15ull >> (64 - 7)];
}

static int probe(struct entry *e, uintptr_t pc, uint64_t subs, struct rule *r)
{
	uint64_t s = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE), w[RULEWORDS];

	/* The pc first (w[0]): the other way's entry is usually another's.
	 * Acquire: subs cannot be read after the second read of seq. */
	if (s & 1 || (w[0] = __atomic_load_n(&e->w[0], __ATOMIC_ACQUIRE)) != pc ||
	    __atomic_load_n(&e->subs, __ATOMIC_ACQUIRE) != subs)
		return 0;
	/* Acquire loads, not a fence (which ThreadSanitizer does not model):
	 * the second read of seq cannot move before them. */
	for (size_t i = 1; i < RULEWORDS; i++)
		w[i] = __atomic_load_n(&e->w[i], __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != s)
		return 0;
	memcpy(r, w, sizeof *r);
	return 1;
}

static int lookup(uintptr_t pc, uint64_t subs, struct rule *r)
{
	struct entry *set = setfor(pc);

	return probe(&set[0], pc, subs, r) || probe(&set[1], pc, subs, r);
}

static void store(const struct rule *r, uint64_t subs)
{
	struct entry *set = setfor(r->pc), *e = &set[0];
	uint64_t s, w[RULEWORDS] = { 0 };

	/* An empty or stale way first, else the one the pc's bit picks. */
	if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&e->subs, __ATOMIC_RELAXED) == subs &&
	    (!__atomic_load_n(&set[1].seq, __ATOMIC_RELAXED) ||
	     __atomic_load_n(&set[1].subs, __ATOMIC_RELAXED) != subs || (r->pc >> 4 & 1)))
		e = &set[1];
	s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	/* Another writer has it: this rule is simply not cached. */
	if (s & 1 || !__atomic_compare_exchange_n(&e->seq, &s, s + 1, 0, __ATOMIC_ACQ_REL,
						  __ATOMIC_RELAXED))
		return;
	/* Release stores: none is seen before seq turned odd. */
	memcpy(w, r, sizeof *r);
	__atomic_store_n(&e->subs, subs, __ATOMIC_RELEASE);
	for (size_t i = 0; i < RULEWORDS; i++)
		__atomic_store_n(&e->w[i], w[i], __ATOMIC_RELEASE);
	__atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}

/* ---- the rule of a pc, from its FDE ---- */

/* libgcc's, exported by libgcc_s and libgcc_eh (unwind-dw2-fde.h). */
struct dwarf_eh_bases {
	void *tbase, *dbase, *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

struct cursor {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t uleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (c->p < c->end) {
		unsigned char b = *c->p++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	c->bad = 1;
	return 0;
}

static int64_t sleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	unsigned char b = 0x80;

	while (c->p < c->end && (b & 0x80)) {
		b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	if (b & 0x80)
		c->bad = 1;
	else if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

/* Past n bytes (a block's length, read from the tables): never back, and
 * never beyond the end, whatever n is. */
static void skip(struct cursor *c, uint64_t n)
{
	if (n > (size_t)(c->end - c->p)) {
		c->bad = 1;
		c->p = c->end;
	} else {
		c->p += n;
	}
}

static uint64_t fixed(struct cursor *c, unsigned n)
{
	uint64_t v = 0;

	if ((size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return 0;
	}
	memcpy(&v, c->p, n);	/* little-endian targets only (both are) */
	c->p += n;
	return v;
}

/* A pointer in DW_EH_PE encoding enc (the FDE's own, and the
 * personality's, which is only skipped: its caller clears the indirect
 * bit). */
static uintptr_t encoded(struct cursor *c, unsigned char enc, const struct dwarf_eh_bases *b)
{
	const unsigned char *at = c->p;
	uint64_t v;

	if (enc == 0xff)	/* DW_EH_PE_omit */
		return 0;
	switch (enc & 0x0f) {
	case 0x00: v = fixed(c, sizeof(uintptr_t)); break;	/* absptr */
	case 0x01: v = uleb(c); break;
	case 0x02: v = fixed(c, 2); break;
	case 0x03: v = fixed(c, 4); break;
	case 0x04: v = fixed(c, 8); break;
	case 0x09: v = (uint64_t)sleb(c); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)fixed(c, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)fixed(c, 4); break;
	case 0x0c: v = fixed(c, 8); break;
	default: c->bad = 1; return 0;
	}
	/* Zero is NULL, whatever the encoding: no base, nothing read through
	 * it (libgcc's read_encoded_value_with_base). */
	if (!v)
		return 0;
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += (uintptr_t)at; break;		/* pcrel */
	case 0x20: v += (uintptr_t)b->tbase; break;	/* textrel */
	case 0x30: v += (uintptr_t)b->dbase; break;	/* datarel */
	default: c->bad = 1; return 0;
	}
	/* Indirect: v is where the pointer is, as libgcc reads it (not if the
	 * field itself was cut short). */
	if (enc & 0x80 && !c->bad)
		v = *(const uintptr_t *)(uintptr_t)v;
	return (uintptr_t)v;
}

/* The CFA program's state: the CFA rule and each slot's, as in struct
 * rule; ok is cleared by anything this walker does not do. */
struct state {
	int64_t cfaoff;
	int cfaslot;
	int64_t off[NSLOT];
};
struct program {
	uint64_t codealign;
	int64_t dataalign;
	struct state init;	/* after the CIE's instructions, for DW_CFA_restore */
	int ok;
};

/* Run instructions until the row for target (loc starts at *loc). */
static void run(struct program *pr, struct cursor *c, uintptr_t *loc, uintptr_t target,
		struct state *st, const struct dwarf_eh_bases *b, unsigned char fdeenc)
{
	struct state saved[4];
	int depth = 0;

	while (pr->ok && !c->bad && c->p < c->end) {
		unsigned char op = *c->p++;
		uint64_t reg = op & 0x3f, delta = 0;
		int64_t off;
		int s;

		switch (op & 0xc0) {
		case 0x40:	/* advance_loc */
			delta = reg * pr->codealign;
			goto advance;
		case 0x80:	/* offset */
			off = (int64_t)uleb(c) * pr->dataalign;
			goto offset;
		case 0xc0:	/* restore */
			goto restore;
		}
		switch (op) {
		case 0x00:	/* nop */
			break;
		case 0x01:	/* set_loc */
			*loc = encoded(c, fdeenc, b);
			if (*loc > target)
				return;
			break;
		case 0x02: delta = fixed(c, 1) * pr->codealign; goto advance;
		case 0x03: delta = fixed(c, 2) * pr->codealign; goto advance;
		case 0x04: delta = fixed(c, 4) * pr->codealign; goto advance;
		case 0x05:	/* offset_extended */
			reg = uleb(c);
			off = (int64_t)uleb(c) * pr->dataalign;
			goto offset;
		case 0x11:	/* offset_extended_sf */
			reg = uleb(c);
			off = sleb(c) * pr->dataalign;
			goto offset;
		case 0x2f:	/* GNU_negative_offset_extended */
			reg = uleb(c);
			off = -(int64_t)uleb(c) * pr->dataalign;
			goto offset;
		case 0x06:	/* restore_extended */
			reg = uleb(c);
			goto restore;
		case 0x07:	/* undefined */
		case 0x08:	/* same_value */
			reg = uleb(c);
			if ((s = slotof(reg)) >= 0) {
				if (op == 0x07 && s != RA)
					pr->ok = 0;	/* a callee-saved register lost */
				st->off[s] = op == 0x07 ? 1 : 0;	/* 1: undefined (RA) */
			}
			break;
		case 0x09:	/* register */
			reg = uleb(c);
			(void)uleb(c);
			if (slotof(reg) >= 0)
				pr->ok = 0;
			break;
		case 0x0a:	/* remember_state */
			if (depth == 4) {
				pr->ok = 0;
				break;
			}
			saved[depth++] = *st;
			break;
		case 0x0b:	/* restore_state */
			if (!depth) {
				pr->ok = 0;
				break;
			}
			*st = saved[--depth];
			break;
		case 0x0c:	/* def_cfa */
			st->cfaslot = slotof(uleb(c));
			st->cfaoff = (int64_t)uleb(c);
			break;
		case 0x12:	/* def_cfa_sf */
			st->cfaslot = slotof(uleb(c));
			st->cfaoff = sleb(c) * pr->dataalign;
			break;
		case 0x0d:	/* def_cfa_register */
			st->cfaslot = slotof(uleb(c));
			break;
		case 0x0e:	/* def_cfa_offset */
			st->cfaoff = (int64_t)uleb(c);
			break;
		case 0x13:	/* def_cfa_offset_sf */
			st->cfaoff = sleb(c) * pr->dataalign;
			break;
		case 0x2e:	/* GNU_args_size: a landing pad's, not a return's */
			(void)uleb(c);
			break;
		case 0x10:	/* expression */
		case 0x16:	/* val_expression */
			reg = uleb(c);
			if (slotof(reg) >= 0)
				pr->ok = 0;
			skip(c, uleb(c));
			break;
		case 0x14:	/* val_offset */
		case 0x15:	/* val_offset_sf */
			reg = uleb(c);
			if (op == 0x14)
				(void)uleb(c);
			else
				(void)sleb(c);
			if (slotof(reg) >= 0)
				pr->ok = 0;
			break;
		default:	/* def_cfa_expression, AArch64's negate_ra_state, others */
			pr->ok = 0;
			break;
		}
		continue;
advance:
		if (*loc + delta > target)
			return;
		*loc += delta;
		continue;
offset:
		if ((s = slotof(reg)) >= 0) {
			if (off >= 0 || off < INT16_MIN)
				pr->ok = 0;
			st->off[s] = off;
		}
		continue;
restore:
		if ((s = slotof(reg)) >= 0)
			st->off[s] = pr->init.off[s];
	}
	if (c->bad)
		pr->ok = 0;
}

/* The rule for return address pc from its FDE; 0 if there is none or it
 * is not one this walker follows. */
static int derive(uintptr_t pc, struct rule *r)
{
	struct dwarf_eh_bases b;
	const unsigned char *fde = _Unwind_Find_FDE((void *)(pc - 1), &b), *cie;
	struct program pr = { .ok = 1 };
	struct state st;
	struct cursor c;
	unsigned char fdeenc = 0, lsdaenc = 0xff, version;
	const char *aug;
	uintptr_t loc, range, start;
	const unsigned char *lsda = 0;
	uint32_t len;
	int z = 0;

	if (!fde)
		return 0;
	memcpy(&len, fde, 4);
	if (len < 4 || len == 0xffffffffu)	/* 64-bit DWARF, or no room for the CIE field */
		return 0;
	c = (struct cursor){ fde + 8, fde + 4 + len, 0 };
	memcpy(&len, fde + 4, 4);	/* the CIE, this many bytes before the field */
	cie = fde + 4 - len;
	/* The CIE. */
	memcpy(&len, cie, 4);
	if (len < 4 || len == 0xffffffffu)
		return 0;
	{
		struct cursor k = { cie + 8, cie + 4 + len, 0 };

		version = (unsigned char)fixed(&k, 1);
		aug = (const char *)k.p;
		k.p += strnlen(aug, (size_t)(k.end - k.p)) + 1;
		if (version != 1 && version != 3)
			return 0;
		if (aug[0] && aug[0] != 'z')
			return 0;	/* "eh" and other old forms */
		pr.codealign = uleb(&k);
		pr.dataalign = sleb(&k);
		if (slotof(version == 1 ? fixed(&k, 1) : uleb(&k)) != RA)
			return 0;
		if (aug[0] == 'z') {
			uint64_t n = uleb(&k);
			struct cursor data = k;	/* the augmentation data */

			skip(&k, n);
			data.end = k.p;
			z = 1;
			for (const char *a = aug + 1; *a && !data.bad; a++) {
				if (*a == 'R')
					fdeenc = (unsigned char)fixed(&data, 1);
				else if (*a == 'P')
					(void)encoded(&data, (unsigned char)(fixed(&data, 1) & 0x7f), &b);
				else if (*a == 'L')
					lsdaenc = (unsigned char)fixed(&data, 1);
				else if (*a == 'S')
					return 0;	/* a signal frame: libgcc's */
				else if (*a != 'B' && *a != 'G')
					return 0;
			}
			if (data.bad)
				return 0;
		}
		if (k.bad)
			return 0;
		memset(&st, 0, sizeof st);
		st.cfaslot = -1;
		loc = 0;
		pr.init = st;
		run(&pr, &k, &loc, UINTPTR_MAX, &st, &b, fdeenc);
		pr.init = st;
	}
	/* The FDE: its range, then its program up to pc - 1 (pc is a return
	 * address: the call is the byte before). */
	loc = encoded(&c, fdeenc, &b);
	start = loc;
	range = encoded(&c, fdeenc & 0x0f, &b);
	if (c.bad || pc - 1 < loc || pc - 1 - loc >= range)
		return 0;
	if (z) {
		uint64_t n = uleb(&c);
		struct cursor a = { c.p, c.p + (n < (size_t)(c.end - c.p) ? n : (size_t)(c.end - c.p)), 0 };

		/* The FDE's augmentation data: the LSDA's address, for 'L'
		 * (read within the data, as libgcc reads it). */
		if (lsdaenc != 0xff && n) {
			lsda = (const unsigned char *)encoded(&a, lsdaenc, &b);
			if (a.bad)
				return 0;
		}
		skip(&c, n);
	}
	if (c.bad)
		return 0;
	run(&pr, &c, &loc, pc - 1, &st, &b, fdeenc);
	if (!pr.ok || st.cfaslot < 0 || st.cfaoff < INT32_MIN || st.cfaoff > INT32_MAX ||
	    st.off[RA] >= 0)
		return 0;
	memset(r, 0, sizeof *r);
	r->pc = pc;
	r->cfaoff = (int32_t)st.cfaoff;
	r->saved = (uint32_t)st.cfaslot << CFASHIFT;
	for (int s = 0; s < NSLOT; s++)
		if (st.off[s]) {
			r->saved |= 1u << s;
			r->off[s] = (int16_t)st.off[s];
		}
	/* Whether the call at pc - 1 has a landing pad (unwound.c reads the
	 * call-site table as the unwinder's personality would). */
	if (lsda && haslp(lsda, start, pc - 1))
		r->saved |= LPBIT;
	return 1;
}

/* Whether pc's code belongs to a loaded object, which only a dlclose
 * (counted in subs) takes away; not code made at run time (see top). */
static int inobject(uintptr_t pc)
{
	struct dl_find_object o;

	return _dl_find_object((void *)(pc - 1), &o) == 0;
}

/* ---- the walk ---- */

static int firstsubs(struct dl_phdr_info *info, size_t size, void *arg)
{
	*(uint64_t *)arg = size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs
				   ? info->dlpi_subs : UINT64_MAX;
	return 1;
}

/* struct defer_resume's registers by slot, and back. */
static void fromresume(uint64_t *v, const struct defer_resume *r)
{
#if defined(__x86_64__)
	v[0] = r->saved0;
	v[1] = r->fp;
	v[2] = r->saved1;
	v[3] = r->saved2;
	v[4] = r->saved3;
	v[5] = r->saved4;
#else
	v[0] = r->saved0;
	v[1] = r->saved1;
	v[2] = r->saved2;
	v[3] = r->saved3;
	v[4] = r->saved4;
	for (int i = 0; i < 5; i++)
		v[5 + i] = r->more[i];
	v[10] = r->fp;
	v[RA] = r->pc;	/* x30 at the call: the return address */
	for (int i = 0; i < 8; i++)
		v[13 + i] = r->fsaved[i];
#endif
	v[SP] = r->sp;
}

static void toresume(struct defer_resume *r, const uint64_t *v, uintptr_t pc)
{
	memset(r, 0, sizeof *r);
#if defined(__x86_64__)
	r->saved0 = v[0];
	r->fp = v[1];
	r->saved1 = v[2];
	r->saved2 = v[3];
	r->saved3 = v[4];
	r->saved4 = v[5];
#else
	r->saved0 = v[0];
	r->saved1 = v[1];
	r->saved2 = v[2];
	r->saved3 = v[3];
	r->saved4 = v[4];
	for (int i = 0; i < 5; i++)
		r->more[i] = v[5 + i];
	r->fp = v[10];
	for (int i = 0; i < 8; i++)
		r->fsaved[i] = v[13 + i];
#endif
	r->sp = v[SP];
	r->pc = pc;
}

/* A bound for a walk whose stack end is unknown (stackhi 0): CFAs only
 * grow, so a walk cannot loop, but a misread rule could wander. */
enum { MAXWALK = 1 << 16 };

/* Start a walk at a walk's entry point (noinline), whose registers
 * __defer_setresume took there (a function that calls it cannot be
 * inlined: it is returns_twice), with the loader's count of unloaded
 * objects the cache is keyed by. */
__attribute__((always_inline))
static inline void begin(struct cfiwalk *w, const struct defer_resume *here)
{
	memset(w->v, 0, sizeof w->v);
	fromresume(w->v, here);
	w->pc = here->pc;
	w->subs = UINT64_MAX;
	dl_iterate_phdr(firstsubs, &w->subs);
	w->state = 1;
}
_Static_assert(CFI_NSLOT == NSLOT, "struct cfiwalk (runtime.h) must match the slots");

/* The rule for pc, from the cache or else from its FDE (then cached, if
 * pc is a loaded object's: see inobject); 0: declined. */
static inline int ruleof(uintptr_t pc, uint64_t subs, struct rule *r)
{
	if (lookup(pc, subs, r))
		return 1;
	if (!derive(pc, r))
		return 0;
	if (subs != UINT64_MAX && inobject(pc))
		store(r, subs);
	return 1;
}

/* Unwind the frame whose registers are v by its rule: v becomes its
 * caller's, at the return (v[SP] the frame's CFA, v[RA] the return
 * address).  0 if the CFA does not grow or leaves the stack (a rule we
 * misread).  Every save place lies below the CFA, in the frame: none is
 * a register this loop changes. */
static inline int step(uint64_t *v, const struct rule *r, uintptr_t stackhi)
{
	uint64_t cfa = v[r->saved >> CFASHIFT] + (uint64_t)(int64_t)r->cfaoff;

	if (cfa <= v[SP] || (stackhi && cfa > stackhi))
		return 0;
	for (uint32_t m = r->saved & SLOTBITS; m; m &= m - 1) {
		int s = __builtin_ctz(m);

		v[s] = *(const uint64_t *)(uintptr_t)(cfa + (uint64_t)(int64_t)r->off[s]);
	}
	v[SP] = cfa;
	return 1;
}

/*
 * The state of the caller of the frame that holds `above` (the first
 * frame, from our caller out, whose CFA lies above it), right after that
 * frame returns, as findcaller (panic.c) gets it from libgcc; 0 if this
 * walker cannot tell (the caller then asks libgcc).  stackhi, if not 0,
 * bounds the CFAs (the thread's stack: a misread rule stops there).
 */
/* It reads the frames' saved registers, whatever AddressSanitizer thinks. */
__attribute__((noinline, no_sanitize_address))
int __defer_cfiwalk(uintptr_t above, uintptr_t stackhi, struct defer_resume *out)
{
	struct defer_resume here;
	struct cfiwalk w;

	__defer_setresume(&here);	/* returns once: nothing jumps to it */
	begin(&w, &here);
	if (w.v[SP] >= above)
		return 0;	/* on another stack than the owner (a signal stack) */
	for (int n = 0; n < MAXWALK; n++) {
		struct rule r;

		if (!ruleof(w.pc, w.subs, &r) || !step(w.v, &r, stackhi))
			return 0;
		w.pc = (uintptr_t)w.v[RA];
		if (w.v[SP] > above) {
			toresume(out, w.v, w.pc);
			return 1;
		}
		if (!w.pc)
			return 0;
	}
	return 0;
}

/*
 * Whether a frame whose stack pointer (its callee's CFA, as libgcc's
 * contexts give it) lies in [from, upto] has a landing pad at its call:
 * scanframes' question (unwound.c), asked once per record a panic runs,
 * with upto growing.  w keeps where the last question stopped, so each
 * frame is stepped through once per panic: the frames above `from` do not
 * run while the panic does, and their registers, once read, stay right.
 * w->state 0 before the first question; 1, -1 (declined: signal frames
 * and the rest, above; libgcc answers this panic's questions from then
 * on).  Returns 1, 0, or -1 (declined).
 */
__attribute__((noinline, no_sanitize_address))
int __defer_cfilp(struct cfiwalk *w, uintptr_t from, uintptr_t upto, uintptr_t stackhi)
{
	if (w->state < 0)
		return -1;
	/* The count of unloaded objects is read once a panic: the frames it
	 * asks about are live, so their code cannot have been unloaded since. */
	if (!w->state) {
		struct defer_resume here;

		__defer_setresume(&here);
		begin(w, &here);
	}
	/* The first frames are ours, scanframes' and gopanic's (below from):
	 * stepped through, not asked about.  w is left at a frame above
	 * upto, never at one of those. */
	for (int n = 0; n < MAXWALK && w->pc; n++) {
		struct rule r;

		if (w->v[SP] > upto)
			return 0;
		if (!ruleof(w->pc, w->subs, &r))
			break;
		if (w->v[SP] >= from && (r.saved & LPBIT))
			return 1;
		if (!step(w->v, &r, stackhi))
			break;
		w->pc = (uintptr_t)w->v[RA];
	}
	w->state = -1;
	return -1;
}
