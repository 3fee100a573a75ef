/* SPDX-License-Identifier: MIT */
/* leb128.c - LEB128 numbers (DWARF, SDT notes) read from untrusted bytes:
 * never past end, and at most 10 bytes (70 bits) per number. */
#include "internal.h"

int dr_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;

	while (*p < end) {
		uint8_t b = *(*p)++;
		if (shift < 64)
			r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
		if (shift > 70)
			return -1;
	}
	return -1;
}

int dr_sleb(const uint8_t **p, const uint8_t *end, int64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;
	uint8_t b = 0;

	while (*p < end) {
		b = *(*p)++;
		if (shift < 64)
			r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				r |= ~(uint64_t)0 << shift;
			*v = (int64_t)r;
			return 0;
		}
		if (shift > 70)
			return -1;
	}
	return -1;
}
