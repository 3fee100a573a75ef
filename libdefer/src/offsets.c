/* SPDX-License-Identifier: MIT */
/*
 * offsets.c - the debug-offsets table that lets tools read the records of
 * a stripped binary, and compile-time checks that defer.S agrees with the
 * C layout.
 */
#include "runtime.h"

#define G(f) offsetof(struct g, f)
#define D(f) offsetof(struct _defer, f)
#define P(f) offsetof(struct _panic, f)
#define M(f) offsetof(struct defer_mark, f)

__attribute__((used, visibility("default")))
const struct defer_debug_offsets _defer_debug_offsets = {
	.magic = DEFER_DEBUG_MAGIC,
	.version = DEFER_ABI_VERSION,
	.size = sizeof(struct defer_debug_offsets),
	.allgs = (uint64_t)(uintptr_t)&allgs,
	.g = { sizeof(struct g), G(alllink), G(_defer), G(_panic), G(tid), G(status),
	       G(name) },
	.d = { sizeof(struct _defer), D(link), D(fn), D(pc), D(sp), D(_panic), D(nargs),
	       D(kind), D(kind) + DEFER_MAXARGS, D(iregs), D(fregs) },
	.mark = { sizeof(struct defer_mark), M(armed), M(resumable), M(resume), M(rec) },
	.p = { sizeof(struct _panic), P(link), P(arg), P(argp), P(pc), P(defer),
	       P(recovered), P(aborted), P(goexit), P(msg) },
	.ptext = { P(text) },
};

/* The constants defer.S uses. */
_Static_assert(offsetof(struct defer_tls, g) == 0 && offsetof(struct defer_tls, frame) == 8,
	       "TLS_*");
_Static_assert(G(_defer) == 8 && G(pool) == 48, "G_*");
_Static_assert(D(link) == 0 && D(fn) == 8 && D(pc) == 16 && D(sp) == 24 &&
	       D(_panic) == 32 && D(nargs) == 40 && D(kind) == 41 &&
	       D(iregs) == 56 && D(fregs) == 104, "D_*");
_Static_assert(M(armed) == 0 && M(fn) == 16 && M(desc) == 24 && M(prev) == 32 &&
	       M(rec) == 40, "M_*");
_Static_assert(P(textlen) == P(text) + 8, "ptext: textlen follows text");
_Static_assert(sizeof(struct defer_debug_offsets) == 160, "the table kept its version-1 size");
_Static_assert(offsetof(struct defer_resume, rsp) == 48 &&
	       offsetof(struct defer_resume, rip) == 56 &&
	       offsetof(struct defer_resume, rax) == 64, "defer_resume");
