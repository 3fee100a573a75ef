/* SPDX-License-Identifier: MIT */
/*
 * dwarf_line.c - file:line of an address, from a mapped .debug_line
 * (DWARF versions 2 to 5), for the crash report.
 *
 * It runs in a dying process (fatal.c): no allocation, no locks, no
 * recursion; the input is a file that may be damaged, so every read is
 * bounded by its section and a bad unit is skipped, never trusted.  It
 * decodes the line programs in order until one has a row covering the
 * address: no index (.debug_aranges is optional and clang emits none), a
 * crash is rare, and a program's line table is decoded in milliseconds.
 * Not handled: op_index (VLIW), DW_FORM_strx file names (no producer
 * uses them in .debug_line), compressed sections (the caller skips them).
 */
#include <string.h>
#include "runtime.h"

enum {
	DW_LNS_copy = 1, DW_LNS_advance_pc, DW_LNS_advance_line, DW_LNS_set_file,
	DW_LNS_set_column, DW_LNS_negate_stmt, DW_LNS_set_basic_block,
	DW_LNS_const_add_pc, DW_LNS_fixed_advance_pc,
	DW_LNE_end_sequence = 1, DW_LNE_set_address = 2,
	DW_LNCT_path = 1, DW_LNCT_directory_index = 2,
	DW_FORM_block = 0x09, DW_FORM_data1 = 0x0b, DW_FORM_data2 = 0x05,
	DW_FORM_data4 = 0x06, DW_FORM_data8 = 0x07, DW_FORM_data16 = 0x1e,
	DW_FORM_string = 0x08, DW_FORM_strp = 0x0e, DW_FORM_udata = 0x0f,
	DW_FORM_line_strp = 0x1f,
};

/* A reader over [p, end); `bad` is set by any read past the end, after
 * which every read returns 0. */
