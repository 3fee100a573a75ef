/* SPDX-License-Identifier: MIT */
/* header_site.h: a deferring function defined in a header, first in its
 * compilation unit's code (header_site.c). */
static void report(int x) { printf("report %d\n", x); }
static void in_header(int x)
{
	defer_frame;
	defer(report, x);                            /* the header's defer */
}
