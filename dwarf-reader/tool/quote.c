/* SPDX-License-Identifier: MIT */
/* quote.c - text from the target printed safely: JSON strings, C string
 * literals as gdb prints them, escaped plain text (dr_escape). */
#include <string.h>
#include "tool.h"

/* JSON's quoting: control and non-ASCII bytes as \u00XX. */
void json_str(FILE *f, const char *s)
{
	size_t i;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* s escaped by dr_escape, in pieces of whatever length; bytes consumed. */
static size_t escaped(FILE *f, const char *s, size_t n, int quotes)
{
	char buf[1024];
	size_t done = 0, k;

	while (done < n && s[done]) {
		k = dr_escape(buf, sizeof buf, s + done, n - done, quotes);
		fputs(buf, f);
		if (!k)
			break;
		done += k;
	}
	return done;
}

void c_str(FILE *f, const char *s, size_t n)
{
	size_t done;

	fputc('"', f);
	done = escaped(f, s, n, 1);
	fputc('"', f);
	if (done == n && s[done])
		fputs("...", f);
}

void c_text(FILE *f, const char *s)
{
	escaped(f, s, (size_t)-1, 0);
}

const char *esc(char *buf, size_t n, const char *s)
{
	if (!s)
		return NULL;
	dr_escape(buf, n, s, (size_t)-1, 0);
	return buf;
}
