/* SPDX-License-Identifier: MIT */
/* where.c - where an address is: function, offset, file and line, from a
 * target's mapped images (cached) or one binary. */
#include <string.h>
#include "tool.h"

const char *basename_of(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

void where_elf(struct dr_elf *e, uint64_t addr, int retaddr, struct where *w)
{
	uint64_t start = 0;

	memset(w, 0, sizeof *w);
	if (!e)
		return;
	w->image = dr_elf_path(e);
	w->func = dr_sym_at(e, addr - (retaddr ? 1 : 0), &start);
	if (w->func)
		w->off = addr - start;
	else {
		const struct dr_func *f;
		if (dr_func_at(e, addr, &f) == 0)
			w->func = f->name;
	}
	if (dr_line(e, addr - (retaddr ? 1 : 0), &w->file, &w->line) != 0)
		w->file = NULL;
}

/* Symbolizing repeats the same few addresses thousands of times. */
#define CACHE 16384
static struct { uint64_t key; int used; struct where w; } cache[CACHE];

void where(struct dr_target *t, uint64_t addr, int retaddr, struct where *w)
{
	uint64_t key = addr * 2 + (retaddr ? 1 : 0);
	size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 50) % CACHE, i;
	struct dr_image *im;

	for (i = 0; i < 64; i++) {
		size_t k = (h + i) % CACHE;
		if (!cache[k].used)
			break;
		if (cache[k].key == key) {
			*w = cache[k].w;
			return;
		}
	}
	memset(w, 0, sizeof *w);
	if ((im = dr_image_at(t, addr))) {
		where_elf(im->elf, addr - im->bias, retaddr, w);
		w->image = im->path;
	}
	for (i = 0; i < 64; i++) {
		size_t k = (h + i) % CACHE;
		if (!cache[k].used) {
			cache[k].used = 1;
			cache[k].key = key;
			cache[k].w = *w;
			break;
		}
	}
}
