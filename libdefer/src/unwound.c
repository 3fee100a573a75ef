/* SPDX-License-Identifier: MIT */
/*
 * unwound.c - panics that cross frames with landing pads.
 *
 * A frame built with unwind tables and landing pads (-fexceptions in C,
 * always in C++) has cleanups the compiler runs only while the unwinder
 * unwinds it: cleanup variables, _Defer blocks, destructors,
 * pthread_cleanup_push handlers, and defer_frame itself, which is a
 * cleanup variable.  A panic reaches such frames the way glibc's thread
 * cancellation does, by forced unwinding (_Unwind_ForcedUnwind with a stop
 * function), so that everything runs in the compiler's order, innermost
 * first, interleaved with the frames' deferred calls:
 *
 *  - gopanic runs the records of the frames below the first frame with a
 *    landing pad on top of the stack, as always (scanframes decides,
 *    per record: only if a word of the stack between gopanic and the
 *    record's frame, where every return address of those frames lies,
 *    points into an object with LSDAs does it walk up to the frame and
 *    ask each frame's call-site table whether its pc has a landing pad);
 *  - then unwindpanic moves the panic out of gopanic's frame (which the
 *    unwind abandons) into a per-thread slot, marks every armed frame of
 *    the chain (armed 2) and unwinds;
 *  - a landing pad runs defer_frame's cleanup, __defer_frame_exit, which
 *    for armed 2 calls __defer_unwound: the frame's records run as the
 *    panic's (started, recover() allowed), exactly where the frame's other
 *    cleanups put them;
 *  - the stop function, called before each frame's landing pad, runs the
 *    records of the frames already unwound that had no landing pad (code
 *    without -fexceptions), as gopanic would have;
 *  - a recovery in a landing pad lets it finish (the frame's other
 *    cleanups and calls run once, as on a return), and the unwind stops at
 *    the owner's caller, which continues as if the owner had returned
 *    defer_result's variable.  A recovery of a frame without a landing
 *    pad, run by the stop function, ends as recovery() does;
 *  - a newer panic raised by a call that a landing pad runs never unwinds
 *    through that landing pad's call (clang's C and the C++ personality
 *    abort there): while __defer_unwound runs the frame's calls it is a
 *    pad, the newer panic's unwind ends in it (handover), and the older
 *    panic's unwind goes on with the newer panic, which runs the frame's
 *    remaining calls first, as Go nests panics.
 *
 * An unrecovered panic that unwound reports the stack it had (the frames
 * the unwind passed, kept in the slot), not the one that is left.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unwind.h>
#include "runtime.h"
#ifndef DLFO_EH_SEGMENT_TYPE	/* <dlfcn.h> without it: musl */
#include "musl/dl_find_object.h"
#endif

/* ---- the thread's state ---- */

/* The range of an object and whether it has LSDAs: where a stack word
 * that may be a return address into it points, for an object with LSDAs
 * its code alone (PF_X segments), so that pointers to its data (a FILE *
 * into libc, kept in every frame) do not make each scan ask the unwinder;
 * for any other object its whole mapping. */
struct objrange {
	uintptr_t lo, hi;
	uintptr_t mlo, mhi;	/* the whole mapping */
	int lsda;
};

/* The objects that are never unloaded and that the words of a stack point
 * into most: the executable, the dynamic loader (its data), the one
 * libdefer is in. */
struct known {
	int ready;
	struct objrange obj[3];
	int nobj;
	/* SCAN_NOSIGFRAME if the restorer is known and outside obj[0]: a
	 * scan whose words all point into obj[0] or the stack passed no
	 * signal frame.  Else 0 (ownercfa scans again). */
	int nosig;
};

/* findobj's answers, by the object's start and PT_GNU_EH_FRAME. */
struct lsdaseen {
	const void *hdr;	/* with r.mlo: hdr alone may be NULL */
	struct objrange r;
};

/*
 * A panic that unwinds lives here: gopanic's frame is abandoned.  A slot
 * is also an unwind, its exception object's, which usually goes on for its
 * own panic; but a newer panic raised by a call that the unwind's landing
 * pad runs ends its own unwind in that landing pad's __defer_unwound and
 * goes on with this one (handover, below).
 */
