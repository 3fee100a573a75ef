/* SPDX-License-Identifier: MIT */
/*
 * target.c - memory, threads and mapped images of a core file or of a
 * stopped live process.
 *
 * A core keeps anonymous memory (heap, stacks, .data/.bss) in its PT_LOAD
 * segments but usually not file-backed text and read-only data: those we
 * read from the mapped file itself, found through the core's NT_FILE note,
 * or, in a core without one (qemu's), through the executable's program
 * headers and the dynamic linker's list of loaded objects (linkmap.c).
 * Every mapped file must be for the target's machine (e_machine).
 * A live process is stopped thread by thread with PTRACE_SEIZE and
 * PTRACE_INTERRUPT (rescanning /proc/PID/task until no thread appears),
 * read with process_vm_readv, and resumed by dr_target_close.  A thread
 * that cannot stop (in vfork(), or one that does not stop within
 * STOP_WAIT) is read while it runs rather than holding the others
 * stopped; a zombie leader is skipped and the process read through a live
 * thread.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <signal.h>
#include <sys/wait.h>
#include "internal.h"

#define MAXTHREADS 65536
#define MAXMAPS 65536
#define MAXIMAGES 4096

/* Both sorted by their first field, for dr_upper. */
struct seg { uint64_t vaddr, memsz, off, filesz; };
struct map { uint64_t start, end, off; int image; };

struct dr_target {
	int is_core;
	struct dr_elf *core;
	struct seg *segs;
	size_t nsegs;
	int pid, memfd;
	int tid;                /* a live thread of pid: /proc and process_vm_readv go through it
	                         * (a zombie leader has no memory left) */
	uint8_t *seized;        /* per thread: 0 not traced, 1 stopped by us, 2 traced, running */
	uint8_t *sig;           /* per thread: a signal its stop took from it, given back on detach */
	struct dr_thread *threads;
	int nthreads, cap_threads;
	struct map *maps;
	size_t nmaps, cap_maps;
	int maps_sorted;        /* by start, for binary search */
	int *imhash;            /* image index + 1 by path hash, MAXIMAGES * 2 slots */
	struct dr_image *images;
	int nimages;
	struct dr_elf *exe;
	int machine;            /* e_machine of the core, or of a live process's executable */
	int own_exe;
	int exe_image;
	uint64_t exe_bias, at_entry;
	int have_entry;
};

/* ---- images and mappings ---- */

/* A core's NT_FILE may name 65,536 mappings: images are found by a hash
 * of their path, mappings by binary search, never by a scan per entry. */
static size_t pathhash(const char *p)
{
	size_t h = 1469598103934665603ull;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211ull;
	return h & (2 * MAXIMAGES - 1);
}

static int addimage(struct dr_target *t, const char *path)
{
	struct dr_image *v;
	size_t h;

	if (!t->imhash && !(t->imhash = calloc(2 * MAXIMAGES, sizeof *t->imhash)))
		return -1;
	for (h = pathhash(path); t->imhash[h]; h = (h + 1) & (2 * MAXIMAGES - 1))
		if (strcmp(t->images[t->imhash[h] - 1].path, path) == 0)
			return t->imhash[h] - 1;
	if (t->nimages >= MAXIMAGES ||
	    !(v = realloc(t->images, (t->nimages + 1) * sizeof *v)))
		return -1;
	t->images = v;
	memset(&v[t->nimages], 0, sizeof *v);
	if (!(v[t->nimages].path = strdup(path)))
		return -1;
	v[t->nimages].start = UINT64_MAX;
	v[t->nimages].machine = t->machine;
	t->imhash[h] = t->nimages + 1;
	return t->nimages++;
}

static void addmap(struct dr_target *t, uint64_t start, uint64_t end, uint64_t off, const char *path)
{
	struct map *v;
	int im;

	if (end <= start || t->nmaps >= MAXMAPS || (im = addimage(t, path)) < 0)
		return;
	if (t->nmaps == t->cap_maps) {
		size_t cap = t->cap_maps ? 2 * t->cap_maps : 64;
		if (!(v = realloc(t->maps, cap * sizeof *v)))
			return;
		t->maps = v;
		t->cap_maps = cap;
	}
	t->maps[t->nmaps++] = (struct map){ start, end, off, im };
	t->maps_sorted = 0;
	if (off == 0 && start < t->images[im].start)
		t->images[im].start = start;
}

