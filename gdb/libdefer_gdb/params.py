# SPDX-License-Identifier: MIT
"""params.py - `set defer ...` / `show defer ...`.

Other modules read the current values through the accessor functions
(backtrace(), max_entries()), never through gdb.parameter strings.
"""

import gdb


class _Prefix(gdb.Command):
    def __init__(self, name):
        gdb.Command.__init__(self, name, gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, arg, from_tty):
        # `show defer` with no sub-command shows them all, like `show print`.
        if self._name.startswith("show"):
            for p in _PARAMS:
                gdb.write("%s:  %s\n" % (p.short_name, p.get_show_string(p.show_value())))
        else:
            gdb.execute("help set defer", from_tty)


class _Param(gdb.Parameter):
    def __init__(self, name, cls, kind, default, doc, set_doc, show_doc, show):
        self.__doc__ = doc
        self.set_doc = set_doc
        self.show_doc = show_doc
        self._show = show
        gdb.Parameter.__init__(self, "defer " + name, cls, kind)
        self.short_name, self._kind = name, kind
        self.value = default

    def show_value(self):
        # gdb reads unlimited back as None or, for ZUINTEGER_UNLIMITED, -1.
        if self.value is None or (self._kind == gdb.PARAM_ZUINTEGER_UNLIMITED and
                                  self.value == -1):
            return "unlimited"
        if isinstance(self.value, bool):
            return "on" if self.value else "off"
        return str(self.value)

    def get_set_string(self):
        return ""

    def get_show_string(self, svalue):
        return self._show % svalue


class _SetPrefix(_Prefix):
    """Settings of the libdefer gdb extension.

Example:
  set defer backtrace off
  set defer max-entries unlimited"""
    _name = "set"


class _ShowPrefix(_Prefix):
    """Show the libdefer gdb extension's settings.

Example:
  show defer max-entries"""
    _name = "show"


_PARAMS = []
_backtrace = None
_max_entries = None


def define(*args):
    """A `set defer NAME` / `show defer NAME` parameter (the arguments of
    _Param), listed by `show defer`; other modules make theirs here."""
    p = _Param(*args)
    _PARAMS.append(p)
    return p


def flag(p, default):
    """A boolean parameter's value; `default` before it is registered."""
    return bool(p.value) if p is not None else default


def register():
    global _backtrace, _max_entries
    _SetPrefix("set defer")
    _ShowPrefix("show defer")
    from . import version
    version.register()
    _PARAMS.clear()
    _backtrace = define(
        "backtrace", gdb.COMMAND_STACK, gdb.PARAM_BOOLEAN, True,
        """Show deferred calls under their frames in `bt`.
When on (the default), `bt` prints each frame's pending deferred calls,
newest first, indented under the frame that owns them.  `bt -no-filters`
always gives the plain backtrace.

Example:
  set defer backtrace off""",
        "Set whether bt shows deferred calls under their frames.",
        "Show whether bt shows deferred calls under their frames.",
        "Showing deferred calls in backtraces is %s.")
    _max_entries = define(
        "max-entries", gdb.COMMAND_DATA, gdb.PARAM_ZUINTEGER_UNLIMITED, 100000,
        """Limit the records one command reads (info defers, info panics, bt, MI...).
The budget counts deferred calls and panics of all threads together, so
that a program with many threads cannot multiply it.  Reaching it prints
"stopped after N records".  The default is 100000; `unlimited` (or -1)
reads every one.

Example:
  set defer max-entries unlimited
  set defer max-entries 50""",
        "Set the maximum number of records one command reads.",
        "Show the maximum number of records one command reads.",
        "The maximum number of records one command reads is %s.")


def backtrace():
    return flag(_backtrace, True)


def max_entries():
    """The cap, or None for unlimited."""
    if _max_entries is None:
        return 100000
    v = _max_entries.value
    return None if v is None or v < 0 else v


def max_entries_text():
    """max-entries as `show defer max-entries` words it."""
    v = max_entries()
    return "unlimited" if v is None else str(v)