struct slot {
	struct _panic p;	/* first: a slot's address is its panic's */
	int busy;		/* PANIC | UNWIND: in use as either */
	/* The unwind (exc) and what it needs: */
	struct _Unwind_Exception exc;
	int recovered;		/* in a landing pad: stop at the owner's caller */
	uintptr_t frame;	/* the recovering frame's mark */
	uintptr_t at;		/* stackkey of the frame being unwound */
	struct defer_mark *resume; /* the owner's innermost frame with defer_result */
	struct unwind u;	/* signal frames passed */
	int npcs;
	/* Not cleared for a new panic (unwindpanic sets the first two; pcsat
	 * is read only once npcs is not 0): */
	struct slot *carrier;	/* whose unwind p goes on with: this slot's, or an older one's */
	struct slot *acts;	/* the slot whose panic the unwind goes on with */
	uintptr_t pcsat;	/* stackkey of the frame of pcs' last entry */
	void *pcs[64];		/* the stack p had (the frames its unwinds passed) */
};
/* busy: p is on the thread's chain; exc unwinds (until it lands, ends, or
 * a handover ends it). */
enum { PANIC = 1, UNWIND = 2 };
enum { NSLOTS = 4 };

struct perthread {
	struct lsdaseen lsdacache[8];
	unsigned lsdanext;
	/* The unwind whose panic a landing pad recovered, until it stops. */
	struct slot *landing;
	struct slot slots[NSLOTS];
};

/*
 * Mapped on a thread's first need, unmapped at its exit.  Not in TLS
 * itself: libdefer's TLS is initial-exec, which makes a plugin that links
 * libdefer.a take all of its TLS from the scarce static block, and 5 KB
 * would not fit.  known is small, and is what every panic reads.
 */
static __thread struct perthread *pt __attribute__((tls_model("initial-exec")));
static __thread struct known known __attribute__((tls_model("initial-exec")));
/*
 * A landing pad's __defer_unwound running its frame's calls for the unwind
 * that is at that frame (carrier).  A newer panic, raised by one of those
 * calls, that reaches the frame's records or beyond ends its own unwind
 * here (handover) instead of crossing the landing pad's call, which
 * clang's code treats as an exception escaping a cleanup (abort), the
 * C++ personality too (std::terminate), and where gcc's runs the frame's
 * remaining cleanups before its remaining calls.  The pads live on
 * __defer_unwound's stack, innermost first.
 */
struct pad {
	uintptr_t sp;		/* __defer_unwound's stack pointer at its call of __defer_padrun */
	struct defer_mark *m;
	struct slot *carrier;
	int again;		/* handed over: __defer_padrun is to run again */
	struct pad *next;
};
static __thread struct pad *pads __attribute__((tls_model("initial-exec")));
static pthread_key_t ptkey;
static pthread_once_t ptonce = PTHREAD_ONCE_INIT;

static void freept(void *t)
{
	munmap(t, sizeof(struct perthread));
	pt = 0;
}

static void mkkey(void)
{
	if (pthread_key_create(&ptkey, freept))
		throw("panic: no thread-specific key for the unwinding state");
}

/* NULL if no memory can be had (then nothing is cached, and a panic
 * cannot unwind). */
static struct perthread *getpt(void)
{
	void *t;