static int cmpmap(const void *a, const void *b)
{
	const struct map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The mapping holding addr (the one starting last at or below it), or NULL. */
static struct map *mapat(struct dr_target *t, uint64_t addr)
{
	size_t lo;

	if (!t->nmaps)
		return NULL;
	if (!t->maps_sorted) {
		qsort(t->maps, t->nmaps, sizeof *t->maps, cmpmap);
		t->maps_sorted = 1;
	}
	lo = dr_upper(t->maps, t->nmaps, sizeof *t->maps, addr);
	return lo && addr < t->maps[lo - 1].end ? &t->maps[lo - 1] : NULL;
}

/* The file the target mapped at path: under $DEFER_INSPECT_SYSROOT first
 * if that is set (the target's root, as gdb's `set sysroot`: an aarch64
 * program's /lib/libc.so.6 is /usr/aarch64-linux-gnu/lib/libc.so.6 here),
 * then at path itself; the first for the target's machine, NULL if none. */
static struct dr_elf *openimage(const char *path, int machine)
{
	const char *root = getenv("DEFER_INSPECT_SYSROOT");
	char err[256], buf[PATH_MAX];
	const char *cand[2];
	int i, n = 0, other = 0;

	if (root && *root && path[0] == '/' &&
	    (size_t)snprintf(buf, sizeof buf, "%s%s", root, path) < sizeof buf)
		cand[n++] = buf;
	cand[n++] = path;
	for (i = 0; i < n; i++) {
		struct dr_elf *e;

		if (dr_elf_open(cand[i], &e, err, sizeof err) != 0) {
			/* A missing file is common (a core from elsewhere); a
			 * FIFO or device where the target says a mapped file
			 * is, is not. */
			if (strstr(err, DR_NOTREG))
				dr_warn("mapped file %s", err);
			continue;
		}
		if (e->eh.e_machine == machine)
			return e;
		other = e->eh.e_machine;   /* the host's own file of that name */
		dr_elf_close(e);
	}
	if (other)
		dr_warn("mapped file %s is for another machine (ELF machine %d, the target's %d): not read "
			"(DEFER_INSPECT_SYSROOT names the target's root)", path, other, machine);
	return NULL;
}

struct dr_elf *dr_image_elf(struct dr_image *im)
{
	if (!im->tried) {
		im->tried = 1;
		im->elf = openimage(im->path, im->machine);
		if (im->elf && im->start != UINT64_MAX)
			im->bias = im->start - dr_elf_base(im->elf);
	}
	return im->elf;
}

int dr_nimages(const struct dr_target *t) { return t->nimages; }
struct dr_image *dr_image(struct dr_target *t, int i) { return i >= 0 && i < t->nimages ? &t->images[i] : NULL; }
struct dr_elf *dr_target_exe(struct dr_target *t) { return t->exe; }
uint64_t dr_target_exe_bias(const struct dr_target *t) { return t->exe_bias; }
int dr_target_is_core(const struct dr_target *t) { return t->is_core; }
int dr_nthreads(const struct dr_target *t) { return t->nthreads; }
const struct dr_thread *dr_thread(const struct dr_target *t, int i) { return &t->threads[i]; }

struct dr_image *dr_image_at(struct dr_target *t, uint64_t addr)
{
	struct map *m = mapat(t, addr);
	struct dr_image *im;

	if (!m)
		return NULL;
	im = &t->images[m->image];
	dr_image_elf(im);
	return im->elf ? im : NULL;
}

/* Bytes of a mapped file, read from the file (text a core did not keep). */
static size_t readfile(struct dr_target *t, uint64_t addr, void *buf, size_t n)
{
	struct map *m = mapat(t, addr);
	struct dr_elf *e;
	uint64_t off, avail;

	if (!m || !(e = dr_image_elf(&t->images[m->image])))
		return 0;
	off = m->off + (addr - m->start);
	if (off < m->off || off >= e->rawsize)
		return 0;
	avail = e->rawsize - off;
	if (avail > m->end - addr)
		avail = m->end - addr;
	if (avail > n)
		avail = n;
	memcpy(buf, e->raw + off, avail);
	return avail;
}

static const struct seg *segat(const struct dr_target *t, uint64_t addr)
{
	size_t lo = dr_upper(t->segs, t->nsegs, sizeof *t->segs, addr);

	if (lo && addr - t->segs[lo - 1].vaddr < t->segs[lo - 1].memsz)
		return &t->segs[lo - 1];
	return NULL;
}

/* Memory the core itself holds (no fallback to files). */
static size_t readcore(struct dr_target *t, uint64_t addr, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		const struct seg *s = segat(t, addr + done);
		uint64_t off, avail;

		if (!s)
			break;
		off = addr + done - s->vaddr;
		if (off >= s->filesz)
			break;
		avail = s->filesz - off;
		if (avail > n - done)
			avail = n - done;
		memcpy((char *)buf + done, t->core->raw + s->off + off, avail);
		done += avail;
	}
	return done;
}

static size_t readlive(struct dr_target *t, uint64_t addr, void *buf, size_t n)
{
	size_t done = 0;

	/* One page per iovec: process_vm_readv stops at the first bad page. */
	while (done < n) {
		uint64_t a = addr + done;
		size_t chunk = 4096 - (a & 4095);
		struct iovec l, r;
		ssize_t got;

		if (chunk > n - done)
			chunk = n - done;
		l.iov_base = (char *)buf + done;
		l.iov_len = chunk;
		r.iov_base = (void *)(uintptr_t)a;
		r.iov_len = chunk;
		got = process_vm_readv(t->tid, &l, 1, &r, 1, 0);
		if (got <= 0 && t->memfd >= 0)
			got = pread(t->memfd, (char *)buf + done, chunk, (off_t)a);
		if (got <= 0)
			break;
		done += (size_t)got;
		if ((size_t)got < chunk)
			break;
	}
	return done;
}

