/* SPDX-License-Identifier: MIT */
/*
 * symbolize.c - function names for the crash report's traceback.
 *
 * dladdr() only knows dynamic symbols, which leaves static functions and
 * every function of a non-exported executable nameless.  This reads the
 * object's own .symtab (the file is mapped, not allocated: the report may
 * be printed because memory ran out).  Bounds are checked against the file
 * size: it is read after a crash and must not crash again.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "runtime.h"

static int inside(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* The function containing addr (a link-time address) in the mapped ELF. */
static const char *lookup(const unsigned char *f, size_t size, uint64_t addr, uint64_t *start)
{
	const Elf64_Ehdr *eh = (const void *)f;
	const Elf64_Shdr *sh;
	const char *best = 0;
	uint64_t bestaddr = 0;

	if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof *sh ||
	    !inside(size, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof *sh))
		return 0;
	sh = (const void *)(f + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strs;
		const Elf64_Sym *sym;
		uint64_t n;

		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum ||
		    !inside(size, sh[i].sh_offset, sh[i].sh_size))
			continue;
		strs = &sh[sh[i].sh_link];
		if (!inside(size, strs->sh_offset, strs->sh_size))
			continue;
		sym = (const void *)(f + sh[i].sh_offset);
		n = sh[i].sh_size / sizeof *sym;
		for (uint64_t k = 0; k < n; k++) {
			if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_value > addr ||
			    addr - sym[k].st_value >= (sym[k].st_size ? sym[k].st_size : 1) ||
			    sym[k].st_name >= strs->sh_size)
				continue;
			if (!best || sym[k].st_value > bestaddr) {
				best = (const char *)f + strs->sh_offset + sym[k].st_name;
				bestaddr = sym[k].st_value;
			}
		}
		/* The name must end inside the string table. */
		if (best && !memchr(best, 0, f + strs->sh_offset + strs->sh_size - (const unsigned char *)best))
			best = 0;
	}
	*start = bestaddr;
	return best;
}

/*
 * Name the function containing pc: copy it into name and return the
 * offset of pc in it, or return -1.  *file receives the object's path.
 */
long symbolize(uintptr_t pc, char *name, size_t len, const char **file)
{
	Dl_info info;
	const char *path, *s;
	struct stat st;
	unsigned char *f;
	uint64_t start, bias;
	long off = -1;
	int fd;

	*file = "?";
	if (!dladdr((void *)pc, &info))
		return -1;
	path = info.dli_fname && *info.dli_fname ? info.dli_fname : "/proc/self/exe";
	*file = path;
	if (info.dli_sname) {
		snprintf(name, len, "%s", info.dli_sname);
		return (long)(pc - (uintptr_t)info.dli_saddr);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	f = mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return -1;
	bias = ((const Elf64_Ehdr *)f)->e_type == ET_DYN ? (uintptr_t)info.dli_fbase : 0;
	s = lookup(f, st.st_size, pc - bias, &start);
	if (s) {
		snprintf(name, len, "%s", s);
		off = (long)(pc - bias - start);
	}
	munmap(f, st.st_size);
	return off;
}