	if (pt)
		return pt;
	pthread_once(&ptonce, mkkey);
	t = mmap(0, sizeof(struct perthread), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return 0;
	pthread_setspecific(ptkey, t);
	return pt = t;
}

/* ---- where the landing pads are ---- */

/* A value of the LSDA's encoding e at *p (DW_EH_PE_*, the low nibble:
 * the call-site table's are offsets); -1 if the encoding is not one. */
static int readenc(const unsigned char **p, unsigned e, uint64_t *v)
{
	const unsigned char *q = *p;
	uint64_t x = 0;
	unsigned shift = 0;

	switch (e & 0x0f) {
	case 0x00: case 0x04: case 0x0c: memcpy(&x, q, 8); q += 8; break;
	case 0x02: case 0x0a: { uint16_t h; memcpy(&h, q, 2); x = h; q += 2; break; }
	case 0x03: case 0x0b: { uint32_t w; memcpy(&w, q, 4); x = w; q += 4; break; }
	case 0x01: case 0x09:
		do
			x |= (uint64_t)(*q & 0x7f) << shift, shift += 7;
		while (*q++ & 0x80 && shift < 64);
		break;
	default:
		return -1;
	}
	*p = q;
	*v = x;
	return 0;
}

/* Whether the call-site table of lsda (gcc_except_table) gives ip, in the
 * function starting at start, a landing pad.  An LSDA it cannot read
 * counts as one: unwinding costs more, skipping a cleanup is wrong. */
int haslp(const unsigned char *lsda, uintptr_t start, uintptr_t ip)
{
	const unsigned char *p = lsda, *end;
	uint64_t v, cs, len, lp, action;
	unsigned enc;

	if (*p++ != 0xff && readenc(&p, p[-1], &v))	/* LPStart */
		return 1;
	if (*p++ != 0xff && readenc(&p, 0x01, &v))	/* TType offset */
		return 1;
	enc = *p++;
	if (readenc(&p, 0x01, &len))
		return 1;
	for (end = p + len; p < end;) {
		if (readenc(&p, enc, &cs) || readenc(&p, enc, &len) || readenc(&p, enc, &lp) ||
		    readenc(&p, 0x01, &action))
			return 1;
		if (ip < start + cs)
			return 0;
		if (ip < start + cs + len)
			return lp != 0;
	}
	return 0;
}

struct search {
	uintptr_t from, upto;	/* the frames whose stack pointer is in [from, upto] */
	int lp;
	const struct g *keyed;	/* not NULL: from, upto and sp as stackkey's */
};

static _Unwind_Reason_Code findlp(struct _Unwind_Context *ctx, void *arg)
{
	struct search *s = arg;
	uintptr_t sp = _Unwind_GetCFA(ctx);	/* the frame's stack pointer */
	const unsigned char *lsda;
	int before = 0;
	uintptr_t ip;

	if (s->keyed)
		sp = stackkey(s->keyed, sp);
	if (sp < s->from)
		return _URC_NO_REASON;
	if (sp > s->upto)
		return _URC_END_OF_STACK;
	ip = _Unwind_GetIPInfo(ctx, &before);
	lsda = _Unwind_GetLanguageSpecificData(ctx);
	if (lsda && haslp(lsda, _Unwind_GetRegionStart(ctx), before ? ip : ip - 1)) {
		s->lp = 1;
		return _URC_END_OF_STACK;
	}
	return _URC_NO_REASON;
}

/*
 * Whether an object has any function with an LSDA: a CIE whose
 * augmentation has 'L', found through .eh_frame_hdr's table of FDEs
 * (hdr: the PT_GNU_EH_FRAME segment).  Encodings other than the usual
 * (datarel sdata4 table, pcrel sdata4 pointer) count as yes.
 */
static int objlsda(const unsigned char *hdr)
{
	const unsigned char *last = 0;
	const int32_t *t;
	uint32_t n, i;

	if (!hdr || hdr[0] != 1 || hdr[2] != 0x03 || hdr[3] != 0x3b)
		return 1;
	memcpy(&n, hdr + 8, 4);
	t = (const int32_t *)(hdr + 12);
	for (i = 0; i < n; i++) {
		const unsigned char *fde = hdr + t[2 * i + 1], *cie;
		int32_t off;

		memcpy(&off, fde + 4, 4);	/* CIE pointer: back from this field */
		cie = fde + 4 - off;
		if (cie == last)
			continue;
		last = cie;
		if (cie[8] == 1 || cie[8] == 3) {
			const char *aug = (const char *)cie + 9;

			if (aug[0] == 'z' && strchr(aug, 'L'))
				return 1;
		} else {
			return 1;
		}
	}
	return 0;
}

/* The hull of the PF_X segments of the object loaded at [lo, hi). */
struct textq {
	uintptr_t lo, hi, tlo, thi;
};

static int findtext(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct textq *q = arg;
	int ours = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		ours |= start >= q->lo && start < q->hi;
		if (ph->p_flags & PF_X) {
			if (start < q->tlo)
				q->tlo = start;
			if (start + ph->p_memsz > q->thi)
				q->thi = start + ph->p_memsz;
		}
	}
	if (ours)
		return 1;
	q->tlo = UINTPTR_MAX;
	q->thi = 0;
	return 0;
}

/* An object with LSDAs narrowed to its code; the whole of it if its
 * segments cannot be had. */
static void narrow(struct objrange *r)
{
	struct textq q = { r->lo, r->hi, UINTPTR_MAX, 0 };

	if (dl_iterate_phdr(findtext, &q) && q.tlo < q.thi && q.tlo >= r->lo && q.thi <= r->hi) {
		r->lo = q.tlo;
		r->hi = q.thi;
	}
}

static void describe(const void *hdr, struct objrange *r)
{
	r->lsda = objlsda(hdr);
	if (r->lsda)
		narrow(r);
}

static int findobj(uintptr_t v, struct objrange *r)
{
	struct dl_find_object o;
	struct perthread *t = getpt();
	struct lsdaseen *c;

	if (_dl_find_object((void *)v, &o))
		return -1;
	r->lo = r->mlo = (uintptr_t)o.dlfo_map_start;
	r->hi = r->mhi = (uintptr_t)o.dlfo_map_end;
	if (!t) {
		describe(o.dlfo_eh_frame, r);
		return 0;
	}
	for (c = t->lsdacache; c < t->lsdacache + 8; c++)
		if (c->hdr == o.dlfo_eh_frame && c->r.mlo == r->mlo && c->r.mhi) {
			*r = c->r;
			return 0;
		}
	c = &t->lsdacache[t->lsdanext++ & 7];
	describe(o.dlfo_eh_frame, r);
	c->hdr = o.dlfo_eh_frame;
	c->r = *r;
	return 0;
}