/* The rest of a core segment past its file contents: zeros, as ELF has
 * it and gdb reads it (a stack the kernel did not dump, a core cut short),
 * so that both readers see the same bytes (docs/abi.md V6, V7). */
static size_t readzeros(const struct dr_target *t, uint64_t addr, void *buf, size_t n)
{
	const struct seg *s = segat(t, addr);
	uint64_t avail;

	if (!s)
		return 0;
	avail = s->memsz - (addr - s->vaddr);
	if (avail > n)
		avail = n;
	memset(buf, 0, avail);
	return avail;
}

size_t dr_read(struct dr_target *t, uint64_t addr, void *buf, size_t n)
{
	size_t done = 0, got;

	if (addr + n < addr)
		return 0;
	while (done < n) {
		got = t->is_core ? readcore(t, addr + done, (char *)buf + done, n - done)
				 : readlive(t, addr + done, (char *)buf + done, n - done);
		if (!got && t->is_core)
			got = readfile(t, addr + done, (char *)buf + done, n - done);
		if (!got && t->is_core)
			got = readzeros(t, addr + done, (char *)buf + done, n - done);
		if (!got)
			break;
		done += got;
	}
	return done;
}

static void addthread(struct dr_target *t, int32_t tid, uint64_t pc, uint64_t sp, int seized)
{
	struct dr_thread *v;
	uint8_t *z;

	if (t->nthreads >= MAXTHREADS)
		return;
	if (t->nthreads == t->cap_threads) {
		int cap = t->cap_threads ? 2 * t->cap_threads : 16;
		if (!(v = realloc(t->threads, cap * sizeof *v)))
			return;
		t->threads = v;
		if (!(z = realloc(t->seized, cap)))
			return;
		t->seized = z;
		if (!(z = realloc(t->sig, cap)))
			return;
		t->sig = z;
		t->cap_threads = cap;
	}
	t->seized[t->nthreads] = (uint8_t)seized;
	t->sig[t->nthreads] = 0;
	t->threads[t->nthreads++] = (struct dr_thread){ tid, pc, sp };
}

/* ---- cores ---- */

static int cmpseg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* NT_FILE: count, page size, count x (start, end, page offset), names. */
static void ntfile(struct dr_target *t, const uint8_t *d, size_t n)
{
	uint64_t count, pagesz, i;
	const char *names, *end = (const char *)d + n;

	if (n < 16)
		return;
	memcpy(&count, d, 8);
	memcpy(&pagesz, d + 8, 8);
	if (count > (n - 16) / 24 || pagesz == 0 || pagesz > (1u << 30))
		return;
	names = (const char *)d + 16 + count * 24;
	for (i = 0; i < count && names < end; i++) {
		uint64_t s, e, off;
		const char *z = memchr(names, 0, end - names);

		if (!z)
			return;
		memcpy(&s, d + 16 + i * 24, 8);
		memcpy(&e, d + 24 + i * 24, 8);
		memcpy(&off, d + 32 + i * 24, 8);
		if (off <= UINT64_MAX / pagesz)
			addmap(t, s, e, off * pagesz, names);
		names = z + 1;
	}
}

/* Where NT_PRSTATUS (struct elf_prstatus) holds a thread's pc and stack
 * pointer, by the core's architecture (its e_machine, never this
 * machine's): pr_reg starts at 112; x86-64's user_regs_struct has rip at
 * 16 and rsp at 19, aarch64's user_pt_regs x0-x30, sp, pc. */
struct prstatus {
	size_t size, pc, sp;
};
static const struct prstatus prstatus_x86_64 = { 112 + 27 * 8, 112 + 16 * 8, 112 + 19 * 8 };
static const struct prstatus prstatus_aarch64 = { 392, 112 + 32 * 8, 112 + 31 * 8 };

