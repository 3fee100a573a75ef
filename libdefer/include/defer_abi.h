/* SPDX-License-Identifier: MIT */
/*
 * defer_abi.h - the records libdefer leaves in memory, for debuggers.
 *
 * Everything in this header is a stable, versioned ABI (DEFER_ABI_VERSION).
 * gdb's `info defers`, `defer-inspect` and anything else that reads a
 * process or a core file depend on it.  docs/abi.md describes how to walk
 * it; the names mirror Go's runtime (runtime2.go) on purpose.
 *
 * Rules a reader may rely on:
 *  - allgs is the head of a singly linked list of every thread that ever
 *    deferred a call (g.alllink).  Entries are never unlinked; a thread that
 *    ended has status DEFER_G_DEAD and may later be reused by a new thread.
 *  - g._defer is the newest pending record of that thread; _defer.link goes
 *    to older ones.  A record is fully written before it is linked, so a
 *    reader never sees a half-filled record through the chain.  When a frame
 *    exits normally each of its records is unlinked just before its call
 *    runs (as Go's deferreturn does); a panic or goexit leaves the record on
 *    the chain, started, while its call runs.
 *  - g._panic is the newest panic; _panic.link goes to older ones.
 *  - Field offsets are also published at run time in _defer_debug_offsets,
 *    so tools can read stripped binaries.
 *
 * THE SPEC.  Every record's members are listed once, in the DEFER_*_FIELDS
 * lists below; the structs are declared from them, and so is the offsets
 * table.  Generated from the same lists at build time, never edited by hand:
 *   - the table's contents (libdefer/src/offsets.c);
 *   - the offsets defer.S uses (libdefer/src/asm_offsets.c, compiled
 *     to assembly by the library's own compiler: build/libdefer/asm_offsets.h);
 *   - the reader's struct dr_layout and its field names (dwarf-reader:
 *     dreader.h, src/runtime.c, src/walk.c's layout check, tool/layout.c);
 *   - the gdb extension's gdb/libdefer_gdb/abi.py (gdb/abi_py.c, abi_py.awk).
 * What still hand-codes a layout must match the lists and is checked against
 * them at compile time in offsets.c: the 8-byte descriptor at _defer.nargs
 * (nargs, kind[], flags) that defer.h's __DEFER_DESC builds and deferproc
 * copies, and the flags byte's bits.  To add a field: add it to its list (FIELD
 * to publish it, PRIVATE to keep it from readers), bump
 * DEFER_ABI_VERSION, and describe it in docs/abi.md.
 *
 * A list entry is one of
 *   FIELD(x_, type, member, dims, name, code)  the member `type member dims;`,
 *        published in the table as `name`; a reader decodes it with the
 *        Python struct code `code` (Q 8 bytes, I/i 4 unsigned/signed, B 1,
 *        s bytes), as many as the member holds;
 *   PRIVATE(x_, type, member, dims)  a member private to the runtime;
 *   BITS(x_, after, name, bit0, bit1)  a byte of two one-bit fields
 *        (DEFER_FLAG_* are their values), right after member `after`,
 *        published as `name`.
 * x_ is whatever the list's user passes through (the struct's type, here).
 * A user expands a list with macros of its own in those three places.
 */
#ifndef DEFER_ABI_H
#define DEFER_ABI_H

#include <stdint.h>

#define DEFER_ABI_VERSION 3 /* 2: _panic.text and textlen; 3: struct defer_resume, the panic
                             * history (struct defer_recovered) in the table, _panic.vtype */
#define DEFER_DEBUG_MAGIC 0x5245464544444c00ull /* "\0LDDEFER" little-endian */

#define DEFER_MAXARGS 6
#define DEFER_PANIC_MSG 256
/* Recovered panics each thread remembers (its history ring), and the bytes
 * of each one's message kept there.  Compiled into the runtime; readers take
 * the count from g.histcap, never from here. */
#ifndef DEFER_HISTORY
#define DEFER_HISTORY 16
#endif
#define DEFER_HISTORY_MSG 64

/* Argument kinds, one byte per argument: class in the high nibble, size in
 * bytes in the low nibble.  They describe the argument expressions as
 * written at the defer site, for readers that have no debug info for the
 * deferred function. */
enum {
	DEFER_ARG_SIGNED = 0x10,   /* signed integer (char, short, int, long...) */
	DEFER_ARG_UNSIGNED = 0x20, /* unsigned integer or enum */
	DEFER_ARG_POINTER = 0x30,  /* pointer (incl. arrays and functions) */
	DEFER_ARG_FLOAT = 0x40,    /* binary32 */
	DEFER_ARG_DOUBLE = 0x50,   /* binary64 */
	DEFER_ARG_BOOL = 0x60,     /* _Bool */
	DEFER_ARG_CLASS = 0xf0,
	DEFER_ARG_SIZE = 0x0f,
};

