/* SPDX-License-Identifier: MIT */
/*
 * fuzz-elf.c - libFuzzer over the binary reader: every question
 * defer-inspect layout and sites ask, on an arbitrary file.
 *
 * The input is written to a memfd because libelf and libdwarf read files.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "dreader.h"

static int onprobe(const struct dr_probe *p, void *arg)
{
	(void)p;
	++*(int *)arg;
	return 0;
}

static int onsite(const struct dr_site *s, void *arg)
{
	(void)s;
	++*(int *)arg;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[256];
	struct dr_elf *e;
	struct dr_runtime rt;
	const struct dr_func *f;
	const char *file;
	unsigned line;
	uint64_t a;
	int fd, n = 0, i;

	dr_warn_hook = NULL;
	fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (dr_elf_open(path, &e, err, sizeof err) == 0) {
		dr_probes(e, onprobe, &n);
		if (dr_runtime_find(e, &rt, err, sizeof err) == 0)
			for (i = 0; i < rt.nsyms; i++)
				if (rt.syms[i].found) {
					dr_line(e, rt.syms[i].addr, &file, &line);
					dr_func_at(e, rt.syms[i].addr, &f);
				}
		if (dr_sym(e, "main", &a, NULL) == 0) {
			dr_func_at(e, a, &f);
			dr_line(e, a, &file, &line);
		}
		dr_sites(e, onsite, &n);
		dr_elf_close(e);
	}
	close(fd);
	return 0;
}