static void corenotes(struct dr_target *t, const GElf_Phdr *p)
{
	const struct prstatus *pr =
		t->core->eh.e_machine == EM_AARCH64 ? &prstatus_aarch64 : &prstatus_x86_64;
	Elf_Data *d;
	GElf_Nhdr nh;
	size_t off = 0, noff, doff;

	if (!dr_inside(p->p_offset, p->p_filesz, t->core->rawsize))
		return;
	d = elf_getdata_rawchunk(t->core->elf, (int64_t)p->p_offset, p->p_filesz, ELF_T_NHDR);
	if (!d)
		return;
	while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		const uint8_t *desc = (const uint8_t *)d->d_buf + doff;

		if (nh.n_type == NT_PRSTATUS && nh.n_descsz >= pr->size) {
			int32_t tid;
			uint64_t pc, sp;
			memcpy(&tid, desc + 32, 4);
			memcpy(&pc, desc + pr->pc, 8);
			memcpy(&sp, desc + pr->sp, 8);
			addthread(t, tid, pc, sp, 0);
		} else if (nh.n_type == NT_AUXV) {
			size_t i;
			for (i = 0; i + 16 <= nh.n_descsz; i += 16) {
				uint64_t k, v;
				memcpy(&k, desc + i, 8);
				memcpy(&v, desc + i + 8, 8);
				if (k == AT_ENTRY) {
					t->at_entry = v;
					t->have_entry = 1;
				}
			}
		} else if (nh.n_type == 0x46494c45 /* NT_FILE */) {
			ntfile(t, desc, nh.n_descsz);
		}
	}
}

/* The mappings of file e (at path) loaded with bias, from its program
 * headers: what NT_FILE would have said.  The image's file is left to the
 * caller (the executable's is bound only once the core is known to match). */
static int mapelf(struct dr_target *t, const char *path, const struct dr_elf *e, uint64_t bias)
{
	size_t i;
	int im;

	for (i = 0; i < e->nph; i++) {
		const GElf_Phdr *p = &e->ph[i];
		if (p->p_type == PT_LOAD && p->p_filesz)
			addmap(t, bias + p->p_vaddr, bias + p->p_vaddr + p->p_filesz, p->p_offset, path);
	}
	if ((im = addimage(t, path)) >= 0) {
		t->images[im].start = bias + dr_elf_base(e);
		t->images[im].bias = bias;
	}
	return im;
}

/* Does every segment of e, loaded with bias, lie inside the address space? */
static int fits(const struct dr_elf *e, uint64_t bias)
{
	size_t i;

	for (i = 0; i < e->nph; i++) {
		const GElf_Phdr *p = &e->ph[i];
		if (p->p_type == PT_LOAD &&
		    (p->p_vaddr + p->p_memsz < p->p_vaddr || bias + p->p_vaddr + p->p_memsz < bias))
			return 0;
	}
	return 1;
}

static int maplib(const char *path, uint64_t bias, void *arg)
{
	struct dr_target *t = arg;
	struct dr_elf *e;
	int im = addimage(t, path);

	/* Seen already (the list may name a file twice, or loop). */
	if (im < 0 || t->images[im].tried)
		return 0;
	t->images[im].tried = 1;
	if (!(e = openimage(path, t->machine)))
		return 0;
	if (!fits(e, bias)) {
		dr_warn("the dynamic linker's list puts %s at %#lx, past the end of the address space: not read",
			path, (unsigned long)bias);
		dr_elf_close(e);
		return 0;
	}
	if (mapelf(t, path, e, bias) == im)
		t->images[im].elf = e;
	else
		dr_elf_close(e);
	return 0;
}

/* A core without NT_FILE: the executable where its bias puts it, and the
 * shared objects on the dynamic linker's list. */
static void frommemory(struct dr_target *t)
{
	mapelf(t, dr_elf_path(t->exe), t->exe, t->exe_bias);
	dr_linkmap(t, t->exe, t->exe_bias, maplib, t);
}

/* The image mapped at start (the last one if several), or -1. */
static int findimage(const struct dr_target *t, uint64_t start)
{
	int i, found = -1;

	for (i = 0; i < t->nimages; i++)
		if (t->images[i].start == start)
			found = i;
	return found;
}

/* The executable's image is the file the target was opened with. */
static void bindexe(struct dr_target *t)
{
	struct dr_image *im;

	if (t->exe_image < 0)
		return;
	im = &t->images[t->exe_image];
	im->elf = t->exe;
	im->tried = 1;
	im->bias = t->exe_bias;
}

/* The build-id note of the ELF image mapped at start, as the core kept it
 * (copied to id, at most max bytes): its length, or 0. */
static size_t membuildid(struct dr_target *t, uint64_t start, uint64_t bias, uint8_t *id, size_t max)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t buf[1024];
	int i;

	if (readcore(t, start, &eh, sizeof eh) != sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_phnum > 256 || eh.e_phentsize != sizeof ph)
		return 0;
	for (i = 0; i < eh.e_phnum; i++) {
		size_t n, off = 0;

		if (readcore(t, start + eh.e_phoff + i * sizeof ph, &ph, sizeof ph) != sizeof ph)
			return 0;
		if (ph.p_type != PT_NOTE)
			continue;
		n = ph.p_filesz < sizeof buf ? ph.p_filesz : sizeof buf;
		if (readcore(t, bias + ph.p_vaddr, buf, n) != n)
			continue;
		while (off + 12 <= n) {
			uint32_t nsz, dsz, type;
			memcpy(&nsz, buf + off, 4);
			memcpy(&dsz, buf + off + 4, 4);
			memcpy(&type, buf + off + 8, 4);
			off += 12;
			if (nsz > n || dsz > n)
				break;
			if (type == NT_GNU_BUILD_ID && nsz == 4 && off + 4 + dsz <= n &&
			    memcmp(buf + off, "GNU", 4) == 0 && dsz <= max) {
				memcpy(id, buf + off + 4, dsz);
				return dsz;
			}
			off += ((nsz + 3) & ~3u) + ((dsz + 3) & ~3u);
		}
	}
	return 0;
}

