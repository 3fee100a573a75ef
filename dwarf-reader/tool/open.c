/* SPDX-License-Identifier: MIT */
/* open.c - the binary a command reads, and the libdefer it loads: the
 * binary itself, or the shared libdefer it needs, looked for along its
 * DT_RUNPATH, LD_LIBRARY_PATH and the system directories of its machine,
 * as the dynamic linker would; a library for another machine is skipped,
 * as the dynamic linker skips it. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include "tool.h"

int openbin(const char *path, struct dr_elf **e)
{
	char err[512];
	int r = dr_elf_open(path, e, err, sizeof err);

	if (r)
		return fail(r, err);
	return 0;
}

/* Look for name along a colon-separated path list ($ORIGIN expanded): a
 * libdefer for the machine. */
static struct dr_elf *search(const char *list, const char *origin, const char *name, int machine)
{
	char buf[PATH_MAX + 16], err[256];
	const char *p = list;
	struct dr_elf *e;

	while (p && *p) {
		size_t n = strcspn(p, ":");
		char dir[PATH_MAX];

		if (n && n < sizeof dir) {
			memcpy(dir, p, n);
			dir[n] = 0;
			if (!strncmp(dir, "$ORIGIN", 7))
				snprintf(buf, sizeof buf, "%s%s/%s", origin, dir + 7, name);
			else if (!strncmp(dir, "${ORIGIN}", 9))
				snprintf(buf, sizeof buf, "%s%s/%s", origin, dir + 9, name);
			else
				snprintf(buf, sizeof buf, "%s/%s", dir, name);
			if (access(buf, R_OK) == 0) {
				if (dr_elf_open(buf, &e, err, sizeof err) == 0) {
					if (dr_elf_machine(e) == machine && dr_is_runtime(e))
						return e;
					dr_elf_close(e);
				} else if (strstr(err, DR_NOTREG)) {
					dr_warn("library search: %s", err);
				}
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return NULL;
}

/* The dynamic linker's default directories for the machine (Debian's
 * multiarch ones first). */
static const char *sysdirs(int machine)
{
	return machine == EM_AARCH64 ?
		"/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu:/usr/local/lib:/lib64:/usr/lib64:/lib:/usr/lib" :
		"/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/usr/local/lib:/lib64:/usr/lib64:/lib:/usr/lib";
}

int runtime_of(struct dr_elf *e, struct dr_elf **rte, struct dr_runtime *rt)
{
	char err[512], origin[PATH_MAX];
	const char *name;
	int i, r;

	*rte = e;
	if (!dr_is_runtime(e)) {
		char *rp = realpath(dr_elf_path(e), NULL);
		char *slash;

		snprintf(origin, sizeof origin, "%s", rp ? rp : dr_elf_path(e));
		free(rp);
		slash = strrchr(origin, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(origin, sizeof origin, ".");
		*rte = NULL;
		for (i = 0; !*rte && dr_elf_needed(e, i, &name) == 0; i++) {
			if (!strstr(name, "libdefer"))
				continue;
			*rte = search(dr_elf_runpath(e), origin, name, dr_elf_machine(e));
			if (!*rte)
				*rte = search(getenv("LD_LIBRARY_PATH"), origin, name, dr_elf_machine(e));
			if (!*rte)
				*rte = search(sysdirs(dr_elf_machine(e)), origin, name, dr_elf_machine(e));
			if (!*rte) {
				snprintf(err, sizeof err, "%s: needs %s, which was not found", dr_elf_path(e), name);
				return fail(DR_ENODEFER, err);
			}
		}
		if (!*rte) {
			snprintf(err, sizeof err, "%s: not linked with libdefer", dr_elf_path(e));
			return fail(DR_ENODEFER, err);
		}
	}
	if ((r = dr_runtime_find(*rte, rt, err, sizeof err)) != 0) {
		if (*rte != e)
			dr_elf_close(*rte);
		*rte = NULL;
		return fail(r, err);
	}
	return 0;
}
