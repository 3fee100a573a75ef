# SPDX-License-Identifier: MIT
"""formatting.py - deferred calls, sites and values as text.

format_call turns a decoded Defer into 'fn(a=1, b=0x... <conn>)': the
arguments are taken from the saved registers the way the SysV ABI put
them there, typed by the callee's debug info (symbols.Symbols.params)
or, without it, by the kind bytes the runtime recorded (abi.ARG_*).
format_site gives 'func at file:line' of a return address.  A printing
plan per (function, argument shape) is cached, so 100,000 calls deferred
in a loop cost one look-up.  Text views get escaped text (escape.py); MI
and DAP ask for raw=True and quote it themselves.
"""

import struct

import gdb

from . import abi
from .symbols import Symbols, add_cache
from .escape import printable


def _sext(v, size):
    bits = 8 * size
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _fmt_float(raw, size):
    if size == 4:
        x = struct.unpack("<f", struct.pack("<I", raw & 0xFFFFFFFF))[0]
    else:
        x = struct.unpack("<d", struct.pack("<Q", raw))[0]
    return "%.9g" % x if size == 4 else repr(x)


def _fmt_fast(fast, raw):
    kind, size = fast       # "b" "f" "p": _fast_formatter makes "s" and "u" itself
    if kind == "b":
        return "true" if raw & 0xFF else "false"
    if kind == "f":
        return _fmt_float(raw, size)
    return _fmt_pointer(raw)


def _fmt_kind(k, raw):
    """An argument without debug info, by the runtime's recorded kind byte."""
    cls, size = k & abi.ARG_CLASS, k & abi.ARG_SIZE
    if cls == abi.ARG_SIGNED:
        return str(_sext(raw, size or 8))
    if cls == abi.ARG_UNSIGNED:
        return str(raw & ((1 << (8 * (size or 8))) - 1))
    if cls == abi.ARG_BOOL:
        return "true" if raw & 0xFF else "false"
    if cls == abi.ARG_FLOAT:
        return _fmt_float(raw, 4)
    if cls == abi.ARG_DOUBLE:
        return _fmt_float(raw, 8)
    if cls == abi.ARG_POINTER:
        return _fmt_pointer(raw)
    return "%#x (kind %#x)" % (raw, k)


def panic_value_text(arg):
    """' value=0x... <sym>' for a panic's user pointer, '' for none."""
    return " value=%s" % _fmt_pointer(arg) if arg else ""


def _fmt_pointer(raw):
    """A data pointer: the address, and the symbol it points into (as gdb
    prints `0x... <conn>`).  Cached per address within the program space."""
    if raw == 0:
        return "0x0"
    s = _pointer_text.get(raw)
    if s is None:
        s = "%#x" % raw
        try:
            # gdb's own `print (void *) x`: 0x... <symbol>, preferring debug
            # info names (conn) over minimal symbols (conn.10).
            t = gdb.Value(raw).cast(_void_pointer()).format_string(symbols=True)
            if t.startswith("0x"):
                s = t
        except (gdb.error, RuntimeError):
            pass
        if len(_pointer_text) > 1 << 16:
            _pointer_text.clear()
        _pointer_text[raw] = s
    return s


_pointer_text = add_cache({})


def _void_pointer():
    return gdb.lookup_type("void").pointer()


def _fmt_typed(typ, raw):
    """gdb's own rendering of a value of `typ` held in a register image."""
    try:
        v = gdb.Value(struct.pack("<Q", raw)[:typ.sizeof], typ)
        return v.format_string(max_elements=64)
    except (gdb.error, gdb.MemoryError, RuntimeError, ValueError) as e:
        return "<%s: %s>" % (hex(raw), e)


def _slots(d):
    """Yield (Param or None, kind byte, 0 for iregs / 1 for fregs, index)
    per argument.  Parameters come from the callee's debug info when it has
    some and the count is consistent with the record; extra (variadic)
    arguments and functions without debug info fall back to the kinds the
    runtime wrote.  Argument i lives in iregs[n] or fregs[n], n counting the
    earlier arguments of the same class (SysV)."""
    params = Symbols.params(d.fn)
    if params is not None and len(params) > d.nargs:
        params = None       # the record disagrees with the prototype: trust the record
    ni = nf = 0
    for i in range(min(d.nargs, abi.MAXARGS)):
        k = d.kind[i]
        p = params[i] if params is not None and i < len(params) else None
        cls = p.cls if p is not None else k & abi.ARG_CLASS
        if cls in (abi.ARG_FLOAT, abi.ARG_DOUBLE):
            yield p, k, 1, nf
            nf += 1
        else:
            yield p, k, 0, ni
            ni += 1


def arguments(d):
    """The deferred call's arguments as text: a list of (name or None, text),
    as format_call prints them."""
    regs = (d.iregs, d.fregs)
    return [(prefix[:-1] or None, f(regs[src][idx])) for prefix, src, idx, f in _plan(d)[1]]


_KIND_TYPES = {
    abi.ARG_SIGNED: {1: "signed char", 2: "short", 4: "int", 8: "long"},
    abi.ARG_UNSIGNED: {1: "unsigned char", 2: "unsigned short", 4: "unsigned int",
                       8: "unsigned long"},
    abi.ARG_FLOAT: {4: "float"}, abi.ARG_DOUBLE: {8: "double"}, abi.ARG_BOOL: {1: "_Bool"},
    abi.ARG_POINTER: {8: "void *"}}


