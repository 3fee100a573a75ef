/*
 * walk.c - every thread's deferred calls and panics, read from a target.
 *
 * The target is untrusted: each chain is bounded (DR_MAX_*), cycles are
 * caught with Brent's algorithm (no memory per record), and a record that
 * cannot be read ends its chain with a warning instead of the walk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "defer_abi.h"

#define MAXREC 4096   /* larger records than this are a corrupt layout */

/* Brent's cycle detection over a chain of addresses. */
struct brent { uint64_t saved; unsigned long power, lam; };

static int cycles(struct brent *b, uint64_t addr)
{
	if (addr == b->saved)
		return 1;
	if (++b->lam == b->power) {
		b->saved = addr;
		b->power *= 2;
		b->lam = 0;
	}
	return 0;
}

static uint64_t u64(const uint8_t *rec, uint32_t off) { uint64_t v; memcpy(&v, rec + off, 8); return v; }
static uint32_t u32(const uint8_t *rec, uint32_t off) { uint32_t v; memcpy(&v, rec + off, 4); return v; }

/* Every field must lie inside its record. */
static int sane(const struct dr_layout *l)
{
	const struct { uint32_t size, off, len; } f[] = {
		{ l->g.size, l->g.alllink, 8 }, { l->g.size, l->g.defer, 8 }, { l->g.size, l->g.panic, 8 },
		{ l->g.size, l->g.tid, 4 }, { l->g.size, l->g.status, 4 }, { l->g.size, l->g.name, 16 },
		{ l->d.size, l->d.link, 8 }, { l->d.size, l->d.fn, 8 }, { l->d.size, l->d.pc, 8 },
		{ l->d.size, l->d.sp, 8 }, { l->d.size, l->d.panic, 8 }, { l->d.size, l->d.nargs, 1 },
		{ l->d.size, l->d.kind, 6 }, { l->d.size, l->d.flags, 1 },
		{ l->d.size, l->d.iregs, 48 }, { l->d.size, l->d.fregs, 48 },
		{ l->p.size, l->p.link, 8 }, { l->p.size, l->p.arg, 8 }, { l->p.size, l->p.argp, 8 },
		{ l->p.size, l->p.pc, 8 }, { l->p.size, l->p.defer, 8 }, { l->p.size, l->p.recovered, 1 },
		{ l->p.size, l->p.aborted, 1 }, { l->p.size, l->p.goexit, 1 }, { l->p.size, l->p.msg, 1 },
	};
	size_t i;

	if (l->g.size > MAXREC || l->d.size > MAXREC || l->p.size > MAXREC)
		return 0;
	for (i = 0; i < sizeof f / sizeof *f; i++)
		if (!dr_inside(f[i].off, f[i].len, f[i].size))
			return 0;
	return 1;
}

static void unpack(const struct dr_layout *l, const uint8_t *rec, uint64_t a, struct dr_defer *d)
{
	d->addr = a;
	d->fn = u64(rec, l->d.fn);
	d->pc = u64(rec, l->d.pc);
	d->sp = u64(rec, l->d.sp);
	d->panic = u64(rec, l->d.panic);
	d->nargs = rec[l->d.nargs];
	if (d->nargs > DEFER_MAXARGS)
		d->nargs = DEFER_MAXARGS;
	memcpy(d->kind, rec + l->d.kind, 6);
	d->started = (rec[l->d.flags] & DEFER_FLAG_STARTED) != 0;
	d->heap = (rec[l->d.flags] & DEFER_FLAG_HEAP) != 0;
	memcpy(d->iregs, rec + l->d.iregs, 48);
	memcpy(d->fregs, rec + l->d.fregs, 48);
}

int dr_read_defer(struct dr_target *t, const struct dr_layout *l, uint64_t a, struct dr_defer *d)
{
	uint8_t rec[MAXREC];

	if (!sane(l) || !a || dr_read(t, a, rec, l->d.size) != l->d.size)
		return DR_ECORRUPT;
	unpack(l, rec, a, d);
	return 0;
}

static void readdefers(struct dr_target *t, const struct dr_layout *l, uint64_t a, struct dr_g *g,
		       size_t *total)
{
	struct brent b = { 0, 1, 0 };
	uint8_t rec[MAXREC];
	size_t cap = 0;

	for (; a; a = u64(rec, l->d.link)) {
		struct dr_defer *d;

		if (cycles(&b, a)) {
			g->warning = "cycle in the deferred-call chain";
			return;
		}
		if (*total >= DR_MAX_DEFERS) {
			g->warning = "too many deferred calls; list cut short";
			return;
		}
		if (dr_read(t, a, rec, l->d.size) != l->d.size) {
			g->warning = "deferred-call record unreadable (not in the core?); list cut short";
			return;
		}
		if (g->ndefer == (int)cap) {
			cap = cap ? 2 * cap : 16;
			if (!(d = realloc(g->defers, cap * sizeof *d))) {
				g->warning = "out of memory";
				return;
			}
			g->defers = d;
		}
		d = &g->defers[g->ndefer++];
		++*total;
		unpack(l, rec, a, d);
	}
}