/*
 * A core without the executable's headers (qemu dumps no page of a mapped
 * file that the program did not write) still has its relocated read-only
 * data (PT_GNU_RELRO, written once by the relocations, then read-only):
 * each R_*_RELATIVE slot there holds bias + addend.  Another build of the
 * program puts other addends at other places.  The number of slots that
 * agree, RELRO_DIFFERS if one does not, or SIZE_MAX if none could be
 * compared.
 */
#define RELRO_CHECKS 64
#define RELRO_DIFFERS (SIZE_MAX - 1)
static size_t relrocheck(struct dr_target *t)
{
	struct dr_elf *e = t->exe;
	const uint8_t *rel;
	uint64_t lo = 0, hi = 0;
	size_t n, i, agree = 0;

	for (i = 0; i < e->nph; i++)
		if (e->ph[i].p_type == PT_GNU_RELRO && e->ph[i].p_vaddr + e->ph[i].p_memsz > e->ph[i].p_vaddr) {
			lo = e->ph[i].p_vaddr;
			hi = lo + e->ph[i].p_memsz;
		}
	if (hi - lo < 8 || !(rel = dr_elf_section(e, ".rela.dyn", NULL, &n)))
		return SIZE_MAX;
	for (i = 0; i + 24 <= n && agree < RELRO_CHECKS; i += 24) {
		uint64_t off, info, v;
		int64_t add;

		memcpy(&off, rel + i, 8);
		memcpy(&info, rel + i + 8, 8);
		memcpy(&add, rel + i + 16, 8);
		if (dr_elf_reltype(e, (uint32_t)info) != DR_REL_RELATIVE || off < lo || off > hi - 8 ||
		    readcore(t, t->exe_bias + off, &v, 8) != 8)
			continue;
		if (v != t->exe_bias + (uint64_t)add)
			return RELRO_DIFFERS;
		agree++;
	}
	return agree ? agree : SIZE_MAX;
}

/* Was this core made from exe?  Compare the build-id the core kept in
 * memory (the kernel dumps each ELF file's first page) with the file's. */
static int coreexe(struct dr_target *t, char *err, size_t errlen)
{
	const uint8_t *fid;
	size_t fn = dr_elf_build_id(t->exe, &fid), mn;
	uint8_t mid[64];
	uint64_t base = dr_elf_base(t->exe), start;

	if (t->exe->eh.e_machine != t->machine) {
		dr_setf(err, errlen, "core does not match %s: the core is for ELF machine %d, the file for %d",
			dr_elf_path(t->exe), t->machine, t->exe->eh.e_machine);
		return DR_EMISMATCH;
	}
	if (!t->have_entry) {
		dr_warn("core has no NT_AUXV: assuming %s is loaded at its link-time address",
			dr_elf_path(t->exe));
		t->exe_bias = 0;
	} else {
		t->exe_bias = t->at_entry - dr_elf_entry(t->exe);
		if (dr_elf_type(t->exe) == ET_EXEC && t->exe_bias) {
			dr_setf(err, errlen, "core does not match %s: its entry point is %#lx, the core's %#lx",
				dr_elf_path(t->exe), (unsigned long)dr_elf_entry(t->exe),
				(unsigned long)t->at_entry);
			return DR_EMISMATCH;
		}
	}
	start = base + t->exe_bias;
	if (!t->nmaps)
		frommemory(t);
	t->exe_image = findimage(t, start);
	if (t->exe_image < 0 && t->nmaps) {
		dr_setf(err, errlen, "core does not match %s: nothing of it is mapped at %#lx",
			dr_elf_path(t->exe), (unsigned long)start);
		return DR_EMISMATCH;
	}
	mn = membuildid(t, start, t->exe_bias, mid, sizeof mid);
	if (fn && mn && (fn != mn || memcmp(fid, mid, fn) != 0)) {
		dr_setf(err, errlen, "core does not match %s: different build-id", dr_elf_path(t->exe));
		return DR_EMISMATCH;
	}
	if (!fn || !mn) {
		/* No build-id to compare: the ELF header and program headers
		 * must be equal, or, without them, the relocated data. */
		uint8_t a[64 + 56 * 4];
		size_t n = sizeof a < t->exe->rawsize ? sizeof a : t->exe->rawsize;
		size_t relro = readcore(t, start, a, n) == n ? 0 : relrocheck(t);

		if (!relro && memcmp(a, t->exe->raw, n) != 0) {
			dr_setf(err, errlen, "core does not match %s: different ELF headers",
				dr_elf_path(t->exe));
			return DR_EMISMATCH;
		}
		if (relro == RELRO_DIFFERS) {
			dr_setf(err, errlen, "core does not match %s: different relocated data",
				dr_elf_path(t->exe));
			return DR_EMISMATCH;
		}
		if (relro == SIZE_MAX)
			dr_warn("cannot check that the core comes from %s (no headers in the core, "
				"no relocated data)", dr_elf_path(t->exe));
	}
	/* The mapped executable is the file we were given, whatever its path
	 * was on the machine that dumped the core. */
	bindexe(t);
	return 0;
}

