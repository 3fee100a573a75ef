/* SPDX-License-Identifier: MIT */
/* defersites.h - what defersites.c and its per-architecture instruction
 * scanners (defersites_x86_64.c, defersites_aarch64.c) share. */
#ifndef DR_DEFERSITES_H
#define DR_DEFERSITES_H

#include "internal.h"

#define MAXTARGETS 16

struct hit {
	uint64_t pc;      /* instruction address; for calls, the return address */
	int kind;         /* DR_SITE_* or 0 for a load */
	int reg;          /* DWARF register that holds the pointer's value, -1 if unknown */
	int used;         /* a call site accounted for this load */
	uint64_t fstart;
	const char *func;
};

struct sites {
	struct hit *v;
	size_t n, cap;
	uint64_t value[MAXTARGETS], addr[MAXTARGETS]; /* where the value / its address is */
	int nvalue, naddr;
};

HIDDEN void dr_sites_add(struct sites *s, struct hit h);
HIDDEN int dr_sites_in(const uint64_t *v, int n, uint64_t a);

/* One executable segment of e (bytes b, n of them, at link-time address
 * va): its loads of the pointer and the calls through it, as hits. */
HIDDEN void dr_scan_x86_64(struct sites *s, const uint8_t *b, size_t n, uint64_t va);
HIDDEN void dr_scan_aarch64(struct sites *s, struct dr_elf *e, const uint8_t *b, size_t n,
			    uint64_t va);

#endif
