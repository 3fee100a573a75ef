/*
 * The pieces of libdefer that deal in argument registers and stack
 * pointers rather than C values, and the two hot paths.  Offsets are those
 * of defer_abi.h and defer.h; offsets.c checks them at compile time.
 */
#include <sys/sdt.h>

#define TLS_G      0
#define TLS_FN     8
#define TLS_FRAME  16
#define TLS_DESC   24

#define G_DEFER    8
#define G_POOL     48

#define D_LINK     0
#define D_FN       8
#define D_PC       16
#define D_SP       24
#define D_PANIC    32
#define D_DESC     40	/* nargs, kind[6], started */
#define D_STARTED  47
#define D_HEAP     48
#define D_IREGS    56
#define D_FREGS    104

#define M_ARMED    0
#define M_REC      16

	.text

/*
 * deferproc: the defer() macro calls it through the deferred function's own
 * type, so on entry the argument registers hold the call's arguments,
 * already converted as for a direct call; fn, the frame marker and the
 * argument kinds wait in __defer_tls.  The first call a frame defers goes
 * into the marker's own record, later ones come from the thread's pool.
 * The record is filled before it is linked, so a debugger never sees a
 * half-written record on the chain.
 */
	.globl	deferproc
	.type	deferproc, @function
deferproc:
	.cfi_startproc
.Lagain:
	movq	__defer_tls@gottpoff(%rip), %r10
	movq	%fs:TLS_G(%r10), %r11
	testq	%r11, %r11
	jz	.Lslow
	movq	%fs:TLS_FRAME(%r10), %rax
	cmpb	$0, M_ARMED(%rax)
	jne	.Lpool
	leaq	M_REC(%rax), %rax
	movb	$0, D_HEAP(%rax)
.Lfill:
	movq	%rdi, D_IREGS+0(%rax)
	movq	%xmm0, D_FREGS+0(%rax)
	movq	%fs:TLS_DESC(%r10), %rdi	/* started = 0 comes with it */
	movq	%rdi, D_DESC(%rax)
	cmpb	$1, %dil
	jbe	1f
	movq	%rsi, D_IREGS+8(%rax)
	movq	%xmm1, D_FREGS+8(%rax)
	cmpb	$2, %dil
	je	1f
	movq	%rdx, D_IREGS+16(%rax)
	movq	%xmm2, D_FREGS+16(%rax)
	cmpb	$3, %dil
	je	1f
	movq	%rcx, D_IREGS+24(%rax)
	movq	%xmm3, D_FREGS+24(%rax)
	movq	%r8, D_IREGS+32(%rax)
	movq	%xmm4, D_FREGS+32(%rax)
	movq	%r9, D_IREGS+40(%rax)
	movq	%xmm5, D_FREGS+40(%rax)
1:	movq	%fs:TLS_FN(%r10), %rdi
	movq	%rdi, D_FN(%rax)
	movq	%fs:TLS_FRAME(%r10), %rdi
	movq	%rdi, D_SP(%rax)
	movb	$1, M_ARMED(%rdi)
	movq	(%rsp), %rdi
	movq	%rdi, D_PC(%rax)
	movq	$0, D_PANIC(%rax)
	movq	G_DEFER(%r11), %rdi
	movq	%rdi, D_LINK(%rax)
	movq	%rax, G_DEFER(%r11)		/* publish */
	STAP_PROBE1(libdefer, defer, 8@%rax)
	ret

.Lpool:
	movq	G_POOL(%r11), %rax
	testq	%rax, %rax
	jz	.Lslow
	movb	$1, D_HEAP(%rax)
	movq	%rdi, D_IREGS+0(%rax)		/* frees %rdi to pop the pool */
	movq	D_LINK(%rax), %rdi
	movq	%rdi, G_POOL(%r11)
	movq	D_IREGS+0(%rax), %rdi
	jmp	.Lfill

	/* No g yet, or an empty pool: keep the arguments safe across C. */
.Lslow:
	subq	$104, %rsp
	.cfi_adjust_cfa_offset 104
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
	addq	$104, %rsp
	.cfi_adjust_cfa_offset -104
	jmp	.Lagain
	.cfi_endproc
	.size	deferproc, .-deferproc

/*
 * deferreturn(mark): a defer_frame is being left with calls deferred.  Run
 * every record that belongs to it, newest first.  Each stays on the chain,
 * marked started, while it runs: a debugger sees it running, and a panic in
 * it finds it started and knows it was abandoned.
 */
	.globl	deferreturn
	.type	deferreturn, @function