int dr_target_core(const char *core, struct dr_elf *exe, struct dr_target **out, char *err, size_t errlen)
{
	struct dr_target *t;
	size_t i;
	int r;

	*out = NULL;
	if (!(t = calloc(1, sizeof *t)))
		return DR_ENOMEM;
	t->is_core = 1;
	t->memfd = -1;
	t->exe = exe;
	if ((r = dr_elf_open(core, &t->core, err, errlen)) != 0)
		goto fail;
	if (dr_elf_type(t->core) != ET_CORE) {
		dr_setf(err, errlen, "%s: not a core file", core);
		r = DR_ENOTELF;
		goto fail;
	}
	t->machine = t->core->eh.e_machine;
	for (i = 0; i < t->core->nph; i++) {
		const GElf_Phdr *p = &t->core->ph[i];
		if (p->p_type == PT_NOTE)
			corenotes(t, p);
	}
	if (!(t->segs = calloc(t->core->nph + 1, sizeof *t->segs))) {
		r = DR_ENOMEM;
		goto fail;
	}
	for (i = 0; i < t->core->nph; i++) {
		const GElf_Phdr *p = &t->core->ph[i];
		uint64_t fsz = p->p_filesz;

		if (p->p_type != PT_LOAD || !p->p_memsz)
			continue;
		/* A truncated core: keep what is there. */
		if (!dr_inside(p->p_offset, fsz, t->core->rawsize))
			fsz = p->p_offset < t->core->rawsize ? t->core->rawsize - p->p_offset : 0;
		if (fsz > p->p_memsz)
			fsz = p->p_memsz;
		t->segs[t->nsegs++] = (struct seg){ p->p_vaddr, p->p_memsz, p->p_offset, fsz };
	}
	qsort(t->segs, t->nsegs, sizeof *t->segs, cmpseg);
	if (!t->nthreads)
		dr_warn("%s: no threads (NT_PRSTATUS) in the core", core);
	if ((r = coreexe(t, err, errlen)) != 0)
		goto fail;
	*out = t;
	return 0;
fail:
	t->exe = NULL;
	dr_target_close(t);
	return r;
}

/* ---- live processes ---- */

