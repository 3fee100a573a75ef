/* SPDX-License-Identifier: MIT */
/*
 * symbolize.c - function names and file:line for the crash report.
 *
 * It runs in a dying process, maybe because memory ran out or a lock's
 * holder crashed: nothing here allocates or takes a lock after
 * symbolize_init.  That one call snapshots the loaded objects
 * (dl_iterate_phdr, before the report stops other threads, which might
 * hold the loader's lock) into a fixed table; each object's file is then
 * mapped read-only on first use and read in place: .symtab (else .dynsym)
 * for names, .debug_line for lines (dwarf_line.c).  dladdr() is not used:
 * it knows only dynamic symbols, and in a static program nothing at all.
 *
 * An object without those sections (stripped) is looked up by its build
 * ID in the separate debug files' directory, DEFER_DEBUG_DIR (default
 * /usr/lib/debug, as gdb's debug-file-directory):
 * DIR/.build-id/xx/yyyy.debug.  Compressed sections are skipped (no
 * inflater here): such a file gives names but no lines.
 *
 * The files may be damaged or replaced since they were loaded: every
 * offset is checked against the file's size before it is used.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "runtime.h"

#define MAXMODULES 256

/* A mapped ELF file and the sections this file reads. */
struct image {
	const unsigned char *p;
	size_t n;
	struct sec symtab, strtab, dynsym, dynstr, line, linestr, str;
	const unsigned char *buildid;
	size_t buildidlen;
};

struct module {
	uintptr_t bias;		/* load address minus link-time address */
	uintptr_t lo, hi;	/* the span of its loaded segments */
	char path[256];		/* as the report names it */
	int main;		/* the executable: opened as /proc/self/exe */
	int state;		/* 0: not opened yet, 1: opened, -1: cannot be */
	struct image file, debug;
};

static struct module mods[MAXMODULES];
static int nmods;

static int inside(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static int addmodule(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module *m = &mods[nmods];
	const char *name = info->dlpi_name;

	(void)size;
	(void)arg;
	if (nmods == MAXMODULES)
		return 1;
	m->lo = UINTPTR_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < m->lo)
			m->lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > m->hi)
			m->hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (m->lo >= m->hi)
		return 0;
	m->bias = info->dlpi_addr;
	/* The executable is the first: glibc names it "", musl argv[0] (maybe
	 * relative) or, in a static program, "/proc/self/exe". */
	if (nmods == 0) {
		m->main = 1;
		name = (const char *)getauxval(AT_EXECFN);
		if (!name)
			name = "/proc/self/exe";
	}
	if (!name || !*name)
		return 0;
	strncpy(m->path, name, sizeof m->path - 1);
	nmods++;
	return 0;
}

void symbolize_init(void)
{
	if (!nmods)
		dl_iterate_phdr(addmodule, 0);
}

static const char *secname(const unsigned char *f, size_t n, const Elf64_Shdr *strs, uint32_t off)
{
	if (off >= strs->sh_size || !inside(n, strs->sh_offset, strs->sh_size) ||
	    !memchr(f + strs->sh_offset + off, 0, strs->sh_size - off))
		return "";
	return (const char *)f + strs->sh_offset + off;
}

/* Map path and find its sections; 0 if it is not a readable ELF file. */
static int openimage(struct image *im, const char *path)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	struct stat st;
	void *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof *eh) {
		close(fd);
		return 0;
	}
	f = mmap(0, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return 0;
	im->p = f;
	im->n = (size_t)st.st_size;
	eh = f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof *sh || eh->e_shstrndx >= eh->e_shnum ||
	    !inside(im->n, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof *sh))
		return 1;	/* mapped, but nothing to read in it */
	sh = (const void *)(im->p + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const char *name = secname(im->p, im->n, &sh[eh->e_shstrndx], sh[i].sh_name);
		struct sec s = { im->p + sh[i].sh_offset, sh[i].sh_size };

		if (sh[i].sh_type == SHT_NOBITS || (sh[i].sh_flags & SHF_COMPRESSED) ||
		    !inside(im->n, sh[i].sh_offset, sh[i].sh_size))
			continue;
		if ((sh[i].sh_type == SHT_SYMTAB || sh[i].sh_type == SHT_DYNSYM) &&
		    sh[i].sh_link < eh->e_shnum &&
		    inside(im->n, sh[sh[i].sh_link].sh_offset, sh[sh[i].sh_link].sh_size)) {
			struct sec strs = { im->p + sh[sh[i].sh_link].sh_offset,
					    sh[sh[i].sh_link].sh_size };

			if (sh[i].sh_type == SHT_SYMTAB) {
				im->symtab = s;
				im->strtab = strs;
			} else {
				im->dynsym = s;
				im->dynstr = strs;
			}
		} else if (!strcmp(name, ".debug_line")) {
			im->line = s;
		} else if (!strcmp(name, ".debug_line_str")) {
			im->linestr = s;
		} else if (!strcmp(name, ".debug_str")) {
			im->str = s;
		} else if (sh[i].sh_type == SHT_NOTE && s.n >= 16) {
			/* Elf64_Nhdr: namesz, descsz, type; "GNU\0"; the ID. */
			const Elf64_Nhdr *nh = (const void *)s.p;

			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(s.p + 12, "GNU", 4) && nh->n_descsz <= s.n - 16) {
				im->buildid = s.p + 16;
				im->buildidlen = nh->n_descsz;
			}
		}
	}
	return 1;
}

