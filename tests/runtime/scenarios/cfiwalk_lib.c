/* SPDX-License-Identifier: MIT */
/*
 * A shared library for test_cfiwalk's dlopen case: cfiwalk_lib_call(fn)
 * calls fn from a frame whose rule depends on the variant, and the call's
 * return address is at the same offset in both (built -nostartfiles, so
 * the function is all the library's code and lands at the same place):
 *
 *	-DVARIANT_A  saves three callee-saved registers and changes them
 *	-DVARIANT_B  saves none, and writes -1 where A keeps them
 *
 * A walker that kept A's rule after A was unloaded and B loaded in its
 * place would read B's -1s as the caller's registers.
 */
#if defined(__x86_64__) && defined(VARIANT_A)
__asm__(".text\n.globl cfiwalk_lib_call\n.type cfiwalk_lib_call,@function\n"
	"cfiwalk_lib_call:\n.cfi_startproc\n"
	"push %rbx\n.cfi_adjust_cfa_offset 8\n.cfi_offset %rbx, -16\n"
	"push %rbp\n.cfi_adjust_cfa_offset 8\n.cfi_offset %rbp, -24\n"
	"push %r12\n.cfi_adjust_cfa_offset 8\n.cfi_offset %r12, -32\n"
	"movabs $0x1111111111111111, %rbx\n"
	"movabs $0x2222222222222222, %rbp\n"
	"movabs $0x3333333333333333, %r12\n"
	"call *%rdi\n"
	"pop %r12\n.cfi_adjust_cfa_offset -8\n.cfi_restore %r12\n"
	"pop %rbp\n.cfi_adjust_cfa_offset -8\n.cfi_restore %rbp\n"
	"pop %rbx\n.cfi_adjust_cfa_offset -8\n.cfi_restore %rbx\n"
	"ret\n.cfi_endproc\n.size cfiwalk_lib_call, .-cfiwalk_lib_call\n");
#elif defined(__x86_64__) && defined(VARIANT_B)
__asm__(".text\n.globl cfiwalk_lib_call\n.type cfiwalk_lib_call,@function\n"
	"cfiwalk_lib_call:\n.cfi_startproc\n"
	"sub $24, %rsp\n.cfi_adjust_cfa_offset 24\n"
	"movq $-1, (%rsp)\nmovq $-1, 8(%rsp)\nmovq $-1, 16(%rsp)\n"
	".byte 0x0f, 0x1f, 0x40, 0x00\n"	/* nopl 0(%rax), 4 bytes: the call at 34, as in A */
	"call *%rdi\n"
	"add $24, %rsp\n.cfi_adjust_cfa_offset -24\n"
	"ret\n.cfi_endproc\n.size cfiwalk_lib_call, .-cfiwalk_lib_call\n");
#elif defined(__aarch64__) && defined(VARIANT_A)
__asm__(".text\n.globl cfiwalk_lib_call\n.type cfiwalk_lib_call,%function\n"
	"cfiwalk_lib_call:\n.cfi_startproc\n"
	"stp x29, x30, [sp, -32]!\n.cfi_def_cfa_offset 32\n"
	".cfi_offset x29, -32\n.cfi_offset x30, -24\n"
	"mov x29, sp\n"
	"stp x19, x20, [sp, 16]\n.cfi_offset x19, -16\n.cfi_offset x20, -8\n"
	"mov x19, #0x1111\nmov x20, #0x2222\n"
	"blr x0\n"
	"ldp x19, x20, [sp, 16]\n.cfi_restore x19\n.cfi_restore x20\n"
	"ldp x29, x30, [sp], 32\n.cfi_restore x29\n.cfi_restore x30\n.cfi_def_cfa_offset 0\n"
	"ret\n.cfi_endproc\n.size cfiwalk_lib_call, .-cfiwalk_lib_call\n");
#elif defined(__aarch64__) && defined(VARIANT_B)
__asm__(".text\n.globl cfiwalk_lib_call\n.type cfiwalk_lib_call,%function\n"
	"cfiwalk_lib_call:\n.cfi_startproc\n"
	"stp x29, x30, [sp, -32]!\n.cfi_def_cfa_offset 32\n"
	".cfi_offset x29, -32\n.cfi_offset x30, -24\n"
	"mov x29, sp\n"
	"mov x9, #-1\nstr x9, [sp, 16]\nstr x9, [sp, 24]\n"
	"blr x0\n"
	"ldp x29, x30, [sp], 32\n.cfi_restore x29\n.cfi_restore x30\n.cfi_def_cfa_offset 0\n"
	"ret\n.cfi_endproc\n.size cfiwalk_lib_call, .-cfiwalk_lib_call\n");
#else
#error "cfiwalk_lib.c: build with -DVARIANT_A or -DVARIANT_B, for x86-64 or aarch64"
#endif
