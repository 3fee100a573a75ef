/* SPDX-License-Identifier: MIT */
/* header_site.c: the defer() line is in header_site.h; gcc's DWARF 5 line
 * table starts that function's sequence with the default file (1). */
#include <stdio.h>
#include "defer.h"
#include "header_site.h"

int main(void)
{
	in_header(1);
	in_header(2);
	return 0;
}
