/* SPDX-License-Identifier: MIT */
/* longmsg.c - a panic whose message is 100,001 bytes (ABI 2: _panic.text). */
#include <defer.h>
#include <stdlib.h>
#include <string.h>
volatile int sink;
__attribute__((noinline)) void checkpoint(void) { sink++; }
static void stop(int x) { (void)x; checkpoint(); }
int main(void)
{
	char *m = malloc(100001);
	memset(m, 'x', 100000);
	m[99999] = 'E';
	m[100000] = 0;
	defer_frame;
	defer(stop, 1);
	panic("%s%%", m);
}
