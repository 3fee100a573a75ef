/* SPDX-License-Identifier: MIT */
/*
 * elf.c - an opened binary: headers, symbols, sections, notes.
 *
 * libelf maps the file; everything we take from it (offsets, sizes,
 * counts, string indexes) is checked against the file size before use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "internal.h"

void (*dr_warn_hook)(const char *msg);
static void warn_stderr(const char *msg)
{
	char e[2048];

	/* Warnings name paths and threads of the target. */
	dr_escape(e, sizeof e, msg, (size_t)-1, 0);
	fprintf(stderr, "defer-inspect: warning: %s\n", e);
}
static int hook_set;

void dr_warn(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!hook_set) {
		hook_set = 1;
		if (!dr_warn_hook)
			dr_warn_hook = warn_stderr;
	}
	if (!dr_warn_hook)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	dr_warn_hook(buf);
}

void dr_setf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

const char *dr_strdup(struct dr_elf *e, const char *s)
{
	char **v, *c;

	if (!s)
		return NULL;
	if (!(c = strdup(s)))
		return NULL;
	v = realloc(e->strs, (e->nstrs + 1) * sizeof *v);
	if (!v) {
		free(c);
		return NULL;
	}
	e->strs = v;
	e->strs[e->nstrs++] = c;
	return c;
}

int dr_elf_open(const char *path, struct dr_elf **out, char *err, size_t errlen)
{
	struct dr_elf *e;
	struct stat sb = { 0 };
	size_t i;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		dr_setf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return DR_ENOTELF;
	}
	if (!(e = calloc(1, sizeof *e)))
		return DR_ENOMEM;
	/* Paths come from the target (NT_FILE, DT_RUNPATH, /proc/PID/maps):
	 * only a regular file is read.  O_NONBLOCK makes opening a FIFO return
	 * at once instead of waiting for a writer; fstat then refuses it. */
	e->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (e->fd < 0) {
		int en = errno;
		dr_setf(err, errlen, "%s: %s", path, strerror(en));
		free(e);
		return en == EACCES || en == EPERM ? DR_EPERM : DR_ENOENT;
	}
	if (fstat(e->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		dr_setf(err, errlen, "%s: " DR_NOTREG " (%s): refused, reading it could block", path,
			S_ISFIFO(sb.st_mode) ? "a FIFO" : S_ISDIR(sb.st_mode) ? "a directory" :
			S_ISSOCK(sb.st_mode) ? "a socket" : S_ISCHR(sb.st_mode) ? "a character device" :
			S_ISBLK(sb.st_mode) ? "a block device" : "not a file");
		close(e->fd);
		free(e);
		return DR_ENOTELF;
	}
	fcntl(e->fd, F_SETFL, fcntl(e->fd, F_GETFL) & ~O_NONBLOCK);
	e->path = strdup(path);
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF) {
		dr_setf(err, errlen, "%s: not an ELF file", path);
		goto bad;
	}
	e->raw = (const uint8_t *)elf_rawfile(e->elf, &e->rawsize);
	if (!e->raw || !gelf_getehdr(e->elf, &e->eh)) {
		dr_setf(err, errlen, "%s: malformed ELF header", path);
		goto bad;
	}
	if (e->eh.e_ident[EI_CLASS] != ELFCLASS64 || e->eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    (e->eh.e_machine != EM_X86_64 && e->eh.e_machine != EM_AARCH64)) {
		dr_setf(err, errlen, "%s: not an x86-64 or aarch64 ELF file", path);
		goto bad;
	}
	if (elf_getphdrnum(e->elf, &e->nph) != 0 || e->nph > 65535) {
		dr_setf(err, errlen, "%s: malformed program headers", path);
		goto bad;
	}
	if (e->nph && !(e->ph = calloc(e->nph, sizeof *e->ph)))
		goto bad;
	for (i = 0; i < e->nph; i++)
		if (!gelf_getphdr(e->elf, (int)i, &e->ph[i])) {
			dr_setf(err, errlen, "%s: malformed program header %zu", path, i);
			goto bad;
		}
	*out = e;
	return 0;
bad:
	dr_elf_close(e);
	return DR_ENOTELF;
}

