/* SPDX-License-Identifier: MIT */
/*
 * asm_offsets.c - the offsets and constants defer.S uses, computed by the
 * compiler that builds the library (Linux's asm-offsets): libdefer/build.mk
 * compiles this file to assembly and turns each "->NAME VALUE" line into
 * `#define NAME VALUE` in build/libdefer/asm_offsets.h.  Nothing here is
 * linked.  The names are those of the defer.S of every architecture
 * (x86_64/, aarch64/); the layouts are defer_abi.h's and defer.h's
 * (struct defer_tls).  The resume block's registers are named as each
 * architecture's defer.S knows them (defer_abi.h's table of roles).
 */
#include "runtime.h"

#define DEFINE(sym, val) __asm__ volatile("\n.ascii \"->" #sym " %0\"" : : "i"(val))
#define OFFSET(sym, S, member) DEFINE(sym, offsetof(S, member))

void asm_offsets(void);
void asm_offsets(void)
{
	OFFSET(TLS_G, struct defer_tls, g);
	OFFSET(TLS_FRAME, struct defer_tls, frame);

	OFFSET(G_DEFER, struct g, _defer);
	OFFSET(G_POOL, struct g, pool);

	OFFSET(D_LINK, struct _defer, link);
	OFFSET(D_FN, struct _defer, fn);
	OFFSET(D_PC, struct _defer, pc);
	OFFSET(D_SP, struct _defer, sp);
	/* The descriptor: nargs, kind[], flags (offsets.c checks the order). */
	OFFSET(D_DESC, struct _defer, nargs);
	DEFINE(D_FLAGS, DEFER_FLAGS_AT(struct _defer, kind));
	OFFSET(D_IREGS, struct _defer, iregs);
	OFFSET(D_FREGS, struct _defer, fregs);
	DEFINE(DEFER_FLAG_HEAP, DEFER_FLAG_HEAP);

	OFFSET(M_ARMED, struct defer_mark, armed);
	OFFSET(M_FN, struct defer_mark, fn);
	OFFSET(M_DESC, struct defer_mark, desc);
	OFFSET(M_PREV, struct defer_mark, prev);
	OFFSET(M_REC, struct defer_mark, rec);

#if defined(__x86_64__)
	OFFSET(R_RBX, struct defer_resume, saved0);
	OFFSET(R_RBP, struct defer_resume, fp);
	OFFSET(R_R12, struct defer_resume, saved1);
	OFFSET(R_R13, struct defer_resume, saved2);
	OFFSET(R_R14, struct defer_resume, saved3);
	OFFSET(R_R15, struct defer_resume, saved4);
	OFFSET(R_RSP, struct defer_resume, sp);
	OFFSET(R_RIP, struct defer_resume, pc);
	OFFSET(R_RAX, struct defer_resume, ret);
	OFFSET(R_XMM0, struct defer_resume, fret);
#elif defined(__aarch64__)
	OFFSET(R_X19, struct defer_resume, saved0);
	OFFSET(R_X20, struct defer_resume, saved1);
	OFFSET(R_X21, struct defer_resume, saved2);
	OFFSET(R_X22, struct defer_resume, saved3);
	OFFSET(R_X23, struct defer_resume, saved4);
	OFFSET(R_X24, struct defer_resume, more);	/* x24..x28 */
	OFFSET(R_X29, struct defer_resume, fp);
	OFFSET(R_SP, struct defer_resume, sp);
	OFFSET(R_PC, struct defer_resume, pc);
	OFFSET(R_X0, struct defer_resume, ret);
	OFFSET(R_D0, struct defer_resume, fret);
	OFFSET(R_D8, struct defer_resume, fsaved);	/* d8..d15 */
#endif
}
