/* SPDX-License-Identifier: MIT */
/*
 * altstack.c - the alternate signal stack a thread runs on, if it does.
 *
 * A handler on an alternate stack runs on memory that is anywhere: below
 * the thread's own stack, above it, or inside it (a local array of a
 * frame of the thread).  The frames on it are newer than all of the
 * thread's own, so the runtime cannot order frames by address alone
 * (stackkey) nor judge a record dead by its place (stale.c) while a panic
 * runs there.  The range is asked of the kernel (sigaltstack, which is
 * async-signal-safe) where those paths start, never on the fast paths.
 */
#include <signal.h>
#include "runtime.h"

__thread struct altrange __defer_alt __attribute__((tls_model("initial-exec")));

void notealtstack(void)
{
	stack_t ss;

	__defer_alt.lo = __defer_alt.hi = 0;
	if (sigaltstack(0, &ss) || !(ss.ss_flags & SS_ONSTACK))
		return;
	__defer_alt.lo = (uintptr_t)ss.ss_sp;
	__defer_alt.hi = (uintptr_t)ss.ss_sp + ss.ss_size;
}
