/* SPDX-License-Identifier: MIT */
/*
 * The pieces of libdefer that deal in argument registers and stack
 * pointers rather than C values, and the two hot paths.
 */
#include <sys/sdt.h>
/* TLS_*, G_*, D_*, M_*, R_* and DEFER_FLAG_HEAP: offsets of defer_abi.h's
 * and defer.h's records, generated at build time from asm_offsets.c. */
#include "asm_offsets.h"

/*
 * LOADARGS(r, done): the argument registers from the record in r (which
 * must not be one of them).  Only nargs of each class were saved, so past the
 * first of each class it stops at `done` for a call of 0 or 1 arguments;
 * LOADREST(r) is that rest.
 */
#define LOADREST(r)					\
	movq	D_FREGS+8(r), %xmm1;			\
	movq	D_FREGS+16(r), %xmm2;			\
	movq	D_FREGS+24(r), %xmm3;			\
	movq	D_FREGS+32(r), %xmm4;			\
	movq	D_FREGS+40(r), %xmm5;			\
	movq	D_IREGS+8(r), %rsi;			\
	movq	D_IREGS+16(r), %rdx;			\
	movq	D_IREGS+24(r), %rcx;			\
	movq	D_IREGS+32(r), %r8;			\
	movq	D_IREGS+40(r), %r9
#define LOADARGS(r, done)				\
	movq	D_IREGS+0(r), %rdi;			\
	movq	D_FREGS+0(r), %xmm0;			\
	cmpb	$1, D_DESC(r);				\
	jbe	done;					\
	LOADREST(r)

/*
 * FREE(r): give the pool record in r back (g in %rbx, %rax scratch), once
 * everything has been read from it: a signal handler that defers may take
 * it from the pool at once.
 */
#define FREE(r)						\
	movq	G_POOL(%rbx), %rax;			\
	movq	%rax, D_LINK(r);			\
	movq	r, G_POOL(%rbx)

	.text
	.globl	__defer_text_start
	.hidden	__defer_text_start
__defer_text_start:		/* sigpanic.c: a fault here is the runtime's */

/*
 * deferproc: the defer() macro calls it through the deferred function's own
 * type, so on entry the argument registers hold the call's arguments,
 * already converted as for a direct call, and %r10 the frame's mark, which
 * holds fn and the argument kinds (see __DEFER_ENTER in defer.h).
 * deferproc_tls, for clang, first takes the mark from __defer_tls.frame and
 * puts back what the slot held before.  The first call a frame defers goes
 * into the mark's own record, later ones come from the thread's pool.  The
 * record is filled before it is linked, so a debugger never sees a
 * half-written record on the chain.
 */
	.p2align 5
	.globl	deferproc_tls
	.type	deferproc_tls, @function
deferproc_tls:
	.cfi_startproc
	movq	__defer_tls@gottpoff(%rip), %r11
	movq	%fs:TLS_FRAME(%r11), %r10
	movq	M_PREV(%r10), %rax
	movq	%rax, %fs:TLS_FRAME(%r11)
	jmp	.Lbody
	.cfi_endproc
	.size	deferproc_tls, .-deferproc_tls

	.p2align 5
	.globl	deferproc
	.type	deferproc, @function
deferproc:
	.cfi_startproc
.Lbody:
	movq	__defer_tls@gottpoff(%rip), %r11
	movq	%fs:TLS_G(%r11), %r11
	testq	%r11, %r11
	jz	.Lslow
	cmpb	$0, M_ARMED(%r10)
	jne	.Lpool
	/* The frame's first call: its mark's own record (flags 0: not heap). */
	movb	$1, M_ARMED(%r10)
	leaq	M_REC(%r10), %rax
	movq	%rdi, D_IREGS+0(%rax)
	movq	M_DESC(%r10), %rdi		/* nargs, kind[], flags 0 */
	movq	%rdi, D_DESC(%rax)
.Lregs:
	movq	%xmm0, D_FREGS+0(%rax)
	cmpb	$1, %dil
	ja	.Lmore
