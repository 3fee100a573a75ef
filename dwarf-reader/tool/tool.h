/* tool.h - defer-inspect's commands and their shared output helpers. */
#ifndef DI_TOOL_H
#define DI_TOOL_H

#include <stdio.h>
#include "dreader.h"

int cmd_layout(const char *path, int json);
int cmd_sites(const char *path, int json);
int cmd_dump(const char *core, const char *binary, int pid, int json);

/* Print "defer-inspect: msg" and return code. */
int fail(int code, const char *msg);

/* Open a binary, mapping errors to exit codes (message printed). */
int openbin(const char *path, struct dr_elf **e);
/* The binary holding the runtime for path: e itself, or the libdefer it
 * loads (DT_NEEDED, found like the dynamic linker would). *rte is e or a
 * new handle the caller closes. */
int runtime_of(struct dr_elf *e, struct dr_elf **rte, struct dr_runtime *rt);

/* JSON output. */
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