static const struct known *getknown(void)
{
	struct known *k = &known;
	uintptr_t at[3];

	if (k->ready)
		return k;
	k->ready = 1;
#ifdef DEFER_VALGRIND
	{
		/* Memcheck is the tool that answers its own request (-1). */
		int defined = 0;

		__defer_memcheck = (long)VALGRIND_MAKE_MEM_DEFINED(&defined, sizeof defined) == -1;
	}
#endif
	at[0] = getauxval(AT_ENTRY);
	at[1] = getauxval(AT_BASE);
	at[2] = (uintptr_t)scanframes;
	for (int i = 0; i < 3; i++) {
		int dup = 0;

		for (int j = 0; j < k->nobj; j++)
			dup |= at[i] - k->obj[j].mlo < k->obj[j].mhi - k->obj[j].mlo;
		if (at[i] && !dup && !findobj(at[i], &k->obj[k->nobj]))
			k->nobj++;
	}
	at[0] = restorer();
	if (k->nobj && at[0] && at[0] - k->obj[0].mlo >= k->obj[0].mhi - k->obj[0].mlo)
		k->nosig = SCAN_NOSIGFRAME;
	return k;
}

#ifdef DEFER_VALGRIND
__thread int __defer_memcheck;

void __defer_scanquiet(int begin)
{
	if (begin)
		VALGRIND_DISABLE_ERROR_REPORTING;
	else
		VALGRIND_ENABLE_ERROR_REPORTING;
}
#endif

/* The range of the object v points into, into *last: a known one, else
 * the loader's answer; -1 (last unchanged) if none.  Out of line: the
 * scan's usual words (into the executable or the stack) never come here,
 * and the scan then saves fewer registers. */
__attribute__((noinline))
static int lookup(const struct known *k, uintptr_t v, struct objrange *last)
{
	for (const struct objrange *r = k->obj; r < k->obj + k->nobj; r++)
		if (v - r->mlo < r->mhi - r->mlo) {
			*last = *r;
			return 0;
		}
	return findobj(v, last);
}

/* Whether a word of [from - 8, end) points into an object with LSDAs;
 * if none does, SEEN_OTHER in *other says whether a word pointed outside
 * the stack and the first known object (the executable).  The current object's range
 * stays in registers: most words point into it.  -1, nothing read, if
 * from is off the thread's stack and end on it (acrossstacks).
 * It reads other frames' words, AddressSanitizer's redzones too. */
__attribute__((no_sanitize_address, always_inline))
static inline int wordsinlsda(const struct known *k, const struct g *g, uintptr_t from,
			      uintptr_t end, int *other)
{
	uintptr_t lo = k->obj[0].lo, len = k->obj[0].hi - lo;
	int lsda = k->obj[0].lsda;
	const uintptr_t *w;
	/* Words pointing into this thread's stack are not code: its bounds,
	 * as g.c took them when the thread's g was made (else from the frames
	 * scanned to somewhat above them).  Not pthread_getattr_np here: for
	 * the main thread it reads /proc/self/maps through malloc, and a panic
	 * takes nothing from malloc (panic.c). */
	uintptr_t stacklo = g && g->stacklo ? g->stacklo : from;
	uintptr_t stackhi = g && g->stacklo ? g->stackhi : end + (1 << 16);

	/* From off the thread's stack to a word on it: two stacks, not one
	 * range to read (acrossstacks). */
	if (__builtin_expect(from - stacklo >= stackhi - stacklo, 0) &&
	    end - stacklo < stackhi - stacklo)
		return -1;
	for (w = (const uintptr_t *)from - 1; w < (const uintptr_t *)end; w++) {
		uintptr_t v = *w;
		struct objrange r;

		if (v - lo < len) {
			if (lsda)
				return 1;
			continue;
		}
		if (v < 4096 || v - stacklo < stackhi - stacklo)
			continue;
		*other |= SEEN_OTHER;
		if (lookup(k, v, &r))
			continue;
		lo = r.lo, len = r.hi - r.lo, lsda = r.lsda;
		/* Into the object, but not into its code (see objrange). */
		if (lsda && v - lo < len)
			return 1;
	}
	return 0;
}

/* findlp's question in stackkey's order, after notealtstack: whether a
 * frame from the one at from (on an alternate stack) to the one holding
 * mark has a landing pad, or a pad is between. */
static int keyedlp(const struct g *g, uintptr_t from, uintptr_t mark)
{
	struct search s = { 0, 0, 0, g };

	if (!g)
		return 0;
	s.from = stackkey(g, from);
	s.upto = stackkey(g, mark);
	_Unwind_Backtrace(findlp, &s);
	return s.lp || (pads && stackkey(g, pads->sp) <= s.upto);
}

