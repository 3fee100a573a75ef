/* SPDX-License-Identifier: MIT */
/*
 * dwarf_open.c - does this file have DWARF we can read, and from where:
 * its own .debug_* sections, or the separate debug file named by its
 * build-id.  Closing frees every DWARF cache of struct dr_elf.
 *
 * libdwarf 20210528 predates many fuzzing fixes: before handing it the
 * file we check that every .debug_* section lies inside the file; every
 * walk is bounded too (dwarf_impl.h: depth, DIEs visited, offsets that
 * must increase).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dwarf_impl.h"

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

/*
 * Distributions ship debug info apart, found by build-id under
 * $DEFER_INSPECT_DEBUG_DIR (e.g. /usr/lib/debug): e->debugfile, if that
 * file exists and its sections are sane.  Off unless asked for: libc's
 * debug file alone costs ~50 ms to open, more than the whole dump of a
 * large core.
 */
static int opendebugfile(struct dr_elf *e)
{
	const uint8_t *id;
	size_t n = dr_elf_build_id(e, &id), i;
	const char *dir = getenv("DEFER_INSPECT_DEBUG_DIR");
	char path[4200], err[64];
	int k;

	if (!dir || n < 2 || n > 40 || !*dir || strlen(dir) > 4000)
		return 0;
	k = snprintf(path, sizeof path, "%s/.build-id/%02x/", dir, id[0]);
	for (i = 1; i < n; i++)
		k += snprintf(path + k, sizeof path - k, "%02x", id[i]);
	snprintf(path + k, sizeof path - k, ".debug");
	if (dr_elf_open(path, &e->debugfile, err, sizeof err) != 0)
		return 0;
	return sections_sane(e->debugfile);
}

int dr_dwarf_open(struct dr_elf *e)
{
	char msg[200];

	if (e->dw_tried)
		return e->dbg != NULL;
	e->dw_tried = 1;
	if (dr_no_dwarf || e->eh.e_type == ET_CORE)
		return 0;
	if (!sections_sane(e) && !opendebugfile(e))
		return 0;
	if (dr_compat_init(e->debugfile ? e->debugfile->fd : e->fd, &e->dbg, msg, sizeof msg) != DW_DLV_OK) {
		dr_warn("%s: cannot read DWARF: %s", e->path, msg);
		e->dbg = NULL;
		return 0;
	}
	dr_load_aranges(e);
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
