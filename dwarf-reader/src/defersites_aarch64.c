/* SPDX-License-Identifier: MIT */
/*
 * defersites_aarch64.c - the A64 instruction shapes that reach the const
 * pointer __defer_deferproc (see defersites.c).  A64 has no call through
 * memory: the pointer's value is loaded into a register (adrp + ldr, or a
 * GOT slot by adrp + ldr, then ldr [x]), and `blr` calls the register,
 * often several instructions later (clang -O2 interleaves the three).
 * So one pass follows, per register, what it holds: a page from adrp, the
 * pointer's address, or its value (and the load that put it there); an
 * instruction that may write a register forgets it, a call forgets the
 * registers the callee may clobber (AAPCS64: x0-x18, x30), an
 * unconditional branch forgets all.  Forgetting too much only costs a
 * `blr`, whose defer() line is then still found by its load; a register
 * is never kept past an instruction that might write it, so a `blr` is
 * taken for a call of deferproc only when the register still holds the
 * value loaded from the pointer.
 */
#include <string.h>
#include "defersites.h"

enum held { NONE, PAGE, ADDR, VALUE };

struct reg {
	enum held what;
	uint64_t page;  /* PAGE: the address adrp computed */
	size_t hit;     /* ADDR, VALUE: the load's hit, SIZE_MAX if none */
};

#define NREG 31     /* x0-x30; register number 31 is sp or xzr */

static int64_t sext(uint64_t v, int bits)
{
	uint64_t m = 1ull << (bits - 1);

	v &= (m << 1) - 1;
	return (int64_t)((v ^ m) - m);
}

static void forget(struct reg *r, unsigned x)
{
	if (x < NREG)
		r[x].what = NONE;
}

/* What a 64-bit load from addr gives: the pointer's value, its address
 * (a GOT slot: relocated, or filled at link time in a non-PIE file). */
static enum held loaded(struct sites *s, struct dr_elf *e, uint64_t addr)
{
	uint64_t w;

	if (dr_sites_in(s->value, s->nvalue, addr))
		return VALUE;
	if (dr_sites_in(s->addr, s->naddr, addr) ||
	    (dr_elf_read(e, addr, &w, 8) == 8 && dr_sites_in(s->value, s->nvalue, w)))
		return ADDR;
	return NONE;
}

/* x now holds what (loaded by the instruction at pc): a new hit for a
 * load of the pointer's address or value, or, for its value through an
 * address loaded earlier (hit), that hit now names the register. */
static void load(struct sites *s, struct reg *r, unsigned x, enum held what, uint64_t pc, size_t hit)
{
	if (x >= NREG)
		return;
	r[x].what = what;
	r[x].hit = SIZE_MAX;
	if (what != ADDR && what != VALUE)
		return;
	if (hit == SIZE_MAX) {
		size_t n = s->n;
		dr_sites_add(s, (struct hit){ pc, 0, -1, 0, 0, 0 });
		hit = s->n > n ? n : SIZE_MAX;
	}
	if (what == VALUE && hit != SIZE_MAX)
		s->v[hit].reg = (int)x;   /* DWARF numbers x0-x30 as 0-30 */
	r[x].hit = hit;
}

/* Forget the general registers a load or store (op0 x1x0) may write:
 * the loaded ones (not vector ones), a written-back base; for a form not
 * told apart here, every register field. */
static void loadstore(struct reg *r, uint32_t w)
{
	unsigned rt = w & 31, rn = (w >> 5) & 31, rt2 = (w >> 10) & 31;
	int load, back = 0, pair = 0;

	if ((w & 0x3a000000) == 0x28000000) {            /* ldp, stp, ldnp, stnp, ldpsw */
		load = (w & 0x00400000) != 0;
		back = (w & 0x00800000) != 0;
		pair = 1;
	} else if ((w & 0x3b000000) == 0x39000000) {     /* ldr, str [xn, #imm] */
		load = (w & 0x00c00000) != 0;
	} else if ((w & 0x3b200000) == 0x38000000) {     /* ldur, stur, [xn, #imm]!, [xn], #imm */
		load = (w & 0x00c00000) != 0;
		back = (w & 0x400) != 0;
	} else if ((w & 0x3b200c00) == 0x38200800) {     /* ldr, str [xn, xm] */
		load = (w & 0x00c00000) != 0;
	} else if ((w & 0x3b000000) == 0x18000000) {     /* ldr literal */
		load = 1;
	} else {                                         /* exclusives, atomics, structures */
		forget(r, rt);
		forget(r, rt2);
		forget(r, (w >> 16) & 31);
		forget(r, rn);
		return;
	}
	if (back)
		forget(r, rn);
	if (load && !(w & 0x04000000)) {
		forget(r, rt);
		if (pair)
			forget(r, rt2);
	}
}

