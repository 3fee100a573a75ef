/* SPDX-License-Identifier: MIT */
/* dwarf_lines.c - which source file and line a pc is in, from the unit's
 * line table, indexed once per unit. */
#include <stdlib.h>
#include <string.h>
#include "dwarf_impl.h"

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
			dr_drop(e, er);
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
	uint64_t off = dr_dieoff(e, cu);
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
		dr_drop(e, er);
	}
	if (dwarf_srclines_b(cu, &ver, &count, &lt.ctx, &er) != DW_DLV_OK) {
		dr_drop(e, er);
		lt.ctx = 0;
	} else if (lt.file0is1 = lt.file0is1 && ver == 5,
		   dwarf_srclines_from_linecontext(lt.ctx, &lt.lines, &lt.n, &er) != DW_DLV_OK) {
		dr_drop(e, er);
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
		dr_drop(e, er);
		return i;
	}
	for (j = 0; j < lt->n; j++) {
		if (dwarf_line_srcfileno(lt->lines[j], &f, &er) != DW_DLV_OK) {
			dr_drop(e, er);
			break;
		}
		if (f == 1)
			return j;
	}
	return i;
}

int dr_line(struct dr_elf *e, uint64_t pc, const char **file, unsigned *line)
{
	Dwarf_Die cu = dr_cu_at(e, pc);
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
		dr_drop(e, er);
		return DR_ENOENT;
	}
	*file = dr_strdup(e, src);
	dwarf_dealloc(e->dbg, src, DW_DLA_STRING);
	*line = (unsigned)ln;
	return *file ? 0 : DR_ENOMEM;
}
