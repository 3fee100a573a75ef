/* SPDX-License-Identifier: MIT */
/*
 * dreader.h - find libdefer's runtime in an ELF binary, read its records
 * from a core file or a live process.  The library behind defer-inspect.
 *
 * Three layers, each usable alone:
 *
 *   1. An opened binary (struct dr_elf): symbols, sections, notes, and the
 *      DWARF questions a debugger asks about one name or one address:
 *      a global variable's address, a struct's size and member offsets,
 *      a function's parameters, the function and file:line of a pc.
 *      Each question is answered from one compilation unit found through an
 *      index (.debug_aranges, the symbol table); a walk over all units is
 *      the fallback, and it reads unit headers and top-level DIEs only.
 *   2. A target (struct dr_target): memory and threads of a core file or
 *      of a stopped live process, and the ELF images mapped into it.
 *   3. The runtime (struct dr_runtime): where allgs is, the record layouts
 *      (from DWARF, checked against _defer_debug_offsets, or from that table
 *      alone for stripped binaries), and a bounded walk over every thread's
 *      deferred calls and panics.
 *
 * Every input is untrusted: offsets, sizes, counts and chains read from a
 * file or from the target are bounded; a corrupt input gives an error or a
 * partial result with warnings (dr_warn), never a crash.  Nothing here is
 * thread-safe: use one handle per thread.
 *
 * Errors: functions that can fail return 0 on success or a DR_E* code and
 * leave a one-line message in the handle (dr_elf_error, dr_target_error)
 * or in the caller's buffer.
 */
#ifndef DREADER_H
#define DREADER_H

#include <stddef.h>
#include <stdint.h>
#include "defer_abi.h"

/* Failure classes; defer-inspect exits with these numbers. */
enum {
	DR_OK = 0,
	DR_EUSAGE = 2,     /* bad command line */
	DR_ENOENT = 3,     /* no such file or process */
	DR_ENOTELF = 4,    /* not an ELF file, or a malformed one */
	DR_ENODEFER = 5,   /* not linked with libdefer */
	DR_ENODEBUG = 6,   /* neither debug info nor the offsets table */
	DR_EMISMATCH = 7,  /* the core was not made from this binary */
	DR_EPERM = 8,      /* not allowed to open or attach */
	DR_ECORRUPT = 9,   /* the records or the core are unreadable */
	DR_ENOMEM = 10,
	DR_EBUDGET = 11,   /* a budget (records, panics, threads, output, time) was reached */
};

/* Warnings go through this hook (default: stderr, "defer-inspect: warning: ...").
 * Set it to NULL to drop them. */
extern void (*dr_warn_hook)(const char *msg);
void dr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copy at most max bytes of s (up to its NUL) into out (n bytes, always
 * NUL-terminated), control and non-ASCII bytes spelled C-style (\n, \033),
 * backslashes doubled, and double quotes too if quotes is set.  Returns
 * the number of bytes of s consumed.  Use it for every string from a
 * target that reaches a terminal. */
size_t dr_escape(char *out, size_t n, const char *s, size_t max, int quotes);

/* ---- 1. binaries ---- */

struct dr_elf;

/* Open an ELF file (executable, shared library or core).  On failure
 * returns DR_ENOENT, DR_EPERM or DR_ENOTELF and writes a message to err.
 * Only a regular file is opened (never blocks on a FIFO): anything else is
 * DR_ENOTELF with DR_NOTREG in the message. */
#define DR_NOTREG "not a regular file"
int dr_elf_open(const char *path, struct dr_elf **out, char *err, size_t errlen);
void dr_elf_close(struct dr_elf *e);
const char *dr_elf_path(const struct dr_elf *e);
const char *dr_elf_error(const struct dr_elf *e);

int dr_elf_type(const struct dr_elf *e);      /* ET_EXEC, ET_DYN, ET_CORE */
int dr_elf_machine(const struct dr_elf *e);   /* EM_X86_64, EM_AARCH64 */
uint64_t dr_elf_entry(const struct dr_elf *e);
/* Lowest PT_LOAD vaddr (page-aligned): a mapping of file offset 0 at
 * address A has load bias A - dr_elf_base. */
