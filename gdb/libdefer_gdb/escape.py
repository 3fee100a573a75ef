# SPDX-License-Identifier: MIT
"""escape.py - text from the inferior, made safe to print.

Messages, thread names, symbol and file names are the program's bytes: an
escape sequence would drive the terminal, a newline would forge a line of
our own output ("  defer 9: ...").  Every text view (commands, printers,
catchpoints, stepping, TUI) prints them through printable() or quoted();
MI and DAP hand gdb the string through mi_text(), and gdb quotes it itself.
"""

_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v",
              "\f": "\\f", "\r": "\\r", "\x1b": "\\033"}


def _escape_char(c):
    e = _C_ESCAPES.get(c)
    if e is not None:
        return e
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:           # surrogateescape: the byte o - 0xDC00
        return "\\%03o" % (o - 0xDC00)
    if o < 0x100:
        return "\\%03o" % o
    return "\\u%04x" % o if o < 0x10000 else "\\U%08x" % o


def printable(s, tabs=False):
    """s with every character that is not printable (controls, escapes,
    bidirectional overrides, line separators) written C-style; a byte that
    is not UTF-8 (decoded as a surrogate escape) as its octal escape.
    tabs=True keeps tabs (gdb's own source lines)."""
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() or (tabs and c == "\t") else _escape_char(c)
                   for c in s)


def mi_text(s):
    """s for MI and DAP, whose strings must be text: a byte that is not UTF-8
    becomes a literal \\xNN."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def quoted(s):
    """s as a C string literal: '"..."' with quote and backslash escaped too,
    so that the text cannot end the quotes early."""
    if '"' in s or "\\" in s:
        s = s.replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % printable(s)

