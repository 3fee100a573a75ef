/* SPDX-License-Identifier: MIT */
/*
 * offsets.c - the debug-offsets table that lets tools read the records of
 * a stripped binary, generated from the spec's lists (defer_abi.h), and
 * compile-time checks of the layouts that code still writes by hand.
 */
#include "runtime.h"

#define OFF_F(S, type, member, dims, name, code) , offsetof(S, member)
#define OFF_H(S, type, member, dims)
#define OFF_B(S, after, name, bit0, bit1) , DEFER_FLAGS_AT(S, after)
#define BLOCK(block, S, list) .block = { sizeof(S) list(OFF_F, OFF_H, OFF_B, S) },

__attribute__((used, visibility("default")))
const struct defer_debug_offsets _defer_debug_offsets = {
	.magic = DEFER_DEBUG_MAGIC,
	.version = DEFER_ABI_VERSION,
	.size = sizeof(struct defer_debug_offsets),
	.allgs = (uint64_t)(uintptr_t)&allgs,
	DEFER_RECORDS(BLOCK)
};

/*
 * The descriptor: defer.h's __DEFER_DESC packs nargs in byte 0 and the
 * kinds in bytes 1..6 of a uint64_t, with the flags byte 0 in byte 7; the
 * open-coded defer stores it at &rec.nargs and deferproc copies it there
 * (movq M_DESC, D_DESC), so those 8 bytes must be exactly nargs, kind[]
 * and the flags byte.
 */
#define D_FLAGS DEFER_FLAGS_AT(struct _defer, kind)
_Static_assert(DEFER_MAXARGS == 6 && sizeof(((struct defer_mark *)0)->desc) == 8,
	       "__DEFER_DESC packs six kinds into 8 bytes");
_Static_assert(offsetof(struct _defer, kind) == offsetof(struct _defer, nargs) + 1 &&
	       D_FLAGS == offsetof(struct _defer, nargs) + 1 + DEFER_MAXARGS,
	       "the descriptor is nargs, kind[], flags");
/* The B entry's byte is the one after kind: nothing else sits between. */
_Static_assert(offsetof(struct _defer, pad) == D_FLAGS + 1, "_defer: flags byte after kind");
