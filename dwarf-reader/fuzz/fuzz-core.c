/* SPDX-License-Identifier: MIT */
/*
 * fuzz-core.c - libFuzzer over the core walker: an arbitrary core file
 * against a fixed, real executable (FUZZ_EXE, set by run.sh), through
 * everything defer-inspect dump --core does.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "dreader.h"

static struct dr_elf *exe;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	const char *p = getenv("FUZZ_EXE");

	(void)argc;
	(void)argv;
	dr_warn_hook = NULL;
	if (!p || dr_elf_open(p, &exe, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz-core: set FUZZ_EXE to the executable the seed cores came from\n");
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[256];
	struct dr_target *t;
	struct dr_runtime rt;
	struct dr_state st;
	uint64_t bias;
	int fd, i, j;

	fd = memfd_create("fuzz-core", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (dr_target_core(path, exe, &t, err, sizeof err) == 0) {
		if (dr_target_runtime(t, &rt, &bias, err, sizeof err) == 0 &&
		    dr_walk(t, &rt, bias, NULL, &st, err, sizeof err) == 0) {
			/* What printing does: resolve every function and site. */
			for (i = 0; i < st.ng; i++)
				for (j = 0; j < st.gs[i].ndefer; j++) {
					struct dr_image *im = dr_image_at(t, st.gs[i].defers[j].fn);
					char buf[64];
					if (im)
						dr_sym_at(im->elf, st.gs[i].defers[j].fn - im->bias, NULL);
					dr_read(t, st.gs[i].defers[j].iregs[0], buf, sizeof buf);
				}
			dr_state_free(&st);
		}
		dr_target_close(t);
	}
	close(fd);
	return 0;
}