.Lfinish:
	movq	%r10, D_SP(%rax)
	movq	M_FN(%r10), %rdi
	movq	%rdi, D_FN(%rax)
	movq	(%rsp), %rdi
	movq	%rdi, D_PC(%rax)
	movq	G_DEFER(%r11), %rdi
	movq	%rdi, D_LINK(%rax)
	movq	%rax, G_DEFER(%r11)		/* publish */
	STAP_PROBE1(libdefer, defer, 8@%rax)
	ret
.Lmore:
	movq	%rsi, D_IREGS+8(%rax)
	movq	%xmm1, D_FREGS+8(%rax)
	cmpb	$2, %dil
	je	.Lfinish
	movq	%rdx, D_IREGS+16(%rax)
	movq	%xmm2, D_FREGS+16(%rax)
	cmpb	$3, %dil
	je	.Lfinish
	movq	%rcx, D_IREGS+24(%rax)
	movq	%xmm3, D_FREGS+24(%rax)
	movq	%r8, D_IREGS+32(%rax)
	movq	%xmm4, D_FREGS+32(%rax)
	movq	%r9, D_IREGS+40(%rax)
	movq	%xmm5, D_FREGS+40(%rax)
	jmp	.Lfinish

	/* Later calls of the frame: a record from the thread's pool.  A
	 * signal handler that defers may borrow the same record between the
	 * load and the store of the pool head; it gives it back before it
	 * returns, so nothing of ours goes into the record until it is ours.
	 * Its _panic is already 0 (freedefer, __defer_refill clear it). */
.Lpool:
	movq	G_POOL(%r11), %rax
	testq	%rax, %rax
	jz	.Lslow
	movq	D_LINK(%rax), %xmm6		/* no argument is in %xmm6: six at most */
	movq	%xmm6, G_POOL(%r11)
	movq	%rdi, D_IREGS+0(%rax)
	movq	M_DESC(%r10), %rdi
	movq	%rdi, D_DESC(%rax)
	movb	$DEFER_FLAG_HEAP, D_FLAGS(%rax)
	jmp	.Lregs

	/* No g yet, or an empty pool: keep the arguments safe across C. */
.Lslow:
	subq	$120, %rsp
	.cfi_adjust_cfa_offset 120
	movq	%rdi, 0(%rsp)
	movq	%rsi, 8(%rsp)
	movq	%rdx, 16(%rsp)
	movq	%rcx, 24(%rsp)
	movq	%r8, 32(%rsp)
	movq	%r9, 40(%rsp)
	movq	%xmm0, 48(%rsp)
	movq	%xmm1, 56(%rsp)
	movq	%xmm2, 64(%rsp)
	movq	%xmm3, 72(%rsp)
	movq	%xmm4, 80(%rsp)
	movq	%xmm5, 88(%rsp)
	movq	%r10, 96(%rsp)
	call	__defer_refill
	movq	0(%rsp), %rdi
	movq	8(%rsp), %rsi
	movq	16(%rsp), %rdx
	movq	24(%rsp), %rcx
	movq	32(%rsp), %r8
	movq	40(%rsp), %r9
	movq	48(%rsp), %xmm0
	movq	56(%rsp), %xmm1
	movq	64(%rsp), %xmm2
	movq	72(%rsp), %xmm3
	movq	80(%rsp), %xmm4
	movq	88(%rsp), %xmm5
	movq	96(%rsp), %r10
	addq	$120, %rsp
	.cfi_adjust_cfa_offset -120
	jmp	.Lbody
	.cfi_endproc
	.size	deferproc, .-deferproc

/*
 * deferreturn(mark): a defer_frame is being left with calls deferred.  Run
 * every record that belongs to it, newest first.  Each is unlinked before
 * its call, as Go's deferreturn does: a panic in the call does not run it
 * again.  (Calls a panic or goexit runs stay on the chain, started, while
 * they run; see panic.c.)
 */
	.p2align 5
	.globl	deferreturn
	.type	deferreturn, @function
