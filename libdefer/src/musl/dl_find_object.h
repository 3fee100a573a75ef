/* SPDX-License-Identifier: MIT */
/*
 * dl_find_object.h - glibc's _dl_find_object (<dlfcn.h>, glibc 2.35) for a
 * C library without it: musl, where src/musl/dl_find_object.c defines it.
 * Included where <dlfcn.h> did not declare it (no DLFO_EH_SEGMENT_TYPE).
 */
#ifndef DEFER_DL_FIND_OBJECT_H
#define DEFER_DL_FIND_OBJECT_H

#ifndef __x86_64__
#error "dl_find_object.h: the layout below is glibc's for x86-64 (no dlfo_eh_dbase)"
#endif

/* Must match glibc's struct dl_find_object on x86-64 (<dlfcn.h>,
 * DLFO_STRUCT_HAS_EH_DBASE 0, DLFO_STRUCT_HAS_EH_COUNT 0): Debian's
 * libgcc_eh.a was compiled against it. */
struct dl_find_object {
	unsigned long long dlfo_flags;
	void *dlfo_map_start;
	void *dlfo_map_end;
	void *dlfo_link_map;
	void *dlfo_eh_frame;
	unsigned long long reserved[7];
};
_Static_assert(sizeof(struct dl_find_object) == 96, "glibc's x86-64 size");

/* 0 and *result filled if pc is in a loaded object, else -1. */
int _dl_find_object(void *pc, struct dl_find_object *result);

#endif
