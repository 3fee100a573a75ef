/* SPDX-License-Identifier: MIT */
/*
 * compat.h - the one place that knows which libdwarf we build with.
 *
 * Debian 12 ships libdwarf 20210528; libdwarf 0.x and 2.x changed a few
 * signatures (dwarf_init_b, dwarf_finish).  Everything else the reader calls
 * is in the subset both have with identical signatures.
 */
#ifndef DR_COMPAT_H
#define DR_COMPAT_H

#if __has_include(<libdwarf/libdwarf.h>)
#include <libdwarf/dwarf.h>
#include <libdwarf/libdwarf.h>
#elif __has_include(<libdwarf-2/libdwarf.h>)
#include <libdwarf-2/dwarf.h>
#include <libdwarf-2/libdwarf.h>
#elif __has_include(<libdwarf-0/libdwarf.h>)
#include <libdwarf-0/dwarf.h>
#include <libdwarf-0/libdwarf.h>
#else
#include <dwarf.h>
#include <libdwarf.h>
#endif

/* 0.x and later define the numeric version macros. */
#ifdef DW_LIBDWARF_VERSION_MAJOR
#define DR_LIBDWARF_NEW 1
#else
#define DR_LIBDWARF_NEW 0
#endif

/* Open DWARF from an fd; on failure copy libdwarf's message to msg. */
int dr_compat_init(int fd, Dwarf_Debug *dbg, char *msg, size_t len);
void dr_compat_finish(Dwarf_Debug dbg);
/* Free an error libdwarf handed us (init errors have no dbg). */
void dr_compat_free_error(Dwarf_Debug dbg, Dwarf_Error err);

#endif
