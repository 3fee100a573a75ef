/* SPDX-License-Identifier: MIT */
/*
 * version.c - defer_version(): the version of the library a program runs
 * with, to compare with LIBDEFER_VERSION, the header's it was built with.
 */
#include "defer.h"

const char *defer_version(void)
{
	return LIBDEFER_VERSION;
}