uint64_t dr_elf_base(const struct dr_elf *e);
/* The GNU build-id, or 0 if none. */
size_t dr_elf_build_id(const struct dr_elf *e, const uint8_t **id);
/* DT_NEEDED entries, DT_RUNPATH/DT_RPATH (NULL if none). */
int dr_elf_needed(const struct dr_elf *e, int i, const char **name);
const char *dr_elf_runpath(const struct dr_elf *e);

/* Symbol table (.symtab, then .dynsym).  0 or DR_ENOENT. */
int dr_sym(struct dr_elf *e, const char *name, uint64_t *addr, uint64_t *size);
/* The function symbol containing addr (link-time), its start in *start. */
const char *dr_sym_at(struct dr_elf *e, uint64_t addr, uint64_t *start);

/* Read file-backed bytes at a link-time address (PT_LOAD contents, zero
 * for .bss).  Returns the number of bytes read, possibly short. */
size_t dr_elf_read(struct dr_elf *e, uint64_t addr, void *buf, size_t n);

/* A section's bytes in the file (NULL, *size 0 if absent or out of bounds). */
const uint8_t *dr_elf_section(struct dr_elf *e, const char *name, uint64_t *addr, size_t *size);
/* The kind of relocation `type` is in e's architecture (x86-64 or
 * aarch64: the file's e_machine, never this machine's): DR_REL_*, or 0. */
enum { DR_REL_RELATIVE = 1, DR_REL_ABS64, DR_REL_GLOB_DAT };
int dr_elf_reltype(const struct dr_elf *e, uint32_t type);

/* SDT probes (.note.stapsdt).  pc is corrected for prelink moves of
 * .stapsdt.base; add the load bias at run time. */
struct dr_probe {
	const char *provider, *name, *args;
	uint64_t pc, base, semaphore;
};
/* Calls fn for each probe; stops and returns fn's value if non-zero. */
int dr_probes(struct dr_elf *e, int (*fn)(const struct dr_probe *, void *), void *arg);

/* ---- 1b. DWARF ---- */

/* Set to 1 to ignore DWARF everywhere (the symbol table and
 * _defer_debug_offsets still work).  defer-inspect sets it when libdwarf
 * crashed on a file: see tool/main.c. */
extern int dr_no_dwarf;

/* 1 if the file has .debug_info that libdwarf accepted: its own, or, if
 * $DEFER_INSPECT_DEBUG_DIR is set (e.g. /usr/lib/debug), the separate debug
 * file DIR/.build-id/xx/yyyy.debug named by its build-id. */
int dr_has_dwarf(struct dr_elf *e);
/* DWARF version of the unit that answered the last question (2..5), 0 if none. */
int dr_dwarf_version(struct dr_elf *e);

/* A global variable's address from DWARF: DW_OP_addr or DW_OP_addrx, also
 * through GCC's DW_AT_specification definitions.  hint: a pc in the same
 * source file (an index finds that unit first), or 0.  0 or DR_ENOENT. */
int dr_var_addr(struct dr_elf *e, const char *name, uint64_t hint, uint64_t *addr);

/* A struct (or union) type by tag name: its size and its members' offsets.
 * hint as above. */
struct dr_member { const char *name; uint64_t offset; uint64_t size; };
struct dr_struct {
	const char *name;
	uint64_t size;
	int nmembers;
	struct dr_member *members;      /* owned by the dr_elf */
};
int dr_struct(struct dr_elf *e, const char *name, uint64_t hint, const struct dr_struct **out);
/* Offset of a member, -1 if absent. */
int64_t dr_member_offset(const struct dr_struct *s, const char *member);

/* A C type reduced to what decoding a register needs. */
enum dr_class { DR_CLASS_NONE, DR_CLASS_SIGNED, DR_CLASS_UNSIGNED, DR_CLASS_POINTER,
		DR_CLASS_FLOAT, DR_CLASS_BOOL, DR_CLASS_OTHER };
struct dr_type {
	enum dr_class cls;
	unsigned size;      /* bytes */
	int is_char_ptr;    /* char * or const char *: worth reading as a string */
	char name[64];      /* as C would spell it, e.g. "const char *" */
};
/* The static variable whose location is exactly addr (link-time), inside
 * functions and lexical blocks too, looked for in the unit for hint
 * first: panic_value's site object (defer.h's __DEFER_TYPED), whose type
 * is the panic value's static type.  type: that type, top-level
 * qualifiers dropped ("struct kv_error *"); when it points to a struct or
 * union, fields: the pointee's first DR_MAXFIELDS members, the ones at a
 * constant offset, described (DR_CLASS_OTHER for aggregates).  0 or
 * DR_ENOENT. */