/* scanframes' answer when the panic's frame (from) and the record's
 * (mark) are on two stacks: the panic runs in a handler on an alternate
 * signal stack, the record is an interrupted frame's, on the thread's own
 * stack.  The words between are not one range: with the alternate stack
 * above, the scan read none (a panic skipped the interrupted frames'
 * cleanups); below (.bss, the heap), it read across unmapped memory and
 * faulted.  The unwinder is asked instead, in stackkey's order (a signal
 * frame is between, which the runtime's walk declines).  An alternate
 * stack inside the thread's (a local array) with the record above it is
 * one range: landingpad sees it when that walk declines. */
__attribute__((noinline, cold))
static int acrossstacks(const struct g *g, uintptr_t from, uintptr_t mark)
{
	notealtstack();
	return keyedlp(g, from, mark) ? SCAN_CLEANUPS : 0;
}

/* Whether a frame whose stack pointer is in [from, upto] has a landing
 * pad where it is: the runtime's own walk, resumed where this panic's
 * last question left it (cfiwalk.c), else the unwinder's answer.
 * Inline: a frame of its own would be one more to step through (about
 * 600 Ir in libgcc). */
__attribute__((always_inline))
static inline int landingpad(const struct g *g, uintptr_t from, uintptr_t upto,
			     struct cfiwalk *w)
{
	struct search s = { from, upto, 0, 0 };
	int lp = __defer_cfilp(w, from, upto, g && g->stacklo ? g->stackhi : 0);

	if (lp < 0) {
		/* Declined: a signal frame is between, among others.  A
		 * handler's alternate stack may be a local array inside the
		 * thread's stack, the interrupted frames below it by address:
		 * then they are compared by stackkey. */
		notealtstack();
		if (onaltstack(from))
			return keyedlp(g, from, upto);
		_Unwind_Backtrace(findlp, &s);
		lp = s.lp;
	}
	/* A landing pad's __defer_unwound (a pad, below) between is one all
	 * the same, whatever that landing pad's own call-site entry says: the
	 * panic ends its unwind there. */
	return lp || (pads && pads->sp <= upto);
}

/*
 * Every return address of the frames from gopanic's CFA (from) up to the
 * one holding mark is a word of the stack between them.  Only if one of
 * those words points into an object that has LSDAs at all can one of the
 * frames have a landing pad, and the unwinder is asked then: a panic in
 * code without -fexceptions (where glibc's frames are not between) costs
 * a look-up per other object its words point into.  The same words tell
 * recovery whether a signal frame is between (SCAN_NOSIGFRAME), which
 * would otherwise scan them again.  s holds what this panic's earlier
 * scans saw (struct scan): only the words above them are read.
 */
__attribute__((no_sanitize_address))	/* wordsinlsda is in it */
int scanframes(const struct g *g, uintptr_t from, uintptr_t mark, struct scan *s)
{
	const struct defer_mark *m = (const struct defer_mark *)mark;
	const struct known *k;
	uintptr_t end = mark;
	int seen = s->seen, quiet;

	/* A frame's return address is just below its callee's CFA: the
	 * innermost's (into the panicking function) is gopanic's, below
	 * from; the owner's callee's is below the owner's stack pointer,
	 * which defer_result saw (the rest of the owner's frame holds none). */
	if (m->resumable && m->resume->sp <= mark && m->resume->sp > from)
		end = m->resume->sp;
	else if (mark < from)
		return acrossstacks(g, from, mark);
	k = getknown();	/* and __defer_memcheck */
	quiet = memcheck();
	if (quiet)
		__defer_scanquiet(1);
	/* wordsinlsda reads from the word below its start (gopanic's return
	 * address, the first time): the words from s->next - 8 up are new.
	 * After a word into an object with LSDAs the rest of that range is
	 * not read (SEEN_LSDA stays: the landing-pad question is asked from
	 * then on); each later scan still reads its own new words. */
	if (end >= s->next) {
		int lsda = wordsinlsda(k, g, s->next, end, &seen);

		if (__builtin_expect(lsda < 0, 0)) {
			if (quiet)
				__defer_scanquiet(0);
			return acrossstacks(g, from, mark);
		}
		if (lsda)
			seen |= SEEN_LSDA;
		s->seen = seen;
		s->next = end + 8;
	}
#ifdef __aarch64__
	/* AAPCS64 keeps a return address in the callee's frame record, which
	 * gcc puts at the bottom of the frame: gopanic's (into the panicking
	 * function) can be anywhere below from, so the scan also reads from
	 * this function's own frame record, under gopanic's frame (clang
	 * -O2's frame record of the panicking function is above its mark, so
	 * that word was the only one the scan could see).  That part is
	 * gopanic's own frame, which changes as it runs calls: it is read
	 * every time, and not kept. */
	if (wordsinlsda(k, g, (uintptr_t)__builtin_frame_address(0) + 8, from + 8, &seen))
		seen |= SEEN_LSDA;
#endif
	if (quiet)
		__defer_scanquiet(0);
	/* A signal frame's restorer is one of the words: if every word
	 * pointed into the executable or the stack, and the restorer is
	 * elsewhere (libc), no signal frame is between (for ownercfa). */
	if (!(seen & SEEN_LSDA))
		return seen ? 0 : k->nosig;
	return landingpad(g, from, mark, &s->walk) ? SCAN_CLEANUPS : 0;
}