/* DEFER_DEBUG_DIR/.build-id/xx/yyyy.debug for the object's build ID. */
static void opendebug(struct module *m)
{
	static const char hex[] = "0123456789abcdef";
	const char *dir = getenv("DEFER_DEBUG_DIR");
	char path[512];
	size_t at;

	if (!m->file.buildid || m->file.buildidlen < 2 || m->file.buildidlen > 64)
		return;
	if (!dir || !*dir)
		dir = "/usr/lib/debug";
	at = strlen(dir);
	if (at > sizeof path - 160)
		return;
	memcpy(path, dir, at);
	memcpy(path + at, "/.build-id/", 11);
	at += 11;
	for (size_t i = 0; i < m->file.buildidlen; i++) {
		path[at++] = hex[m->file.buildid[i] >> 4];
		path[at++] = hex[m->file.buildid[i] & 15];
		if (i == 0)
			path[at++] = '/';
	}
	memcpy(path + at, ".debug", 7);
	openimage(&m->debug, path);
}

static struct module *findmodule(uintptr_t pc)
{
	for (int i = 0; i < nmods; i++) {
		struct module *m = &mods[i];

		if (pc < m->lo || pc >= m->hi)
			continue;
		if (m->state == 0) {
			m->state = openimage(&m->file, m->main ? "/proc/self/exe" : m->path) ? 1 : -1;
			if (m->state < 0 && m->main)
				m->state = openimage(&m->file, m->path) ? 1 : -1;
			if (m->state > 0 && (!m->file.symtab.p || !m->file.line.p))
				opendebug(m);
		}
		return m;
	}
	return 0;
}

/* The function symbol containing addr (a link-time address). */
static const char *lookup(const struct sec *syms, const struct sec *strs, uint64_t addr,
			  uint64_t *start)
{
	const Elf64_Sym *sym = (const void *)syms->p;
	uint64_t n = syms->n / sizeof *sym;
	const char *best = 0;

	for (uint64_t k = 0; k < n; k++) {
		unsigned type = ELF64_ST_TYPE(sym[k].st_info);

		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !sym[k].st_value ||
		    sym[k].st_value > addr ||
		    addr - sym[k].st_value >= (sym[k].st_size ? sym[k].st_size : 1) ||
		    sym[k].st_name >= strs->n ||
		    !memchr(strs->p + sym[k].st_name, 0, strs->n - sym[k].st_name))
			continue;
		if (!best || sym[k].st_value > *start) {
			best = (const char *)strs->p + sym[k].st_name;
			*start = sym[k].st_value;
		}
	}
	return best;
}

/* A name from the file goes to a terminal: no control characters. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
	printable(dst);
}

void symbolize(uintptr_t addr, struct symbol *s)
{
	struct module *m = findmodule(addr);
	const struct image *names;
	const struct image *lines;
	uint64_t start = 0, a;
	const char *name = 0;

	memset(s, 0, sizeof *s);
	s->object = "?";
	s->start = 0;
	if (!m)
		return;
	s->object = m->path;
	a = addr - m->bias;
	s->objaddr = a;
	if (m->state <= 0)
		return;
	names = m->file.symtab.p ? &m->file : m->debug.symtab.p ? &m->debug : 0;
	if (names)
		name = lookup(&names->symtab, &names->strtab, a, &start);
	if (!name && m->file.dynsym.p)
		name = lookup(&m->file.dynsym, &m->file.dynstr, a, &start);
	if (name) {
		copy(s->name, sizeof s->name, name);
		s->start = start + m->bias;
	}
	lines = m->file.line.p ? &m->file : m->debug.line.p ? &m->debug : 0;
	if (lines && dwarf_line(&lines->line, &lines->linestr, &lines->str, a, s->file,
				sizeof s->file, &s->line) && !s->file[0])
		s->line = 0;
	printable(s->file);
}

/* A core file's readers find the loaded objects by the process's file
 * mappings (NT_FILE); our read-only copies would be taken for them. */
void symbolize_fini(void)
{
	for (int i = 0; i < nmods; i++) {
		struct image *im[2] = { &mods[i].file, &mods[i].debug };

		for (int k = 0; k < 2; k++)
			if (im[k]->p)
				munmap((void *)im[k]->p, im[k]->n);
		memset(&mods[i].file, 0, sizeof mods[i].file);
		memset(&mods[i].debug, 0, sizeof mods[i].debug);
		mods[i].state = 0;
	}
}

int mainobject(uintptr_t pc)
{
	struct module *m = findmodule(pc);

	return m && m->main;
}
