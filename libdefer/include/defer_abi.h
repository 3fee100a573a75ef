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
 */
#ifndef DEFER_ABI_H
#define DEFER_ABI_H

#include <stdint.h>

#define DEFER_ABI_VERSION 2 /* 2: _panic.text and textlen */
#define DEFER_DEBUG_MAGIC 0x5245464544444c00ull /* "\0LDDEFER" little-endian */

#define DEFER_MAXARGS 6
#define DEFER_PANIC_MSG 256

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

/*
 * A deferred call.  The arguments are kept as the registers the System V
 * x86-64 calling convention would use for them: the defer site calls
 * deferproc through the deferred function's own type, so the compiler
 * converts every argument exactly as for a direct call (prototypes,
 * variadic promotions) and deferproc saves the argument registers.
 * Integer-class arguments are in iregs in order, floating ones in fregs in
 * order: argument i lives in iregs[n] where n counts the integer-class
 * arguments before it, or likewise in fregs.
 */
struct _defer {
	struct _defer *link;   /* next older record of this thread, or NULL */
	void (*fn)(void);      /* the deferred function (called with the saved registers) */
	uintptr_t pc;          /* defer site: return address of the call to deferproc */
	uintptr_t sp;          /* address of the owning struct defer_mark, inside the
	                        * deferring function's stack frame: the innermost frame
	                        * whose CFA is above sp owns the record */
	struct _panic *_panic; /* the panic running this call: valid only if started */
	uint8_t nargs;         /* number of arguments, 0..DEFER_MAXARGS */
	uint8_t kind[DEFER_MAXARGS]; /* DEFER_ARG_* per argument */
	uint8_t started : 1;   /* a panic or goexit began this call (bit 0 of byte 47) */
	uint8_t heap : 1;      /* 1: from the thread's record pool; 0: the record built
	                        * into the owning defer_mark, on the stack (bit 1) */
	uint8_t pad[8];
	/* Only the first nargs entries of each array are written: a call with
	 * n arguments has at most n of either class. */
	uint64_t iregs[DEFER_MAXARGS]; /* %rdi %rsi %rdx %rcx %r8 %r9 */
	uint64_t fregs[DEFER_MAXARGS]; /* low 64 bits of %xmm0..%xmm5 */
};

/* A panic.  It lives on gopanic's stack for as long as the panic runs. */
struct _panic {
	struct _panic *link;   /* older panic of this thread, or NULL */
	void *arg;             /* the user's value (panic_value), or NULL */
	uintptr_t argp;        /* stack address where the running deferred call was entered:
	                        * recover() succeeds only in that frame */
	uintptr_t pc;          /* where panic was called (return address into the caller) */
	struct _defer *defer;  /* deferred call this panic is running, or NULL */
	uint8_t recovered;     /* recover() stopped it */
	uint8_t aborted;       /* a newer panic started in one of its deferred calls */
	uint8_t goexit;        /* not a panic: defer_goexit() running the thread's calls */
	uint8_t pad[5];
	char msg[DEFER_PANIC_MSG]; /* the message's first bytes, NUL-terminated */
	/* Version 2.  The whole message, NUL-terminated, textlen bytes: msg
	 * itself when it fits, else memory the runtime mapped for it (freed when
	 * the panic is recovered).  If that mapping failed, text is msg, cut,
	 * ending in " [... N more bytes not shown]". */
	const char *text;
	uint64_t textlen;
};

enum { DEFER_G_RUNNING = 1, DEFER_G_DEAD = 2 };

/* Bits of the byte at _defer_debug_offsets.d.flags. */
enum { DEFER_FLAG_STARTED = 1, DEFER_FLAG_HEAP = 2 };

/* A thread's record: what gdb or a core reader needs to find its chains
 * without thread-local storage. */
struct g {
	struct g *alllink;     /* next entry of allgs, or NULL */
	struct _defer *_defer; /* newest pending deferred call */
	struct _panic *_panic; /* newest panic */
	int32_t tid;           /* kernel thread id (gettid) */
	uint32_t status;       /* DEFER_G_RUNNING or DEFER_G_DEAD */
	char name[16];         /* thread name when the record was made (comm) */
	/* Below: private to the runtime. */
	struct _defer *pool;   /* free records */
	void *chunks;          /* the memory they live in */
	uintptr_t stacklo;     /* lowest address of the thread's stack */
	void *altstack;        /* the signal stack the runtime gave the thread */
};

extern struct g *volatile allgs __attribute__((visibility("default")));

/* Layout table for out-of-process readers (cf. CPython's _Py_DebugOffsets). */
struct defer_debug_offsets {
	uint64_t magic;        /* DEFER_DEBUG_MAGIC */
	uint32_t version;      /* DEFER_ABI_VERSION */
	uint32_t size;         /* sizeof(struct defer_debug_offsets) */
	uint64_t allgs;        /* address of allgs: in the file, the link-time address (0 in a
	                        * PIE or shared library, where an R_X86_64_RELATIVE or
	                        * R_X86_64_64 relocation supplies it); in a running process
	                        * or a core, the relocated run-time address */
	struct { uint32_t size, alllink, defer, panic, tid, status, name; } g;
	struct { uint32_t size, link, fn, pc, sp, panic, nargs, kind, flags, iregs, fregs; } d;
	struct { uint32_t size, armed, resumable, resume, rec; } mark;
	struct { uint32_t size, link, arg, argp, pc, defer, recovered, aborted, goexit, msg; } p;
	/* Version 2: _panic.text; textlen is the 8 bytes after it.  One field
	 * only, so that the table keeps its size (it fills the padding). */
	struct { uint32_t text; } ptext;
};

extern const struct defer_debug_offsets _defer_debug_offsets __attribute__((visibility("default")));

#endif
