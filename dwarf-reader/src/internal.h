/* SPDX-License-Identifier: MIT */
/* internal.h - what the reader's source files share. */
#ifndef DR_INTERNAL_H
#define DR_INTERNAL_H

#include <gelf.h>
#include <libelf.h>
#include "compat.h"
#include "dreader.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* addr first: byaddr is searched with dr_upper. */
struct dr_sym { uint64_t addr, size; const char *name; };

/* One compilation unit found by an index: its DIE offset and a pc range. */
struct dr_cu { uint64_t lo, hi, off; };

struct dr_linetab {
	uint64_t cu;
	Dwarf_Line_Context ctx;
	Dwarf_Line *lines;
	Dwarf_Signed n;
	uint64_t *addr;  /* each row's address, read once */
	Dwarf_Signed *seq; /* first and end row of each sequence, in pairs */
	size_t nseq;
	int file0is1;  /* see linetab() in dwarf_lines.c */
};

/* A unit's top-level functions, for call-site look-ups: a pc range, or
 * ranges = 1 for one split in parts (DW_AT_ranges), searched whole. */
struct dr_sub { uint64_t lo, hi, off; int ranges; };
struct dr_subs { uint64_t cu; struct dr_sub *v; size_t n; };

/* A target can name a million different function addresses: the cache of
 * answers is a bounded hash table, not a list searched per question. */
#define DR_FUNC_CACHE 65536

struct dr_elf {
	char *path;
	int fd;
	Elf *elf;
	const uint8_t *raw;   /* the whole file (libelf's mapping) */
	size_t rawsize;
	GElf_Ehdr eh;
	size_t nph;
	GElf_Phdr *ph;
	char err[256];

	/* symbols: every defined one for look-up by name (sorted by name),
	 * function ones sorted by address */
	int syms_loaded;
	struct dr_sym *byname, *byaddr;
	size_t nbyname, nbyaddr;

	/* dynamic section */
	int dyn_loaded;
	const char *needed[32];
	int nneeded;
	const char *runpath;

	/* DWARF, from this file or from its separate debug file
	 * (/usr/lib/debug/.build-id/xx/yyyy.debug) */
	struct dr_elf *debugfile;
	int dw_tried;
	Dwarf_Debug dbg;
	int dw_version;
	struct dr_cu *aranges;   /* from .debug_aranges, sorted by lo */
	size_t naranges;
	struct dr_cu *cus;       /* from a walk over unit headers (fallback) */
	size_t ncus;
	int cus_loaded;
	uint64_t *cu_offs;       /* every unit's DIE offset, in file order */
	size_t ncu_offs;
	struct dr_struct *structs; /* cache */
	size_t nstructs;
	struct dr_func *funcs;   /* cache, at most DR_FUNC_CACHE entries */
	size_t nfuncs, capfuncs;
	uint32_t *funchash;      /* funcs index + 1 by entry address, 2 * DR_FUNC_CACHE slots */
	struct dr_func funcmiss; /* the answer when the cache is full */
	struct dr_linetab *lts;  /* cache */
	size_t nlts;
	struct dr_subs *subs;    /* cache */
	size_t nsubs;
	char **strs;             /* strings we own (names copied out of libdwarf) */
	size_t nstrs;
};

HIDDEN const char *dr_strdup(struct dr_elf *e, const char *s);
/* The symbol dr_sym_at names (its size too), or NULL. */
HIDDEN const struct dr_sym *dr_symbol_at(struct dr_elf *e, uint64_t addr);
HIDDEN int dr_dwarf_open(struct dr_elf *e);
HIDDEN void dr_dwarf_close(struct dr_elf *e);
HIDDEN void dr_setf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* In an array of n elements of size bytes, sorted by a leading uint64_t
 * key, the number of elements whose key is <= key (so element [r - 1],
 * if r > 0, is the last one starting at or below key). */
HIDDEN size_t dr_upper(const void *v, size_t n, size_t size, uint64_t key);

/* Each object on the dynamic linker's list in the target's memory (see
 * linkmap.c): fn(path, load bias, arg) until it returns non-zero. */
HIDDEN int dr_linkmap(struct dr_target *t, struct dr_elf *exe, uint64_t bias,
		      int (*fn)(const char *path, uint64_t l_addr, void *arg), void *arg);

/* qsort/bsearch order of int32_t thread ids. */
HIDDEN int dr_cmptid(const void *a, const void *b);

/* A layout whose fields all lie inside their records: 0, or -1 and why. */
HIDDEN int dr_layout_check(const struct dr_layout *l, char *why, size_t n);

/* Bounded readers for untrusted byte strings. */
HIDDEN int dr_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v);
HIDDEN int dr_sleb(const uint8_t **p, const uint8_t *end, int64_t *v);

/* Checked arithmetic on untrusted sizes. */
static inline int dr_inside(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

#endif
