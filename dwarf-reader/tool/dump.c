/* SPDX-License-Identifier: MIT */
/*
 * dump.c - `defer-inspect dump`: every thread's pending deferred calls and
 * panics, from a core file or a live process.  The text mirrors gdb's
 * `info defers all` / `info panics`; --json carries the same data.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "tool.h"
#include "defer_abi.h"

/* One decoded argument. */
struct arg { const char *name, *type; char value[200]; };

/* Doubles as Python's repr, which gdb's extension prints: the fewest
 * digits that read back the same, positional with ".0" on whole numbers
 * when the exponent is in [-4, 16), else 1.5e+16; floats with %.9g, as the
 * extension does. */
static void fmtdouble(char *buf, size_t n, double v)
{
	int p, e;

	if (!isfinite(v)) {
		snprintf(buf, n, "%s", isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
		return;
	}
	for (p = 1; p < 17; p++) {
		snprintf(buf, n, "%.*e", p - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, n, "%.*e", p - 1, v);
	e = atoi(strchr(buf, 'e') + 1);
	if (e < -4 || e >= 16)
		return;
	snprintf(buf, n, "%.*f", p - 1 - e > 0 ? p - 1 - e : 0, v);
	if (!strchr(buf, '.'))
		snprintf(buf + strlen(buf), n - strlen(buf), ".0");
}

static void fmtfloat(char *buf, size_t n, float v)
{
	snprintf(buf, n, "%.9g", (double)v);
}

static void value(struct dr_target *t, enum dr_class cls, unsigned size, int charp, uint64_t raw,
		  char *buf, size_t n)
{
	switch (cls) {
	case DR_CLASS_FLOAT:
		if (size == 4) {
			float f;
			uint32_t lo = (uint32_t)raw;
			memcpy(&f, &lo, 4);
			fmtfloat(buf, n, f);
		} else {
			double d;
			memcpy(&d, &raw, 8);
			fmtdouble(buf, n, d);
		}
		return;
	case DR_CLASS_BOOL:
		snprintf(buf, n, "%s", (raw & 0xff) ? "true" : "false");
		return;
	case DR_CLASS_SIGNED: {
		int64_t v = size == 1 ? (int8_t)raw : size == 2 ? (int16_t)raw : size == 4 ? (int32_t)raw
											     : (int64_t)raw;
		snprintf(buf, n, "%lld", (long long)v);
		return;
	}
	case DR_CLASS_UNSIGNED: {
		uint64_t v = size == 1 ? (uint8_t)raw : size == 2 ? (uint16_t)raw : size == 4 ? (uint32_t)raw
											       : raw;
		snprintf(buf, n, "%llu", (unsigned long long)v);
		return;
	}
	case DR_CLASS_POINTER:
		if (!raw) {
			snprintf(buf, n, "0x0");
		} else if (charp) {
			/* One byte more than shown, so that c_str can tell a longer
			 * string and mark it. */
			char s[66] = { 0 };
			size_t got = dr_read(t, raw, s, 65), len;
			FILE *f;

			s[got] = 0;
			snprintf(buf, n, "%#lx", (unsigned long)raw);
			if (got && (f = fmemopen(buf + strlen(buf), n - strlen(buf), "w"))) {
				len = strnlen(s, 65);
				fputc(' ', f);
				c_str(f, s, len < 64 ? len : 64);
				fclose(f);
			}
		} else {
			snprintf(buf, n, "%#lx", (unsigned long)raw);
		}
		return;
	default:
		snprintf(buf, n, "%#lx", (unsigned long)raw);
	}
}

static enum dr_class kindclass(uint8_t k)
{
	switch (k & DEFER_ARG_CLASS) {
	case DEFER_ARG_SIGNED: return DR_CLASS_SIGNED;
	case DEFER_ARG_UNSIGNED: return DR_CLASS_UNSIGNED;
	case DEFER_ARG_POINTER: return DR_CLASS_POINTER;
	case DEFER_ARG_FLOAT: case DEFER_ARG_DOUBLE: return DR_CLASS_FLOAT;
	case DEFER_ARG_BOOL: return DR_CLASS_BOOL;
	}
	return DR_CLASS_OTHER;
}

/*
 * Named parameters take their register class from the function's DWARF
 * (the call converted the arguments to them); the rest, and every argument
 * of a function without DWARF, from the kind bytes the defer site wrote,
 * a variadic function's extra ones with the default promotions.
 */
static int decode(struct dr_target *t, const struct dr_defer *d, const struct dr_func *f, struct arg *a)
{
	int i, ni = 0, nf = 0;

	for (i = 0; i < d->nargs; i++) {
		enum dr_class cls;
		unsigned size;
		int charp = 0;
		uint64_t raw;

		a[i].name = NULL;
		a[i].type = NULL;
		if (f && i < f->nparams && f->params[i].type.cls != DR_CLASS_NONE &&
		    f->params[i].type.cls != DR_CLASS_OTHER) {
			cls = f->params[i].type.cls;
			size = f->params[i].type.size;
			charp = f->params[i].type.is_char_ptr;
			a[i].name = f->params[i].name;
			a[i].type = f->params[i].type.name;
		} else {
			cls = kindclass(d->kind[i]);
			size = d->kind[i] & DEFER_ARG_SIZE;
			if (f && i < f->nparams) {
				a[i].name = f->params[i].name;
				a[i].type = f->params[i].type.name;
			}
			if (f && f->variadic && i >= f->nparams) {
				if (cls == DR_CLASS_FLOAT)
					size = 8;
				else if (cls != DR_CLASS_POINTER && size < 4)
					size = 4;
			}
		}
		if (cls == DR_CLASS_FLOAT) {
			raw = nf < 6 ? d->fregs[nf] : 0;
			nf++;
		} else {
			raw = ni < 6 ? d->iregs[ni] : 0;
			ni++;
		}
		value(t, cls, size ? size : 8, charp, raw, a[i].value, sizeof a[i].value);
	}
	return d->nargs;
}

/*
 * Which of g's panics (or deferred calls) is at addr: 1-based, 0 if none.
 * Each record names another by address, so a thread is indexed once
 * (sorted addresses) rather than scanned per record: 10^6 records and
 * 4,096 panics naming each other cost n log n, not their product.
 */
struct slot { uint64_t addr; int index; };
static struct { const struct dr_g *g; struct slot *defers, *panics; } ix;

static int cmpslot(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

_Static_assert(offsetof(struct dr_defer, addr) == 0 && offsetof(struct dr_panic, addr) == 0, "addr first");

static int sorted(struct slot **v, size_t n, const void *recs, size_t size)
{
	struct slot *w = realloc(*v, (n + 1) * sizeof *w);
	size_t i;

	if (!w)
		return -1;
	*v = w;
	for (i = 0; i < n; i++) {
		memcpy(&w[i].addr, (const char *)recs + i * size, 8);
		w[i].index = (int)i + 1;
	}
	qsort(w, n, sizeof *w, cmpslot);
	return 0;
}

static int lookup(const struct dr_g *g, uint64_t addr, int panic)
{
	struct slot key = { addr, 0 }, *hit;

	if (!addr)
		return 0;
	if (ix.g != g) {
		ix.g = NULL;
		if (sorted(&ix.defers, g->ndefer, g->defers, sizeof *g->defers) ||
		    sorted(&ix.panics, g->npanic, g->panics, sizeof *g->panics))
			return 0;
		ix.g = g;
	}
	hit = panic ? bsearch(&key, ix.panics, g->npanic, sizeof key, cmpslot)
		    : bsearch(&key, ix.defers, g->ndefer, sizeof key, cmpslot);
	return hit ? hit->index : 0;
}

static int panicindex(const struct dr_g *g, uint64_t addr) { return lookup(g, addr, 1); }
static int deferindex(const struct dr_g *g, uint64_t addr) { return lookup(g, addr, 0); }

static const char *gstatus(const struct dr_g *g)
{
	return g->status == DEFER_G_DEAD ? "dead" : g->status == DEFER_G_RUNNING ? "running" : "unknown";
}

/* The deferred function's name (in *fw) and its decoded arguments. */
static int resolve(struct dr_target *t, const struct dr_defer *d, struct where *fw, struct arg a[6])
{
	struct dr_image *im = dr_image_at(t, d->fn);
	const struct dr_func *f = NULL;

	where(t, d->fn, 0, fw);
	if (im)
		dr_func_at(im->elf, d->fn - im->bias, &f);
	return decode(t, d, f, a);
}

/* "fn(a=1, b=0x... \"x\")", as gdb's extension formats a call. */
static void call(struct dr_target *t, const struct dr_defer *d)
{
	struct where fw;
	struct arg a[6];
	int n = resolve(t, d, &fw, a), k;

	/* Not a function's entry (garbage, or a hand-made pointer): the
	 * address and where it points, as gdb's extension prints it. */
	if (fw.func && fw.off) {
		printf("%#lx <", (unsigned long)d->fn);
		c_text(stdout, fw.func);
		printf("+%lu>", (unsigned long)fw.off);
	} else if (fw.func) {
		c_text(stdout, fw.func);
	} else {
		printf("%#lx", (unsigned long)d->fn);
	}
	printf("(");
	for (k = 0; k < n; k++) {
		printf("%s", k ? ", " : "");
		if (a[k].name) {
			c_text(stdout, a[k].name);
			printf("=");
		}
		printf("%s", a[k].value);
	}
	printf(")");
}

static void site(struct dr_target *t, uint64_t pc)
{
	struct where w;

	where(t, pc, 1, &w);
	c_text(stdout, w.func ? w.func : "??");
	printf(" at ");
	if (w.file) {
		c_text(stdout, w.file);
		printf(":%u", w.line);
	} else
		printf("%#lx", (unsigned long)pc);
}

/* The record's state in gdb's words (snapshot.py Defer.state); d->panic is
 * already 0 unless started (docs/abi.md V9). */
static const char *state(const struct dr_g *g, const struct dr_defer *d, char *buf, size_t n)
{
	int pi = panicindex(g, d->panic);

	if (!d->started)
		return "pending";
	if (!d->panic)
		return "running";
	if (pi && g->panics[pi - 1].goexit)
		return "run by defer_goexit";
	if (pi)
		snprintf(buf, n, "run by panic %d", pi);
	else
		snprintf(buf, n, "run by a panic (%#lx)", (unsigned long)d->panic);
	return buf;
}

static const char *panicstate(const struct dr_panic *p)
{
	return p->goexit ? "goexit" : p->recovered ? "recovered" : p->aborted ? "aborted" : "running";
}

static void textdefer(struct dr_target *t, const struct dr_g *g, int i)
{
	const struct dr_defer *d = &g->defers[i];
	char buf[64];

	printf("  defer %d: ", i + 1);
	call(t, d);
	printf("  [%s]\n           deferred by ", state(g, d, buf, sizeof buf));
	site(t, d->pc);
	printf("\n");
}

static const struct dr_runtime *cur_rt;   /* for records off the chain */

/* The message to show: the whole one (ABI 2) when the walk read it,
 * saying what is missing when it could not read it all. */
static const char *message(const struct dr_panic *p)
{
	return p->text ? p->text : p->msg;
}

static int showfields;                    /* --full */

/*
 * panic_value's value typed (docs/defer-inspect.md): the type of the site
 * object at _panic.vtype, from the DWARF of the image holding it.  Untyped,
 * why says so: "not recorded" (no object: panic(), or a value passed on
 * by hand), "no debug info" (none for the panic's pc), "site not found".
 */
struct vinfo { const char *why; struct dr_vartype vt; };

static void valuetype(struct dr_target *t, uint64_t vtype, uint64_t pc, struct vinfo *v)
{
	struct dr_image *im = vtype ? dr_image_at(t, vtype) : NULL;
	struct dr_elf *e = im ? dr_image_elf(im) : NULL;
	/* The panic's pc (a return address), link-time, if the object's
	 * image holds it too (a repanic's may not): its unit is searched first. */
	uint64_t hint = im && dr_image_at(t, pc - 1) == im ? pc - 1 - im->bias : 0;
	const char *file;
	unsigned line;

	v->why = NULL;
	if (!vtype)
		v->why = "not recorded";
	else if (!e || (hint ? dr_line(e, hint, &file, &line) != 0 : !dr_has_dwarf(e)))
		v->why = "no debug info";
	else if (dr_var_type_at(e, vtype - im->bias, hint, &v->vt) != 0)
		v->why = "site not found";
}

/* A field of the pointee at base, as gdb prints it; "{...}" for aggregates. */
static void fieldvalue(struct dr_target *t, uint64_t base, const struct dr_field *f, char *buf,
		       size_t n)
{
	uint64_t raw = 0;
	unsigned size = f->type.size;

	if (f->type.cls == DR_CLASS_OTHER || f->type.cls == DR_CLASS_NONE || !size || size > 8)
		snprintf(buf, n, "{...}");
	else if (dr_read(t, base + f->offset, &raw, size) != size)
		snprintf(buf, n, "<unreadable>");
	else
		value(t, f->type.cls, size, f->type.is_char_ptr, raw, buf, n);
}

static void textvalue(struct dr_target *t, const struct dr_panic *p)
{
	struct vinfo v;
	char buf[200];
	int k;

	valuetype(t, p->vtype, p->pc, &v);
	if (v.why) {
		printf("           value = (untyped: %s) %#lx\n", v.why, (unsigned long)p->arg);
		return;
	}
	printf("           value = (%s) %#lx", v.vt.type.name, (unsigned long)p->arg);
	if (showfields && v.vt.nfields) {
		for (k = 0; k < v.vt.nfields; k++) {
			fieldvalue(t, p->arg, &v.vt.fields[k], buf, sizeof buf);
			printf("%s%s = %s", k ? ", " : " {", v.vt.fields[k].name ? v.vt.fields[k].name : "?",
			       buf);
		}
		printf("}");
	}
	printf("\n");
}

static void jsonvalue(struct dr_target *t, const struct dr_panic *p)
{
	struct vinfo v;
	char buf[200];
	int k;

	valuetype(t, p->vtype, p->pc, &v);
	printf(", \"value_type\": ");
	if (v.why) {
		printf("null, \"untyped\": \"%s\"", v.why);
		return;
	}
	json_str(stdout, v.vt.type.name);
	if (!showfields || !v.vt.nfields)
		return;
	printf(", \"fields\": [");
	for (k = 0; k < v.vt.nfields; k++) {
		const struct dr_field *f = &v.vt.fields[k];

		fieldvalue(t, p->arg, f, buf, sizeof buf);
		printf("%s{\"name\": ", k ? ", " : "");
		json_str(stdout, f->name);
		printf(", \"type\": ");
		json_str(stdout, f->type.name);
		printf(", \"offset\": %lu, \"value\": ", (unsigned long)f->offset);
		json_str(stdout, buf);
		printf("}");
	}
	printf("]");
}

static void textpanic(struct dr_target *t, const struct dr_g *g, int i)
{
	const struct dr_panic *p = &g->panics[i];
	int di = deferindex(g, p->defer);

	if (p->goexit) {
		printf("  goexit %d: defer_goexit() is running this thread's deferred calls\n", i + 1);
	} else {
		printf("  panic %d: ", i + 1);
		c_str(stdout, message(p), strlen(message(p)) + 1);
		if (p->arg)
			printf(" value=%#lx", (unsigned long)p->arg);
		printf("  [%s]\n", panicstate(p));
		if (p->arg)
			textvalue(t, p);
		printf("           raised in ");
		site(t, p->pc);
		printf("\n");
	}
	if (di) {
		printf("           running defer %d: ", di);
		call(t, &g->defers[di - 1]);
		printf(" (deferred by ");
		site(t, g->defers[di - 1].pc);
		printf(")\n");
	} else if (p->defer) {
		struct dr_defer old;

		printf("           was running ");
		if (dr_read_defer(t, &cur_rt->lay, p->defer, &old) == 0 && old.fn) {
			call(t, &old);
			printf(" (deferred by ");
			site(t, old.pc);
			printf(")");
		} else {
			printf("the call at %#lx", (unsigned long)p->defer);
		}
		printf(" when a newer panic took over\n");
	} else if (!p->goexit && i == 0 && !p->recovered) {
		printf("           no deferred call running: unrecovered, the program is exiting\n");
	}
}

/* The thread's panic history, read once per dump (dr_history). */
static struct { struct dr_recovered *h; int n; char why[240]; } hist;

static int readhistory(struct dr_target *t, const struct dr_g *g)
{
	free(hist.h);
	return dr_history(t, &cur_rt->lay, g, &hist.h, &hist.n, hist.why, sizeof hist.why);
}

/* CLOCK_MONOTONIC nanoseconds as gdb's extension prints them. */
static void monotonic(uint64_t ns)
{
	printf("t=%llu.%06llus", (unsigned long long)(ns / 1000000000u),
	       (unsigned long long)(ns % 1000000000u / 1000));
}

static void texthistory(struct dr_target *t, const struct dr_g *g)
{
	if (readhistory(t, g))
		return;
	if (!g->recovered && !hist.why[0]) {
		printf("  No recovered panic.\n");
		return;
	}
	printf("  %llu panic%s recovered", (unsigned long long)g->recovered, g->recovered == 1 ? "" : "s");
	if (hist.n)
		printf("; the last %d, newest first:\n", hist.n);
	else
		printf(".\n");
	for (int i = 0; i < hist.n && !out_full(); i++) {
		const struct dr_recovered *h = &hist.h[i];
		struct where fw;

		printf("  recovered %llu: ", (unsigned long long)h->seq);
		c_str(stdout, h->msg, strlen(h->msg) + 1);
		if (h->textlen > strlen(h->msg))
			printf(" [cut: %llu bytes in all]", (unsigned long long)h->textlen);
		if (h->arg)
			printf(" value=%#lx", (unsigned long)h->arg);
		printf("  [");
		monotonic(h->time);
		printf("]\n");
		if (h->arg) {
			/* Only the type: what the value pointed to may be gone. */
			struct vinfo v;

			valuetype(t, h->type, h->pc, &v);
			if (v.why)
				printf("           value type: (untyped: %s)\n", v.why);
			else
				printf("           value type: %s\n", v.vt.type.name);
		}
		printf("           raised in ");
		site(t, h->pc);
		printf("\n           recovered by ");
		where(t, h->fn, 0, &fw);
		if (fw.func)
			c_text(stdout, fw.func);
		else
			printf("%#lx", (unsigned long)h->fn);
		printf(" (deferred by ");
		site(t, h->site);
		printf(")\n");
	}
	if (hist.why[0])
		printf("  error: %s\n", hist.why);
}

static void text(struct dr_target *t, const struct dr_state *st, int history)
{
	int i, j, shown = 0;

	for (i = 0; i < st->ng && !out_full(); i++) {
		const struct dr_g *g = &st->gs[i];

		if (g->status == DEFER_G_DEAD)
			continue;
		shown++;
		printf("%sThread (LWP %d) ", shown > 1 ? "\n" : "", g->tid);
		c_str(stdout, g->name, sizeof g->name);
		printf("%s:\n", g->in_target ? "" : " (no such thread in the target)");
		if (!g->ndefer && !g->warning[0])
			printf("  No deferred calls pending.\n");
		for (j = 0; j < g->ndefer && !out_full(); j++)
			textdefer(t, g, j);
		for (j = 0; j < g->npanic && !out_full(); j++)
			textpanic(t, g, j);
		if (g->warning[0])
			printf("  error: %s\n", g->warning);
		if (history)
			texthistory(t, g);
	}
	if (!shown)
		printf("No thread has deferred a call.\n");
	/* The fatal chain, oldest first, as the runtime prints it. */
	for (i = 0; i < st->ng && !out_full(); i++) {
		const struct dr_g *g = &st->gs[i];

		if (!g->npanic || g->panics[0].recovered || g->panics[0].goexit || g->status == DEFER_G_DEAD)
			continue;
		printf("\nThread (LWP %d) is panicking:\n", g->tid);
		for (j = g->npanic - 1; j >= 0; j--)
			if (!g->panics[j].goexit) {
				printf("%spanic: ", j == g->npanic - 1 ? "" : "\t");
				c_text(stdout, message(&g->panics[j]));
				printf("%s\n", g->panics[j].recovered ? " [recovered]" : "");
			}
	}
}

static void jwhere(const char *key, const struct where *w)
{
	printf(", \"%s\": {\"function\": ", key);
	json_str(stdout, w->func);
	printf(", \"file\": ");
	json_str(stdout, w->file);
	printf(", \"line\": %u, \"image\": ", w->line);
	json_str(stdout, w->image);
	printf("}");
}

/* The thread's "recovered" count, its "history" and "history_error". */
static void jsonhistory(struct dr_target *t, const struct dr_g *g)
{
	int oom = readhistory(t, g);

	printf(", \"recovered\": %llu, \"history\": [", (unsigned long long)g->recovered);
	for (int i = 0; !oom && i < hist.n && !out_full(); i++) {
		const struct dr_recovered *h = &hist.h[i];
		struct where w, fw, sw;

		where(t, h->pc, 1, &w);
		where(t, h->fn, 0, &fw);
		where(t, h->site, 1, &sw);
		printf("%s{\"seq\": %llu, \"record\": %lu, \"message\": ", i ? ", " : "",
		       (unsigned long long)h->seq, (unsigned long)h->addr);
		json_str(stdout, h->msg);
		printf(", \"textlen\": %llu, \"time_ns\": %llu, \"arg\": %lu, \"type\": %lu, "
		       "\"pc\": %lu, \"fn\": %lu, \"site\": %lu", (unsigned long long)h->textlen,
		       (unsigned long long)h->time, (unsigned long)h->arg, (unsigned long)h->type,
		       (unsigned long)h->pc, (unsigned long)h->fn, (unsigned long)h->site);
		jwhere("where", &w);
		jwhere("function", &fw);
		jwhere("deferred", &sw);
		printf("}");
	}
	printf("], \"history_error\": ");
	json_str(stdout, oom ? "out of memory" : hist.why[0] ? hist.why : NULL);
}

static void json(struct dr_target *t, const struct dr_state *st, const char *kind, const char *path,
		 const struct dr_runtime *rt, int history)
{
	int i, j, k;

	printf("{\"schema\": %d, \"target\": {\"kind\": \"%s\", \"path\": ", JSON_SCHEMA, kind);
	json_str(stdout, path);
	printf(", \"binary\": ");
	json_str(stdout, dr_elf_path(dr_target_exe(t)));
	printf("}, \"runtime\": {\"image\": ");
	json_str(stdout, dr_elf_path(rt->elf));
	printf(", \"bias\": %lu, \"source\": \"%s\"}, \"warnings\": %d, \"corrupt\": %d, \"error\": ",
	       (unsigned long)st->bias, rt->have_dwarf ? "dwarf" : "table", st->warnings, st->corrupt);
	json_str(stdout, st->error[0] ? st->error : NULL);
	printf(", \"budget\": ");
	json_str(stdout, st->budget);
	printf(", \"threads\": [");
	for (i = 0; i < st->ng && !out_full(); i++) {
		const struct dr_g *g = &st->gs[i];

		printf("%s{\"tid\": %d, \"name\": ", i ? ", " : "", g->tid);
		json_str(stdout, g->name);
		printf(", \"g\": %lu, \"status\": \"%s\", \"in_target\": %s, \"corrupt\": %s, \"warning\": ",
		       (unsigned long)g->addr, gstatus(g), g->in_target ? "true" : "false",
		       g->corrupt ? "true" : "false");
		json_str(stdout, g->warning[0] ? g->warning : NULL);
		printf(", \"defers\": [");
		for (j = 0; j < g->ndefer && !out_full(); j++) {
			const struct dr_defer *d = &g->defers[j];
			struct where fw, sw;
			struct arg a[6];
			int n = resolve(t, d, &fw, a);
			char buf[64];

			where(t, d->pc, 1, &sw);
			/* panic and state come from d->panic, which the walk gates
			 * on started (docs/abi.md V9): never a stale panic. */
			printf("%s{\"index\": %d, \"record\": %lu, \"fn\": %lu, \"pc\": %lu, \"sp\": %lu, "
			       "\"started\": %s, \"panic\": %d, \"state\": \"%s\"",
			       j ? ", " : "", j + 1, (unsigned long)d->addr, (unsigned long)d->fn,
			       (unsigned long)d->pc, (unsigned long)d->sp, d->started ? "true" : "false",
			       panicindex(g, d->panic), state(g, d, buf, sizeof buf));
			jwhere("function", &fw);
			jwhere("site", &sw);
			printf(", \"args\": [");
			for (k = 0; k < n; k++) {
				printf("%s{\"name\": ", k ? ", " : "");
				json_str(stdout, a[k].name);
				printf(", \"type\": ");
				json_str(stdout, a[k].type);
				printf(", \"kind\": %u, \"value\": ", d->kind[k]);
				json_str(stdout, a[k].value);
				printf("}");
			}
			printf("]}");
		}
		printf("], \"panics\": [");
		for (j = 0; j < g->npanic; j++) {
			const struct dr_panic *p = &g->panics[j];
			struct where w;

			where(t, p->pc, 1, &w);
			printf("%s{\"index\": %d, \"record\": %lu, \"message\": ", j ? ", " : "", j + 1,
			       (unsigned long)p->addr);
			json_str(stdout, message(p));
			printf(", \"state\": \"%s\", \"recovered\": %s, \"aborted\": %s, \"goexit\": %s, "
			       "\"defer\": %d, \"arg\": %lu, \"pc\": %lu", panicstate(p),
			       p->recovered ? "true" : "false", p->aborted ? "true" : "false",
			       p->goexit ? "true" : "false", deferindex(g, p->defer), (unsigned long)p->arg,
			       (unsigned long)p->pc);
			if (p->arg)
				jsonvalue(t, p);
			jwhere("where", &w);
			printf("}");
		}
		printf("]");
		if (history)
			jsonhistory(t, g);
		printf("}");
	}
	printf("]}\n");
}

int cmd_dump(const char *core, const char *binary, int pid, int asjson, int history, int full)
{
	struct dr_elf *exe = NULL;
	struct dr_target *t;
	struct dr_runtime rt;
	struct dr_state st;
	struct dr_limits lim = budgets.lim;
	char err[512], where_[64];
	uint64_t bias;
	int r;

	/* The walk gets two thirds of the time left, so that what it read
	 * can still be printed when it is cut short. */
	if (lim.deadline)
		lim.deadline = dr_now() + (lim.deadline - dr_now()) * 2 / 3;
	if (core) {
		if ((r = openbin(binary, &exe)))
			return r;
		r = dr_target_core(core, exe, &t, err, sizeof err);
	} else {
		r = dr_target_pid(pid, &t, err, sizeof err);
	}
	if (r) {
		dr_elf_close(exe);
		return fail(r, err);
	}
	if ((r = dr_target_runtime(t, &rt, &bias, err, sizeof err)) ||
	    (r = dr_walk(t, &rt, bias, &lim, &st, err, sizeof err))) {
		dr_target_close(t);
		dr_elf_close(exe);
		return fail(r, err);
	}
	/* A live process stays stopped until here: printing reads strings. */
	if (!core)
		snprintf(where_, sizeof where_, "%d", pid);
	cur_rt = &rt;
	showfields = full;
	if (asjson)
		json(t, &st, core ? "core" : "pid", core ? core : where_, &rt, history);
	else
		text(t, &st, history);
	r = 0;
	if (st.budget) {
		r = fail(DR_EBUDGET, st.budget_msg);
	} else if (st.corrupt) {
		snprintf(err, sizeof err, "corrupt records (garbage, a cycle or a wild pointer) in %d "
			 "chain%s: see the %s", st.corrupt, st.corrupt > 1 ? "s" : "",
			 asjson ? "\"warning\" fields" : "\"error:\" lines");
		r = fail(DR_ECORRUPT, err);
	}
	free(hist.h);
	hist.h = NULL;
	free(ix.defers);
	free(ix.panics);
	ix.defers = ix.panics = NULL;
	ix.g = NULL;
	dr_state_free(&st);
	dr_target_close(t);
	dr_elf_close(exe);
	return r;
}
