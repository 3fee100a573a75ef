# libdefer-gdb.py - load the libdefer gdb extension.
#
#   gdb -iex 'source /path/to/gdb/libdefer-gdb.py' PROGRAM
#
# Puts this file's directory on sys.path and installs the package.  Safe to
# source more than once, and alongside the auto-loaded copy.
import os
import sys

_here = os.path.dirname(os.path.realpath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
import libdefer_gdb  # noqa: E402

libdefer_gdb.register()
