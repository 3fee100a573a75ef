# SPDX-License-Identifier: MIT
"""sigframe.py - unwind aarch64 Linux signal frames that gdb 13 cannot.

Why: gdb 13's aarch64 signal-frame unwinder walks the records of the
frame's sigcontext (FPSIMD, SVE, ...) and, when the record is SVE's but
gdb's register set has no SVE registers, leaves the loop's position where
it is: it reads the same record forever and `bt` hangs.  qemu-user
emulates a CPU with SVE and writes SVE records into signal frames, but no
NT_ARM_SVE note into its cores, so every core of a thread stopped in a
signal handler hangs gdb: libdefer's crash report stops the other threads
in a SIGURG handler, so that is each thread but the crashing one.

Live over qemu's gdbstub the register set has SVE, but of the largest
vector length qemu supports, not the one the program runs with, and gdb
stops the backtrace: "Invalid vector length in signal frame 4 vs 16".

This unwinder takes the frame instead, only on aarch64, only at the
rt_sigreturn trampoline (`mov x8, #139; svc #0`), and only when the
frame has an SVE record gdb would not read: it restores x0-x30, sp, pc
and cpsr from the sigcontext (the vector registers are left unsaved) and
gives the frame gdb's own id for a trampoline frame (sp, the
trampoline's pc).  gdb takes it for a normal frame, not a signal frame:
when the handler ran on an alternate stack above the interrupted one, gdb
then stops after the interrupted function ("previous frame inner to this
frame").
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
# The sigcontext's __reserved records follow pstate, 16-aligned: {u32
# magic, u32 size} heads; SVE's has its vector length (u16) next.
RECORDS = 128 + 176 + 288
SVE_MAGIC = 0x53564501
MAX_RECORDS = 16
RESERVED = 4096


class _FrameId:
    """gdb 13 takes a frame id's sp and pc as gdb.Value only."""

    def __init__(self, sp, pc):
        self.sp, self.pc = sp, pc


def _sve_vl(inf, sp):
    """The vector length (bytes) in the frame's SVE record, or None."""
    pos, end = sp + RECORDS, sp + RECORDS + RESERVED
    for _ in range(MAX_RECORDS):
        magic, size, vl = struct.unpack("<IIH", inf.read_memory(pos, 10).tobytes())
        if magic == SVE_MAGIC:
            return vl
        if magic == 0 or size < 8 or pos + size >= end:
            return None
        pos += size
    return None


def _gdb_reads_it(pending, arch, inf, sp):
    """Would gdb's own unwinder read this frame: an SVE record only with
    SVE registers of the same vector length (gdb 13 loops without them,
    and stops with "Invalid vector length in signal frame" on another
    length: qemu's gdbstub describes the largest, 256 bytes, while
    programs run with 64)?"""
    vl = _sve_vl(inf, sp)
    if vl is None:
        return True
    if not any(r.name == "vg" for r in arch.registers()):
        return False
    return pending.read_register("z0").type.sizeof == vl


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
    sp = int(pending.read_register("sp"))
    try:
        if _gdb_reads_it(pending, arch, inf, sp):
            return None
        words = struct.unpack("<%dQ" % (NREGS + 3),
                              inf.read_memory(sp + REGS, 8 * (NREGS + 3)).tobytes())
    except (gdb.error, ValueError):
        # gdb.MemoryError; ValueError: a register this gdb does not have
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