/* ---- the unwinding ---- */

static struct slot *slotof(const struct _panic *p)
{
	/* One comparison: with pt NULL, slots lies at a small address. */
	uintptr_t slots = (uintptr_t)pt + offsetof(struct perthread, slots);

	return (uintptr_t)p - slots < sizeof pt->slots ? (struct slot *)(uintptr_t)p : 0;
}

void freepanic(struct _panic *p)
{
	struct slot *s = slotof(p);

	if (p->text != p->msg)
		freetext(p);
	if (s)
		s->busy &= ~PANIC;
}

/*
 * The unwind that is at the frame of mark m now, in its landing pad: the
 * one the newest panic goes on with, or one whose panic that landing pad
 * recovered (the owner's other frames).  A mark below the frame it is at
 * (stackkey's order) belongs to a frame that a call of the panic's
 * entered: its exits are ordinary ones.
 */
static struct slot *atframe(const struct g *g, const struct defer_mark *m)
{
	struct slot *s = g && g->_panic ? slotof(g->_panic) : 0;
	uintptr_t key = stackkey(g, (uintptr_t)m);

	if (s && !s->carrier->recovered && key >= s->carrier->at)
		return s->carrier;
	if (pt && pt->landing && key >= pt->landing->at)
		return pt->landing;
	return 0;
}

/* The panic the unwind c goes on with, which is the newest: a newer one
 * runs its calls below, or has taken c over (handover). */
static struct slot *acting(const struct g *g, const struct slot *c)
{
	struct slot *s = c->acts;

	if (g->_panic != &s->p)
		throw("panic: an unwind goes on without its panic");
	return s;
}

/* The owner's caller, as ctx has it, continues: the owner returned its
 * defer_result variable (the owner's frame is gone, its memory is not). */
static void land(struct g *g, struct slot *c, struct _Unwind_Context *ctx)
{
	struct defer_resume r = { .pc = _Unwind_GetIP(ctx), .sp = _Unwind_GetCFA(ctx) };
	const struct defer_resume *v = c->resume ? c->resume->resume : 0;
	sigset_t mask = c->u.mask;
	int masked = c->u.masked;

	callee_saved(&r, ctx);
	if (v && v->var) {
		size_t size = v->varinfo & 0xff;

		if (size > 8)
			throw("recover: a %zu-byte defer_result variable cannot be returned "
			      "after a panic unwound its frame", size);
		memcpy(v->varinfo & 0x100 ? (void *)&r.fret : (void *)&r.ret, v->var, size);
	}
	pt->landing = 0;
	c->busy &= ~UNWIND;
	leave(g, (struct defer_mark *)c->frame, 0, &r, masked ? &mask : 0);
}

extern void __asan_handle_no_return(void) __attribute__((weak));

/*
 * The unwind c of the newest panic s reached the innermost pad's frame,
 * __defer_unwound's as ctx has it, right after __defer_padrun returned:
 * s goes on there, with the pad's unwind, and __defer_padrun, told so by
 * the pad, runs again and runs the frame's remaining calls as s's (so the
 * frame's cleanups run once, after them, as on a return).  Every unwind
 * that is below the pad ends: c, and any whose landing pad the jump
 * leaves (c's panic started in a call that one runs).  Those above, the
 * pad's own and any suspended in an outer landing pad, go on.
 */
__attribute__((noreturn, noinline, cold))
static void handover(const struct g *g, struct slot *c, struct slot *s,
		     struct _Unwind_Context *ctx)
{
	struct pad *pd = pads;
	struct slot *to = pd->carrier;
	struct defer_resume r = { .pc = _Unwind_GetIP(ctx), .sp = _Unwind_GetCFA(ctx) };
	uintptr_t key = stackkey(g, pd->sp);