/* A line "Key:\tvalue" of /proc/PID/task/TID/status, as a number; -1 if absent. */
static long status_field(int pid, int tid, const char *key)
{
	char path[64], line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/task/%d/status", pid, tid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* /proc/PID/task/TID/WHAT into buf, NUL-terminated: its length, 0 if gone. */
static size_t task_file(int pid, int tid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/task/%d/%s", pid, tid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return (size_t)n;
}

/* The state letter of /proc/PID/task/TID/stat (R, S, D, Z, t...), 0 if gone. */
static char thread_state(int pid, int tid)
{
	char buf[512], *p;

	if (!task_file(pid, tid, "stat", buf, sizeof buf))
		return 0;
	/* The name in parentheses may hold anything: the state follows the last ')'. */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ')
		return 0;
	return p[2];
}

/*
 * A thread in vfork() sleeps (state D) until its child execs or exits; it
 * would not reach a ptrace stop before that, possibly for ever, while the
 * threads already stopped wait.  Seen in /proc/.../syscall: vfork, or
 * clone with CLONE_VFORK, or clone3 asleep in D.  A live process runs on
 * this machine: the numbers are this machine's (aarch64 has no vfork).
 */
static int in_vfork(int pid, int tid)
{
	char buf[256];
	long nr = -1;
	unsigned long a0 = 0;

	if (!task_file(pid, tid, "syscall", buf, sizeof buf))
		return 0;
	if (sscanf(buf, "%ld %lx", &nr, &a0) < 1)
		return 0;
#ifdef SYS_vfork
	if (nr == SYS_vfork)
		return 1;
#endif
	return (nr == SYS_clone && (a0 & CLONE_VFORK)) || (nr == SYS_clone3 && thread_state(pid, tid) == 'D');
}

/* Why PTRACE_SEIZE of tid failed, in words. */
static int seize_error(struct dr_target *t, int tid, int en, char *err, size_t errlen)
{
	long tracer = status_field(t->pid, tid, "TracerPid");

	if (tracer > 0) {
		char path[64], comm[64] = "?";
		FILE *f;

		snprintf(path, sizeof path, "/proc/%ld/comm", tracer);
		if ((f = fopen(path, "re"))) {
			if (fgets(comm, sizeof comm, f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		dr_setf(err, errlen, "cannot attach to process %d: thread %d is already traced by process "
			"%ld (%s), and a thread has one tracer: detach that one first", t->pid, tid, tracer, comm);
		return DR_EPERM;
	}
	dr_setf(err, errlen, "cannot attach to process %d: %s%s", t->pid, strerror(en),
		en == EPERM ? " (ptrace not permitted: check privileges and "
			      "/proc/sys/kernel/yama/ptrace_scope)" : "");
	return en == EPERM || en == EACCES ? DR_EPERM : DR_ENOENT;
}

#define STOP_WAIT 0.5   /* seconds a thread has to reach its ptrace stop */

int dr_cmptid(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return x < y ? -1 : x > y;
}

/* The threads found by earlier passes, sorted: a pass over n tasks costs
 * n log n, not n squared. */
struct tids { int32_t *v; int n; };

static void snapshot(const struct dr_target *t, struct tids *k)
{
	int32_t *v = realloc(k->v, (t->nthreads + 1) * sizeof *v);
	int i;

	if (!v)
		return;   /* keep the older snapshot: a thread seen twice fails to seize */
	k->v = v;
	for (i = 0; i < t->nthreads; i++)
		v[i] = t->threads[i].tid;
	k->n = t->nthreads;
	qsort(v, k->n, sizeof *v, dr_cmptid);
}

static int known(const struct tids *k, int32_t tid)
{
	return bsearch(&tid, k->v, k->n, sizeof *k->v, dr_cmptid) != NULL;
}

/* Wait for the stops of threads first..nthreads-1 that were interrupted;
 * one that does not stop in time is left running (and said so). */
static void waitstops(struct dr_target *t, int first)
{
	double end = dr_now() + STOP_WAIT;
	int i, left;

	do {
		left = 0;
		for (i = first; i < t->nthreads; i++) {
			int st;
			pid_t r;

			if (t->seized[i] != 2)
				continue;
			r = waitpid(t->threads[i].tid, &st, __WALL | WNOHANG);
			if (r == t->threads[i].tid && WIFSTOPPED(st)) {
				t->seized[i] = 1;
				/* A signal-delivery stop came first: the signal is
				 * the program's, not ours to drop. */
				if (st >> 16 != PTRACE_EVENT_STOP && WSTOPSIG(st) != SIGTRAP)
					t->sig[i] = (uint8_t)WSTOPSIG(st);
			}
			else if (r < 0 && errno == ECHILD)
				t->seized[i] = 0;   /* it exited */
			else
				left++;
		}
		if (left)
			usleep(1000);
	} while (left && dr_now() < end);
	for (i = first; i < t->nthreads; i++)
		if (t->seized[i] == 2)
			dr_warn("process %d: thread %d did not stop within %.1f s (state %c): its records are "
				"read while it runs", t->pid, t->threads[i].tid, STOP_WAIT,
				thread_state(t->pid, t->threads[i].tid));
}

/* Stop every thread; rescan until a pass finds no new one. */
static int stopall(struct dr_target *t, char *err, size_t errlen)
{
	char path[64];
	struct tids k = { NULL, 0 };
	int round, r = 0;

	for (round = 0; round < 100 && !r; round++) {
		int first = t->nthreads;
		DIR *d;
		struct dirent *de;

		snprintf(path, sizeof path, "/proc/%d/task", t->pid);
		if (!(d = opendir(path))) {
			dr_setf(err, errlen, "process %d: %s", t->pid, strerror(errno));
			r = errno == ENOENT ? DR_ENOENT : DR_EPERM;
			break;
		}
		snapshot(t, &k);
		while ((de = readdir(d))) {
			int tid = atoi(de->d_name);
			char state;

			if (tid <= 0 || known(&k, tid))
				continue;
			if (t->nthreads >= MAXTHREADS) {
				dr_warn("process %d: more than %d threads: the others are not stopped nor read",
					t->pid, MAXTHREADS);
				break;
			}
			state = thread_state(t->pid, tid);
			if (state == 'Z' || state == 'X' || !state) {
				/* An exited thread (a zombie leader after pthread_exit):
				 * nothing to stop, no memory of its own. */
				continue;
			}
			if (in_vfork(t->pid, tid)) {
				dr_warn("process %d: thread %d is in vfork() (until its child execs or exits): "
					"not stopped, its records are read while it runs", t->pid, tid);
				addthread(t, tid, 0, 0, 0);
				continue;
			}
			if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
				int en = errno;
				if (en == ESRCH)
					continue;
				r = seize_error(t, tid, en, err, errlen);
				break;
			}
			addthread(t, tid, 0, 0, 2);
			if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
				t->seized[t->nthreads - 1] = 0;
		}
		closedir(d);
		if (t->nthreads == first)
			break;
		/* Also after an error: the threads interrupted so far must reach
		 * their stops before dr_target_close can detach them. */
		waitstops(t, first);
	}
	free(k.v);
	return r;
}

/* A live thread to read the process through, or 0: the leader may be a
 * zombie (it called pthread_exit) while other threads run. */
static int livetid(int pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int tid = 0;

	if (thread_state(pid, pid) != 'Z')
		return pid;
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	if (!(d = opendir(path)))
		return 0;
	while (!tid && (de = readdir(d))) {
		int x = atoi(de->d_name);
		char s = x > 0 ? thread_state(pid, x) : 0;
		if (s && s != 'Z' && s != 'X')
			tid = x;
	}
	closedir(d);
	return tid;
}

static void readmaps(struct dr_target *t)
{
	char path[64], line[PATH_MAX + 128];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/task/%d/maps", t->pid, t->tid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof line, f)) {
		unsigned long s, e, off;
		int n = 0;
		char *p;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &s, &e, &off, &n) < 3 || !n)
			continue;
		p = line + n;
		p[strcspn(p, "\n")] = 0;
		if (*p == '/')
			addmap(t, s, e, off, p);
	}
	fclose(f);
}

