# SPDX-License-Identifier: MIT
"""values.py - panic values typed by their site object (_panic.vtype).

panic_value(v, ...) records, beside the pointer, the address of a static
object whose type is v's static type, declared in the block of the panic
site (defer.h's __DEFER_TYPED).  Its debug information is the type: the
variable is found among the symbols of the blocks around the panic's pc
(a block's static variables have fixed addresses, compared with vtype),
or, for defer_repanic, which passes the recovered panic's object on,
around the site of an older panic of the chain with the same object.
gdb has no look-up of a data symbol by address, and a block search needs
nothing the target does not give a core or gdbserver too.

Without debug information for the site the value stays a bare pointer,
with the reason: `(untyped: no debug info) 0x...`.
"""

import gdb

SITE_OBJECT = "__defer_vtype"       # must match defer.h's __DEFER_TYPED


def _site_type(vtype, pc):
    """The type of the site object at vtype among the blocks around pc, or
    None; False when pc has no debug information at all."""
    try:
        block = gdb.block_for_pc(pc - 1)            # pc is a return address
    except RuntimeError:                            # no program space / target
        return False
    if block is None:
        return False
    while block is not None and not block.is_static and not block.is_global:
        for sym in block:
            if sym.name == SITE_OBJECT and sym.addr_class == gdb.SYMBOL_LOC_STATIC:
                # A lazy value: its address needs no read of the target.
                if int(sym.value().address) == vtype:
                    return sym.type.unqualified()
        block = block.superblock
    return None


def site_type(vtype, pcs):
    """(gdb.Type, None) for the site object at vtype, looked for around the
    return addresses pcs in turn, or (None, why): 'not recorded' (no object:
    panic() or a fault), 'no debug info', 'site not found'."""
    if not vtype:
        return None, "not recorded"
    seen_debug = False
    for pc in pcs:
        t = _site_type(vtype, pc)
        if t:
            return t, None
        seen_debug = seen_debug or t is None
    return None, "site not found" if seen_debug else "no debug info"


def panic_type(p, chain):
    """site_type for panic p of chain (snapshot.Panic objects): its own
    site, then those of older panics with the same object (a repanic's);
    (None, 'no value') without a value."""
    if not p.arg:
        return None, "no value"
    older = [q.pc for q in chain if q.index > p.index and q.vtype == p.vtype]
    return site_type(p.vtype, [p.pc] + older)


def typed_value(p, chain):
    """(gdb.Value, why): arg cast to its recorded type, or as void * with
    the reason it is untyped (why is None when typed)."""
    t, why = panic_type(p, chain)
    v = gdb.Value(p.arg)
    try:
        return v.cast(t if t is not None else gdb.lookup_type("void").pointer()), why
    except gdb.error as e:                  # a type gdb cannot cast to
        return v.cast(gdb.lookup_type("void").pointer()), str(e)


def value_text(p, chain):
    """'(struct kv_error *) 0x... <kv> {code = 423, ...}' (the pointee shown
    when it is a struct, union or class), or '(untyped: why) 0x...'."""
    v, why = typed_value(p, chain)
    if why is not None:
        return "(untyped: %s) %#x" % (why, p.arg)
    text = "(%s) %s" % (v.type, _format(v))
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR and t.target().strip_typedefs().code in (
            gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        text += " " + _format(v.dereference())
    return text


def _format(v):
    try:
        return v.format_string(pretty_structs=False, max_elements=64)
    except gdb.MemoryError as e:            # a wild pointer: say so, in place
        return "<unreadable: %s>" % e
    except gdb.error as e:
        return "<%s>" % e