static void readpanics(struct dr_target *t, const struct dr_layout *l, uint64_t a, struct dr_g *g)
{
	struct brent b = { 0, 1, 0 };
	uint8_t rec[MAXREC];
	int cap = 0;

	for (; a; a = u64(rec, l->p.link)) {
		struct dr_panic *p;
		size_t msglen;

		if (cycles(&b, a)) {
			g->warning = "cycle in the panic chain";
			return;
		}
		if (g->npanic >= DR_MAX_PANICS) {
			g->warning = "too many panics; list cut short";
			return;
		}
		if (dr_read(t, a, rec, l->p.size) != l->p.size) {
			g->warning = "panic record unreadable; list cut short";
			return;
		}
		if (g->npanic == cap) {
			cap = cap ? 2 * cap : 4;
			if (!(p = realloc(g->panics, cap * sizeof *p))) {
				g->warning = "out of memory";
				return;
			}
			g->panics = p;
		}
		p = &g->panics[g->npanic++];
		memset(p, 0, sizeof *p);
		p->addr = a;
		p->arg = u64(rec, l->p.arg);
		p->argp = u64(rec, l->p.argp);
		p->pc = u64(rec, l->p.pc);
		p->defer = u64(rec, l->p.defer);
		p->recovered = rec[l->p.recovered];
		p->aborted = rec[l->p.aborted];
		p->goexit = rec[l->p.goexit];
		msglen = l->p.size - l->p.msg;
		if (msglen > 256)
			msglen = 256;
		memcpy(p->msg, rec + l->p.msg, msglen);
		p->msg[msglen] = 0;
	}
}

int dr_walk(struct dr_target *t, const struct dr_runtime *rt, uint64_t bias, struct dr_state *st,
	    char *err, size_t errlen)
{
	const struct dr_layout *l = &rt->lay;
	struct brent b = { 0, 1, 0 };
	uint8_t rec[MAXREC];
	uint64_t head, a;
	size_t total = 0, cap = 0;
	int i;

	memset(st, 0, sizeof *st);
	st->bias = bias;
	if (!sane(l)) {
		dr_setf(err, errlen, "the record layout is corrupt (a field lies outside its record)");
		return DR_ECORRUPT;
	}
	if (dr_read(t, l->allgs + bias, &head, 8) != 8) {
		dr_setf(err, errlen, "cannot read allgs at %#lx", (unsigned long)(l->allgs + bias));
		return DR_ECORRUPT;
	}
	for (a = head; a; a = u64(rec, l->g.alllink)) {
		struct dr_g *g;

		if (cycles(&b, a)) {
			dr_warn("cycle in the allgs list; thread list cut short");
			st->warnings++;
			break;
		}
		if (st->ng >= DR_MAX_G) {
			dr_warn("more than %d thread records; list cut short", DR_MAX_G);
			st->warnings++;
			break;
		}
		if (dr_read(t, a, rec, l->g.size) != l->g.size) {
			dr_warn("thread record at %#lx unreadable; thread list cut short", (unsigned long)a);
			st->warnings++;
			break;
		}
		if (st->ng == (int)cap) {
			cap = cap ? 2 * cap : 16;
			if (!(g = realloc(st->gs, cap * sizeof *g)))
				break;
			st->gs = g;
		}
		g = &st->gs[st->ng++];
		memset(g, 0, sizeof *g);
		g->addr = a;
		g->tid = (int32_t)u32(rec, l->g.tid);
		g->status = u32(rec, l->g.status);
		memcpy(g->name, rec + l->g.name, 16);
		g->name[16] = 0;
		for (i = 0; i < dr_nthreads(t); i++)
			if (dr_thread(t, i)->tid == g->tid)
				g->in_target = 1;
		if (g->status == DEFER_G_DEAD)
			continue;
		readdefers(t, l, u64(rec, l->g.defer), g, &total);
		readpanics(t, l, u64(rec, l->g.panic), g);
		if (g->warning) {
			dr_warn("thread %d: %s", g->tid, g->warning);
			st->warnings++;
		}
	}
	return 0;
}

void dr_state_free(struct dr_state *st)
{
	int i;

	for (i = 0; i < st->ng; i++) {
		free(st->gs[i].defers);
		free(st->gs[i].panics);
	}
	free(st->gs);
	memset(st, 0, sizeof *st);
}

int dr_is_runtime(struct dr_elf *e)
{
	uint64_t at;

	/* The symbols are cheap; the table is searched for by its magic
	 * number through the file's data when they are gone (stripped). */
	return dr_sym(e, "allgs", NULL, NULL) == 0 || dr_sym(e, "deferproc", NULL, NULL) == 0 ||
	       dr_offsets_table(e, &at) == 0;
}

int dr_target_runtime(struct dr_target *t, struct dr_runtime *rt, uint64_t *bias, char *err, size_t errlen)
{
	struct dr_elf *exe = dr_target_exe(t);
	int i, pass;

	if (dr_is_runtime(exe)) {
		*bias = dr_target_exe_bias(t);
		return dr_runtime_find(exe, rt, err, errlen);
	}
	/* A shared libdefer: look at mapped files named like it first. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < dr_nimages(t); i++) {
			struct dr_image *im = dr_image(t, i);
			const char *base = strrchr(im->path, '/');

			base = base ? base + 1 : im->path;
			if ((strstr(base, "libdefer") != NULL) != (pass == 0) || im->start == UINT64_MAX)
				continue;
			if (!dr_image_elf(im) || im->elf == exe || !dr_is_runtime(im->elf))
				continue;
			*bias = im->bias;
			return dr_runtime_find(im->elf, rt, err, errlen);
		}
	dr_setf(err, errlen, "%s: not linked with libdefer (no libdefer in the process either)",
		dr_elf_path(exe));
	return DR_ENODEFER;
}
