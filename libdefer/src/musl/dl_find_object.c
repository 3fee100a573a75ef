/* SPDX-License-Identifier: MIT */
/*
 * dl_find_object.c - glibc's _dl_find_object, for the musl build only.
 *
 * Debian's libgcc_eh.a (the unwinder a static musl-gcc link gets) was
 * built against glibc 2.36, so its _Unwind_Find_FDE asks glibc's
 * _dl_find_object (glibc 2.35, <dlfcn.h>) for the object holding a pc and
 * that object's PT_GNU_EH_FRAME segment, and never falls back to
 * dl_iterate_phdr.  musl has no _dl_find_object; this answers the same
 * question from dl_iterate_phdr, which musl has (in a static program: the
 * executable alone).  Without an eh_frame_hdr (a static link without
 * -Wl,--eh-frame-hdr) dlfo_eh_frame is NULL and the unwinder finds no
 * frames, as it would with glibc.  libdefer/build.mk links it with
 * -Wl,--undefined=_dl_find_object: libgcc_eh comes after libdefer.a on
 * the link line, too late to pull this member in by itself.  The runtime
 * asks it too (unwound.c: which object holds a stack word).
 */
#define _GNU_SOURCE
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include "dl_find_object.h"

struct query {
	uintptr_t pc;
	struct dl_find_object *out;
};

static int match(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct query *q = arg;
	uintptr_t lo = UINTPTR_MAX, hi = 0, eh = 0;
	int hit = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_GNU_EH_FRAME)
			eh = start;
		if (ph->p_type != PT_LOAD)
			continue;
		if (start < lo)
			lo = start;
		if (start + ph->p_memsz > hi)
			hi = start + ph->p_memsz;
		if (q->pc >= start && q->pc < start + ph->p_memsz)
			hit = 1;
	}
	if (!hit)
		return 0;
	*q->out = (struct dl_find_object){
		.dlfo_map_start = (void *)lo,
		.dlfo_map_end = (void *)hi,
		.dlfo_eh_frame = (void *)eh,
	};
	return 1;
}

/* 0 and *result filled if pc is in a loaded object, else -1 (glibc's
 * contract).  Exported from libdefer.so too: a musl-dynamic program that
 * calls the unwinder itself links its own libgcc_eh.a, which needs it. */
__attribute__((visibility("default")))
int _dl_find_object(void *pc, struct dl_find_object *result)
{
	struct query q = { (uintptr_t)pc, result };

	return dl_iterate_phdr(match, &q) > 0 ? 0 : -1;
}
