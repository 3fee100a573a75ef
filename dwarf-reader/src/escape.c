/* SPDX-License-Identifier: MIT */
/*
 * escape.c - strings from the target made safe to print.
 *
 * Names, messages and paths come from an untrusted program or core: a
 * control byte could move the cursor, clear the screen or start a line
 * that looks like ours ("  defer 9: ...").  Every text output spells them
 * C-style: \n, \t, \\, and \ooo for any other byte below 0x20 or from 0x7f
 * up (non-ASCII too: an 8-bit terminal reads 0x9b as CSI).
 */
#include <stdio.h>
#include "internal.h"

size_t dr_escape(char *out, size_t n, const char *s, size_t max, int quotes)
{
	size_t i, o = 0;

	if (!n)
		return 0;
	for (i = 0; s && i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[5];
		size_t k;

		if (c == '\\' || (quotes && c == '"'))
			snprintf(e, sizeof e, "\\%c", c);
		else if (c == '\n')
			snprintf(e, sizeof e, "\\n");
		else if (c == '\t')
			snprintf(e, sizeof e, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			snprintf(e, sizeof e, "\\%03o", c);
		else
			e[0] = (char)c, e[1] = 0;
		for (k = 0; e[k]; k++) {
			if (o + 1 >= n)
				goto full;
			out[o++] = e[k];
		}
	}
full:
	out[o] = 0;
	return i;
}
