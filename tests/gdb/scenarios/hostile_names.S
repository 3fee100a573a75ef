/* SPDX-License-Identifier: MIT */
/* Deferred functions whose only names are hostile symbol names. */
	.text
	.globl hostile_eval, hostile_call
	.globl "_main',($pwned=42),'main"
	.globl "_main',((int(*)(char*))system)(cmd),'main"
	.type hostile_eval, @function
	.type "_main',($pwned=42),'main", @function
hostile_eval:
"_main',($pwned=42),'main":
	ret
	.type hostile_call, @function
	.type "_main',((int(*)(char*))system)(cmd),'main", @function
hostile_call:
"_main',((int(*)(char*))system)(cmd),'main":
	ret
	/* Data whose name the test rewrites (objcopy --redefine-sym) into an
	 * escape sequence and a forged line: gdb prints it as <name>. */
	.data
	.globl hostile_buf
	.type hostile_buf, @object
	.size hostile_buf, 8
hostile_buf:
	.ascii "buffer\0\0"
	.section .note.GNU-stack,"",@progbits