#define DR_MAXFIELDS 32
struct dr_field { const char *name; uint64_t offset; struct dr_type type; };
struct dr_vartype {
	struct dr_type type;
	int nfields;
	struct dr_field fields[DR_MAXFIELDS];
};
int dr_var_type_at(struct dr_elf *e, uint64_t addr, uint64_t hint, struct dr_vartype *out);

/* A function's named parameters, in order; *variadic set if it takes "...". */
struct dr_func {
	uint64_t lowpc;
	const char *name;
	int nparams, variadic;
	struct { const char *name; struct dr_type type; } params[8];
};
/* The function (from DWARF) whose entry is addr.  0 or DR_ENOENT. */
int dr_func_at(struct dr_elf *e, uint64_t addr, const struct dr_func **out);

/* File and line of a pc (link-time address).  0 or DR_ENOENT. */
int dr_line(struct dr_elf *e, uint64_t pc, const char **file, unsigned *line);

/* Call sites from DWARF (DW_TAG_call_site, DW_TAG_GNU_call_site) of the
 * unit's functions that overlap [lo, hi), whose return address is in
 * [lo, hi] (a call that ends a function returns to hi): direct ones with
 * their callee's name, indirect ones with callee NULL.  Stops and returns
 * fn's value if non-zero. */
struct dr_callsite {
	uint64_t ret_pc;    /* return address of the call */
	const char *callee; /* name of a direct callee, or NULL */
	int indirect;       /* a call through a pointer (DW_AT_call_target) */
	int reg;            /* register holding the target (DWARF number), -1 if unknown */
};
int dr_callsites(struct dr_elf *e, uint64_t lo, uint64_t hi,
		 int (*fn)(const struct dr_callsite *, void *), void *arg);


/*
 * Defer sites: the places that call deferproc or open-code it.  The
 * defer() macro calls deferproc through the const pointer
 * __defer_deferproc, so no direct call to deferproc exists to look up.
 * Found, without disassembling, from:
 *   DR_SITE_CALLSITE  a DWARF call site (gcc -O1 and up, clang -O1 and up,
 *                     -g) whose target is deferproc, or an indirect one
 *                     whose target register was loaded from
 *                     __defer_deferproc earlier in the same function (when
 *                     gcc does not name the register, any indirect call
 *                     after such a load: a heuristic);
 *   DR_SITE_CALLMEM   a call through the pointer: x86-64's
 *                     `call *__defer_deferproc(%rip)` (or through a register
 *                     holding its address), aarch64's `blr` of a register
 *                     still holding the value loaded from it;
 *   DR_SITE_LOAD      a load of __defer_deferproc that no call site above
 *                     accounts for (-O0: one load per defer(); optimised
 *                     code may share one load between several defers);
 *   DR_SITE_PROBE     a libdefer:defer SDT probe outside the runtime: the
 *                     open-coded path of a defer() (see defer.h), which
 *                     also keeps a call of deferproc for its slow path.
 * pc is the return address of the call (or the load's or the probe's
 * address for DR_SITE_LOAD and DR_SITE_PROBE), link-time.
 */
enum dr_site_how { DR_SITE_CALLSITE = 1, DR_SITE_CALLMEM, DR_SITE_LOAD, DR_SITE_PROBE };
struct dr_site { uint64_t pc; enum dr_site_how how; const char *func; uint64_t func_start; };
/* Calls fn per site in address order; DR_ENOENT if e cannot reach
 * __defer_deferproc at all. */
int dr_sites(struct dr_elf *e, int (*fn)(const struct dr_site *, void *), void *arg);
/* Is p the probe of an open-coded defer() (libdefer:defer outside
 * deferproc; without symbols, any libdefer:defer)?  *func and *fstart, if
 * given, receive the enclosing function (NULL if unknown). */
int dr_probe_open_coded(struct dr_elf *e, const struct dr_probe *p, const char **func,
			uint64_t *fstart);

/* ---- 2. targets ---- */

