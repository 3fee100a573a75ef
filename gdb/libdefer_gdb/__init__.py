# SPDX-License-Identifier: MIT
"""libdefer_gdb - gdb support for libdefer (Go's defer/panic/recover for C).

Modules, by concern.  The records layer, the only code that reads the inferior and decodes
libdefer's records (the rest asks it for plain Python objects):
  abi          the ABI's constants and field lists (defer_abi.h)
  layout       where allgs is and the records' offsets (table, DWARF, scan)
  memory       reads of memory (a block cache), registers, probe arguments
  validity     what makes a record, pointer or count impossible
  snapshot     one stop's threads, defer and panic chains (G, Defer, Panic)
  symbols      names, sites and parameter lists of addresses, cached
  formatting   deferred calls and values as text (format_call, format_site)
  escape       the program's bytes made safe to print
  frames       which frame owns a record (FrameMap), thread switching and ids
  errors       NotLinked, NoTarget, out of memory: one-line gdb errors
The commands and views built on it:
  commands     info defers, info panics
  printers     pretty-printers for struct g, struct _defer, struct _panic
  framefilter  bt shows deferred calls under the frames that own them
  params       set/show defer ...
  functions    $_defer_count(), $_panicking(), ...
  catchpoints  catch defer/panic/recover/deferreturn, the unrecovered-panic stop
  stepping     defer step
  tui          the defers window and layout
  mi           -defer-list-defers, -defer-list-panics
  dap          libdefer in gdb's DAP server (gdb -i dap)
  interp       which interpreter gdb runs (console, MI, DAP)
  qemucore     a qemu-user core of a PIE: load the program where the core says
  sigframe     aarch64 signal frames gdb 13 cannot unwind (SVE, no SVE registers)
  version      __version__ and `show defer version`

register(objfile) is what auto-load scripts call: the commands, parameters,
functions and frame filter are global and installed once; the
pretty-printers are registered once per objfile that holds libdefer.
Nothing at import can fail: gdb objects are made in register(), and on a
gdb older than MIN_GDB register() installs nothing and says so once.
"""

import gdb

from .version import VERSION as __version__

MIN_GDB = 12        # gdb.MICommand, Type.is_signed, gdb.with_parameter
_installed = False
_refused = False


def _gdb_major():
    try:
        return int(gdb.VERSION.split(".")[0])
    except (AttributeError, ValueError):
        return 0


def supported():
    """Is this gdb new enough?  On the first `no`, one line says why."""
    global _refused
    major = _gdb_major()
    if major >= MIN_GDB:
        return True
    if not _refused:
        gdb.write("libdefer's gdb extension needs gdb %d or newer (this is gdb %s)\n" %
                  (MIN_GDB, gdb.VERSION), gdb.STDERR)
        _refused = True
    return False


def install():
    """Install the global parts (idempotent)."""
    global _installed
    if _installed or not supported():
        return
    from . import commands, framefilter, functions, params, snapshot
    params.register()
    commands.register()
    functions.register()
    framefilter.register()
    snapshot.connect_events()
    from . import catchpoints, dap, mi, qemucore, sigframe, stepping, tui
    qemucore.register()
    sigframe.register()
    catchpoints.register()
    stepping.register()
    mi.register()
    tui.register()
    dap.install()
    _installed = True


def register(objfile=None):
    """Entry point for auto-load scripts and the launcher: install the
    extension, and the pretty-printers for `objfile` (the objfile the script
    came with; a second script for the same objfile adds nothing)."""
    install()
    if not _installed:
        return
    from . import printers
    printers.register(objfile)
