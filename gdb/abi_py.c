/* SPDX-License-Identifier: MIT */
/*
 * abi_py.c - the spec (libdefer/include/defer_abi.h) as marker lines, from
 * which gdb/abi_py.awk writes gdb/libdefer_gdb/abi.py (gdb/build.mk).
 * Compiled to assembly by the compiler that builds the library, never
 * linked: sizes and counts are that compiler's.  Lines, "->" then:
 *   C NAME VALUE                       a constant
 *   T NAME CODE                        a field of the table's header
 *   R BLOCK TAG                        a record: its table block, its C tag
 *   F NAME MEMBER CODE COUNT           a published field of the last record
 *   B MEMBER BIT                       a bit-field of a BITS byte, its value
 */
#include <stddef.h>
#include "defer_abi.h"

#define LINE(text) __asm__ volatile("\n.ascii \"->" text "\"")
#define VALUE(text, v) __asm__ volatile("\n.ascii \"->" text " %0\"" : : "i"(v))
#define CONST(name, v) VALUE("C " #name, v)

/* Bytes per item of each Python struct code the lists use. */
#define SIZE_Q 8
#define SIZE_I 4
#define SIZE_i 4
#define SIZE_B 1
#define SIZE_s 1

#define COUNT(S, member, code)                                                \
	(sizeof(((S *)0)->member) / SIZE_##code +                             \
	 0 * sizeof(char[sizeof(((S *)0)->member) % SIZE_##code == 0 ? 1 : -1]))
#define FIELD_F(S, type, member, dims, name, code)                            \
	VALUE("F " #name " " #member " " #code, COUNT(S, member, code));
#define FIELD_H(S, type, member, dims)
/* x86-64 (and every little-endian psABI) allocates bit-fields from the
 * byte's low bit: bit0 is 1, bit1 is 2 (tests/runtime/test_abi_spec.py
 * checks that DEFER_FLAG_* agree). */
#define FIELD_B(S, after, name, bit0, bit1)                                   \
	VALUE("F " #name " " #bit0 " B", 1);                                  \
	LINE("B " #bit0 " 1");                                                \
	LINE("B " #bit1 " 2");
#define RECORD(block, S, list)                                                \
	LINE("R " #block " " #S);                                             \
	list(FIELD_F, FIELD_H, FIELD_B, S)
#define HEADER(type, name, code) LINE("T " #name " " #code);

void abi_py(void);
void abi_py(void)
{
	CONST(VERSION, DEFER_ABI_VERSION);
	/* The magic does not fit an immediate operand: in halves. */
	CONST(MAGIC_HI, (uint32_t)(DEFER_DEBUG_MAGIC >> 32));
	CONST(MAGIC_LO, (uint32_t)DEFER_DEBUG_MAGIC);
	CONST(MAXARGS, DEFER_MAXARGS);
	CONST(PANIC_MSG, DEFER_PANIC_MSG);
	CONST(ARG_SIGNED, DEFER_ARG_SIGNED);
	CONST(ARG_UNSIGNED, DEFER_ARG_UNSIGNED);
	CONST(ARG_POINTER, DEFER_ARG_POINTER);
	CONST(ARG_FLOAT, DEFER_ARG_FLOAT);
	CONST(ARG_DOUBLE, DEFER_ARG_DOUBLE);
	CONST(ARG_BOOL, DEFER_ARG_BOOL);
	CONST(ARG_CLASS, DEFER_ARG_CLASS);
	CONST(ARG_SIZE, DEFER_ARG_SIZE);
	CONST(FLAG_STARTED, DEFER_FLAG_STARTED);
	CONST(FLAG_HEAP, DEFER_FLAG_HEAP);
	CONST(G_RUNNING, DEFER_G_RUNNING);
	CONST(G_DEAD, DEFER_G_DEAD);
	CONST(TABLE_SIZE, sizeof(struct defer_debug_offsets));
	DEFER_TABLE_HEADER(HEADER)
	DEFER_RECORDS(RECORD)
}
