# SPDX-License-Identifier: MIT
"""version.py - the extension's version, and `show defer version`.

The version is libdefer's, written once in libdefer/include/defer.h.
make install writes it into the installed copy of this file (_INSTALLED);
in the source tree it is read from the header two directories up.
"""

import os
import re

import gdb

_INSTALLED = "@LIBDEFER_VERSION@"


def _from_header():
    here = os.path.dirname(os.path.realpath(__file__))
    header = os.path.join(here, "..", "..", "libdefer", "include", "defer.h")
    try:
        with open(header) as f:
            text = f.read()
    except OSError:         # not a source tree and not installed: say so
        return "unknown"
    parts = [re.search(r"^#define LIBDEFER_VERSION_%s (\d+)$" % k, text, re.M)
             for k in ("MAJOR", "MINOR", "PATCH")]
    if not all(parts):
        return "unknown"
    return ".".join(m.group(1) for m in parts)


VERSION = _INSTALLED if not _INSTALLED.startswith("@") else _from_header()


class _ShowVersion(gdb.Command):
    """Show the version of libdefer's gdb extension (libdefer's version).
The runtime a program runs with may differ: `print defer_version()` asks it."""

    def __init__(self):
        gdb.Command.__init__(self, "show defer version", gdb.COMMAND_STATUS, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        gdb.write("libdefer gdb extension %s (gdb %s)\n" % (VERSION, gdb.VERSION))


def register():
    """After the `show defer` prefix exists (params.register)."""
    _ShowVersion()