deferreturn:
	.cfi_startproc
	STAP_PROBE1(libdefer, deferreturn, 8@%rdi)
	movq	__defer_tls@gottpoff(%rip), %rax
	movq	%fs:TLS_G(%rax), %rax		/* g: armed implies it exists */
	movq	G_DEFER(%rax), %rdx
	leaq	M_REC(%rdi), %rcx
	cmpq	%rcx, %rdx
	jne	.Lgeneral
	/* The frame's last call is always the mark's own record: a frame's
	 * first defer takes it, later ones take pool records, and they run
	 * newest first.  With only that one (the common case), unlink it and
	 * jump to the function, which returns straight to the frame being
	 * left.  %rdx: the record, %rax: g. */
.Llast:
	movq	D_LINK(%rdx), %rcx
	movq	%rcx, G_DEFER(%rax)
	STAP_PROBE2(libdefer, run, 8@%rdx, 8@$0)
	movq	D_FN(%rdx), %r11
	testq	%r11, %r11
	jz	.Lnillast
	cmpq	recover@GOTPCREL(%rip), %r11	/* defer(recover): see panic.c */
	je	.Lrecoverlast
	movq	D_IREGS+0(%rdx), %rdi
	movq	D_FREGS+0(%rdx), %xmm0
	cmpb	$1, D_DESC(%rdx)
	ja	.Lloadrest
	movl	$6, %eax			/* vector registers, for variadic callees */
	jmp	*%r11
.Lloadrest:
	movq	%rdx, %r10
	LOADREST(%r10)
	movl	$6, %eax
	jmp	*%r11

	/* Newer calls first, from the pool, each called from this loop and
	 * its record given back.  Kept across the calls: %rbx g, %r13 the
	 * mark, %r12 the mark's own record.  %r10: the record. */
.Lgeneral:
	testq	%rdx, %rdx
	jz	.Lnone
	cmpq	%rdi, D_SP(%rdx)
	jne	.Lnone
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rbx, -16
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r12, -24
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r13, -32
	movq	%rax, %rbx
	movq	%rdi, %r13
	leaq	M_REC(%rdi), %r12
	movq	%rdx, %r10
.Lnext:
	movq	D_LINK(%r10), %rcx
	movq	%rcx, G_DEFER(%rbx)		/* unlink before the call, as Go does */
	STAP_PROBE2(libdefer, run, 8@%r10, 8@$0)
	movq	D_FN(%r10), %r11
	testq	%r11, %r11
	jz	.Lnil
	cmpq	recover@GOTPCREL(%rip), %r11	/* defer(recover): see panic.c */
	je	.Lrecovernext
	LOADARGS(%r10, 1f)
1:	FREE(%r10)
	movl	$6, %eax			/* vector registers, for variadic callees */
	call	*%r11
.Lran:
	movq	G_DEFER(%rbx), %r10		/* the call pushed and popped its own */
	cmpq	%r12, %r10			/* records: the head must be ours */
	je	.Lpoplast
	testq	%r10, %r10
	jz	.Lbad
	cmpq	%r13, D_SP(%r10)
	je	.Lnext
	jmp	.Lbad
.Lrecovernext:
	movq	%r13, %rdi			/* deferredrecover(mark, defer site) */
	movq	D_PC(%r10), %rsi
	FREE(%r10)
	call	deferredrecover
	jmp	.Lran
.Lpoplast:
	movq	%r10, %rdx
	movq	%rbx, %rax
	popq	%r13
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r13
	popq	%r12
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r12
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rbx
	jmp	.Llast

.Lnone:
	/* Nothing of this frame's is left.  What is left may belong to a
	 * deeper frame that was left without running its calls; C looks. */
	testq	%rdx, %rdx
	jz	5f
	movq	%rdi, %rsi			/* __defer_checkstale(head, mark) */
	movq	%rdx, %rdi
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	call	__defer_checkstale
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
5:	ret

.Lrecoverlast:
	/* Run as deferredrecover(mark, defer site), which returns to the frame being left
	 * as the call would have. */
	movq	D_SP(%rdx), %rdi
	movq	D_PC(%rdx), %rsi
	jmp	deferredrecover

.Lnillast:
	/* Go's `defer nil`: the panic comes where the call would run.  It does
	 * not return: a recovery resumes a frame further out. */
	movq	%rdx, %rdi
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	call	nildefer
	ud2
	.cfi_adjust_cfa_offset -8
	/* In the loop: %rbx, %r12 and %r13 pushed. */
