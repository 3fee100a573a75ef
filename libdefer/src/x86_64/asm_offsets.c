/* SPDX-License-Identifier: MIT */
/*
 * asm_offsets.c - the offsets and constants defer.S uses, computed by the
 * compiler that builds the library (Linux's asm-offsets): libdefer/build.mk
 * compiles this file to assembly and turns each "->NAME VALUE" line into
 * `#define NAME VALUE` in build/libdefer/asm_offsets.h.  Nothing here is
 * linked.  The names are defer.S's; the layouts are defer_abi.h's and
 * defer.h's (struct defer_tls).
 */
#include "../runtime.h"

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

	OFFSET(R_RBX, struct defer_resume, rbx);
	OFFSET(R_RBP, struct defer_resume, rbp);
	OFFSET(R_R12, struct defer_resume, r12);
	OFFSET(R_R13, struct defer_resume, r13);
	OFFSET(R_R14, struct defer_resume, r14);
	OFFSET(R_R15, struct defer_resume, r15);
	OFFSET(R_RSP, struct defer_resume, rsp);
	OFFSET(R_RIP, struct defer_resume, rip);
	OFFSET(R_RAX, struct defer_resume, rax);
	OFFSET(R_XMM0, struct defer_resume, xmm0);
}