def _kind_type(k):
    name = _KIND_TYPES.get(k & abi.ARG_CLASS, {}).get(k & abi.ARG_SIZE)
    if name is None:
        return gdb.lookup_type("unsigned long")
    if name == "void *":
        return gdb.lookup_type("void").pointer()
    if name == "_Bool":
        name = "unsigned char"   # C's _Bool is not always in the type tables
    return gdb.lookup_type(name)


def argument_values(d):
    """The arguments as (name, gdb.Value), for frame decorators and printers.
    Arguments without debug info get a type from their recorded kind and the
    names arg1, arg2, ..."""
    regs, out = (d.iregs, d.fregs), []
    for name, typ, src, idx in _value_plan(d):
        raw = regs[src][idx]
        try:
            v = gdb.Value(struct.pack("<Q", raw)[:typ.sizeof], typ)
        except (gdb.error, RuntimeError, ValueError, AttributeError):
            v = gdb.Value(raw)
        out.append((name, v))
    return out


def _value_plan(d):
    """Per argument (name, gdb.Type or None, 0 for iregs / 1 for fregs,
    index), cached per function and argument shape like _plan: bt shows
    10,000 calls of one function."""
    key = (d.fn, d.nargs, d.kind)
    plan = _value_plans.get(key)
    if plan is None:
        plan = []
        for i, (p, k, src, idx) in enumerate(_slots(d)):
            try:
                typ = p.type if p is not None else _kind_type(k)
            except (gdb.error, RuntimeError):
                typ = None
            plan.append((p.name if p is not None and p.name else "arg%d" % (i + 1),
                         typ, src, idx))
        plan = _value_plans[key] = tuple(plan)
    return plan


_value_plans = add_cache({})


def has_pointer_argument(d):
    """Has the call an argument of a pointer type (whose text may hold a
    <symbol>)?  Cached per function and argument shape like _value_plan."""
    key = (d.fn, d.nargs, d.kind)
    has = _pointer_plans.get(key)
    if has is None:
        has = False
        for _name, typ, _src, _idx in _value_plan(d):
            try:
                has = has or typ is None or typ.strip_typedefs().code == gdb.TYPE_CODE_PTR
            except (gdb.error, RuntimeError):
                has = True
        _pointer_plans[key] = has
    return has


_pointer_plans = add_cache({})


def _fast_formatter(fast):
    kind, size = fast
    if kind in ("s", "u"):
        mask = (1 << (8 * size)) - 1
        sign = 1 << (8 * size - 1) if kind == "s" else 0

        def integer(raw):
            return str((raw & mask) - ((raw & sign) << 1))
        integer.mask_sign = (mask, sign)    # for _renderer's one-integer call
        return integer
    return lambda raw: _fmt_fast(fast, raw)


def _plan(d):
    """How to print calls of d.fn with this argument shape: the function name
    and, per argument, (prefix, 0 for iregs / 1 for fregs, index, formatter).
    Cached: 100,000 calls deferred in a loop share one plan."""
    key = (d.fn, d.nargs, d.kind)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    steps = []
    for p, k, src, idx in _slots(d):
        if p is None:
            f = (lambda k: lambda raw: _fmt_kind(k, raw))(k)
            prefix = ""
        elif p.fast is not None:
            f = _fast_formatter(p.fast)
            prefix = p.name + "="
        else:
            f = (lambda t: lambda raw: _fmt_typed(t, raw))(p.type)
            prefix = p.name + "="
        steps.append((prefix, src, idx, f))
    plan = _plans[key] = (Symbols.function_name(d.fn), steps)
    return plan


_plans = add_cache({})


def format_call(d, with_args=True, raw=False):
    """'fn(a=1, b=0x... "x")' for a record: escaped for a text view, or
    raw=True as the program's bytes (MI and DAP, which quote it themselves)."""
    name, steps = _plan(d)
    if with_args:
        regs = (d.iregs, d.fregs)
        name = "%s(%s)" % (name, ", ".join([prefix + f(regs[src][idx])
                                            for prefix, src, idx, f in steps]))
    return name if raw else printable(name)


def call_renderer(d, at):
    """For a long run of records calling d.fn with d's argument kinds (info
    defers over raw records, snapshot.defer_batches): render(fields) -> the
    call's text, not escaped, where the saved registers iregs[i] and
    fregs[i] are fields[at[0] + i] and fields[at[1] + i].

    A call of one integer argument also gets render.one_int = (text
    before the value, position, mask, sign bit), for a caller that puts
    the value into its own line: a loop's `defer(f, i)`, a million times,
    with no call per record (PERF)."""
    name, steps = _plan(d)
    steps = [(prefix, at[src] + idx, f) for prefix, src, idx, f in steps]
    render = _renderer(name, steps)
    render.one_int = None
    if len(steps) == 1 and hasattr(steps[0][2], "mask_sign"):
        prefix, pos, f = steps[0]
        render.one_int = (name + "(" + prefix, pos) + f.mask_sign
    return render


def _renderer(name, steps):
    """fn(fields) -> the call's text, for one plan whose steps are
    (prefix, position in fields, formatter)."""
    if len(steps) == 1:
        prefix, pos, f = steps[0]
        head = name + "(" + prefix
        return lambda t: head + f(t[pos]) + ")"

    def render(t):
        return "%s(%s)" % (name, ", ".join([prefix + f(t[pos]) for prefix, pos, f in steps]))
    return render


def format_site(pc, raw=False):
    """'func at file:line' (or 'func at 0xaddr') for a return address: the
    line of the call; escaped unless raw (as format_call).  Cached."""
    text = Symbols.site_text(pc)
    return text if raw else printable(text)