deferreturn:
	.cfi_startproc
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_offset %rbx, -16
	movq	%rdi, %rsi			/* mark */
.Lnext:
	movq	__defer_tls@gottpoff(%rip), %rax
	movq	%fs:TLS_G(%rax), %rax		/* g: armed implies it exists */
	movq	G_DEFER(%rax), %rbx
	testq	%rbx, %rbx
	jz	.Ldone
	cmpq	%rsi, D_SP(%rbx)
	jne	.Lother
	movb	$1, D_STARTED(%rbx)
	STAP_PROBE2(libdefer, run, 8@%rbx, 8@$0)
	movq	D_FN(%rbx), %r11
	testq	%r11, %r11
	jz	.Lnil
	movq	D_IREGS+0(%rbx), %rdi
	movq	D_FREGS+0(%rbx), %xmm0
	cmpb	$1, D_DESC(%rbx)		/* nargs: only that many were saved */
	jbe	1f
	movq	D_FREGS+8(%rbx), %xmm1
	movq	D_FREGS+16(%rbx), %xmm2
	movq	D_FREGS+24(%rbx), %xmm3
	movq	D_FREGS+32(%rbx), %xmm4
	movq	D_FREGS+40(%rbx), %xmm5
	movq	D_IREGS+8(%rbx), %rsi
	movq	D_IREGS+16(%rbx), %rdx
	movq	D_IREGS+24(%rbx), %rcx
	movq	D_IREGS+32(%rbx), %r8
	movq	D_IREGS+40(%rbx), %r9
1:	movl	$6, %eax			/* vector registers, for variadic callees */
	call	*%r11
	/* The call pushed and popped its own records: the head must be ours. */
	movq	__defer_tls@gottpoff(%rip), %rax
	movq	%fs:TLS_G(%rax), %rax
	cmpq	%rbx, G_DEFER(%rax)
	jne	.Lbad
	movq	D_LINK(%rbx), %rcx
	movq	%rcx, G_DEFER(%rax)
	movq	D_SP(%rbx), %rsi		/* the mark again */
	cmpb	$0, D_HEAP(%rbx)
	je	.Lnext
	movq	G_POOL(%rax), %rcx
	movq	%rcx, D_LINK(%rbx)
	movq	%rbx, G_POOL(%rax)
	jmp	.Lnext
.Lother:
	/* A record of a deeper frame still here means that frame was left
	 * without running its calls: longjmp or a C++ exception. */
	ja	.Ldone				/* above the mark: an outer frame's */
	cmpb	$0, D_STARTED(%rbx)
	jne	.Ldone
	movq	%rbx, %rdi
	call	__defer_stale
.Ldone:
	movb	$0, M_ARMED(%rsi)
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	ret
	.cfi_adjust_cfa_offset 8
.Lnil:
	movq	%rbx, %rdi
	call	nildefer
	movq	D_SP(%rbx), %rsi
	jmp	.Lnext
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
	movq	D_FREGS+0(%rdi), %xmm0
	movq	D_FREGS+8(%rdi), %xmm1
	movq	D_FREGS+16(%rdi), %xmm2
	movq	D_FREGS+24(%rdi), %xmm3
	movq	D_FREGS+32(%rdi), %xmm4
	movq	D_FREGS+40(%rdi), %xmm5
	movq	D_IREGS+8(%rdi), %rsi
	movq	D_IREGS+16(%rdi), %rdx
	movq	D_IREGS+24(%rdi), %rcx
	movq	D_IREGS+32(%rdi), %r8
	movq	D_IREGS+40(%rdi), %r9
	movq	D_IREGS+0(%rdi), %rdi
	movl	$6, %eax
	call	*%r11
	popq	%rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	__defer_invoke, .-__defer_invoke

/*
 * __defer_jump(r): continue a caller as if its callee had just returned:
 * callee-saved registers, stack pointer, return value, then the return
 * address.  Everything below that frame is abandoned, as with longjmp.
 */
	.globl	__defer_jump
	.hidden	__defer_jump
	.type	__defer_jump, @function
__defer_jump:
	.cfi_startproc
	movq	0(%rdi), %rbx
	movq	8(%rdi), %rbp
	movq	16(%rdi), %r12
	movq	24(%rdi), %r13
	movq	32(%rdi), %r14
	movq	40(%rdi), %r15
	movq	64(%rdi), %rax
	movq	72(%rdi), %xmm0
	movq	56(%rdi), %rcx
	movq	48(%rdi), %rsp
	jmp	*%rcx
	.cfi_endproc
	.size	__defer_jump, .-__defer_jump

	.section .note.GNU-stack,"",@progbits