struct dr_image {
	char *path;
	uint64_t start;     /* first mapped address of the file */
	uint64_t bias;      /* load bias: run-time address - link-time address */
	struct dr_elf *elf; /* opened lazily by dr_target_image_elf, NULL if unreadable
	                     * or for another machine */
	int tried;
	int machine;        /* the target's ELF machine, which the file must have */
};

/* A thread's pc and stack pointer, from the core (0 for a live process). */
struct dr_thread { int32_t tid; uint64_t pc, sp; };

struct dr_target;

/* A core file; exe is the executable it came from (opened by the caller).
 * DR_EMISMATCH if the core was not made from exe. */
int dr_target_core(const char *core, struct dr_elf *exe, struct dr_target **out,
		   char *err, size_t errlen);
/* A live process: every thread is stopped (PTRACE_SEIZE + interrupt) until
 * dr_target_close.  DR_EPERM if attaching is not allowed. */
int dr_target_pid(int pid, struct dr_target **out, char *err, size_t errlen);
void dr_target_close(struct dr_target *t);

/* Read target memory; returns bytes read (short at an unreadable page). */
size_t dr_read(struct dr_target *t, uint64_t addr, void *buf, size_t n);
int dr_nthreads(const struct dr_target *t);
const struct dr_thread *dr_thread(const struct dr_target *t, int i);
int dr_nimages(const struct dr_target *t);
struct dr_image *dr_image(struct dr_target *t, int i);
/* The image containing addr, or NULL. */
struct dr_image *dr_image_at(struct dr_target *t, uint64_t addr);
struct dr_elf *dr_image_elf(struct dr_image *im);
struct dr_elf *dr_target_exe(struct dr_target *t);
uint64_t dr_target_exe_bias(const struct dr_target *t);
int dr_target_is_core(const struct dr_target *t);

/* ---- 3. the runtime ---- */

/* The debugger ABI (defer_abi.h) as found in one binary: the blocks of
 * struct defer_debug_offsets (g, d, mark, p, resume: each the record's size,
 * then its published fields), declared from the same spec.  d.flags is the
 * byte holding the started and heap bits. */
struct dr_layout {
	uint64_t allgs;  /* link-time address of allgs */
	DEFER_TABLE_BLOCKS
};

struct dr_runtime {
	struct dr_elf *elf;    /* the image holding the runtime (executable or libdefer.so) */
	uint32_t abi_version;  /* from the offsets table, 0 if absent */
	int have_table, have_dwarf;
	int dwarf_version;     /* of the units that described the layouts */
	struct dr_layout lay;  /* what the walk uses: DWARF when present, else the table */
	struct dr_layout table, dwarf;
	char mismatch[256];    /* first disagreement between DWARF and the table, "" if none */
	char implausible[160]; /* why the table cannot describe real records, "" if it can */
	struct { const char *name; uint64_t addr; int found; } syms[8];
	int nsyms;
};

/* Where _defer_debug_offsets is (link-time): its symbol, or in a stripped
 * binary the 8-aligned magic number in a data segment.  0 or DR_ENOENT. */
int dr_offsets_table(struct dr_elf *e, uint64_t *at);
/* Does e hold the runtime (allgs, deferproc, or the offsets table)? */
int dr_is_runtime(struct dr_elf *e);

/* Find the runtime in e.  DR_ENODEFER if e is not libdefer nor linked
 * with it statically; DR_ENODEBUG if neither DWARF nor the table gives a
 * layout. */
int dr_runtime_find(struct dr_elf *e, struct dr_runtime *rt, char *err, size_t errlen);

