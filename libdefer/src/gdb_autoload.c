/*
 * gdb_autoload.c - make gdb load libdefer's extension by itself.
 *
 * A .debug_gdb_scripts entry (type 4: an inline Python script, as Rust and
 * Go binaries carry) that finds the libdefer_gdb package and registers it.
 * gdb runs it when it loads the program (static link) or libdefer.so, if
 * the objfile is inside the auto-load safe-path (see docs/gdb.md).
 *
 * Where the package is, in order: $LIBDEFER_GDB_DIR; already imported (the
 * deferdb launcher or a ~/.gdbinit `source`); next to the objfile's install
 * (../share/libdefer/gdb from the library's lib directory); the source tree
 * the runtime was built from; the install prefix.  The last two are
 * compiled in by gdb/build.mk (LIBDEFER_GDB_DIRS, colon-separated).
 *
 * The section is kept in static links because the runtime refers to
 * __defer_gdb_autoload (so this object is always pulled out of libdefer.a).
 */
#ifndef LIBDEFER_GDB_DIRS
#define LIBDEFER_GDB_DIRS ""
#endif

__attribute__((used, visibility("hidden"))) const char __defer_gdb_autoload[] = "libdefer-gdb";

__asm__(
	".pushsection \".debug_gdb_scripts\", \"MS\",@progbits,1\n"
	".byte 4\n"
	".ascii \"gdb.inlined-script.libdefer\\n\"\n"
	".ascii \"import os, sys\\n\"\n"
	".ascii \"def _libdefer_autoload():\\n\"\n"
	".ascii \"    import gdb\\n\"\n"
	".ascii \"    obj = gdb.current_objfile()\\n\"\n"
	".ascii \"    if 'libdefer_gdb' not in sys.modules:\\n\"\n"
	".ascii \"        dirs = [os.environ.get('LIBDEFER_GDB_DIR', '')]\\n\"\n"
	".ascii \"        if obj is not None:\\n\"\n"
	".ascii \"            lib = os.path.dirname(os.path.realpath(obj.filename))\\n\"\n"
	".ascii \"            dirs.append(os.path.join(lib, '..', 'share', 'libdefer', 'gdb'))\\n\"\n"
	".ascii \"        dirs += '" LIBDEFER_GDB_DIRS "'.split(':')\\n\"\n"
	".ascii \"        for d in dirs:\\n\"\n"
	".ascii \"            if d and os.path.isfile(os.path.join(d, 'libdefer_gdb', '__init__.py')):\\n\"\n"
	".ascii \"                sys.path.insert(0, os.path.realpath(d))\\n\"\n"
	".ascii \"                break\\n\"\n"
	".ascii \"        else:\\n\"\n"
	".ascii \"            gdb.write('libdefer: gdb extension not found; set LIBDEFER_GDB_DIR or use deferdb\\\\n', gdb.STDERR)\\n\"\n"
	".ascii \"            return\\n\"\n"
	".ascii \"    import libdefer_gdb\\n\"\n"
	".ascii \"    libdefer_gdb.register(obj)\\n\"\n"
	".ascii \"_libdefer_autoload()\\n\"\n"
	".byte 0\n"
	".popsection\n");
