/*
 * The three pieces of libdefer that must be written in assembly, because
 * they deal in argument registers and stack pointers rather than C values.
 * Offsets are those of defer_abi.h; offsets.c checks them at compile time.
 */
#include <sys/sdt.h>

#define TLS_G      0
#define TLS_FN     8
#define TLS_FRAME  16
#define TLS_DESC   24
#define TLS_NVEC   32

#define G_DEFER    8
#define G_NDEFERS  48
#define G_POOL     56

#define D_LINK     0
#define D_FN       8
#define D_PC       16
#define D_SP       24
#define D_PANIC    32
#define D_NARGS    40
#define D_NVEC     47
#define D_STARTED  48
#define D_IREGS    56
#define D_FREGS    104

	.text

/*
 * deferproc: the defer() macro calls it through the deferred function's own
 * type, so on entry the argument registers hold the call's arguments,
 * already converted; fn, the frame and the argument kinds wait in
 * __defer_tls.  Take a record from the thread's pool, fill it, and only
 * then link it, so a debugger never sees a half-written record.
 */
	.globl	deferproc
	.type	deferproc, @function
deferproc:
	.cfi_startproc
.Lagain:
	movq	__defer_tls@gottpoff(%rip), %r10
	movb	%al, %fs:TLS_NVEC(%r10)
	movq	%fs:TLS_G(%r10), %r11
	testq	%r11, %r11
	jz	.Lslow
	movq	G_POOL(%r11), %rax
	testq	%rax, %rax
	jz	.Lslow
	movq	%rdi, D_IREGS+0(%rax)
	movq	%rsi, D_IREGS+8(%rax)
	movq	%rdx, D_IREGS+16(%rax)
	movq	%rcx, D_IREGS+24(%rax)
	movq	%r8, D_IREGS+32(%rax)
	movq	%r9, D_IREGS+40(%rax)
	movq	%xmm0, D_FREGS+0(%rax)
	movq	%xmm1, D_FREGS+8(%rax)
	movq	%xmm2, D_FREGS+16(%rax)
	movq	%xmm3, D_FREGS+24(%rax)
	movq	%xmm4, D_FREGS+32(%rax)
	movq	%xmm5, D_FREGS+40(%rax)
	movq	D_LINK(%rax), %rdi
	movq	%rdi, G_POOL(%r11)
	movq	%fs:TLS_FN(%r10), %rdi
	movq	%rdi, D_FN(%rax)
	movq	%fs:TLS_FRAME(%r10), %rdi
	movq	%rdi, D_SP(%rax)
	movb	$1, (%rdi)			/* frame->armed */
	movq	%fs:TLS_DESC(%r10), %rdi	/* nargs and kind[]; byte 7 is 0 */
	movq	%rdi, D_NARGS(%rax)
	movzbl	%fs:TLS_NVEC(%r10), %edi
	movb	%dil, D_NVEC(%rax)
	movq	(%rsp), %rdi
	movq	%rdi, D_PC(%rax)
	movq	$0, D_PANIC(%rax)
	movw	$0x100, D_STARTED(%rax)		/* started = 0, heap = 1 */
	movq	G_DEFER(%r11), %rdi
	movq	%rdi, D_LINK(%rax)
	incq	G_NDEFERS(%r11)
	movq	%rax, G_DEFER(%r11)		/* publish */
	STAP_PROBE1(libdefer, defer, 8@%rax)
	ret

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
	movq	%rax, 48(%rsp)
	movq	%xmm0, 56(%rsp)
	movq	%xmm1, 64(%rsp)
	movq	%xmm2, 72(%rsp)
	movq	%xmm3, 80(%rsp)
	movq	%xmm4, 88(%rsp)
	movq	%xmm5, 96(%rsp)
	call	__defer_refill
	movq	__defer_tls@gottpoff(%rip), %r10
	movzbl	%fs:TLS_NVEC(%r10), %eax
	movq	0(%rsp), %rdi
	movq	8(%rsp), %rsi
	movq	16(%rsp), %rdx
	movq	24(%rsp), %rcx
	movq	32(%rsp), %r8
	movq	40(%rsp), %r9
	movq	56(%rsp), %xmm0
	movq	64(%rsp), %xmm1
	movq	72(%rsp), %xmm2
	movq	80(%rsp), %xmm3
	movq	88(%rsp), %xmm4
	movq	96(%rsp), %xmm5
	addq	$120, %rsp
	.cfi_adjust_cfa_offset -120
	jmp	.Lagain
	.cfi_endproc
	.size	deferproc, .-deferproc

/*
 * __defer_invoke(d, argp): call d->fn with d's saved argument registers.
 * *argp, if given, receives the callee's CFA (recover() checks it).
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
	movzbl	D_NVEC(%rdi), %eax
	movq	D_IREGS+8(%rdi), %rsi
	movq	D_IREGS+16(%rdi), %rdx
	movq	D_IREGS+24(%rdi), %rcx
	movq	D_IREGS+32(%rdi), %r8
	movq	D_IREGS+40(%rdi), %r9
	movq	D_IREGS+0(%rdi), %rdi
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