enum { DEFER_G_RUNNING = 1, DEFER_G_DEAD = 2 };

/* Bits of the _defer flags byte (_defer_debug_offsets.d.flags): started
 * and heap, the BITS entry of DEFER_DEFER_FIELDS. */
enum { DEFER_FLAG_STARTED = 1, DEFER_FLAG_HEAP = 2 };

/*
 * struct _defer: a deferred call.  The arguments are kept as the registers
 * the calling convention (System V x86-64, AAPCS64) uses for them: the defer
 * site calls deferproc through the deferred function's own type, so the
 * compiler converts every argument exactly as for a direct call
 * (prototypes, variadic promotions) and deferproc saves the argument
 * registers.  Integer-class arguments are in iregs in order, floating ones
 * in fregs in order: argument i lives in iregs[n] where n counts the
 * integer-class arguments before it, or likewise in fregs.  Only the
 * slots of the first nargs arguments mean anything; deferproc also copies
 * some registers past them.  Written by deferproc (defer.S, through
 * asm_offsets.h's D_*) and by defer.h's open-coded defer (by member, and
 * the descriptor at nargs, checked in offsets.c).
 */
#define DEFER_DEFER_FIELDS(FIELD, PRIVATE, BITS, x_)                                        \
	/* next older record of this thread, or NULL */                        \
	FIELD(x_, struct _defer *, link, , link, Q)                                 \
	/* the deferred function (called with the saved registers) */           \
	FIELD(x_, __typeof__(void (*)(void)), fn, , fn, Q)                          \
	/* defer site: return address of the call to deferproc */              \
	FIELD(x_, uintptr_t, pc, , pc, Q)                                           \
	/* address of the owning struct defer_mark, inside the deferring       \
	 * function's stack frame: the innermost frame whose CFA is above sp   \
	 * owns the record */                                                  \
	FIELD(x_, uintptr_t, sp, , sp, Q)                                           \
	/* the panic running this call: valid only if started */               \
	FIELD(x_, struct _panic *, _panic, , panic, Q)                              \
	/* number of arguments, 0..DEFER_MAXARGS; then DEFER_ARG_* per         \
	 * argument; then the flags byte: these 8 bytes are the descriptor     \
	 * defer.h builds (__DEFER_DESC) */                                    \
	FIELD(x_, uint8_t, nargs, , nargs, B)                                       \
	FIELD(x_, uint8_t, kind, [DEFER_MAXARGS], kind, s)                          \
	/* started: a panic or goexit began this call; heap: from the          \
	 * thread's record pool (0: the record built into the owning           \
	 * defer_mark, on the stack) */                                        \
	BITS(x_, kind, flags, started, heap)                                       \
	PRIVATE(x_, uint8_t, pad, [8])                                                \
	/* %rdi %rsi %rdx %rcx %r8 %r9 (aarch64: x0-x5) */                     \
	FIELD(x_, uint64_t, iregs, [DEFER_MAXARGS], iregs, Q)                       \
	/* low 64 bits of %xmm0..%xmm5 (aarch64: d0-d5) */                     \
	FIELD(x_, uint64_t, fregs, [DEFER_MAXARGS], fregs, Q)

/* struct _panic: a panic.  It lives on gopanic's stack for as long as the
 * panic runs.  Only C writes it (panic.c, goexit.c, by member). */