struct cur {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t fixed(struct cur *c, unsigned n)
{
	uint64_t v = 0;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

static uint64_t uleb(struct cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (!c->bad) {
		unsigned b = (unsigned)fixed(c, 1);

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static int64_t sleb(struct cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0, b = 0;

	while (!c->bad) {
		b = (unsigned)fixed(c, 1);
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

/* A NUL-terminated string at the cursor, or NULL. */
static const char *cstr(struct cur *c)
{
	const unsigned char *nul;

	if (c->bad || !(nul = memchr(c->p, 0, (size_t)(c->end - c->p)))) {
		c->bad = 1;
		return 0;
	}
	const char *s = (const char *)c->p;
	c->p = nul + 1;
	return s;
}

/* The string at off in a string section, or NULL. */
static const char *strat(const struct sec *s, uint64_t off)
{
	if (!s->p || off >= s->n || !memchr(s->p + off, 0, s->n - off))
		return 0;
	return (const char *)s->p + off;
}

/* A line program's header: what decoding rows and naming files needs. */
struct header {
	unsigned version, offsize, minlen, opbase, linerange;
	int linebase;
	const unsigned char *oplens;	/* opbase - 1 operand counts */
	struct cur dirs, files;		/* the two tables (version 5: after their formats) */
	unsigned ndirfmt, nfilefmt;
	uint64_t dirfmt[8][2], filefmt[8][2];	/* (content type, form) pairs */
	const struct sec *str, *linestr;
};

/* One attribute value of a version 5 entry: a string or a number. */
static void form(struct cur *c, const struct header *h, uint64_t f, const char **s, uint64_t *v)
{
	*s = 0;
	*v = 0;
	switch (f) {
	case DW_FORM_string: *s = cstr(c); break;
	case DW_FORM_strp: *s = strat(h->str, fixed(c, h->offsize)); break;
	case DW_FORM_line_strp: *s = strat(h->linestr, fixed(c, h->offsize)); break;
	case DW_FORM_udata: *v = uleb(c); break;
	case DW_FORM_data1: *v = fixed(c, 1); break;
	case DW_FORM_data2: *v = fixed(c, 2); break;
	case DW_FORM_data4: *v = fixed(c, 4); break;
	case DW_FORM_data8: *v = fixed(c, 8); break;
	case DW_FORM_data16: fixed(c, 8); fixed(c, 8); break;
	case DW_FORM_block: {
		uint64_t n = uleb(c);

		if (n > (uint64_t)(c->end - c->p))
			c->bad = 1;
		else
			c->p += n;
		break;
	}
	default: c->bad = 1;	/* a form we cannot skip: the table is unreadable */
	}
}

/* Entry k of a version 5 table: its path and directory index. */
static const char *entry5(struct cur c, unsigned nfmt, const uint64_t (*fmt)[2],
			  const struct header *h, uint64_t k, uint64_t *dir)
{
	uint64_t n = uleb(&c);
	const char *path = 0;

	*dir = 0;
	if (k >= n || !nfmt)	/* entries of no fields take no bytes: none */
		return 0;
	for (uint64_t i = 0; i <= k && !c.bad; i++)
		for (unsigned j = 0; j < nfmt; j++) {
			const char *s;
			uint64_t v;

			form(&c, h, fmt[j][1], &s, &v);
			if (i < k)
				continue;
			if (fmt[j][0] == DW_LNCT_path)
				path = s;
			else if (fmt[j][0] == DW_LNCT_directory_index)
				*dir = v;
		}
	return c.bad ? 0 : path;
}

/* Entry k (1-based) of a version 2-4 table of strings, files with three
 * numbers after the name. */
static const char *entry4(struct cur c, uint64_t k, int isfile, uint64_t *dir)
{
	*dir = 0;
	for (uint64_t i = 1; !c.bad; i++) {
		const char *s = cstr(&c);
		uint64_t d = 0;

		if (!s || !*s)
			return 0;
		if (isfile) {
			d = uleb(&c);
			uleb(&c);
			uleb(&c);
		}
		if (i == k) {
			*dir = d;
			return s;
		}
	}
	return 0;
}

static void append(char *buf, size_t len, size_t *at, const char *s)
{
	size_t n = strlen(s);

	if (*at + n >= len)
		n = len - 1 - *at;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = 0;
}

/* The path of file number `file`: its directory joined to its name, the
 * compilation directory first if the directory is relative (version 5
 * names it; older versions do not), a leading "./" dropped. */
static void filename(const struct header *h, uint64_t file, char *buf, size_t len)
{
	const char *name, *dir = 0, *comp = 0;
	uint64_t d, unused;
	size_t at = 0;

	buf[0] = 0;
	if (h->version >= 5) {
		name = entry5(h->files, h->nfilefmt, h->filefmt, h, file, &d);
		if (name && name[0] != '/') {
			dir = entry5(h->dirs, h->ndirfmt, h->dirfmt, h, d, &unused);
			if (d != 0 && dir && dir[0] != '/')
				comp = entry5(h->dirs, h->ndirfmt, h->dirfmt, h, 0, &unused);
		}
	} else {
		name = entry4(h->files, file, 1, &d);
		if (name && name[0] != '/' && d)
			dir = entry4(h->dirs, d, 0, &unused);
	}
	if (!name)
		return;
	const char *parts[3] = { comp, dir, name };
	for (int i = 0; i < 3; i++) {
		const char *s = parts[i];

		if (!s || !*s || (i < 2 && !strcmp(s, ".")))
			continue;
		while (s[0] == '.' && s[1] == '/')
			s += 2;
		if (at && buf[at - 1] != '/')
			append(buf, len, &at, "/");
		append(buf, len, &at, s);
	}
}

/* A version 5 entry format: a count, then (content type, form) pairs. */
static int formats(struct cur *c, uint64_t (*fmt)[2], unsigned *n)
{
	*n = (unsigned)fixed(c, 1);
	if (*n > 8)
		return 0;
	for (unsigned i = 0; i < *n; i++) {
		fmt[i][0] = uleb(c);
		fmt[i][1] = uleb(c);
	}
	return !c->bad;
}

/* Parse the header at c (after unit_length); c moves to the program. */
static int header(struct cur *c, struct header *h, const unsigned char *unitend)
{
	uint64_t hlen;
	const unsigned char *prog;

	h->version = (unsigned)fixed(c, 2);
	if (h->version < 2 || h->version > 5)
		return 0;
	if (h->version >= 5)
		fixed(c, 2);	/* address_size, segment_selector_size */
	hlen = fixed(c, h->offsize);
	if (c->bad || hlen > (uint64_t)(unitend - c->p))
		return 0;
	prog = c->p + hlen;
	h->minlen = (unsigned)fixed(c, 1);
	if (h->version >= 4)
		fixed(c, 1);	/* maximum_operations_per_instruction */
	fixed(c, 1);		/* default_is_stmt */
	h->linebase = (int8_t)fixed(c, 1);
	h->linerange = (unsigned)fixed(c, 1);
	h->opbase = (unsigned)fixed(c, 1);
	if (c->bad || !h->linerange || !h->opbase || (size_t)(prog - c->p) < h->opbase - 1)
		return 0;
	h->oplens = c->p;
	c->p += h->opbase - 1;
	c->end = prog;		/* the tables lie inside the header */
	if (h->version >= 5) {
		if (!formats(c, h->dirfmt, &h->ndirfmt))
			return 0;
		h->dirs = *c;
		/* Skip the directories to reach the files' formats. */
		uint64_t n = uleb(c);

		if (!h->ndirfmt)
			n = 0;	/* a count of empty entries: they take no bytes */
		for (uint64_t i = 0; i < n && !c->bad; i++)
			for (unsigned j = 0; j < h->ndirfmt; j++) {
				const char *s;
				uint64_t v;

				form(c, h, h->dirfmt[j][1], &s, &v);
			}
		if (!formats(c, h->filefmt, &h->nfilefmt))
			return 0;
		h->files = *c;
	} else {
		h->dirs = *c;
		while (!c->bad) {
			const char *s = cstr(c);

			if (!s || !*s)
				break;
		}
		h->files = *c;
	}
	if (c->bad)
		return 0;
	c->p = prog;
	c->end = unitend;
	return 1;
}

/* Run one line program; on finding the row that covers addr, name it. */
static int program(struct cur *c, const struct header *h, uint64_t addr, char *file,
		   size_t len, unsigned *line)
{
	uint64_t a = 0, f = 1, prevf = 0;
	int64_t l = 1, prevl = 0;
	/* Line 0 is code of no particular line (clang marks merged code so):
	 * it is named by the sequence's last real line before it. */
	uint64_t realf = 0;
	int64_t reall = 0;
	uint64_t preva = 0;
	int have = 0;

	while (c->p < c->end && !c->bad) {
		unsigned op = (unsigned)fixed(c, 1);
		int row = 0, endseq = 0;

		if (op >= h->opbase) {
			unsigned adj = op - h->opbase;

			a += (uint64_t)(adj / h->linerange) * h->minlen;
			l += h->linebase + (int)(adj % h->linerange);
			row = 1;
		} else if (op == 0) {
			uint64_t n = uleb(c);
			const unsigned char *next;

			if (c->bad || n == 0 || n > (uint64_t)(c->end - c->p))
				return 0;
			next = c->p + n;
			switch (fixed(c, 1)) {
			case DW_LNE_end_sequence: row = endseq = 1; break;
			case DW_LNE_set_address: a = fixed(c, (unsigned)(n - 1 > 8 ? 8 : n - 1)); break;
			}
			c->p = next;
		} else {
			switch (op) {
			case DW_LNS_copy: row = 1; break;
			case DW_LNS_advance_pc: a += uleb(c) * h->minlen; break;
			case DW_LNS_advance_line: l += sleb(c); break;
			case DW_LNS_set_file: f = uleb(c); break;
			case DW_LNS_const_add_pc: a += (uint64_t)((255 - h->opbase) / h->linerange) * h->minlen; break;
			case DW_LNS_fixed_advance_pc: a += fixed(c, 2); break;
			default:
				/* Known by its operand count (the header says it). */
				for (unsigned i = 0; i < h->oplens[op - 1]; i++)
					uleb(c);
			}
		}
		if (!row)
			continue;
		if (have && preva <= addr && addr < a) {
			filename(h, prevl > 0 ? prevf : realf, file, len);
			*line = prevl > 0 ? (unsigned)prevl : reall > 0 ? (unsigned)reall : 0;
			return 1;
		}
		have = !endseq;
		preva = a;
		prevf = f;
		prevl = l;
		if (l > 0) {
			realf = f;
			reall = l;
		}
		if (endseq) {
			reall = 0;
			a = 0;
			f = 1;
			l = 1;
		}
	}
	return 0;
}

int dwarf_line(const struct sec *lines, const struct sec *linestr, const struct sec *str,
	       uint64_t addr, char *file, size_t len, unsigned *line)
{
	struct cur c = { lines->p, lines->p + lines->n, 0 };

	while (lines->p && c.p < c.end && !c.bad) {
		struct header h = { .str = str, .linestr = linestr, .offsize = 4 };
		uint64_t ulen = fixed(&c, 4);
		const unsigned char *unitend;

		if (ulen == 0xffffffff) {
			h.offsize = 8;
			ulen = fixed(&c, 8);
		}
		if (c.bad || ulen > (uint64_t)(c.end - c.p))
			return 0;
		unitend = c.p + ulen;
		struct cur u = { c.p, unitend, 0 };
		if (header(&u, &h, unitend) && program(&u, &h, addr, file, len, line))
			return 1;
		c.p = unitend;
	}
	return 0;
}
