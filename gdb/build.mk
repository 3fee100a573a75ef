# The gdb extension: gdb/libdefer_gdb (Python package), gdb/libdefer-gdb.py
# (entry script), gdb/deferdb (launcher).  Nothing to compile but the
# runtime's auto-load entry (libdefer/src/gdb_autoload.c), which learns here
# where the package lives: this source tree, then the install prefix.
#
#   make bench-gdb     timings of info defers (table rows)
#   make test-gdb      the gdb tests only

GDB_PKG := $(wildcard gdb/libdefer_gdb/*.py)
GDB_DIRS := $(CURDIR)/gdb:$(PREFIX)/share/libdefer/gdb

$(B)/libdefer/gdb_autoload.o: LIBDEFER_CFLAGS += -DLIBDEFER_GDB_DIRS='"$(GDB_DIRS)"'
$(B)/libdefer/gdb_autoload.o: gdb/build.mk

.PHONY: install-gdb bench-gdb test-gdb
INSTALL_TARGETS += install-gdb
# The objfile-gdb.py script for the installed libdefer.so (gdb's
# $$datadir/auto-load convention, like libstdc++'s printers), written at
# install time so that it names this PREFIX.
GDB_AUTOLOAD_SO := $(DESTDIR)$(PREFIX)/share/gdb/auto-load$(PREFIX)/lib/libdefer.so.1-gdb.py
install-gdb:
	install -d $(DESTDIR)$(PREFIX)/share/libdefer/gdb/libdefer_gdb $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/gdb/auto-load$(PREFIX)/lib
	install -m 644 gdb/libdefer-gdb.py $(DESTDIR)$(PREFIX)/share/libdefer/gdb/
	install -m 644 $(GDB_PKG) $(DESTDIR)$(PREFIX)/share/libdefer/gdb/libdefer_gdb/
	install -m 755 gdb/deferdb $(DESTDIR)$(PREFIX)/bin/deferdb
	printf '%s\n' \
	  '# Auto-load script for libdefer.so (written by make install).' \
	  'import sys' \
	  'import gdb' \
	  'd = "$(PREFIX)/share/libdefer/gdb"' \
	  'if d not in sys.path:' \
	  '    sys.path.insert(0, d)' \
	  'import libdefer_gdb' \
	  'libdefer_gdb.register(gdb.current_objfile())' > $(GDB_AUTOLOAD_SO)

bench-gdb: all
	@$(PYTHON) gdb/bench.py

test-gdb: all
	$(PYTHON) -m pytest -q tests/gdb