/* Forget the general registers an instruction not decoded above may write. */
static void written(struct reg *r, uint32_t w)
{
	if ((w & 0x0a000000) == 0x08000000)
		loadstore(r, w);
	else if ((w & 0x0e000000) != 0x0e000000)
		forget(r, w & 31);   /* data processing, system, branches: Rd (or nothing) */
	/* SIMD and floating point (op0 x111) write vector registers, but for
	 * the moves and conversions to a general one (fmov, fcvt*, umov, smov,
	 * and the fixed-point fcvtz*). */
	else if ((w & 0x5f20fc00) == 0x1e200000 || (w & 0x9fe08400) == 0x0e000400 ||
		 (w & 0x5f200000) == 0x1e000000)
		forget(r, w & 31);
}

void dr_scan_aarch64(struct sites *s, struct dr_elf *e, const uint8_t *b, size_t n, uint64_t va)
{
	struct reg r[NREG];
	size_t i;
	unsigned x;

	memset(r, 0, sizeof r);
	for (i = 0; i + 4 <= n; i += 4) {
		uint64_t pc = va + i;
		uint32_t w;
		unsigned rd, rn;

		memcpy(&w, b + i, 4);
		rd = w & 31;
		rn = (w >> 5) & 31;
		if ((w & 0x9f000000) == 0x90000000) {                    /* adrp xd, page */
			int64_t imm = sext(((w >> 29) & 3) | (((w >> 5) & 0x7ffff) << 2), 21);
			if (rd < NREG)
				r[rd] = (struct reg){ PAGE, (pc & ~0xfffull) + (uint64_t)(imm * 4096), SIZE_MAX };
		} else if ((w & 0xff800000) == 0x91000000) {             /* add xd, xn, #imm */
			uint64_t imm = ((w >> 10) & 0xfff) << ((w & 0x00400000) ? 12 : 0);
			int isaddr = rn < NREG && r[rn].what == PAGE &&
				     dr_sites_in(s->value, s->nvalue, r[rn].page + imm);
			load(s, r, rd, isaddr ? ADDR : NONE, pc, SIZE_MAX);
		} else if ((w & 0xffc00000) == 0xf9400000) {             /* ldr xt, [xn, #imm] */
			uint64_t imm = ((w >> 10) & 0xfff) * 8;
			enum held what = NONE;
			size_t hit = SIZE_MAX;

			if (rn < NREG && r[rn].what == PAGE) {
				what = loaded(s, e, r[rn].page + imm);
			} else if (rn < NREG && r[rn].what == ADDR && imm == 0) {
				what = VALUE;
				hit = r[rn].hit;
			}
			load(s, r, rd, what, pc, hit);
		} else if ((w & 0xff000000) == 0x58000000) {             /* ldr xt, literal */
			load(s, r, rd, loaded(s, e, pc + (uint64_t)(sext(w >> 5, 19) * 4)), pc, SIZE_MAX);
		} else if ((w & 0xffe0ffe0) == 0xaa0003e0) {             /* mov xd, xm */
			unsigned rm = (w >> 16) & 31;
			if (rd < NREG)
				r[rd] = rm < NREG ? r[rm] : (struct reg){ NONE, 0, SIZE_MAX };
		} else if ((w & 0xfffffc1f) == 0xd63f0000) {             /* blr xn */
			if (rn < NREG && r[rn].what == VALUE) {
				if (r[rn].hit != SIZE_MAX)
					s->v[r[rn].hit].used = 1;
				dr_sites_add(s, (struct hit){ pc + 4, DR_SITE_CALLMEM, -1, 0, 0, 0 });
			}
			for (x = 0; x < NREG; x++)
				if (x <= 18 || x == 30)
					r[x].what = NONE;
		} else if ((w & 0xfc000000) == 0x94000000) {             /* bl */
			for (x = 0; x < NREG; x++)
				if (x <= 18 || x == 30)
					r[x].what = NONE;
		} else if ((w & 0xfc000000) == 0x14000000 ||             /* b */
			   (w & 0xffbffc1f) == 0xd61f0000) {             /* br, ret */
			memset(r, 0, sizeof r);
		} else {
			written(r, w);
		}
	}
}
