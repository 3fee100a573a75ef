/* SPDX-License-Identifier: MIT */
/* tool.h - defer-inspect's commands and their shared output helpers. */
#ifndef DI_TOOL_H
#define DI_TOOL_H

#include <stdio.h>
#include "dreader.h"

int cmd_layout(const char *path, int json);
int cmd_sites(const char *path, int json);
/* history: also each thread's recovered panics (dr_history); full: a typed
 * panic value's fields too. */
int cmd_dump(const char *core, const char *binary, int pid, int json, int history, int full);

/* Budgets over a whole command (options --max-*): the walk's, the bytes
 * of output and the seconds it may take. */
struct budgets { struct dr_limits lim; uint64_t output; unsigned seconds; };
extern struct budgets budgets;
/* Count stdout against budgets.output (call once, before any output). */
void output_begin(void);
/* The output or the time budget is used up: stop printing. */
int out_full(void);
/* If out_full() stopped a command, say which budget and return
 * DR_EBUDGET; else return r. */
int out_budget(int r);

/* Text from the target, control bytes escaped (dr_escape): into buf, or
 * straight to f. */
const char *esc(char *buf, size_t n, const char *s);
void c_text(FILE *f, const char *s);

/* Print "defer-inspect: msg" and return code. */
int fail(int code, const char *msg);

/* Open a binary, mapping errors to exit codes (message printed). */
int openbin(const char *path, struct dr_elf **e);
/* The binary holding the runtime for path: e itself, or the libdefer it
 * loads (DT_NEEDED, found like the dynamic linker would). *rte is e or a
 * new handle the caller closes. */
int runtime_of(struct dr_elf *e, struct dr_elf **rte, struct dr_runtime *rt);

/* JSON output. */
/* The version of --json's keys (docs/defer-inspect.md, "JSON"): the
 * first key of every document.  Bumped when a key is removed, renamed or
 * changes type or meaning; adding a key does not bump it. */
#define JSON_SCHEMA 1
void json_str(FILE *f, const char *s);
/* A C string literal as gdb prints one, at most max bytes. */
void c_str(FILE *f, const char *s, size_t n);

/* Where an address is: function, offset, file:line (run-time address). */
struct where {
	const char *func;
	uint64_t off;
	const char *file;
	unsigned line;
	const char *image;
};
void where(struct dr_target *t, uint64_t addr, int retaddr, struct where *w);
/* Same, for a binary's link-time address. */
void where_elf(struct dr_elf *e, uint64_t addr, int retaddr, struct where *w);
const char *basename_of(const char *p);

#endif
