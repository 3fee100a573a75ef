/* SPDX-License-Identifier: MIT */
/*
 * The pieces of libdefer that deal in argument registers and stack
 * pointers rather than C values, and the two hot paths: the aarch64
 * (AAPCS64) twin of x86_64/defer.S, which explains the design.  Arguments
 * are x0-x5 and d0-d5 (the record's iregs and fregs); gcc's static chain,
 * which carries the frame's mark into deferproc, is x18.  Calls out of the
 * runtime go through x16 (IP0), which the linker's veneers may use anyway.
 */
#include <sys/sdt.h>
/* TLS_*, G_*, D_*, M_*, R_* and DEFER_FLAG_HEAP: offsets of defer_abi.h's
 * and defer.h's records, generated at build time from asm_offsets.c. */
#include "asm_offsets.h"

/* TLS(r, t): r = &__defer_tls (initial-exec), t a scratch register. */
#define TLS(r, t)						\
	mrs	r, tpidr_el0;					\
	adrp	t, :gottprel:__defer_tls;			\
	ldr	t, [t, #:gottprel_lo12:__defer_tls];		\
	add	r, r, t

/* GETG(r, t): r = the thread's g (or 0). */
#define GETG(r, t)						\
	TLS(r, t);						\
	ldr	r, [r, #TLS_G]

/* SAVEARGS(r) / LOADARGS(r): every argument register to / from the record
 * in r (not one of them); the slots past nargs are copied too (abi.md). */
#define SAVEARGS(r)						\
	stp	x0, x1, [r, #D_IREGS];				\
	stp	x2, x3, [r, #D_IREGS+16];			\
	stp	x4, x5, [r, #D_IREGS+32];			\
	stp	d0, d1, [r, #D_FREGS];				\
	stp	d2, d3, [r, #D_FREGS+16];			\
	stp	d4, d5, [r, #D_FREGS+32]
#define LOADARGS(r)						\
	ldp	d0, d1, [r, #D_FREGS];				\
	ldp	d2, d3, [r, #D_FREGS+16];			\
	ldp	d4, d5, [r, #D_FREGS+32];			\
	ldp	x2, x3, [r, #D_IREGS+16];			\
	ldp	x4, x5, [r, #D_IREGS+32];			\
	ldp	x0, x1, [r, #D_IREGS]

/* FREE(r, g, t): give the pool record in r back to g, once everything has
 * been read from it (a signal handler that defers may take it at once). */
#define FREE(r, g, t)						\
	ldr	t, [g, #G_POOL];				\
	str	t, [r, #D_LINK];				\
	str	r, [g, #G_POOL]

/* ISRECOVER(fn, t): flags = fn compared with recover's address. */
#define ISRECOVER(fn, t)					\
	adrp	t, :got:recover;				\
	ldr	t, [t, #:got_lo12:recover];			\
	cmp	fn, t

/* CALLEE_SAVED(one, two): x19-x29 and d8-d15 to (str, stp) or from (ldr,
 * ldp) the struct defer_resume in x0. */
#define CALLEE_SAVED(one, two)					\
	one	x19, [x0, #R_X19];				\
	one	x20, [x0, #R_X20];				\
	one	x21, [x0, #R_X21];				\
	one	x22, [x0, #R_X22];				\
	one	x23, [x0, #R_X23];				\
	two	x24, x25, [x0, #R_X24];				\
	two	x26, x27, [x0, #R_X24+16];			\
	one	x28, [x0, #R_X24+32];				\
	one	x29, [x0, #R_X29];				\
	two	d8, d9, [x0, #R_D8];				\
	two	d10, d11, [x0, #R_D8+16];			\
	two	d12, d13, [x0, #R_D8+32];			\
	two	d14, d15, [x0, #R_D8+48]

	.text
	.globl	__defer_text_start
	.hidden	__defer_text_start
__defer_text_start:		/* sigpanic.c: a fault here is the runtime's */

/*
 * deferproc: called through the deferred function's own type, so x0-x5 and
 * d0-d5 hold the call's arguments, and x18 the frame's mark (see
 * __DEFER_ENTER in defer.h).  deferproc_tls, for clang, takes the mark from
 * __defer_tls.frame and puts back what the slot held before.  As on
 * x86-64: the frame's first call takes the mark's own record, later ones a
 * pool record, and the record is filled before it is linked.
 */
	.p2align 5
	.globl	deferproc_tls
	.type	deferproc_tls, %function
deferproc_tls:
	.cfi_startproc
	TLS(x9, x10)
	ldr	x18, [x9, #TLS_FRAME]
	ldr	x10, [x18, #M_PREV]
	str	x10, [x9, #TLS_FRAME]
	b	.Lbody
	.cfi_endproc
	.size	deferproc_tls, .-deferproc_tls

	.p2align 5
	.globl	deferproc
	.type	deferproc, %function
deferproc:
	.cfi_startproc
.Lbody:
	GETG(x11, x10)
	cbz	x11, .Lslow
	ldrb	w12, [x18, #M_ARMED]
	cbnz	w12, .Lpool
	/* The frame's first call: its mark's own record (flags 0: not heap). */
	mov	w12, #1
	strb	w12, [x18, #M_ARMED]
	add	x9, x18, #M_REC
	ldr	x12, [x18, #M_DESC]		/* nargs, kind[], flags 0 */
	str	x12, [x9, #D_DESC]
.Lregs:
	SAVEARGS(x9)
	str	x18, [x9, #D_SP]
	ldr	x12, [x18, #M_FN]
	str	x12, [x9, #D_FN]
	str	x30, [x9, #D_PC]
	ldr	x12, [x11, #G_DEFER]
	str	x12, [x9, #D_LINK]
	str	x9, [x11, #G_DEFER]		/* publish */
	STAP_PROBE1(libdefer, defer, 8@x9)
	ret

	/* Later calls: a record from the pool.  A signal handler that defers
	 * may borrow the same record between the load and the store of the
	 * pool head; it gives it back before it returns, so nothing of ours
	 * goes into it until it is ours.  Its _panic is already 0. */
.Lpool:
	ldr	x9, [x11, #G_POOL]
	cbz	x9, .Lslow
	ldr	x12, [x9, #D_LINK]
	str	x12, [x11, #G_POOL]
	ldr	x12, [x18, #M_DESC]
	str	x12, [x9, #D_DESC]
	mov	w12, #DEFER_FLAG_HEAP
	strb	w12, [x9, #D_FLAGS]
	b	.Lregs

	/* No g yet, or an empty pool: keep the arguments (and x18, which C
	 * may use) safe across C. */
.Lslow:
	stp	x29, x30, [sp, #-128]!
	.cfi_def_cfa_offset 128
	.cfi_offset x29, -128
	.cfi_offset x30, -120
	mov	x29, sp
	stp	x0, x1, [sp, #16]
	stp	x2, x3, [sp, #32]
	stp	x4, x5, [sp, #48]
	stp	d0, d1, [sp, #64]
	stp	d2, d3, [sp, #80]
	stp	d4, d5, [sp, #96]
	str	x18, [sp, #112]
	bl	__defer_refill
	ldp	x0, x1, [sp, #16]
	ldp	x2, x3, [sp, #32]
	ldp	x4, x5, [sp, #48]
	ldp	d0, d1, [sp, #64]
	ldp	d2, d3, [sp, #80]
	ldp	d4, d5, [sp, #96]
	ldr	x18, [sp, #112]
	ldp	x29, x30, [sp], #128
	.cfi_restore x29
	.cfi_restore x30
	.cfi_def_cfa_offset 0
	b	.Lbody
	.cfi_endproc
	.size	deferproc, .-deferproc

/*
 * deferreturn(mark): a defer_frame is being left with calls deferred; run
 * every record that belongs to it, newest first, each unlinked before its
 * call (x86_64/defer.S says why).
 */
	.p2align 5
	.globl	deferreturn
	.type	deferreturn, %function
deferreturn:
	.cfi_startproc
	STAP_PROBE1(libdefer, deferreturn, 8@x0)
	GETG(x9, x10)				/* armed implies it exists */
	ldr	x10, [x9, #G_DEFER]
	add	x11, x0, #M_REC
	cmp	x10, x11
	b.ne	.Lgeneral
	/* Only the mark's own record left (the common case): unlink it and
	 * jump to the function, which returns straight to the frame being
	 * left.  x10: the record, x9: g. */
.Llast:
	ldr	x11, [x10, #D_LINK]
	str	x11, [x9, #G_DEFER]
	STAP_PROBE2(libdefer, run, 8@x10, 8@0)
	ldr	x16, [x10, #D_FN]
	cbz	x16, .Lnillast
	ISRECOVER(x16, x12)			/* defer(recover): see panic.c */
	b.eq	.Lrecoverlast
	LOADARGS(x10)
	br	x16

	/* Newer calls first, from the pool, each called from this loop and its
	 * record given back.  x19: the mark; x20: the record; x9: g. */
.Lgeneral:
	cbz	x10, .Lnone
	ldr	x11, [x10, #D_SP]
	cmp	x11, x0
	b.ne	.Lnone
	stp	x29, x30, [sp, #-32]!
	.cfi_def_cfa_offset 32
	.cfi_offset x29, -32
	.cfi_offset x30, -24
	mov	x29, sp
	stp	x19, x20, [sp, #16]
	.cfi_offset x19, -16
	.cfi_offset x20, -8
	mov	x19, x0
	mov	x20, x10
.Lnext:
	ldr	x11, [x20, #D_LINK]
	str	x11, [x9, #G_DEFER]		/* unlink before the call, as Go does */
	STAP_PROBE2(libdefer, run, 8@x20, 8@0)
	ldr	x16, [x20, #D_FN]
	cbz	x16, .Lnil
	ISRECOVER(x16, x12)
	b.eq	3f
	LOADARGS(x20)
	FREE(x20, x9, x12)
	blr	x16
	b	4f
3:	mov	x0, x19				/* deferredrecover(mark, defer site) */
	ldr	x1, [x20, #D_PC]
	FREE(x20, x9, x12)
	bl	deferredrecover
4:
	GETG(x9, x10)
	ldr	x10, [x9, #G_DEFER]		/* the call pushed and popped its own */
	add	x11, x19, #M_REC		/* records: the head must be ours */
	cmp	x10, x11
	b.eq	.Lpoplast
	cbz	x10, .Lbad
	ldr	x11, [x10, #D_SP]
	cmp	x11, x19
	b.ne	.Lbad
	mov	x20, x10
	b	.Lnext
.Lpoplast:
	ldp	x19, x20, [sp, #16]
	ldp	x29, x30, [sp], #32
	.cfi_remember_state
	.cfi_restore x19
	.cfi_restore x20
	.cfi_restore x29
	.cfi_restore x30
	.cfi_def_cfa_offset 0
	b	.Llast
	.cfi_restore_state

.Lnil:
	mov	x0, x20
	bl	nildefer
	brk	#0
.Lbad:
	adrp	x0, .Lbadmsg
	add	x0, x0, :lo12:.Lbadmsg
	bl	throw
	brk	#0
	.cfi_def_cfa_offset 0
	.cfi_restore x19
	.cfi_restore x20
	.cfi_restore x29
	.cfi_restore x30

.Lnone:
	/* Nothing of this frame's is left.  What is left may belong to a
	 * deeper frame that was left without running its calls; C looks
	 * (__defer_checkstale(head, mark), which returns to our caller). */
	cbz	x10, 5f
	mov	x1, x0
	mov	x0, x10
	b	__defer_checkstale
5:	ret

.Lrecoverlast:
	/* deferredrecover(mark, defer site) returns to the frame being left
	 * as the call would have. */
	ldr	x0, [x10, #D_SP]
	ldr	x1, [x10, #D_PC]
	b	deferredrecover

.Lnillast:
	/* Go's `defer nil`: the panic comes where the call would run; it does
	 * not return.  A frame record, so that the report's backtrace goes on
	 * past us. */
	stp	x29, x30, [sp, #-16]!
	.cfi_def_cfa_offset 16
	.cfi_offset x29, -16
	.cfi_offset x30, -8
	mov	x29, sp
	mov	x0, x10
	bl	nildefer
	brk	#0
	.cfi_endproc
	.size	deferreturn, .-deferreturn

	.section .rodata.str1.1,"aMS",%progbits,1
.Lbadmsg:
	.asciz	"bad defer entry in deferreturn"
	.text

/*
 * __defer_invoke(d, argp): call d->fn with d's saved argument registers.
 * *argp, if given, receives the callee's CFA (the stack pointer at the
 * call): recover() compares it.
 */
	.p2align 5
	.globl	__defer_invoke
	.hidden	__defer_invoke
	.type	__defer_invoke, %function
__defer_invoke:
	.cfi_startproc
	stp	x29, x30, [sp, #-16]!
	.cfi_def_cfa_offset 16
	.cfi_offset x29, -16
	.cfi_offset x30, -8
	mov	x29, sp
	cbz	x1, 1f
	mov	x9, sp
	str	x9, [x1]
1:	ldr	x16, [x0, #D_FN]
	LOADARGS(x0)
	blr	x16
	ldp	x29, x30, [sp], #16
	.cfi_restore x29
	.cfi_restore x30
	.cfi_def_cfa_offset 0
	ret
	.cfi_endproc
	.size	__defer_invoke, .-__defer_invoke

/*
 * __defer_setresume(r): setjmp for defer_result.  Saves the callee-saved
 * registers (x19-x29, d8-d15), the stack pointer after the return (the
 * same: bl pushes nothing) and the return address, and returns 0;
 * __defer_jump(r) with r->ret = 1 makes it return again.
 */
	.p2align 5
	.globl	__defer_setresume
	.type	__defer_setresume, %function
__defer_setresume:
	.cfi_startproc
	CALLEE_SAVED(str, stp)
	mov	x9, sp
	str	x9, [x0, #R_SP]
	str	x30, [x0, #R_PC]
	mov	w0, #0
	ret
	.cfi_endproc
	.size	__defer_setresume, .-__defer_setresume

/*
 * __defer_jump(r): continue a caller as if its callee had just returned:
 * callee-saved registers, stack pointer, return value, then the return
 * address.  Everything below that frame is abandoned, as with longjmp.
 */
	.p2align 5
	.globl	__defer_jump
	.hidden	__defer_jump
	.type	__defer_jump, %function
__defer_jump:
	.cfi_startproc
	CALLEE_SAVED(ldr, ldp)
	ldr	d0, [x0, #R_D0]
	ldr	x16, [x0, #R_PC]
	ldr	x9, [x0, #R_SP]
	ldr	x0, [x0, #R_X0]
	mov	sp, x9
	br	x16
	.cfi_endproc
	.size	__defer_jump, .-__defer_jump

/*
 * __defer_sigpanic_tramp: where a fault turned into a panic (sigpanic.c)
 * resumes the faulting thread, as if the faulting instruction had called
 * sigpanic.  0(sp) holds the faulting pc, 8(sp) the faulting frame's stack
 * pointer; the other registers are the faulting frame's, x30 too, which
 * the unwind rules must give back, so the return address cannot be in
 * column x30: they name the faulting pc in column x16 (IP0, which nothing
 * expects to survive a call, and which libgcc can hold), CFA = *(sp + 8),
 * x30 as saved below, and the signal-frame flag (the faulting pc is
 * looked up as it is, not as a return address).
 */
	.p2align 4
	.globl	__defer_sigpanic_tramp
	.hidden	__defer_sigpanic_tramp
	.type	__defer_sigpanic_tramp, %function
	nop		/* unwinders may look up the byte before a signal frame's pc */
__defer_sigpanic_tramp:
	.cfi_startproc simple
	.cfi_signal_frame
	.cfi_return_column x16
	.cfi_escape 0x0f, 0x03, 0x8f, 0x08, 0x06	/* DW_CFA_def_cfa_expression: breg31(sp) 8; deref */
	.cfi_escape 0x10, 0x10, 0x02, 0x8f, 0x00	/* DW_CFA_expression x16: breg31(sp) 0 */
	str	x30, [sp, #-16]!
	.cfi_escape 0x0f, 0x03, 0x8f, 0x18, 0x06	/* CFA: breg31(sp) 24; deref */
	.cfi_escape 0x10, 0x10, 0x02, 0x8f, 0x10	/* x16: breg31(sp) 16 */
	.cfi_escape 0x10, 0x1e, 0x02, 0x8f, 0x00	/* x30: breg31(sp) 0 */
	bl	sigpanic
	brk	#0
	.cfi_endproc
	.size	__defer_sigpanic_tramp, .-__defer_sigpanic_tramp
	.globl	__defer_text_end
	.hidden	__defer_text_end
__defer_text_end:

	.section .note.GNU-stack,"",%progbits
