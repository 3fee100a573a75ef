/* SPDX-License-Identifier: MIT */
/*
 * walk.c - every thread's deferred calls and panics, read from a target.
 *
 * The target is untrusted.  The validity rules V1-V10 of docs/abi.md
 * ("Validity rules"), which gdb's extension implements too, end a chain at
 * its first repeated record, wild pointer, absurd count, unreadable or
 * garbage record, with the rule's words in the thread's warning; global
 * budgets (struct dr_limits) bound the whole walk, so that many threads
 * sharing one long chain cost no more than one thread holding it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"
#include "defer_abi.h"

#define MAXREC 4096   /* larger records than this are a corrupt layout */

const char *const dr_budget_option[] = { "threads", "--max-threads", "records", "--max-records",
					 "panics", "--max-panics", NULL };

double dr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The records of one chain seen so far: an open-addressing set whose
 * entries carry the chain's number, so that starting a chain costs nothing
 * and an entry of an older chain counts as empty.
 */
struct seen { struct { uint64_t addr; uint32_t chain; } *v; size_t cap, n; uint32_t chain; };

static void newchain(struct seen *s)
{
	s->chain++;
	s->n = 0;
}

static size_t slot(const struct seen *s, uint64_t a)
{
	size_t i = (size_t)((a * 0x9e3779b97f4a7c15ull) >> 20) & (s->cap - 1);

	while (s->v[i].chain == s->chain && s->v[i].addr != a)
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* 1 if a was seen in this chain (else records it), -1 out of memory. */
static int repeated(struct seen *s, uint64_t a)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct seen o = *s;
		size_t j;

		s->cap = o.cap ? 2 * o.cap : 1024;
		if (!(s->v = calloc(s->cap, sizeof *s->v))) {
			*s = o;
			return -1;
		}
		for (j = 0; j < o.cap; j++)
			if (o.v[j].chain == s->chain)
				s->v[slot(s, o.v[j].addr)] = o.v[j];
		free(o.v);
	}
	i = slot(s, a);
	if (s->v[i].chain == s->chain)
		return 1;
	s->v[i].addr = a;
	s->v[i].chain = s->chain;
	s->n++;
	return 0;
}

/* V4: a link that is misaligned or not a user-space address. */
static int wild(uint64_t a)
{
	return (a & 7) || a >= 1ull << 47;
}

static uint64_t u64(const uint8_t *rec, uint32_t off) { uint64_t v; memcpy(&v, rec + off, 8); return v; }
static uint32_t u32(const uint8_t *rec, uint32_t off) { uint32_t v; memcpy(&v, rec + off, 4); return v; }

/* Every field must lie inside its record, and records be of a plausible
 * size.  0, or -1 with the first offending field in why.  The fields and
 * their lengths are defer_abi.h's lists. */
int dr_layout_check(const struct dr_layout *l, char *why, size_t n)
{
#define TAG(S) (#S + sizeof "struct") /* "struct g" -> "g" */
#define CHECK_F(S, type, member, dims, name, code) { TAG(S), #name, sizeof(((S *)0)->member) },
#define CHECK_H(S, type, member, dims)
#define CHECK_B(S, after, name, bit0, bit1) { TAG(S), #name, 1 },
#define CHECK(block, S, list) list(CHECK_F, CHECK_H, CHECK_B, S)
#define RECORD(block, S, list) { TAG(S), &l->block.size, sizeof l->block / 4 },
	static const struct { const char *rec, *name; uint32_t len; } f[] = { DEFER_RECORDS(CHECK) };
	const struct { const char *name; const uint32_t *v; size_t n; } r[] = { DEFER_RECORDS(RECORD) };
	size_t i, j, k = 0;

	for (i = 0; i < sizeof r / sizeof *r; i++)
		if (!r[i].v[0] || r[i].v[0] > MAXREC) {
			dr_setf(why, n, "struct %s has size %u", r[i].name, r[i].v[0]);
			return -1;
		}
	for (i = 0; i < sizeof r / sizeof *r; i++)
		for (j = 1; j < r[i].n; j++, k++)
			if (!dr_inside(r[i].v[j], f[k].len, r[i].v[0])) {
				dr_setf(why, n, "%s.%s at offset %u is outside its %u-byte record", f[k].rec,
					f[k].name, r[i].v[j], r[i].v[0]);
				return -1;
			}
	return 0;
}

static int sane(const struct dr_layout *l)
{
	return dr_layout_check(l, NULL, 0) == 0;
}

/* V7: why a _defer cannot be a real record (the first reason, in the
 * rule's order), or NULL.  why gets the reason. */
