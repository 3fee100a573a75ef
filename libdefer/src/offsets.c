/*
 * offsets.c - the debug-offsets table that lets tools read the records of
 * a stripped binary, and compile-time checks that defer.S agrees with the
 * C layout.
 */
#include "runtime.h"

#define G(f) offsetof(struct g, f)
#define D(f) offsetof(struct _defer, f)
#define P(f) offsetof(struct _panic, f)

__attribute__((used, visibility("default")))
const struct defer_debug_offsets _defer_debug_offsets = {
	.magic = DEFER_DEBUG_MAGIC,
	.version = DEFER_ABI_VERSION,
	.size = sizeof(struct defer_debug_offsets),
	.allgs = (uint64_t)(uintptr_t)&allgs,
	.g = { sizeof(struct g), G(alllink), G(_defer), G(_panic), G(tid), G(status),
	       G(name), G(ndefers) },
	.d = { sizeof(struct _defer), D(link), D(fn), D(pc), D(sp), D(_panic), D(nargs),
	       D(kind), D(nvec), D(started), D(heap), D(iregs), D(fregs) },
	.p = { sizeof(struct _panic), P(link), P(arg), P(argp), P(pc), P(defer),
	       P(recovered), P(aborted), P(goexit), P(msg) },
};

/* The constants defer.S uses. */
_Static_assert(offsetof(struct defer_tls, g) == 0, "TLS_G");
_Static_assert(offsetof(struct defer_tls, fn) == 8, "TLS_FN");
_Static_assert(offsetof(struct defer_tls, frame) == 16, "TLS_FRAME");
_Static_assert(offsetof(struct defer_tls, desc) == 24, "TLS_DESC");
_Static_assert(offsetof(struct defer_tls, nvec) == 32, "TLS_NVEC");
_Static_assert(G(_defer) == 8 && G(ndefers) == 48 && G(pool) == 56, "G_*");
_Static_assert(D(link) == 0 && D(fn) == 8 && D(pc) == 16 && D(sp) == 24 &&
	       D(_panic) == 32 && D(nargs) == 40 && D(nvec) == 47 &&
	       D(started) == 48 && D(heap) == 49 && D(iregs) == 56 && D(fregs) == 104,
	       "D_*");
_Static_assert(offsetof(struct defer_mark, armed) == 0, "frame->armed");
_Static_assert(offsetof(struct defer_resume, rsp) == 48 &&
	       offsetof(struct defer_resume, rip) == 56 &&
	       offsetof(struct defer_resume, rax) == 64, "defer_resume");