static void readauxv(struct dr_target *t)
{
	char path[64];
	uint64_t kv[2];
	int fd;

	snprintf(path, sizeof path, "/proc/%d/task/%d/auxv", t->pid, t->tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while (read(fd, kv, sizeof kv) == sizeof kv && kv[0] != AT_NULL)
		if (kv[0] == AT_ENTRY) {
			t->at_entry = kv[1];
			t->have_entry = 1;
		}
	close(fd);
}

int dr_target_pid(int pid, struct dr_target **out, char *err, size_t errlen)
{
	struct dr_target *t;
	char path[64], exe[PATH_MAX];
	ssize_t n;
	int r;

	*out = NULL;
	if (!(t = calloc(1, sizeof *t)))
		return DR_ENOMEM;
	t->pid = pid;
	t->memfd = -1;
	snprintf(path, sizeof path, "/proc/%d", pid);
	if (pid <= 0 || access(path, F_OK) != 0) {
		dr_setf(err, errlen, "no such process: %d", pid);
		free(t);
		return DR_ENOENT;
	}
	if (!(t->tid = livetid(pid))) {
		dr_setf(err, errlen, "process %d is a zombie (it exited and its parent has not reaped it): "
			"nothing left to read", pid);
		free(t);
		return DR_ENOENT;
	}
	snprintf(path, sizeof path, "/proc/%d/task/%d/exe", pid, t->tid);
	if ((n = readlink(path, exe, sizeof exe - 1)) < 0) {
		int en = errno;
		dr_setf(err, errlen, "process %d: cannot read its executable: %s", pid, strerror(en));
		free(t);
		return en == ENOENT || en == ESRCH ? DR_ENOENT : DR_EPERM;
	}
	exe[n] = 0;
	/* /proc/PID/exe opens the running file even if it was replaced. */
	if ((r = dr_elf_open(path, &t->exe, err, errlen)) != 0) {
		free(t);
		return r;
	}
	free(t->exe->path);
	t->exe->path = strdup(exe);
	t->own_exe = 1;
	t->machine = t->exe->eh.e_machine;
	if ((r = stopall(t, err, errlen)) != 0) {
		dr_target_close(t);
		return r;
	}
	snprintf(path, sizeof path, "/proc/%d/task/%d/mem", pid, t->tid);
	t->memfd = open(path, O_RDONLY | O_CLOEXEC);
	readmaps(t);
	readauxv(t);
	t->exe_bias = t->have_entry ? t->at_entry - dr_elf_entry(t->exe) : 0;
	t->exe_image = findimage(t, dr_elf_base(t->exe) + t->exe_bias);
	bindexe(t);
	*out = t;
	return 0;
}

void dr_target_close(struct dr_target *t)
{
	int i;

	if (!t)
		return;
	/* A thread still running (it did not stop in time) cannot be detached
	 * now; our exit detaches it and drops the pending interrupt. */
	if (!t->is_core)
		for (i = 0; i < t->nthreads; i++)
			if (t->seized[i])
				ptrace(PTRACE_DETACH, t->threads[i].tid, 0, (void *)(uintptr_t)t->sig[i]);
	if (t->memfd >= 0)
		close(t->memfd);
	for (i = 0; i < t->nimages; i++) {
		if (t->images[i].elf && t->images[i].elf != t->exe)
			dr_elf_close(t->images[i].elf);
		free(t->images[i].path);
	}
	if (t->own_exe)
		dr_elf_close(t->exe);
	free(t->images);
	free(t->maps);
	free(t->imhash);
	free(t->threads);
	free(t->seized);
	free(t->sig);
	free(t->segs);
	dr_elf_close(t->core);
	free(t);
}