	if (r.sp != pd->sp)
		throw("panic: the unwind passed the landing pad's runtime frame");
	callee_saved(&r, ctx);
	for (struct slot *o = pt->slots; o < pt->slots + NSLOTS; o++)
		if (o->at < key)	/* the frame it is at, or was last */
			o->busy &= ~UNWIND;
	pd->again = 1;
	s->carrier = to;
	to->acts = s;
	/* A panic of the frame that recovered and landing: the new one goes
	 * on instead (as in Go, with the calls the frame has left). */
	to->recovered = 0;
	if (pt->landing == to)
		pt->landing = 0;
	/* The jump leaves the signal handlers c's unwind passed. */
	if (c->u.masked)
		pthread_sigmask(SIG_SETMASK, &c->u.mask, 0);
	if (__asan_handle_no_return)
		__asan_handle_no_return();
	__defer_jump(&r);
}

/*
 * The records of the frames below the one at ctx (sp: its stack pointer,
 * key: stackkey's), which had no landing pad of their own, as the panic
 * s's that the unwind c goes on with; a recovery there ends as recovery()
 * does.  Out of line: the stop function's usual frame finds none.
 */
__attribute__((noinline))
static void runbelow(struct g *g, struct slot *c, struct slot *s, struct _Unwind_Context *ctx,
		     uintptr_t sp, uintptr_t key)
{
	struct _defer *d;

	while ((d = g->_defer) && stackkey(g, d->sp) < key) {
		struct defer_mark *m = (struct defer_mark *)d->sp, *resume;
		struct defer_resume r;
		sigset_t mask = c->u.mask;
		int masked = c->u.masked;

		if (!panicrun(g, d, &s->p))
			continue;
		c->busy &= ~UNWIND;
		freedefer(g, d);
		if (poppanics(g, d))
			goexit1(g);
		if (key == UINTPTR_MAX)
			throw("recover: the stack ended before the recovering frame's caller");
		resume = runowner(g, m, sp);
		r = (struct defer_resume){ .pc = _Unwind_GetIP(ctx), .sp = sp };
		callee_saved(&r, ctx);
		leave(g, m, resume, &r, masked ? &mask : 0);
	}
}

/* Called for each frame before its landing pad, and at the end. */
static _Unwind_Reason_Code stop(int version, _Unwind_Action actions, _Unwind_Exception_Class cls,
				struct _Unwind_Exception *e, struct _Unwind_Context *ctx, void *arg)
{
	struct slot *c = arg, *s;
	struct g *g = __defer_tls.g;
	int end = actions & _UA_END_OF_STACK;
	uintptr_t sp = end ? UINTPTR_MAX : _Unwind_GetCFA(ctx);
	/* Frames are compared by stackkey: a handler's on an alternate stack
	 * are below the thread's own, wherever that stack is mapped. */
	uintptr_t key = end ? UINTPTR_MAX : stackkey(g, sp);
	struct _defer *d;

	(void)version, (void)cls, (void)e;
	__defer_inruntime = 1;
	if (c->recovered) {
		if (end)
			throw("recover: the stack ended before the recovering frame's caller");
		if (key > stackkey(g, c->frame))
			land(g, c, ctx);
		sigframe(&c->u, ctx);
		__defer_inruntime = 0;
		return _URC_NO_REASON;
	}
	s = c->acts;	/* the newest panic (acting, which padrun checks) */
	/* The report's stack: the unwind passes every frame, from
	 * unwindpanic's up, before anything of it runs (a frame whose
	 * landing pad resumed the unwind comes again: its stack pointer is
	 * the last one's). */
	if (!end && s->npcs < 64 && (!s->npcs || key > s->pcsat)) {
		s->pcs[s->npcs++] = (void *)_Unwind_GetIP(ctx);
		s->pcsat = key;
	}
	if ((d = g->_defer) && stackkey(g, d->sp) < key)
		runbelow(g, c, s, ctx, sp, key);
	sigframe(&c->u, ctx);
	if (pads && key >= stackkey(g, pads->sp))
		handover(g, c, s, ctx);
	if (end && s->p.goexit) {
		/* Every call ran: the thread ends, as defer_goexit's own loop
		 * ends it.  pthread_exit's unwind passes the frames again, with
		 * nothing left to run. */
		g->_panic = s->p.link;
		s->busy &= ~PANIC;
		c->busy &= ~UNWIND;
		__defer_inruntime = 0;
		pthread_exit(0);
	}
	if (end) {
		STAP_PROBE2(libdefer, fatal, &s->p, g);
		fatalpanic(g);
	}
	c->at = key;
	__defer_inruntime = 0;
	return _URC_NO_REASON;
}

/* A C++ catch (...) that does not rethrow ends the unwind and deletes
 * the exception: the panic can go nowhere. */
