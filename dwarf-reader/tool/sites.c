/* sites.c - `defer-inspect sites`: every place the program defers a call. */
#include <string.h>
#include "tool.h"

struct out { struct dr_elf *e; int json, n; };

static const char *how(enum dr_site_how h)
{
	return h == DR_SITE_CALLSITE ? "dwarf-call-site" : h == DR_SITE_CALLMEM ? "call-through-pointer"
										   : "load";
}

static int onsite(const struct dr_site *s, void *arg)
{
	struct out *o = arg;
	struct where w;

	where_elf(o->e, s->pc, s->how != DR_SITE_LOAD, &w);
	if (o->json) {
		printf("%s{\"pc\": %lu, \"function\": ", o->n ? ", " : "", (unsigned long)s->pc);
		json_str(stdout, s->func);
		printf(", \"file\": ");
		json_str(stdout, w.file);
		printf(", \"line\": %u, \"how\": \"%s\", \"deferred\": null}", w.line, how(s->how));
	} else {
		printf("%#12lx  %-24s %s:%u  [%s]\n", (unsigned long)s->pc, s->func ? s->func : "?",
		       w.file ? basename_of(w.file) : "?", w.line, how(s->how));
	}
	o->n++;
	return 0;
}

int cmd_sites(const char *path, int json)
{
	struct dr_elf *e;
	struct out o = { 0, json, 0 };
	char msg[512];
	int r;

	if ((r = openbin(path, &o.e)))
		return r;
	e = o.e;
	if (dr_sym(e, "__defer_deferproc", NULL, NULL) != 0 && dr_sym(e, "deferproc", NULL, NULL) != 0 &&
	    dr_sym(e, "__defer_deferproc_tls", NULL, NULL) != 0) {
		/* A program on a shared libdefer has only a GOT slot for it. */
		const char *name;
		int i, linked = 0;
		for (i = 0; dr_elf_needed(e, i, &name) == 0; i++)
			linked |= strstr(name, "libdefer") != NULL;
		if (!linked) {
			snprintf(msg, sizeof msg, "%s: not linked with libdefer", path);
			dr_elf_close(e);
			return fail(DR_ENODEFER, msg);
		}
	}
	if (json)
		printf("{\"binary\": "), json_str(stdout, path), printf(", \"sites\": [");
	else
		printf("%12s  %-24s %s  [%s]\n", "pc", "function", "file:line", "found by");
	r = dr_sites(e, onsite, &o);
	if (json)
		printf("]}\n");
	else if (!o.n)
		printf("(no defer sites: the program never calls defer())\n");
	if (r == DR_ENOENT && !json)
		printf("(%s does not reference __defer_deferproc)\n", path);
	dr_elf_close(e);
	return 0;
}