/* One deferred call, one panic, one thread, as read from the target. */
struct dr_defer {
	uint64_t addr, fn, pc, sp, panic;
	uint8_t nargs, kind[DEFER_MAXARGS], started, heap;
	uint64_t iregs[DEFER_MAXARGS], fregs[DEFER_MAXARGS];
};
struct dr_panic {
	uint64_t addr, arg, vtype, argp, pc, defer;
	uint8_t recovered, aborted, goexit;
	char msg[DEFER_PANIC_MSG + 1];
	/* The whole message when msg holds only its first bytes (ABI 2), at
	 * most DR_TEXT_MAX bytes of it and then what is missing, as gdb's
	 * extension words it (docs/abi.md V10), NUL-terminated (malloc'd,
	 * freed with the state); NULL otherwise.  textlen: the message's real
	 * length. */
	char *text;
	uint64_t textlen;
};
#define DR_TEXT_MAX (1u << 20)      /* the most read of one message */
#define DR_TEXT_BUDGET (1u << 22)   /* ... and of all messages in one walk */
struct dr_g {
	uint64_t addr;
	int32_t tid;
	uint32_t status;
	char name[17];
	int in_target;          /* the thread exists in the core / process */
	/* The panic history's ring as the g says (dr_history reads it): its
	 * address, the panics recovered in all, the ring's size. */
	uint64_t hist, recovered;
	uint32_t histcap;
	int ndefer, npanic;
	struct dr_defer *defers; /* newest first */
	struct dr_panic *panics; /* newest first */
	int corrupt;             /* a chain holds garbage, a cycle or a wild pointer */
	char warning[320];       /* why a chain was cut short ("; "-joined), "" if it was not */
};
/* One recovered panic of a thread's history (struct defer_recovered). */
struct dr_recovered {
	uint64_t addr, seq, time, arg, type, pc, fn, site, textlen;
	char msg[DEFER_HISTORY_MSG + 1];
};
#define DR_MAX_HISTORY 4096        /* V11: the largest ring that is real */
struct dr_state {
	int ng;
	struct dr_g *gs;
	uint64_t bias;          /* of the runtime image */
	int warnings;
	int corrupt;            /* threads (or allgs) with a corrupt chain */
	char error[200];        /* why allgs was cut short (docs/abi.md V10), "" if it was not */
	const char *budget;     /* the budget that stopped the walk ("records", ...), or NULL */
	char budget_msg[200];   /* one line saying so and how to raise it */
};

/*
 * The walk applies the validity rules V1-V10 of docs/abi.md ("Validity
 * rules"), as gdb's extension does: reading a chain stops at its first
 * repeated record, wild pointer, absurd count, unreadable or garbage
 * record, with g->warning (st->error for allgs) in the rule's words, and
 * g->corrupt set for damage (cycle, wild pointer, garbage).
 *
 * Budgets are global, over the whole walk, so that a hostile target cannot
 * multiply them: the first one reached stops the walk (threads after it
 * are not listed) and sets st->budget and st->budget_msg.
 */
struct dr_limits {
	uint64_t threads;  /* thread records (allgs entries) */
	uint64_t records;  /* deferred-call records, over all threads */
	uint64_t panics;   /* panic records, over all threads */
	double deadline;   /* CLOCK_MONOTONIC seconds, 0 for none */
};
#define DR_MAX_G 65536             /* also V5: allgs entries */
#define DR_MAX_DEFERS (1u << 20)
#define DR_MAX_PANICS 65536
#define DR_MAX_CHAIN_PANICS 4096   /* V5, per chain */
#define DR_MAX_CHAIN_DEFERS (1 << 25) /* V5, per chain */

/* The option that raises each budget, for messages. */
extern const char *const dr_budget_option[];

/* Walk allgs within lim (NULL: the defaults above, no deadline).  Partial
 * results carry per-thread warnings. */
int dr_walk(struct dr_target *t, const struct dr_runtime *rt, uint64_t bias,
	    const struct dr_limits *lim, struct dr_state *st, char *err, size_t errlen);
/*
 * g's recovered panics that its ring still holds, newest first, under
 * docs/abi.md's V11-V12 (as gdb's snapshot.history applies them): *out
 * gets a malloc'd array of *n records (free it), why the reason the
 * listing stopped early ("" if it did not).  0, or DR_ENOMEM.
 */
int dr_history(struct dr_target *t, const struct dr_layout *l, const struct dr_g *g,
	       struct dr_recovered **out, int *n, char *why, size_t whylen);

void dr_state_free(struct dr_state *st);
/* Seconds on CLOCK_MONOTONIC, for dr_limits.deadline. */
double dr_now(void);
/* One record at addr, e.g. the one a panic was running when a newer panic
 * took over (already off the chain, possibly reused).  DR_ECORRUPT if it is
 * unreadable or garbage by the rules above. */
int dr_read_defer(struct dr_target *t, const struct dr_layout *l, uint64_t addr, struct dr_defer *d);

/* Locate the runtime in a target: the executable if it has it, else a
 * mapped libdefer.  Fills rt and the runtime image's bias. */
int dr_target_runtime(struct dr_target *t, struct dr_runtime *rt, uint64_t *bias,
		      char *err, size_t errlen);

#endif
