/* SPDX-License-Identifier: MIT */
/*
 * history.c - a thread's panic history (struct defer_recovered records in
 * the ring its g points to), read under docs/abi.md's V11-V12 as gdb's
 * snapshot.history reads it: the ring's bounds first, then each record
 * newest first until one's seq is not the one its place implies.
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "defer_abi.h"

static uint64_t u64(const uint8_t *rec, uint32_t off) { uint64_t v; memcpy(&v, rec + off, 8); return v; }

/* V11: why g's ring cannot be real, or NULL. */
static const char *badring(const struct dr_g *g, char *why, size_t n)
{
	if (g->histcap > DR_MAX_HISTORY)
		dr_setf(why, n, "histcap %u, at most %d", g->histcap, DR_MAX_HISTORY);
	else if (g->recovered && !g->histcap)
		dr_setf(why, n, "%llu recovered panics but no ring", (unsigned long long)g->recovered);
	else if (g->histcap && (!g->hist || (g->hist & 7) || g->hist >= 1ull << 47))
		dr_setf(why, n, "ring at wild pointer 0x%llx", (unsigned long long)g->hist);
	else
		return NULL;
	return why;
}

/* V12: why rec cannot be record number seq, or NULL. */
static const char *badrecord(const struct dr_layout *l, const uint8_t *rec, uint64_t seq, char *why,
			     size_t n)
{
	uint32_t msglen = l->hist.size - l->hist.msg;
	const char *msg = (const char *)rec + l->hist.msg;
	size_t len;

	if (msglen > DEFER_HISTORY_MSG)
		msglen = DEFER_HISTORY_MSG;
	len = strnlen(msg, msglen);
	if (u64(rec, l->hist.seq) != seq)
		dr_setf(why, n, "seq %llu where %llu belongs (being written, or garbage)",
			(unsigned long long)u64(rec, l->hist.seq), (unsigned long long)seq);
	else if (len == msglen)
		dr_setf(why, n, "message not NUL-terminated");
	else if (u64(rec, l->hist.textlen) < len)
		dr_setf(why, n, "textlen %llu shorter than its message",
			(unsigned long long)u64(rec, l->hist.textlen));
	else
		return NULL;
	return why;
}

int dr_history(struct dr_target *t, const struct dr_layout *l, const struct dr_g *g,
	       struct dr_recovered **out, int *n, char *why, size_t whylen)
{
	uint64_t keep = g->recovered < g->histcap ? g->recovered : g->histcap, k;
	size_t ringlen = (size_t)g->histcap * l->hist.size;
	char reason[160];
	uint8_t *ring;

	*out = NULL;
	*n = 0;
	why[0] = 0;
	if (!g->recovered)
		return 0;
	if (badring(g, reason, sizeof reason)) {
		dr_setf(why, whylen, "corrupted panic history: %s", reason);
		return 0;
	}
	if (!(ring = malloc(ringlen)) || !(*out = calloc(keep, sizeof **out))) {
		free(ring);
		return DR_ENOMEM;
	}
	if (dr_read(t, g->hist, ring, ringlen) != ringlen) {
		dr_setf(why, whylen, "panic history unreadable (cannot read %zu bytes at 0x%llx)", ringlen,
			(unsigned long long)g->hist);
		free(ring);
		return 0;
	}
	for (k = 0; k < keep; k++) {
		uint64_t seq = g->recovered - k, at = (seq - 1) % g->histcap * l->hist.size;
		const uint8_t *rec = ring + at;
		struct dr_recovered *h = &(*out)[*n];

		if (badrecord(l, rec, seq, reason, sizeof reason)) {
			dr_setf(why, whylen, "panic history: record %llu at 0x%llx: %s",
				(unsigned long long)seq, (unsigned long long)(g->hist + at), reason);
			break;
		}
		h->addr = g->hist + at;
		h->seq = seq;
		h->time = u64(rec, l->hist.time);
		h->arg = u64(rec, l->hist.arg);
		h->type = u64(rec, l->hist.type);
		h->pc = u64(rec, l->hist.pc);
		h->fn = u64(rec, l->hist.fn);
		h->site = u64(rec, l->hist.site);
		h->textlen = u64(rec, l->hist.textlen);
		strcpy(h->msg, (const char *)rec + l->hist.msg);	/* NUL-terminated: badrecord */
		(*n)++;
	}
	free(ring);
	return 0;
}