static void swallowed(_Unwind_Reason_Code why, struct _Unwind_Exception *e)
{
	(void)why, (void)e;
	throw("a panic unwinding C++ frames was caught by catch (...) and not rethrown");
}

void unwindpanic(struct g *g, struct _panic *p, uintptr_t from)
{
	struct slot *s;
	struct _defer *d;

	if (!getpt())
		throw("panic: no memory to unwind the frames with cleanups");
	s = pt->slots;
	while (s < pt->slots + NSLOTS && s->busy)
		s++;
	if (s == pt->slots + NSLOTS)
		throw("more than %d panics unwinding at once", NSLOTS);
	memset(s, 0, offsetof(struct slot, carrier));
	s->busy = PANIC | UNWIND;
	s->carrier = s->acts = s;
	s->p = *p;
	if (p->text == p->msg)
		s->p.text = s->p.msg;
	if (__defer_fault.p == p)
		__defer_fault.p = &s->p;
	g->_panic = &s->p;
	notealtstack();		/* for stackkey, in stop and atframe */
	/* Their cleanups run their calls as the panic's (__defer_unwound).
	 * The stop function and the cleanups run records without looking:
	 * every record is checked here first (a dead one's mark is not
	 * written either). */
	for (d = g->_defer; d; d = d->link) {
		checklive(g, d, from);
		if (((struct defer_mark *)d->sp)->armed == 1)
			((struct defer_mark *)d->sp)->armed = 2;
	}
	s->exc.exception_class = 0x4c44464b50414e43ull;	/* "LDFKPANC" */
	s->exc.exception_cleanup = swallowed;
	_Unwind_ForcedUnwind(&s->exc, stop, s);
	throw("panic: cannot unwind the stack (missing unwind tables?)");
}

void __defer_unwindrest(struct g *g, struct _panic *p, uintptr_t from)
{
	if (pads)
		unwindpanic(g, p, from);
}

/*
 * The calls of pd's frame, in its landing pad, as the panic's that the
 * pad's unwind goes on with, and after a recovery as a return's.  It
 * returns again, with pd->again set, when a newer panic takes the unwind
 * over (handover): the frame's calls left are then that panic's.  Named
 * so that the crash report folds it with the runtime's frames (a newer
 * panic's stack passes it).
 */
__attribute__((noinline))
static void __defer_padrun(struct g *g, struct pad *pd)
{
	struct defer_mark *m = pd->m;
	struct slot *c = pd->carrier, *s;
	struct _defer *d;

	/* The frame handover finds: __defer_unwound's, at this call. */
	pd->sp = (uintptr_t)__builtin_dwarf_cfa();
	m->armed = 1;		/* a newer panic's unwindpanic made it 2 again */
	if (c->recovered) {
		/* An ordinary exit: of the recovering owner's other frames
		 * while its landing pad finishes. */
		if (!c->resume && m->resumable)
			c->resume = m;
		deferreturn(m);
		return;
	}
	s = acting(g, c);
	__defer_inruntime = 1;
	while ((d = g->_defer) && d->sp == (uintptr_t)m) {
		if (!panicrun(g, d, &s->p))
			continue;
		freedefer(g, d);
		if (poppanics(g, d))
			goexit1(g);
		c->recovered = 1;	/* c stays UNWIND until the unwind stops (land) */
		c->frame = (uintptr_t)m;
		c->resume = m->resumable ? m : 0;
		pt->landing = c;
		STAP_PROBE2(libdefer, resume, m, g);
		break;
	}
	__defer_inruntime = 0;
	/* The frame's other calls: no panic of theirs.  Only if it has some:
	 * an inner block's frame, which the compiler may put above the
	 * function's own mark, would otherwise find the function's record at
	 * the head and take it for a dead deeper frame's (__defer_checkstale). */
	if (c->recovered && g->_defer && g->_defer->sp == (uintptr_t)m)
		deferreturn(m);
}

void __defer_unwound(struct defer_mark *m)
{
	struct g *g = __defer_tls.g;
	struct slot *c = atframe(g, m);
	struct pad pad;

	if (!c) {
		m->armed = 1;
		deferreturn(m);
		return;
	}
	pad.m = m;
	pad.carrier = c;
	pad.next = pads;
	pads = &pad;
	/* pad is the program's memory to the compiler once pads holds it: it
	 * reads again after the call what the handover wrote. */
	do {
		pad.again = 0;
		__defer_padrun(g, &pad);
	} while (pad.again);
	pads = pad.next;
}

/* The stack an unwound panic had, for the report; 0 if it did not unwind. */
int unwoundpcs(const struct _panic *p, void *const **pcs)
{
	const struct slot *s = slotof(p);

	if (!s)
		return 0;
	*pcs = s->pcs;
	return s->npcs;
}
