# SPDX-License-Identifier: MIT
"""interp.py - which interpreter gdb was started with: "console", "mi" or "dap".

gdb's Python (13) cannot ask which interpreter is at the top level; the
command line says it (-i=mi3, --interpreter dap, ...) for the life of the
process.  MI front ends need gdb's own stop records; gdb's DAP server needs
frame addresses and gets libdefer's scopes and exception filters (dap.py).
"""

_top = None

# gdb's options that take a value (the next word): never read as options.
_WITH_VALUE = {"ex", "eval-command", "iex", "init-eval-command", "x", "command", "ix",
               "init-command", "p", "pid", "c", "core", "d", "directory", "cd", "s", "symbols",
               "e", "exec", "se", "b", "l", "tty", "D", "data-directory"}


def _interpreter_option(name):
    """-i, or --interpreter as gdb's option parser accepts it: with one or
    two dashes, abbreviated down to "inter" (shorter is ambiguous)."""
    word = name.lstrip("-")
    return name.startswith("-") and (word == "i" or (len(word) >= 5 and
                                                      "interpreter".startswith(word)))


def parse(argv):
    """The interpreter named by gdb's command line argv (without argv[0]):
    only gdb's own options count, never a word after --args or an option's
    value."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--args" or not a.startswith("-"):
            if a == "--args":
                break
            i += 1
            continue
        name, eq, value = a.partition("=")
        if _interpreter_option(name):
            if not eq:
                value = argv[i + 1] if i + 1 < len(argv) else ""
            return "mi" if value.startswith("mi") else "dap" if value == "dap" else "console"
        if not eq and name.lstrip("-") in _WITH_VALUE:
            i += 1
        i += 1
    return "console"


def top_level():
    global _top
    if _top is None:
        try:
            with open("/proc/self/cmdline", "rb") as f:
                argv = f.read().decode("utf-8", "surrogateescape").split("\0")
        except OSError:
            argv = []
        _top = parse(argv[1:])
    return _top
