# SPDX-License-Identifier: MIT
"""regs.py - which register holds what, per architecture of the inferior
(x86-64 or aarch64: the program's, never gdb's host).  Only names: memory.py
reads the selected frame's registers, gdb.Frame other frames'.

  SP              the stack pointer: gdb's own alias, on every architecture.
  argument(i)     the register of the i-th integer argument at a function's
                  entry (System V: rdi, rsi...; AAPCS64: x0, x1...).
"""

import gdb

SP = "sp"

_ARGS = {
    "aarch64": ("x0", "x1", "x2", "x3", "x4", "x5"),
    "i386:x86-64": ("rdi", "rsi", "rdx", "rcx", "r8", "r9"),
}


def _arch():
    try:
        return gdb.selected_frame().architecture().name()
    except gdb.error:       # no frame: no process
        return "i386:x86-64"


def argument(i):
    """The name of the register that holds integer argument i on entry."""
    return _ARGS.get(_arch(), _ARGS["i386:x86-64"])[i]
