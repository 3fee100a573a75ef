/* SPDX-License-Identifier: MIT */
/*
 * flood.c - thread records and chains made to flood a debugger.
 *
 *   flood NG NP ND   appends NG fake thread records to allgs, all sharing
 *                    one cycle of NP panics and one chain of ND deferred
 *                    calls, then stops at checkpoint() and exits
 *
 * The records are well-formed (a reader cannot reject them as garbage):
 * only their number and sharing are hostile.  Never resumed past
 * checkpoint: the runtime must not walk them.
 */
#define _GNU_SOURCE
#include <defer.h>
#include <defer_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int sink;

__attribute__((noinline)) void checkpoint(void)
{
	sink++;
}

static void nothing(int x)
{
	sink += x;
}

int main(int argc, char **argv)
{
	long ng = argc > 1 ? atol(argv[1]) : 1;
	long np = argc > 2 ? atol(argv[2]) : 1;
	long nd = argc > 3 ? atol(argv[3]) : 1;
	defer_frame;
	defer(nothing, 1);	/* this thread's own record exists from here */
	struct _panic *p = calloc((size_t)np, sizeof *p);
	struct _defer *d = calloc((size_t)nd, sizeof *d);
	struct g *gs = calloc((size_t)ng, sizeof *gs);
	if (!p || !d || !gs)
		return 1;
	for (long i = 0; i < np; i++) {
		p[i].link = &p[(i + 1) % np];
		p[i].pc = (uintptr_t)&checkpoint;
		snprintf(p[i].msg, sizeof p[i].msg, "panic %ld of the cycle", i);
	}
	for (long i = 0; i < nd; i++) {
		d[i].link = i + 1 < nd ? &d[i + 1] : NULL;
		d[i].fn = (void (*)(void))nothing;
		d[i].pc = (uintptr_t)&checkpoint + 1;
		d[i].sp = (uintptr_t)&d[i];
		d[i].nargs = 1;
		d[i].kind[0] = DEFER_ARG_SIGNED | 4;
		d[i].iregs[0] = (uint64_t)i;
	}
	for (long i = 0; i < ng; i++) {
		gs[i].alllink = i + 1 < ng ? &gs[i + 1] : NULL;
		gs[i]._panic = p;
		gs[i]._defer = d;
		gs[i].tid = (int32_t)(1000000 + i);
		gs[i].status = DEFER_G_RUNNING;
		strcpy(gs[i].name, "fake");
	}
	gs[ng - 1].alllink = allgs->alllink;
	allgs->alllink = gs;
	checkpoint();
	_exit(0);
}
