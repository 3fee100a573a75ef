# SPDX-License-Identifier: MIT
"""symbols.py - what the program's symbols say about an address, cached.

Function names (the public alias libc's minimal symbols hide), the site
of a return address (function, file, line), and the parameter list of a
deferred function from its debug info (Param: name, type, ABI class and
how to print it fast).  Every cache here, and those other modules
register with add_cache(), is keyed by address: forget() drops them all
when objfiles change or the program space does (snapshot.py).
"""

import re

import gdb

from . import abi


_caches = []


def add_cache(d):
    """Register a dict keyed by addresses of this program space."""
    _caches.append(d)
    return d


def forget():
    for d in _caches:
        d.clear()


class Param:
    """One argument of a deferred call as the callee declares it."""
    __slots__ = ("name", "type", "cls", "fast")

    def __init__(self, name, typ, cls, fast):
        self.name, self.type, self.cls, self.fast = name, typ, cls, fast


class Symbols:
    """Cached symbol look-ups.  The cache is dropped when objfiles change."""

    cache = add_cache({})

    @classmethod
    def _get(cls, kind, key, compute):
        k = (kind, key)
        try:
            return cls.cache[k]
        except KeyError:
            v = cls.cache[k] = compute(key)
            return v

    @classmethod
    def function_name(cls, addr):
        return cls._get("fn", addr, _function_name)

    @classmethod
    def site(cls, pc):
        """(function, file, line) of a return address (uses pc-1)."""
        return cls._get("site", pc, _site)

    @classmethod
    def fullname(cls, pc):
        """The absolute path of a return address's source file, or None."""
        return cls._get("fullname", pc, _fullname)

    @classmethod
    def site_text(cls, pc):
        """'func at file:line' (or 'func at 0xaddr') of a return address."""
        return cls._get("sitetext", pc, _site_text)

    @classmethod
    def params(cls, fn):
        """The deferred function's parameters (a list of Param) from its debug
        info, or None when it has none (e.g. fclose from libc)."""
        return cls._get("params", fn, _params)


def function_block_at(pc):
    """The debug-info block of the function containing pc, or None."""
    try:
        b = gdb.block_for_pc(pc)
    except RuntimeError:
        return None
    while b is not None and b.function is None:
        b = b.superblock
    return b


def minimal_symbol(pc):
    """'name' or 'name+off' of pc from the minimal symbols, or None."""
    try:
        s = gdb.format_address(pc)       # "0x... <name+off>"
    except (gdb.error, RuntimeError):
        return None
    i = s.find(" <")
    return s[i + 2:-1] if i >= 0 else None


def _function_name(addr):
    if not addr:
        return "nil"
    b = function_block(addr)
    if b is not None:
        return _public_alias(b.function.print_name, addr)
    name = minimal_symbol(addr)
    if name is None:
        return "%#x" % addr
    if "+" in name:
        return "%#x <%s>" % (addr, name)
    return _public_alias(name, addr)


# A C identifier: the only names _public_alias hands to gdb's parser.  Names
# come from the program's symbol table, which can hold any bytes ("_x',
# ((int(*)(char*))system)(cmd),'x" is a valid ELF symbol): quoting cannot
# make those safe, so they are never parsed.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _public_alias(name, addr):
    """libc's minimal symbols name printf `__printf`: prefer the public
    alias at the same address, the name a user wrote in defer().  (Its
    callers' results are cached in Symbols.)"""
    if not name.startswith("_"):
        return name
    public = name.lstrip("_")
    if not _IDENTIFIER.match(public):
        return name
    try:
        sym = gdb.lookup_global_symbol(public)
        if sym is not None and int(sym.value().address) == addr:
            return public
        if int(gdb.parse_and_eval("(long)&'%s'" % public)) == addr:
            return public
    except (gdb.error, RuntimeError):
        pass
    return name


def _site(pc):
    if not pc:
        return ("??", None, None)
    b = function_block_at(pc - 1)
    if b is not None:
        func = b.function.print_name
    else:
        name = minimal_symbol(pc - 1)
        func = name.split("+")[0] if name else "??"
    sal = gdb.find_pc_line(pc - 1)
    if sal.symtab is not None and sal.line:
        return (func, sal.symtab.filename, sal.line)
    return (func, None, None)


_INT_CODES = (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR, gdb.TYPE_CODE_BOOL, gdb.TYPE_CODE_ENUM)


def function_block(addr):
    """The debug-info block of the function that starts at addr, or None."""
    b = function_block_at(addr)
    return b if b is not None and b.start == addr else None


def _params(fn):
    b = function_block(fn) if fn else None
    if b is None:
        return None
    out = []
    for sym in b:
        if not sym.is_argument:
            continue
        t = sym.type.strip_typedefs()
        code = t.code
        if code in (gdb.TYPE_CODE_FLT,):
            cls = abi.ARG_FLOAT if t.sizeof == 4 else abi.ARG_DOUBLE
        elif code in _INT_CODES or code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_REF):
            cls = abi.ARG_POINTER if code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_REF) else (
                abi.ARG_SIGNED if code != gdb.TYPE_CODE_BOOL else abi.ARG_BOOL)
        else:
            return None     # a struct by value: the saved registers cannot describe it
        fast = None
        if code == gdb.TYPE_CODE_INT and not _is_char(t):
            fast = ("s" if t.is_signed else "u", t.sizeof)
        elif code == gdb.TYPE_CODE_BOOL:
            fast = ("b", t.sizeof)
        elif code == gdb.TYPE_CODE_FLT:
            fast = ("f", t.sizeof)
        elif code == gdb.TYPE_CODE_PTR and not _is_special_pointer(t):
            fast = ("p", 8)
        out.append(Param(sym.print_name, sym.type, cls, fast))
    return out


def _is_char(t):
    return t.sizeof == 1 and t.name in ("char", "signed char", "unsigned char")


def _is_special_pointer(t):
    """Pointers gdb prints with more than an address: strings, functions."""
    target = t.target().strip_typedefs()
    return target.code == gdb.TYPE_CODE_FUNC or (
        target.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR) and target.sizeof == 1)



def _fullname(pc):
    sal = gdb.find_pc_line(pc - 1) if pc else None
    if sal is None or sal.symtab is None:
        return None
    try:
        return sal.symtab.fullname()
    except (gdb.error, RuntimeError):
        return None


def _site_text(pc):
    func, filename, line = Symbols.site(pc)
    if filename:
        return "%s at %s:%d" % (func, filename, line)
    return "%s at %#x" % (func, pc)