void dr_elf_close(struct dr_elf *e)
{
	size_t i;

	if (!e)
		return;
	dr_dwarf_close(e);
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	for (i = 0; i < e->nstrs; i++)
		free(e->strs[i]);
	free(e->strs);
	free(e->byname);
	free(e->byaddr);
	free(e->ph);
	free(e->path);
	free(e);
}

const char *dr_elf_path(const struct dr_elf *e) { return e->path; }
const char *dr_elf_error(const struct dr_elf *e) { return e->err; }
int dr_elf_type(const struct dr_elf *e) { return e->eh.e_type; }
int dr_elf_machine(const struct dr_elf *e) { return e->eh.e_machine; }
uint64_t dr_elf_entry(const struct dr_elf *e) { return e->eh.e_entry; }

uint64_t dr_elf_base(const struct dr_elf *e)
{
	size_t i;

	for (i = 0; i < e->nph; i++)
		if (e->ph[i].p_type == PT_LOAD)
			return e->ph[i].p_vaddr & ~(uint64_t)0xfff;
	return 0;
}

/* A section's header by name; 0 if absent or if its bytes are not all in
 * the file. */
static Elf_Scn *findscn(struct dr_elf *e, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *s = NULL;
	size_t strndx;
	const char *n;

	if (elf_getshdrstrndx(e->elf, &strndx) != 0)
		return NULL;
	while ((s = elf_nextscn(e->elf, s))) {
		if (!gelf_getshdr(s, sh))
			return NULL;
		n = elf_strptr(e->elf, strndx, sh->sh_name);
		if (n && strcmp(n, name) == 0)
			return s;
	}
	return NULL;
}

const uint8_t *dr_elf_section(struct dr_elf *e, const char *name, uint64_t *addr, size_t *size)
{
	GElf_Shdr sh;

	*size = 0;
	if (!findscn(e, name, &sh) || sh.sh_type == SHT_NOBITS ||
	    !dr_inside(sh.sh_offset, sh.sh_size, e->rawsize))
		return NULL;
	if (addr)
		*addr = sh.sh_addr;
	*size = sh.sh_size;
	return e->raw + sh.sh_offset;
}

static int cmpname(const void *a, const void *b)
{
	return strcmp(((const struct dr_sym *)a)->name, ((const struct dr_sym *)b)->name);
}

/* By address; among aliases the plainest name first (free, not cfree or
 * __libc_free). */