static const char *garbage(const struct dr_layout *l, const uint8_t *rec, char *why, size_t n)
{
	uint64_t pc = u64(rec, l->d.pc), sp = u64(rec, l->d.sp), link = u64(rec, l->d.link);
	unsigned nargs = rec[l->d.nargs], flags = rec[l->d.flags];

	if (!sp || !pc)
		snprintf(why, n, "pc 0x%lx sp 0x%lx: every record has both; zeroed memory, e.g. a page "
			 "missing from a core file", (unsigned long)pc, (unsigned long)sp);
	else if (nargs > DEFER_MAXARGS)
		snprintf(why, n, "nargs=%u, at most %d", nargs, DEFER_MAXARGS);
	else if (flags & ~(unsigned)(DEFER_FLAG_STARTED | DEFER_FLAG_HEAP))
		snprintf(why, n, "flags %#x", flags);
	else if (link & 7)
		snprintf(why, n, "misaligned link 0x%lx", (unsigned long)link);
	else if (sp & 7)
		snprintf(why, n, "misaligned sp 0x%lx", (unsigned long)sp);
	else
		return NULL;
	return why;
}

static void unpack(const struct dr_layout *l, const uint8_t *rec, uint64_t a, struct dr_defer *d)
{
	d->addr = a;
	d->fn = u64(rec, l->d.fn);
	d->pc = u64(rec, l->d.pc);
	d->sp = u64(rec, l->d.sp);
	d->nargs = rec[l->d.nargs];
	memcpy(d->kind, rec + l->d.kind, sizeof d->kind);
	d->started = (rec[l->d.flags] & DEFER_FLAG_STARTED) != 0;
	d->heap = (rec[l->d.flags] & DEFER_FLAG_HEAP) != 0;
	/* V9: _panic is meaningful only once the call started; a record built
	 * into a mark may hold stack bytes there. */
	d->panic = d->started ? u64(rec, l->d.panic) : 0;
	memcpy(d->iregs, rec + l->d.iregs, sizeof d->iregs);
	memcpy(d->fregs, rec + l->d.fregs, sizeof d->fregs);
}

int dr_read_defer(struct dr_target *t, const struct dr_layout *l, uint64_t a, struct dr_defer *d)
{
	uint8_t rec[MAXREC];
	char why[160];

	if (!sane(l) || !a || wild(a) || dr_read(t, a, rec, l->d.size) != l->d.size ||
	    garbage(l, rec, why, sizeof why))
		return DR_ECORRUPT;
	unpack(l, rec, a, d);
	return 0;
}

/* The state of one walk. */
struct walk {
	struct dr_target *t;
	const struct dr_layout *l;
	const struct dr_limits *lim;
	struct dr_state *st;
	struct seen seen, gseen;   /* this chain's records; allgs entries */
	uint64_t records, panics;
	size_t textleft; /* bytes of whole panic messages still to read (DR_TEXT_BUDGET) */
	int32_t *tids;   /* the target's threads, sorted */
	int ntids;
};

