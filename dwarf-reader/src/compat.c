/* SPDX-License-Identifier: MIT */
/* compat.c - libdwarf 20210528 against 0.x/2.x (see compat.h). */
#include <stdio.h>
#include "compat.h"

int dr_compat_init(int fd, Dwarf_Debug *dbg, char *msg, size_t len)
{
	Dwarf_Error err = 0;
	int r;

#if DR_LIBDWARF_NEW
	r = dwarf_init_b(fd, DW_GROUPNUMBER_ANY, 0, 0, dbg, &err);
#else
	r = dwarf_init_b(fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, 0, 0, dbg, &err);
#endif
	if (r == DW_DLV_ERROR) {
		snprintf(msg, len, "%s", dwarf_errmsg(err));
		dr_compat_free_error(0, err);
	} else if (r == DW_DLV_NO_ENTRY) {
		snprintf(msg, len, "no DWARF");
	}
	return r;
}

void dr_compat_finish(Dwarf_Debug dbg)
{
#if DR_LIBDWARF_NEW
	dwarf_finish(dbg);
#else
	dwarf_finish(dbg, 0);
#endif
}

void dr_compat_free_error(Dwarf_Debug dbg, Dwarf_Error err)
{
	if (err)
		dwarf_dealloc_error(dbg, err);
}
