/* SPDX-License-Identifier: MIT */
/*
 * gdb_autoload.c - make gdb load libdefer's extension by itself.
 *
 * A .debug_gdb_scripts entry of type 1: the absolute path of the
 * extension's entry script (as Go binaries name runtime-gdb.py), never
 * code.  gdb runs a type-1 script only if the *script file* is inside the
 * auto-load safe-path, so trusting libdefer's own script directory trusts
 * nothing the program carries.  (A type-4 entry, inline Python, is checked
 * against the objfile instead: trusting a program would run whatever text
 * it holds.  That is why this file no longer has one.)
 *
 * LIBDEFER_GDB_SCRIPT comes from gdb/build.mk: the source tree's
 * gdb/libdefer-gdb.py for the libraries under build/, the installed
 * $(PREFIX)/share/libdefer/gdb/libdefer-gdb.py for the ones make install
 * copies (build/install/), so no installed file names the build tree.
 *
 * The section is kept in static links because the runtime refers to
 * __defer_gdb_autoload (so this object is always pulled out of libdefer.a).
 */
#ifndef LIBDEFER_GDB_SCRIPT
#error "LIBDEFER_GDB_SCRIPT (the extension's entry script) comes from gdb/build.mk"
#endif

__attribute__((used, visibility("hidden"))) const char __defer_gdb_autoload[] = LIBDEFER_GDB_SCRIPT;

__asm__(
	".pushsection \".debug_gdb_scripts\", \"MS\",@progbits,1\n"
	".byte 1\n"
	".asciz \"" LIBDEFER_GDB_SCRIPT "\"\n"
	".popsection\n");
