# SPDX-License-Identifier: MIT
"""interp.py - which interpreter gdb was started with: "console", "mi" or "dap".

gdb's Python (13) cannot ask which interpreter is at the top level; the
command line says it (-i=mi3, --interpreter dap, ...) for the life of the
process.  MI front ends need gdb's own stop records; gdb's DAP server needs
frame addresses and gets libdefer's scopes and exception filters (dap.py).
"""

_top = None


def top_level():
    global _top
    if _top is None:
        try:
            with open("/proc/self/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            argv = []
        _top = "console"
        for i, a in enumerate(argv):
            name, eq, value = a.partition(b"=")
            if name not in (b"-i", b"--interpreter", b"-interpreter"):
                continue
            if not eq:
                value = argv[i + 1] if i + 1 < len(argv) else b""
            if value.startswith(b"mi"):
                _top = "mi"
            elif value == b"dap":
                _top = "dap"
            break
    return _top