#define DEFER_PANIC_FIELDS(FIELD, PRIVATE, BITS, x_)                                        \
	/* older panic of this thread, or NULL */                              \
	FIELD(x_, struct _panic *, link, , link, Q)                                 \
	/* the user's value (panic_value), or NULL */                          \
	FIELD(x_, void *, arg, , arg, Q)                                            \
	/* stack address where the running deferred call was entered:          \
	 * recover() succeeds only in that frame */                            \
	FIELD(x_, uintptr_t, argp, , argp, Q)                                       \
	/* where panic was called (return address into the caller) */          \
	FIELD(x_, uintptr_t, pc, , pc, Q)                                           \
	/* deferred call this panic is running, or NULL */                     \
	FIELD(x_, struct _defer *, defer, , defer, Q)                               \
	/* recover() stopped it */                                             \
	FIELD(x_, uint8_t, recovered, , recovered, B)                               \
	/* a newer panic started in one of its deferred calls */               \
	FIELD(x_, uint8_t, aborted, , aborted, B)                                   \
	/* not a panic: defer_goexit() running the thread's calls */           \
	FIELD(x_, uint8_t, goexit, , goexit, B)                                     \
	PRIVATE(x_, uint8_t, pad, [5])                                                \
	/* the message's first bytes, NUL-terminated */                        \
	FIELD(x_, char, msg, [DEFER_PANIC_MSG], msg, s)                             \
	/* The whole message, NUL-terminated, textlen bytes: msg itself when   \
	 * it fits, else memory the runtime mapped for it (freed when the      \
	 * panic is recovered).  If that mapping failed, text is msg, cut,     \
	 * ending in " [... N more bytes not shown]". */                       \
	FIELD(x_, const char *, text, , text, Q)                                    \
	FIELD(x_, uint64_t, textlen, , textlen, Q)                                  \
	/* panic_value's site object: a static of arg's static type at the     \
	 * panic site (defer.h's __DEFER_TYPED), whose debug information gives \
	 * readers that type; NULL for panic().  Last: the table only grows    \
	 * (every version-2 entry keeps its place). */                         \
	FIELD(x_, const void *, vtype, , vtype, Q)

/* struct g: a thread's record, what gdb or a core reader needs to find its
 * chains without thread-local storage.  defer.S reads _defer and pool
 * (asm_offsets.h's G_*); the rest of the runtime uses the members. */
#define DEFER_G_FIELDS(FIELD, PRIVATE, BITS, x_)                                            \
	/* next entry of allgs, or NULL */                                     \
	FIELD(x_, struct g *, alllink, , alllink, Q)                                \
	/* newest pending deferred call */                                     \
	FIELD(x_, struct _defer *, _defer, , defer, Q)                              \
	/* newest panic */                                                     \
	FIELD(x_, struct _panic *, _panic, , panic, Q)                              \
	/* kernel thread id (gettid) */                                        \
	FIELD(x_, int32_t, tid, , tid, i)                                           \
	/* DEFER_G_RUNNING or DEFER_G_DEAD */                                  \
	FIELD(x_, uint32_t, status, , status, I)                                    \
	/* thread name when the record was made (comm) */                      \
	FIELD(x_, char, name, [16], name, s)                                        \
	/* Below: private to the runtime.  Free records, the memory they       \
	 * live in, the lowest address of the thread's stack, the signal      \
	 * stack the runtime gave the thread, the end of the stack. */         \
	PRIVATE(x_, struct _defer *, pool, )                                          \
	PRIVATE(x_, void *, chunks, )                                                 \
	PRIVATE(x_, uintptr_t, stacklo, )                                             \
	PRIVATE(x_, void *, altstack, )                                               \
	PRIVATE(x_, uintptr_t, stackhi, )

/* The rest of struct g: its panic history, published in a block of its
 * own at the table's end (the table only grows: the g block keeps the
 * place it had in version 2).  The ring: histcap records (allocated with
 * the g), and how many panics the thread recovered; the newest is
 * hist[(recovered - 1) % histcap].  Written only by a recovery
 * (history.c). */
#define DEFER_G_HISTORY_FIELDS(FIELD, PRIVATE, BITS, x_)                                    \
	FIELD(x_, struct defer_recovered *, hist, , hist, Q)                        \
	FIELD(x_, uint64_t, recovered, , recovered, Q)                              \
	FIELD(x_, uint32_t, histcap, , histcap, I)                                  \
	PRIVATE(x_, uint32_t, histpad, )

/* struct defer_resume: the registers __defer_setresume saves, where a
 * recovery resumes a frame that used defer_result.  Published by role, the
 * same names on every architecture, so that one reader reads any target's
 * table: pc (the return address), sp (the stack pointer after the
 * return), fp (the frame pointer), ret and fret (the integer and floating
 * return registers: the value __defer_jump makes it return), saved0..4
 * (other callee-saved registers).  The order keeps version 3's x86-64
 * layout (rbx rbp r12 r13 r14 r15 rsp rip rax xmm0); aarch64 keeps the
 * callee-saved registers that do not fit there in private members:
 *
 *	role	x86-64	aarch64
 *	saved0	rbx	x19
 *	fp	rbp	x29
 *	saved1-4 r12-r15 x20-x23
 *	sp	rsp	sp
 *	pc	rip	the return address (x30 at the call)
 *	ret	rax	x0
 *	fret	xmm0	d0
 *	more	-	x24-x28
 *	fsaved	-	d8-d15
 *
 * cfa, var and varinfo are the runtime's own.  defer.S saves and loads
 * it (asm_offsets.h's R_*); panic.c's recovery fills one by member when it
 * unwinds to a frame without defer_result. */
