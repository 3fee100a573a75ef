# SPDX-License-Identifier: MIT
# libdefer-gdb.py - load the libdefer gdb extension.
#
#   gdb -ix /path/to/gdb/libdefer-gdb.py PROGRAM      (or: source FILE)
#
# Also the script that the .debug_gdb_scripts entry of every program linked
# with libdefer names (libdefer/src/gdb_autoload.c): gdb runs it with
# gdb.current_objfile() set to that program or libdefer.so.
#
# The package is imported from this file's own directory and nowhere else:
# not through sys.path, where another libdefer_gdb (or a planted one) could
# come first.  Safe to run more than once and beside another copy: the
# first package imported stays, later entries only register their objfile.
import importlib.util
import os
import sys

import gdb


def _load():
    mod = sys.modules.get("libdefer_gdb")
    if mod is not None:
        return mod
    pkg = os.path.join(os.path.dirname(os.path.realpath(__file__)), "libdefer_gdb")
    spec = importlib.util.spec_from_file_location(
        "libdefer_gdb", os.path.join(pkg, "__init__.py"), submodule_search_locations=[pkg])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["libdefer_gdb"] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules["libdefer_gdb"]
        raise
    return mod


_load().register(gdb.current_objfile())