static void warn(struct dr_g *g, int corrupt, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(struct dr_g *g, int corrupt, const char *fmt, ...)
{
	size_t len = strlen(g->warning);
	va_list ap;

	if (len && len + 2 < sizeof g->warning)
		len += (size_t)snprintf(g->warning + len, sizeof g->warning - len, "; ");
	va_start(ap, fmt);
	if (len < sizeof g->warning)
		vsnprintf(g->warning + len, sizeof g->warning - len, fmt, ap);
	va_end(ap);
	g->corrupt |= corrupt;
}

/* Stop the walk at a budget: the line says which one and how to raise it. */
static void budget(struct walk *w, const char *name, const char *what, uint64_t n)
{
	const char *opt = "--max-time";
	int i;

	for (i = 0; dr_budget_option[i]; i += 2)
		if (!strcmp(dr_budget_option[i], name))
			opt = dr_budget_option[i + 1];
	w->st->budget = name;
	if (!strcmp(name, "time"))
		snprintf(w->st->budget_msg, sizeof w->st->budget_msg,
			 "stopped at the time budget after %lu %s; raise it with %s SECONDS",
			 (unsigned long)n, what, opt);
	else
		snprintf(w->st->budget_msg, sizeof w->st->budget_msg,
			 "stopped at the %s budget: %lu %s read; raise it with %s N", name,
			 (unsigned long)n, what, opt);
}

static int late(struct walk *w, uint64_t n)
{
	return w->lim->deadline && (n & 1023) == 0 && dr_now() > w->lim->deadline;
}

/* Is the walk over a budget before reading one more record of a chain?
 * n records of the kind read so far, lim of them allowed; kind names the
 * budget ("records", "panics"), list and what the records in the words. */
static int spent(struct walk *w, struct dr_g *g, uint64_t n, uint64_t lim, const char *kind,
		 const char *list, const char *what)
{
	if (n >= lim) {
		warn(g, 0, "%s cut short by the %s budget", list, kind);
		budget(w, kind, what, n);
		return 1;
	}
	if (late(w, n)) {
		warn(g, 0, "%s cut short by the time budget", list);
		budget(w, "time", what, n);
		return 1;
	}
	return 0;
}

static void readdefers(struct walk *w, uint64_t a, struct dr_g *g)
{
	const struct dr_layout *l = w->l;
	uint8_t rec[MAXREC];
	char why[160];
	size_t cap = 0;
	int r;

	/* The checks of each link in V2's order: budget, V3, V4, V5, V6, V7. */
	newchain(&w->seen);
	for (; a; a = u64(rec, l->d.link)) {
		struct dr_defer *d;

		if (spent(w, g, w->records, w->lim->records, "records", "list",
			  "deferred-call records"))
			return;
		if ((r = repeated(&w->seen, a)) != 0) {
			if (r < 0)
				warn(g, 0, "out of memory");
			else
				warn(g, 1, "corrupted defer chain: cycle: the link of record #%d points back to 0x%lx",
				     g->ndefer, (unsigned long)a);
			return;
		}
		if (wild(a)) {
			warn(g, 1, "corrupted defer chain: wild pointer 0x%lx in the link of record #%d",
			     (unsigned long)a, g->ndefer);
			return;
		}
		if (g->ndefer >= DR_MAX_CHAIN_DEFERS) {
			warn(g, 0, "defer chain longer than %d records: stopped (a corrupted chain?)",
			     DR_MAX_CHAIN_DEFERS);
			return;
		}
		if (dr_read(w->t, a, rec, l->d.size) != l->d.size) {
			warn(g, 0, "defer chain unreadable at record %d (0x%lx): cannot read %u bytes at "
			     "0x%lx; the list may be truncated", g->ndefer + 1, (unsigned long)a, l->d.size,
			     (unsigned long)a);
			return;
		}
		if (garbage(l, rec, why, sizeof why)) {
			warn(g, 1, "corrupted defer chain: record %d at 0x%lx holds garbage (%s)", g->ndefer + 1,
			     (unsigned long)a, why);
			return;
		}
		if (g->ndefer == (int)cap) {
			cap = cap ? 2 * cap : 16;
			if (!(d = realloc(g->defers, cap * sizeof *d))) {
				warn(g, 0, "out of memory");
				return;
			}
			g->defers = d;
		}
		d = &g->defers[g->ndefer++];
		w->records++;
		unpack(l, rec, a, d);
	}
}

/* ABI 2: a message longer than msg's 255 bytes is whole at _panic.text
 * (textlen bytes).  Read at most DR_TEXT_MAX of it, DR_TEXT_BUDGET in all,
 * and say what is missing (docs/abi.md V10); no text, a wild pointer or
 * the budget spent leave msg alone. */
static void wholemsg(struct walk *w, const uint8_t *rec, struct dr_panic *p)
{
	const struct dr_layout *l = w->l;
	uint64_t text, len;
	size_t n, cap;

	if (strlen(p->msg) < DEFER_PANIC_MSG - 1)
		return;
	text = u64(rec, l->p.text);
	len = u64(rec, l->p.textlen);
	if (len < DEFER_PANIC_MSG || wild(text) || !w->textleft)
		return;
	n = len < DR_TEXT_MAX ? (size_t)len : DR_TEXT_MAX;
	if (n > w->textleft)
		n = w->textleft;
	cap = (n > sizeof p->msg ? n : sizeof p->msg) + 64;
	if (!(p->text = malloc(cap)))
		return;
	p->textlen = len;
	if (dr_read(w->t, text, p->text, n) != n) {
		snprintf(p->text, cap, "%s [... %llu more bytes: unreadable]", p->msg,
			 (unsigned long long)(len - strlen(p->msg)));
		return;
	}
	w->textleft -= n;
	p->text[n] = 0;
	p->text[strnlen(p->text, n)] = 0;
	if (n < len)
		snprintf(p->text + strlen(p->text), 64, " [... %llu more bytes not shown]",
			 (unsigned long long)(len - n));
}

/* V8: which of the three flag bytes hold more than 1 ("aborted=2 ...",
 * in this order), or NULL. */
static const char *panicgarbage(const struct dr_layout *l, const uint8_t *rec, char *why, size_t n)
{
	const struct { const char *name; uint32_t off; } f[] = {
		{ "aborted", l->p.aborted }, { "goexit", l->p.goexit }, { "recovered", l->p.recovered },
	};
	size_t i, len = 0;

	why[0] = 0;
	for (i = 0; i < sizeof f / sizeof *f; i++)
		if (rec[f[i].off] > 1 && len < n)
			len += (size_t)snprintf(why + len, n - len, "%s%s=%u", len ? " " : "", f[i].name,
						rec[f[i].off]);
	return why[0] ? why : NULL;
}

static void readpanics(struct walk *w, uint64_t a, struct dr_g *g)
{
	const struct dr_layout *l = w->l;
	uint8_t rec[MAXREC];
	char why[80];
	int cap = 0, r;

	/* The checks of each link in V2's order: budget, V3, V4, V5, V6, V8. */
	newchain(&w->seen);
	for (; a; a = u64(rec, l->p.link)) {
		struct dr_panic *p;
		size_t msglen;

		if (spent(w, g, w->panics, w->lim->panics, "panics", "panic list", "panic records"))
			return;
		if ((r = repeated(&w->seen, a)) != 0) {
			if (r < 0)
				warn(g, 0, "out of memory");
			else
				warn(g, 1, "corrupted panic chain: cycle: the link of panic %d points back to 0x%lx",
				     g->npanic, (unsigned long)a);
			return;
		}
		if (wild(a)) {
			warn(g, 1, "corrupted panic chain: wild pointer 0x%lx", (unsigned long)a);
			return;
		}
		if (g->npanic >= DR_MAX_CHAIN_PANICS) {
			warn(g, 0, "more than %d nested panics: stopped (the most libdefer lists)",
			     DR_MAX_CHAIN_PANICS);
			return;
		}
		if (dr_read(w->t, a, rec, l->p.size) != l->p.size) {
			warn(g, 0, "panic chain unreadable at panic %d at 0x%lx (cannot read %u bytes at 0x%lx)",
			     g->npanic + 1, (unsigned long)a, l->p.size, (unsigned long)a);
			return;
		}
		if (panicgarbage(l, rec, why, sizeof why)) {
			warn(g, 1, "corrupted panic chain: panic %d at 0x%lx holds garbage (%s)", g->npanic + 1,
			     (unsigned long)a, why);
			return;
		}
		if (g->npanic == cap) {
			cap = cap ? 2 * cap : 4;
			if (!(p = realloc(g->panics, cap * sizeof *p))) {
				warn(g, 0, "out of memory");
				return;
			}
			g->panics = p;
		}
		p = &g->panics[g->npanic++];
		w->panics++;
		memset(p, 0, sizeof *p);
		p->addr = a;
		p->arg = u64(rec, l->p.arg);
		p->vtype = u64(rec, l->p.vtype);
		p->argp = u64(rec, l->p.argp);
		p->pc = u64(rec, l->p.pc);
		p->defer = u64(rec, l->p.defer);
		p->recovered = rec[l->p.recovered];
		p->aborted = rec[l->p.aborted];
		p->goexit = rec[l->p.goexit];
		msglen = l->p.size - l->p.msg;
		if (msglen > DEFER_PANIC_MSG)
			msglen = DEFER_PANIC_MSG;
		memcpy(p->msg, rec + l->p.msg, msglen);
		p->msg[msglen] = 0;
		wholemsg(w, rec, p);
	}
}

/* The target's threads sorted once: matching n records is O(n log n). */
static int sorttids(struct walk *w)
{
	int i;

	w->ntids = dr_nthreads(w->t);
	if (!(w->tids = malloc((w->ntids + 1) * sizeof *w->tids)))
		return -1;
	for (i = 0; i < w->ntids; i++)
		w->tids[i] = dr_thread(w->t, i)->tid;
	qsort(w->tids, w->ntids, sizeof *w->tids, dr_cmptid);
	return 0;
}

/* End allgs at a validity rule: the line goes to stderr and to st->error. */
static void gstop(struct dr_state *st, int corrupt, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void gstop(struct dr_state *st, int corrupt, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->error, sizeof st->error, fmt, ap);
	va_end(ap);
	dr_warn("%s", st->error);
	st->corrupt += corrupt;
}

/* One allgs entry; 0 to go on, -1 to end the list.  The checks in V2's
 * order: budget, V3, V4, V5, V6. */
static int readg(struct walk *w, uint64_t a, uint8_t *rec, size_t *cap)
{
	const struct dr_layout *l = w->l;
	struct dr_state *st = w->st;
	struct dr_g *g;
	int r;

	if ((uint64_t)st->ng >= w->lim->threads) {
		budget(w, "threads", "thread records", (uint64_t)st->ng);
		return -1;
	}
	if (late(w, (uint64_t)st->ng)) {
		budget(w, "time", "thread records", (uint64_t)st->ng);
		return -1;
	}
	if ((r = repeated(&w->gseen, a)) < 0) {
		dr_warn("out of memory reading allgs");
		return -1;
	}
	if (r) {
		gstop(st, 1, "allgs: cycle: entry %d links back to 0x%lx", st->ng, (unsigned long)a);
		return -1;
	}
	if (wild(a)) {
		gstop(st, 1, "allgs: wild pointer 0x%lx after %d entries", (unsigned long)a, st->ng);
		return -1;
	}
	if (st->ng >= DR_MAX_G) {
		gstop(st, 0, "allgs: more than %d thread records: stopped (the most libdefer reads)",
		      DR_MAX_G);
		return -1;
	}
	if (dr_read(w->t, a, rec, l->g.size) != l->g.size) {
		gstop(st, 0, "allgs: entry %d: cannot read %u bytes at 0x%lx", st->ng + 1, l->g.size,
		      (unsigned long)a);
		return -1;
	}
	if (st->ng == (int)*cap) {
		*cap = *cap ? 2 * *cap : 16;
		if (!(g = realloc(st->gs, *cap * sizeof *g)))
			return -1;
		st->gs = g;
	}
	g = &st->gs[st->ng++];
	memset(g, 0, sizeof *g);
	g->addr = a;
	g->tid = (int32_t)u32(rec, l->g.tid);
	g->status = u32(rec, l->g.status);
	memcpy(g->name, rec + l->g.name, 16);
	g->name[16] = 0;
	g->hist = u64(rec, l->ghist.hist);
	g->recovered = u64(rec, l->ghist.recovered);
	g->histcap = u32(rec, l->ghist.histcap);
	g->in_target = bsearch(&g->tid, w->tids, w->ntids, sizeof *w->tids, dr_cmptid) != NULL;
	return 0;
}

int dr_walk(struct dr_target *t, const struct dr_runtime *rt, uint64_t bias, const struct dr_limits *lim,
	    struct dr_state *st, char *err, size_t errlen)
{
	static const struct dr_limits defaults = { DR_MAX_G, DR_MAX_DEFERS, DR_MAX_PANICS, 0 };
	struct walk w = { t, &rt->lay, lim ? lim : &defaults, st, { 0 }, { 0 }, 0, 0, DR_TEXT_BUDGET,
			  NULL, 0 };
	const struct dr_layout *l = &rt->lay;
	uint8_t grec[MAXREC];
	uint64_t head, a;
	size_t cap = 0;

	memset(st, 0, sizeof *st);
	st->bias = bias;
	if (!sane(l)) {
		dr_setf(err, errlen, "the record layout is corrupt (a field lies outside its record)");
		return DR_ECORRUPT;
	}
	if (dr_read(t, l->allgs + bias, &head, 8) != 8) {
		dr_setf(err, errlen, "cannot read allgs at 0x%lx", (unsigned long)(l->allgs + bias));
		return DR_ECORRUPT;
	}
	if (sorttids(&w) != 0)
		return DR_ENOMEM;
	newchain(&w.gseen);
	for (a = head; a && !st->budget; a = u64(grec, l->g.alllink)) {
		struct dr_g *g;

		if (readg(&w, a, grec, &cap) != 0)
			break;
		g = &st->gs[st->ng - 1];
		if (g->status != DEFER_G_DEAD) {
			readdefers(&w, u64(grec, l->g.defer), g);
			if (!st->budget)
				readpanics(&w, u64(grec, l->g.panic), g);
		}
		if (g->warning[0]) {
			dr_warn("thread %d: %s", g->tid, g->warning);
			st->warnings++;
			st->corrupt += g->corrupt;
		}
	}
	free(w.tids);
	free(w.seen.v);
	free(w.gseen.v);
	return 0;
}
void dr_state_free(struct dr_state *st)
{
	int i;

	for (i = 0; i < st->ng; i++) {
		free(st->gs[i].defers);
		for (int j = 0; j < st->gs[i].npanic; j++)
			free(st->gs[i].panics[j].text);
		free(st->gs[i].panics);
	}
	free(st->gs);
	memset(st, 0, sizeof *st);
}