#if defined(__aarch64__)
#define DEFER_RESUME_ARCH_(PRIVATE, x_)                                       \
	PRIVATE(x_, uint64_t, more, [5])                                      \
	PRIVATE(x_, uint64_t, fsaved, [8])
#else
#define DEFER_RESUME_ARCH_(PRIVATE, x_)
#endif
#define DEFER_RESUME_FIELDS(FIELD, PRIVATE, BITS, x_)                                       \
	FIELD(x_, uint64_t, saved0, , saved0, Q)                                    \
	FIELD(x_, uint64_t, fp, , fp, Q)                                            \
	FIELD(x_, uint64_t, saved1, , saved1, Q)                                    \
	FIELD(x_, uint64_t, saved2, , saved2, Q)                                    \
	FIELD(x_, uint64_t, saved3, , saved3, Q)                                    \
	FIELD(x_, uint64_t, saved4, , saved4, Q)                                    \
	FIELD(x_, uint64_t, sp, , sp, Q)                                            \
	FIELD(x_, uint64_t, pc, , pc, Q)                                            \
	FIELD(x_, uint64_t, ret, , ret, Q)                                          \
	FIELD(x_, uint64_t, fret, , fret, Q)                                        \
	/* The owner's CFA, stored by defer_result: it separates the owner's   \
	 * frames' records from its callers' without an unwind (panic.c,       \
	 * recovery). */                                                       \
	PRIVATE(x_, uint64_t, cfa, )                                                  \
	/* defer_result's variable (NULL for defer_result()) and its size,     \
	 * plus 0x100 if it is floating: what the owner returns when a panic   \
	 * that unwound its frame (its cleanups ran) is recovered (unwound.c). */ \
	PRIVATE(x_, const void *, var, )                                              \
	PRIVATE(x_, uint64_t, varinfo, )                                              \
	DEFER_RESUME_ARCH_(PRIVATE, x_)

/* struct defer_mark: the frame marker a defer_frame declares.  `sp` in
 * struct _defer is its address.  It carries one record of its own so that
 * the first call a frame defers needs no pool (Go's stack-allocated
 * defer); the record is left uninitialised until deferproc fills it.
 * defer.h's macros write it in the user's code (by member), deferproc
 * reads it (asm_offsets.h's M_*). */
#define DEFER_MARK_FIELDS(FIELD, PRIVATE, BITS, x_)                                         \
	/* a call was deferred: run deferreturn on exit */                     \
	FIELD(x_, uint8_t, armed, , armed, B)                                       \
	/* defer_result was used: resume holds where */                        \
	FIELD(x_, uint8_t, resumable, , resumable, B)                               \
	FIELD(x_, struct defer_resume *, resume, , resume, Q)                       \
	/* Hand-over from the defer() macro to deferproc: the function, the    \
	 * descriptor (nargs and kind[] as laid out in struct _defer), and     \
	 * __defer_tls.frame before this defer(). */                           \
	PRIVATE(x_, __typeof__(void (*)(void)), fn, )                                 \
	PRIVATE(x_, uint64_t, desc, )                                                 \
	PRIVATE(x_, struct defer_mark *, prev, )                                      \
	FIELD(x_, struct _defer, rec, , rec, s)

/* struct defer_recovered: one recovered panic in its thread's history
 * ring (g.hist).  Written by history.c on the recovery path, seq last: a
 * slot whose seq is not the one its place in the ring implies is being
 * written, or garbage (docs/abi.md, V11-V12). */
#define DEFER_HISTORY_FIELDS(FIELD, PRIVATE, BITS, x_)                                      \
	/* 1 for the thread's first recovered panic; 0: never written */       \
	FIELD(x_, uint64_t, seq, , seq, Q)                                          \
	/* CLOCK_MONOTONIC at the recovery, in nanoseconds, read coarsely      \
	 * (CLOCK_MONOTONIC_COARSE: to the kernel tick, 1-4 ms) */             \
	FIELD(x_, uint64_t, time, , time, Q)                                        \
	/* the panic's value (_panic.arg) */                                   \
	FIELD(x_, void *, arg, , arg, Q)                                            \
	/* the value's type site, when the panic recorded one (typed panic     \
	 * values, issue 17); 0 otherwise */                                   \
	FIELD(x_, const void *, type, , type, Q)                                    \
	/* where panic was called (_panic.pc: a return address) */             \
	FIELD(x_, uintptr_t, pc, , pc, Q)                                           \
	/* the deferred call that recovered it: its function and defer site   \
	 * (_defer.fn, _defer.pc) */                                           \
	FIELD(x_, __typeof__(void (*)(void)), fn, , fn, Q)                          \
	FIELD(x_, uintptr_t, site, , site, Q)                                       \
	/* the whole message's length (_panic.textlen) */                      \
	FIELD(x_, uint64_t, textlen, , textlen, Q)                                  \
	/* its first bytes, NUL-terminated */                                  \
	FIELD(x_, char, msg, [DEFER_HISTORY_MSG], msg, s)