static int cmpaddr(const void *a, const void *b)
{
	const struct dr_sym *x = a, *y = b;
	size_t ux = strspn(x->name, "_"), uy = strspn(y->name, "_"), lx, ly;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if ((x->size == 0) != (y->size == 0))
		return x->size == 0 ? 1 : -1;
	if (ux != uy)
		return ux < uy ? -1 : 1;
	lx = strlen(x->name);
	ly = strlen(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Append the defined symbols of one table. */
static void loadtab(struct dr_elf *e, Elf_Scn *s, const GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(s, NULL);
	size_t i, n;
	GElf_Sym sym;
	struct dr_sym *v;

	if (!d || sh->sh_entsize != sizeof(Elf64_Sym) || !dr_inside(sh->sh_offset, sh->sh_size, e->rawsize))
		return;
	n = sh->sh_size / sh->sh_entsize;
	/* realloc(p, 0) would free p behind our back. */
	if (n < 2)
		return;
	if (!(v = realloc(e->byname, (e->nbyname + n) * sizeof *v)))
		return;
	e->byname = v;
	if (!(v = realloc(e->byaddr, (e->nbyaddr + n) * sizeof *v)))
		return;
	e->byaddr = v;
	for (i = 1; i < n; i++) {
		const char *name;

		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(e->elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		e->byname[e->nbyname++] = (struct dr_sym){ sym.st_value, sym.st_size, name };
		if (GELF_ST_TYPE(sym.st_info) == STT_FUNC || GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC)
			e->byaddr[e->nbyaddr++] = (struct dr_sym){ sym.st_value, sym.st_size, name };
	}
}

static void loadsyms(struct dr_elf *e)
{
	Elf_Scn *s = NULL;
	GElf_Shdr sh;

	if (e->syms_loaded)
		return;
	e->syms_loaded = 1;
	while ((s = elf_nextscn(e->elf, s)))
		if (gelf_getshdr(s, &sh) && (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM))
			loadtab(e, s, &sh);
	if (e->nbyname)
		qsort(e->byname, e->nbyname, sizeof *e->byname, cmpname);
	if (e->nbyaddr)
		qsort(e->byaddr, e->nbyaddr, sizeof *e->byaddr, cmpaddr);
}

int dr_sym(struct dr_elf *e, const char *name, uint64_t *addr, uint64_t *size)
{
	struct dr_sym key = { 0, 0, name }, *s;

	loadsyms(e);
	if (!e->nbyname)
		return DR_ENOENT;
	s = bsearch(&key, e->byname, e->nbyname, sizeof key, cmpname);
	if (!s)
		return DR_ENOENT;
	if (addr)
		*addr = s->addr;
	if (size)
		*size = s->size;
	return 0;
}

size_t dr_upper(const void *v, size_t n, size_t size, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k;

		memcpy(&k, (const char *)v + mid * size, 8);
		if (k <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct dr_sym *dr_symbol_at(struct dr_elf *e, uint64_t addr)
{
	const struct dr_sym *s;
	size_t lo;

	loadsyms(e);
	lo = dr_upper(e->byaddr, e->nbyaddr, sizeof *e->byaddr, addr);
	if (!lo)
		return NULL;
	while (lo > 1 && e->byaddr[lo - 2].addr == e->byaddr[lo - 1].addr)
		lo--;
	s = &e->byaddr[lo - 1];
	/* Prefer a sized symbol that covers addr; allow size 0 (asm) at entry. */
	if (s->size ? addr - s->addr >= s->size : addr != s->addr)
		return NULL;
	return s;
}

const char *dr_sym_at(struct dr_elf *e, uint64_t addr, uint64_t *start)
{
	const struct dr_sym *s = dr_symbol_at(e, addr);

	if (!s)
		return NULL;
	if (start)
		*start = s->addr;
	return s->name;
}

size_t dr_elf_read(struct dr_elf *e, uint64_t addr, void *buf, size_t n)
{
	size_t i, done = 0;

	while (done < n) {
		uint64_t a = addr + done;
		size_t got = 0;

		for (i = 0; i < e->nph; i++) {
			const GElf_Phdr *p = &e->ph[i];
			uint64_t off, avail;

			if (p->p_type != PT_LOAD || a < p->p_vaddr || a - p->p_vaddr >= p->p_memsz)
				continue;
			off = a - p->p_vaddr;
			avail = p->p_memsz - off;
			if (avail > n - done)
				avail = n - done;
			if (off < p->p_filesz) {
				uint64_t inf = p->p_filesz - off;
				if (inf > avail)
					inf = avail;
				if (!dr_inside(p->p_offset, p->p_filesz, e->rawsize))
					return done;
				memcpy((char *)buf + done, e->raw + p->p_offset + off, inf);
				got = inf;
			} else {
				memset((char *)buf + done, 0, avail); /* .bss */
				got = avail;
			}
			break;
		}
		if (!got)
			break;
		done += got;
	}
	return done;
}

static void loaddyn(struct dr_elf *e)
{
	Elf_Scn *s = NULL;
	GElf_Shdr sh;
	GElf_Dyn dyn;
	Elf_Data *d;
	size_t i, n;

	if (e->dyn_loaded)
		return;
	e->dyn_loaded = 1;
	while ((s = elf_nextscn(e->elf, s))) {
		if (!gelf_getshdr(s, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		if (!dr_inside(sh.sh_offset, sh.sh_size, e->rawsize) || !(d = elf_getdata(s, NULL)))
			return;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n && gelf_getdyn(d, (int)i, &dyn); i++) {
			const char *str;

			if (dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH && dyn.d_tag != DT_RPATH)
				continue;
			str = elf_strptr(e->elf, sh.sh_link, dyn.d_un.d_val);
			if (!str)
				continue;
			if (dyn.d_tag == DT_NEEDED && e->nneeded < 32)
				e->needed[e->nneeded++] = str;
			else if (dyn.d_tag != DT_NEEDED && (!e->runpath || dyn.d_tag == DT_RUNPATH))
				e->runpath = str;
		}
		return;
	}
}

int dr_elf_needed(const struct dr_elf *ce, int i, const char **name)
{
	struct dr_elf *e = (struct dr_elf *)ce;

	loaddyn(e);
	if (i < 0 || i >= e->nneeded)
		return DR_ENOENT;
	*name = e->needed[i];
	return 0;
}

const char *dr_elf_runpath(const struct dr_elf *ce)
{
	struct dr_elf *e = (struct dr_elf *)ce;

	loaddyn(e);
	return e->runpath;
}

/* Walk the notes of every SHT_NOTE section (a core has none: its PT_NOTE
 * segments are read by target.c). */
static int eachnote(struct dr_elf *e, int (*fn)(struct dr_elf *, const GElf_Nhdr *, const char *,
						 const uint8_t *, void *), void *arg)
{
	Elf_Scn *s = NULL;
	GElf_Shdr sh;
	GElf_Nhdr nh;
	Elf_Data *d;
	size_t off, noff, doff;
	int r;

	while ((s = elf_nextscn(e->elf, s))) {
		if (!gelf_getshdr(s, &sh) || sh.sh_type != SHT_NOTE ||
		    !dr_inside(sh.sh_offset, sh.sh_size, e->rawsize) || !(d = elf_getdata(s, NULL)))
			continue;
		off = 0;
		while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			const char *name = (const char *)d->d_buf + noff;

			if (!nh.n_namesz || name[nh.n_namesz - 1])
				continue;
			if ((r = fn(e, &nh, name, (const uint8_t *)d->d_buf + doff, arg)))
				return r;
		}
	}
	return 0;
}

struct bid { const uint8_t *id; size_t n; };

static int bidnote(struct dr_elf *e, const GElf_Nhdr *nh, const char *name, const uint8_t *desc, void *arg)
{
	struct bid *b = arg;

	(void)e;
	if (nh->n_type != NT_GNU_BUILD_ID || strcmp(name, "GNU") != 0 || !nh->n_descsz)
		return 0;
	b->id = desc;
	b->n = nh->n_descsz;
	return 1;
}

size_t dr_elf_build_id(const struct dr_elf *ce, const uint8_t **id)
{
	struct bid b = { 0, 0 };

	eachnote((struct dr_elf *)ce, bidnote, &b);
	*id = b.id;
	return b.n;
}

struct probewalk {
	int (*fn)(const struct dr_probe *, void *);
	void *arg;
	uint64_t base;   /* actual address of .stapsdt.base, 0 if none */
};

static int sdtnote(struct dr_elf *e, const GElf_Nhdr *nh, const char *name, const uint8_t *desc, void *arg)
{
	struct probewalk *w = arg;
	struct dr_probe p;
	const char *s, *end = (const char *)desc + nh->n_descsz;

	(void)e;
	if (nh->n_type != 3 || strcmp(name, "stapsdt") != 0 || nh->n_descsz < 24)
		return 0;
	memcpy(&p.pc, desc, 8);
	memcpy(&p.base, desc + 8, 8);
	memcpy(&p.semaphore, desc + 16, 8);
	/* Three NUL-terminated strings; a note that lacks them is skipped. */
	s = (const char *)desc + 24;
	p.provider = s;
	if (!(s = memchr(s, 0, end - s)))
		return 0;
	p.name = ++s;
	if (s >= end || !(s = memchr(s, 0, end - s)))
		return 0;
	p.args = ++s;
	if (s >= end || !memchr(s, 0, end - s))
		return 0;
	if (w->base && p.base)
		p.pc += w->base - p.base;
	return w->fn(&p, w->arg);
}

int dr_probes(struct dr_elf *e, int (*fn)(const struct dr_probe *, void *), void *arg)
{
	struct probewalk w = { fn, arg, 0 };
	GElf_Shdr sh;

	if (findscn(e, ".stapsdt.base", &sh))
		w.base = sh.sh_addr;
	return eachnote(e, sdtnote, &w);
}

int dr_elf_reltype(const struct dr_elf *e, uint32_t type)
{
	if (e->eh.e_machine == EM_AARCH64)
		return type == R_AARCH64_RELATIVE ? DR_REL_RELATIVE :
		       type == R_AARCH64_ABS64 ? DR_REL_ABS64 :
		       type == R_AARCH64_GLOB_DAT ? DR_REL_GLOB_DAT : 0;
	return type == R_X86_64_RELATIVE ? DR_REL_RELATIVE :
	       type == R_X86_64_64 ? DR_REL_ABS64 :
	       type == R_X86_64_GLOB_DAT ? DR_REL_GLOB_DAT : 0;
}
