# SPDX-License-Identifier: MIT
"""sigframe.py - unwind aarch64 Linux signal frames that gdb 13 cannot.

Why: gdb 13's aarch64 signal-frame unwinder walks the records of the
frame's sigcontext (FPSIMD, SVE, ...) and, when the record is SVE's but
gdb's register set has no SVE registers, leaves the loop's position where
it is: it reads the same record forever and `bt` hangs.  qemu-user
emulates a CPU with SVE and writes SVE records into signal frames, but no
NT_ARM_SVE note into its cores, so every core of a thread stopped in a
signal handler hangs gdb: libdefer's crash report stops the other threads
in a SIGURG handler, so that is each thread but the crashing one.  Live
over qemu's gdbstub the register set has SVE and gdb's unwinder works.

This unwinder takes the frame instead, only on aarch64, only at the
rt_sigreturn trampoline (`mov x8, #139; svc #0`), and only when the
architecture has no SVE registers: it restores x0-x30, sp, pc and cpsr
from the sigcontext (the vector registers are left unsaved) and gives
the frame gdb's own id for a trampoline frame (sp, the trampoline's pc).
"""

import struct

import gdb

# rt_sigreturn: mov x8, #139; svc #0
TRAMPOLINE = struct.pack("<II", 0xd2801168, 0xd4000001)
# The kernel's (and qemu's) struct rt_sigframe at sp: siginfo (128 bytes),
# then the ucontext, whose uc_mcontext is at 176; the sigcontext's regs[31],
# sp, pc, pstate follow its fault_address (8).  Must match the Linux arm64
# uapi (asm/sigcontext.h, asm/ucontext.h).
REGS = 128 + 176 + 8
NREGS = 31


class _FrameId:
    """gdb 13 takes a frame id's sp and pc as gdb.Value only."""

    def __init__(self, sp, pc):
        self.sp, self.pc = sp, pc


def _has_sve(arch):
    return any(r.name == "vg" for r in arch.registers())


def _unwind(pending):
    arch = pending.architecture()
    if arch.name() != "aarch64":
        return None
    pc = int(pending.read_register("pc"))
    inf = gdb.selected_inferior()
    try:
        if inf.read_memory(pc, len(TRAMPOLINE)).tobytes() != TRAMPOLINE:
            return None
    except gdb.MemoryError:
        return None
    if _has_sve(arch):
        return None         # gdb's own unwinder reads this frame right
    sp = int(pending.read_register("sp"))
    try:
        words = struct.unpack("<%dQ" % (NREGS + 3),
                              inf.read_memory(sp + REGS, 8 * (NREGS + 3)).tobytes())
    except gdb.MemoryError:
        return None
    u64, u32 = arch.integer_type(64, False), arch.integer_type(32, False)
    info = pending.create_unwind_info(_FrameId(gdb.Value(sp).cast(u64), gdb.Value(pc).cast(u64)))
    for i in range(NREGS):
        info.add_saved_register("x%d" % i, gdb.Value(words[i]).cast(u64))
    info.add_saved_register("sp", gdb.Value(words[NREGS]).cast(u64))
    info.add_saved_register("pc", gdb.Value(words[NREGS + 1]).cast(u64))
    info.add_saved_register("cpsr", gdb.Value(words[NREGS + 2] & 0xffffffff).cast(u32))
    return info


def register():
    from gdb.unwinder import Unwinder, register_unwinder

    class SignalFrame(Unwinder):
        def __init__(self):
            Unwinder.__init__(self, "libdefer-aarch64-sigframe")

        def __call__(self, pending):
            return _unwind(pending)

    register_unwinder(None, SignalFrame(), replace=True)
