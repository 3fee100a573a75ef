/* SPDX-License-Identifier: MIT */
/*
 * defersites_x86_64.c - the x86-64 instruction shapes that reach the const
 * pointer __defer_deferproc (see defersites.c): by their RIP-relative
 * displacement resolving exactly to its address, or to a GOT slot holding
 * its address.  A displacement that by chance resolves to that exact
 * address is possible in principle; requiring the opcode and ModRM bytes
 * of a RIP-relative mov/lea/call around it makes it negligible.
 */
#include <string.h>
#include "defersites.h"

/* x86 register encoding order to DWARF register numbers. */
static const int dwreg[16] = { 0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15 };

static int32_t disp(const uint8_t *p) { int32_t d; memcpy(&d, p, 4); return d; }

void dr_scan_x86_64(struct sites *s, const uint8_t *b, size_t n, uint64_t va)
{
	size_t i;

	for (i = 0; i + 7 <= n; i++) {
		uint64_t pc = va + i;

		/* call *disp(%rip) */
		if (b[i] == 0xff && b[i + 1] == 0x15 &&
		    dr_sites_in(s->value, s->nvalue, pc + 6 + (int64_t)disp(b + i + 2))) {
			dr_sites_add(s, (struct hit){ pc + 6, DR_SITE_CALLMEM, -1, 0, 0, 0 });
			continue;
		}
		/* REX.W mov/lea disp(%rip), %reg */
		if ((b[i] & 0xf8) == 0x48 && (b[i + 1] == 0x8b || b[i + 1] == 0x8d) &&
		    (b[i + 2] & 0xc7) == 0x05) {
			uint64_t t = pc + 7 + (int64_t)disp(b + i + 3);
			int r = ((b[i] >> 2) & 1) << 3 | ((b[i + 2] >> 3) & 7);
			int isval = b[i + 1] == 0x8b && dr_sites_in(s->value, s->nvalue, t);
			int isaddr = (b[i + 1] == 0x8d && dr_sites_in(s->value, s->nvalue, t)) ||
				     (b[i + 1] == 0x8b && dr_sites_in(s->addr, s->naddr, t));
			const uint8_t *nx = b + i + 7;

			if (isval) {
				dr_sites_add(s, (struct hit){ pc, 0, dwreg[r], 0, 0, 0 });
			} else if (isaddr) {
				/* The address is in r: is the next instruction
				 * `call *(%r)` or `mov (%r), %r2`? */
				int rex = i + 10 <= n && (nx[0] & 0xf0) == 0x40 ? nx[0] : 0;
				const uint8_t *op = nx + (rex ? 1 : 0);
				int rm = ((rex & 1) << 3);

				if (i + 10 <= n && op[0] == 0xff && (op[1] & 0xf8) == 0x10 &&
				    (rm | (op[1] & 7)) == r && (op[1] & 7) != 4 && (op[1] & 7) != 5)
					dr_sites_add(s, (struct hit){ pc + 7 + (rex ? 3 : 2), DR_SITE_CALLMEM, -1, 0, 0, 0 });
				else if (i + 10 <= n && (rex & 0x08) && op[0] == 0x8b && (op[1] & 0xc0) == 0 &&
					 (rm | (op[1] & 7)) == r && (op[1] & 7) != 4 && (op[1] & 7) != 5)
					dr_sites_add(s, (struct hit){ pc, 0, dwreg[((rex >> 2) & 1) << 3 | ((op[1] >> 3) & 7)], 0, 0, 0 });
				else
					dr_sites_add(s, (struct hit){ pc, 0, -1, 0, 0, 0 });
			}
		}
	}
}