/* Every record, in the offsets table's order: its block name in the table,
 * its C type, its list (struct g has two: ghist is its history).  Must match struct defer_debug_offsets' users: all
 * of them expand this. */
#define DEFER_RECORDS(X)                                                      \
	X(g, struct g, DEFER_G_FIELDS)                                         \
	X(d, struct _defer, DEFER_DEFER_FIELDS)                                \
	X(mark, struct defer_mark, DEFER_MARK_FIELDS)                          \
	X(p, struct _panic, DEFER_PANIC_FIELDS)                                \
	X(resume, struct defer_resume, DEFER_RESUME_FIELDS)                    \
	X(ghist, struct g, DEFER_G_HISTORY_FIELDS)                              \
	X(hist, struct defer_recovered, DEFER_HISTORY_FIELDS)

/* The table's header, before the blocks: X(type, name, code).  allgs is the
 * address of allgs: in the file, the link-time address (0 in a PIE or
 * shared library, where an R_X86_64_RELATIVE or R_X86_64_64 relocation,
 * R_AARCH64_RELATIVE or R_AARCH64_ABS64 on aarch64, supplies it); in a running process or a core, the relocated run-time
 * address. */
#define DEFER_TABLE_HEADER(X)                                                 \
	X(uint64_t, magic, Q)          /* DEFER_DEBUG_MAGIC */                 \
	X(uint32_t, version, I)        /* DEFER_ABI_VERSION */                 \
	X(uint32_t, size, I)           /* sizeof(struct defer_debug_offsets) */ \
	X(uint64_t, allgs, Q)

/* Declaring the records from their lists. */
#define DEFER_DECL_F_(x, type, member, dims, name, code) type member dims;
#define DEFER_DECL_H_(x, type, member, dims) type member dims;
#define DEFER_DECL_B_(x, after, name, bit0, bit1) uint8_t bit0 : 1; uint8_t bit1 : 1;
#define DEFER_DECLARE(list) list(DEFER_DECL_F_, DEFER_DECL_H_, DEFER_DECL_B_, )

struct _defer { DEFER_DECLARE(DEFER_DEFER_FIELDS) };
struct _panic { DEFER_DECLARE(DEFER_PANIC_FIELDS) };
struct g { DEFER_DECLARE(DEFER_G_FIELDS) DEFER_DECLARE(DEFER_G_HISTORY_FIELDS) };
struct defer_resume { DEFER_DECLARE(DEFER_RESUME_FIELDS) };
struct defer_mark { DEFER_DECLARE(DEFER_MARK_FIELDS) };
struct defer_recovered { DEFER_DECLARE(DEFER_HISTORY_FIELDS) };

extern struct g *volatile allgs __attribute__((visibility("default")));

/*
 * The offsets table's blocks: per record, its size, then one uint32 per
 * published field (FIELD and BITS entries), in list order.  struct dr_layout
 * (dwarf-reader) is declared with the same blocks.  Offset of a BITS entry's
 * byte: DEFER_FLAGS_AT.
 */
#define DEFER_BLOCK_F_(x, type, member, dims, name, code) , name
#define DEFER_BLOCK_H_(x, type, member, dims)
#define DEFER_BLOCK_B_(x, after, name, bit0, bit1) , name
#define DEFER_BLOCK_(block, S, list)                                          \
	struct { uint32_t size list(DEFER_BLOCK_F_, DEFER_BLOCK_H_, DEFER_BLOCK_B_, S); } block;
#define DEFER_TABLE_BLOCKS DEFER_RECORDS(DEFER_BLOCK_)
#define DEFER_FLAGS_AT(S, after) (__builtin_offsetof(S, after) + sizeof(((S *)0)->after))

/* Layout table for out-of-process readers (cf. CPython's _Py_DebugOffsets). */
#define DEFER_HEADER_DECL_(type, name, code) type name;
struct defer_debug_offsets {
	DEFER_TABLE_HEADER(DEFER_HEADER_DECL_)
	DEFER_TABLE_BLOCKS
};

extern const struct defer_debug_offsets _defer_debug_offsets __attribute__((visibility("default")));

#endif