.Lnil:
	.cfi_def_cfa_offset 32
	.cfi_offset %rbx, -16
	.cfi_offset %r12, -24
	.cfi_offset %r13, -32
	movq	%r10, %rdi
	call	nildefer
	ud2
.Lbad:
	leaq	.Lbadmsg(%rip), %rdi
	xorl	%eax, %eax
	call	throw
	.cfi_endproc
	.size	deferreturn, .-deferreturn

	.section .rodata.str1.1,"aMS",@progbits,1
.Lbadmsg:
	.asciz	"bad defer entry in deferreturn"
	.text

/*
 * __defer_invoke(d, argp): call d->fn with d's saved argument registers.
 * *argp, if given, receives the callee's CFA: recover() compares it.
 */
	.p2align 5
	.globl	__defer_invoke
	.hidden	__defer_invoke
	.type	__defer_invoke, @function
__defer_invoke:
	.cfi_startproc
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	testq	%rsi, %rsi
	jz	1f
	movq	%rsp, (%rsi)
1:	movq	D_FN(%rdi), %r11
	movq	%rdi, %r10
	LOADARGS(%r10, 2f)
2:	movl	$6, %eax
	call	*%r11
	popq	%rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	__defer_invoke, .-__defer_invoke

/*
 * __defer_setresume(r): setjmp for defer_result.  Saves the callee-saved
 * registers, the stack pointer after return and the return address, and
 * returns 0; __defer_jump(r) with r->rax = 1 makes it return again.
 */
	.p2align 5
	.globl	__defer_setresume
	.type	__defer_setresume, @function
__defer_setresume:
	.cfi_startproc
	movq	%rbx, R_RBX(%rdi)
	movq	%rbp, R_RBP(%rdi)
	movq	%r12, R_R12(%rdi)
	movq	%r13, R_R13(%rdi)
	movq	%r14, R_R14(%rdi)
	movq	%r15, R_R15(%rdi)
	leaq	8(%rsp), %rax
	movq	%rax, R_RSP(%rdi)
	movq	(%rsp), %rax
	movq	%rax, R_RIP(%rdi)
	xorl	%eax, %eax
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
	.type	__defer_jump, @function
__defer_jump:
	.cfi_startproc
	movq	R_RBX(%rdi), %rbx
	movq	R_RBP(%rdi), %rbp
	movq	R_R12(%rdi), %r12
	movq	R_R13(%rdi), %r13
	movq	R_R14(%rdi), %r14
	movq	R_R15(%rdi), %r15
	movq	R_RAX(%rdi), %rax
	movq	R_XMM0(%rdi), %xmm0
	movq	R_RIP(%rdi), %rcx
	movq	R_RSP(%rdi), %rsp
	jmp	*%rcx
	.cfi_endproc
	.size	__defer_jump, .-__defer_jump

/*
 * __defer_sigpanic_tramp: where a fault turned into a panic (sigpanic.c)
 * resumes the faulting thread, as if the faulting instruction had called
 * sigpanic.  0(%rsp) holds the faulting pc, 8(%rsp) the faulting frame's
 * stack pointer; the other registers are the faulting frame's.  The unwind
 * rules say so: CFA = *(rsp + 8), return address = *(rsp + 0), and the
 * signal-frame flag, so that unwinders look up the faulting pc itself, not
 * the byte before it (it is not a return address).
 */
	.p2align 4
	.globl	__defer_sigpanic_tramp
	.hidden	__defer_sigpanic_tramp
	.type	__defer_sigpanic_tramp, @function
__defer_sigpanic_tramp:
	.cfi_startproc simple
	.cfi_signal_frame
	.cfi_escape 0x0f, 0x03, 0x77, 0x08, 0x06	/* DW_CFA_def_cfa_expression: breg7(rsp) 8; deref */
	.cfi_escape 0x10, 0x10, 0x02, 0x77, 0x00	/* DW_CFA_expression rip: breg7(rsp) 0 */
	call	sigpanic
	ud2
	.cfi_endproc
	.size	__defer_sigpanic_tramp, .-__defer_sigpanic_tramp
	.globl	__defer_text_end
	.hidden	__defer_text_end
__defer_text_end:

	.section .note.GNU-stack,"",@progbits
