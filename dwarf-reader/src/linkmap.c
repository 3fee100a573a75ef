/* SPDX-License-Identifier: MIT */
/*
 * linkmap.c - the shared objects a process had loaded, read from its own
 * memory as gdb reads them: the executable's DT_DEBUG entry holds the
 * address of the dynamic linker's struct r_debug, whose r_map starts the
 * list of struct link_map.  For a core without NT_FILE (qemu writes none).
 * Everything read here is the target's and may be hostile: the list is
 * bounded in length, and each name must end within PATH_MAX bytes.
 */
#include <limits.h>
#include <string.h>
#include "internal.h"

#define MAXDYN 4096     /* entries of a .dynamic section */
#define MAXLINKS 4096   /* a list longer than this is corrupt (or a cycle) */
#define DT_DEBUG_TAG 21

/* Must match glibc's struct r_debug and struct link_map (<link.h>) on a
 * 64-bit target: r_map at 8; l_addr, l_name, l_ld, l_next at 0, 8, 16, 24. */
#define RDEBUG_MAP 8
#define L_ADDR 0
#define L_NAME 8
#define L_NEXT 24

static int rd64(struct dr_target *t, uint64_t addr, uint64_t *v)
{
	return addr + 8 > addr && dr_read(t, addr, v, 8) == 8 ? 0 : -1;
}

/* The value of DT_DEBUG in the executable's dynamic section as the target
 * has it (the dynamic linker writes it at start-up), or 0. */
static uint64_t rdebug(struct dr_target *t, struct dr_elf *exe, uint64_t bias)
{
	size_t i, k;

	for (i = 0; i < exe->nph; i++) {
		const GElf_Phdr *p = &exe->ph[i];

		if (p->p_type != PT_DYNAMIC)
			continue;
		for (k = 0; k < p->p_memsz / 16 && k < MAXDYN; k++) {
			uint64_t tag, val, at = bias + p->p_vaddr + 16 * k;

			if (rd64(t, at, &tag) || tag == 0)
				break;
			if (tag == DT_DEBUG_TAG)
				return rd64(t, at + 8, &val) ? 0 : val;
		}
	}
	return 0;
}

int dr_linkmap(struct dr_target *t, struct dr_elf *exe, uint64_t bias,
	       int (*fn)(const char *path, uint64_t l_addr, void *arg), void *arg)
{
	uint64_t rd = rdebug(t, exe, bias), lm, l_addr, l_name;
	char name[PATH_MAX];
	int n, r = 0;

	if (!rd || rd64(t, rd + RDEBUG_MAP, &lm))
		return 0;
	for (n = 0; lm && n < MAXLINKS && !r; n++) {
		size_t got;

		if (rd64(t, lm + L_ADDR, &l_addr) || rd64(t, lm + L_NAME, &l_name))
			break;
		/* The executable's own entry has an empty name. */
		got = l_name ? dr_read(t, l_name, name, sizeof name) : 0;
		if (got && memchr(name, 0, got) && name[0])
			r = fn(name, l_addr, arg);
		if (rd64(t, lm + L_NEXT, &lm))
			break;
	}
	if (n == MAXLINKS)
		dr_warn("the dynamic linker's list of loaded objects is longer than %d: the rest is not read",
			MAXLINKS);
	return r;
}
