# SPDX-License-Identifier: MIT
# The gdb extension: gdb/libdefer_gdb (Python package), gdb/libdefer-gdb.py
# (entry script), gdb/deferdb (launcher).  Nothing to compile but the
# runtime's auto-load entry (libdefer/src/gdb_autoload.c), which learns here
# the absolute path of the entry script it names: this source tree's for
# the libraries under build/, the installed one for build/install/.
#
#   make bench-gdb     timings of info defers (table rows)
#   make test-gdb      the gdb tests only
#
# How plain gdb comes to trust the installed extension (docs/gdb.md,
# "What gdb trusts"): make install writes $(GDBINIT_D)/libdefer.gdb, one
# add-auto-load-safe-path line naming exactly $(GDB_INSTALL_DIR), which
# holds nothing but this extension.  GDBINIT_D= (empty) skips that file.

# gdb/libdefer_gdb/abi.py: the spec (libdefer/include/defer_abi.h) as Python,
# generated as asm_offsets.h is (libdefer/build.mk): gdb/abi_py.c compiled
# to assembly by the library's compiler, its marker lines written out as
# Python by gdb/abi_py.awk.  Git ignores it; make builds it for this tree
# and make install installs it with the rest of the package.
GDB_ABI := gdb/libdefer_gdb/abi.py
$(GDB_ABI): gdb/abi_py.c gdb/abi_py.awk $(LIBDEFER_HDR)
	@mkdir -p $(B)/gdb
	$(CC) $(LIBDEFER_CFLAGS) -S gdb/abi_py.c -o $(B)/gdb/abi_py.s
	awk -f gdb/abi_py.awk $(B)/gdb/abi_py.s > $(B)/gdb/abi.py.tmp
	mv $(B)/gdb/abi.py.tmp $@
all: $(GDB_ABI)

GDB_PKG := $(sort $(wildcard gdb/libdefer_gdb/*.py) $(GDB_ABI))
GDB_INSTALL_DIR := $(PREFIX)/share/libdefer/gdb
GDBINIT_D ?= /etc/gdb/gdbinit.d

# A path goes into an assembler string, a sed command and a gdb command
# line, where gdb reads it as a glob pattern and splits it at ':'.  Refuse
# what would end any of them early or match more than the one file, and a
# relative path (gdb would look for it in the current directory).
gdb_path_bad = $(word 2,$(1))$(foreach c,\" \\ ' : * ? [ | &,$(findstring $(c),$(1)))
gdb_path_ok = $(if $(filter /%,$(1)),,$(error $(2) must be an absolute path ($(1))))$(if $(strip $(call gdb_path_bad,$(1))),$(error $(2) must not contain quotes, backslashes, spaces or : * ? [ | & ($(1))),$(1))

GDB_TREE_SCRIPT = -DLIBDEFER_GDB_SCRIPT='"$(call gdb_path_ok,$(CURDIR),the source directory)/gdb/libdefer-gdb.py"'
$(B)/libdefer/gdb_autoload.o: LIBDEFER_CFLAGS += $(GDB_TREE_SCRIPT)
$(B)/san/gdb_autoload.o $(B)/tsan/gdb_autoload.o: CFLAGS_COMMON += $(GDB_TREE_SCRIPT)
$(B)/libdefer/gdb_autoload.o $(B)/san/gdb_autoload.o $(B)/tsan/gdb_autoload.o: gdb/build.mk
$(B)/install/gdb_autoload.o: \
	LIBDEFER_CFLAGS += -DLIBDEFER_GDB_SCRIPT='"$(call gdb_path_ok,$(GDB_INSTALL_DIR),PREFIX)/libdefer-gdb.py"'

# PREFIX is compiled into build/install/: rebuild when it changes.
$(B)/install/prefix: FORCE
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = "$(PREFIX)" ] || printf '%s\n' "$(PREFIX)" > $@
.PHONY: FORCE
FORCE:

.PHONY: install-gdb uninstall-gdb bench-gdb test-gdb
INSTALL_TARGETS += install-gdb
UNINSTALL_TARGETS += uninstall-gdb
install-gdb: $(GDB_ABI)
	@: $(call gdb_path_ok,$(GDB_INSTALL_DIR),PREFIX)
	install -d $(DESTDIR)$(GDB_INSTALL_DIR)/libdefer_gdb $(DESTDIR)$(PREFIX)/bin
	install -m 644 gdb/libdefer-gdb.py gdb/libdefer_session.py $(DESTDIR)$(GDB_INSTALL_DIR)/
	install -m 644 $(GDB_PKG) $(DESTDIR)$(GDB_INSTALL_DIR)/libdefer_gdb/
	sed -i -e 's|@LIBDEFER_VERSION@|$(LIBDEFER_VERSION)|' $(DESTDIR)$(GDB_INSTALL_DIR)/libdefer_gdb/version.py
	sed -e 's|@LIBDEFER_GDB_DIR@|$(GDB_INSTALL_DIR)|' -e 's|@LIBDEFER_VERSION@|$(LIBDEFER_VERSION)|' \
		gdb/deferdb > $(DESTDIR)$(PREFIX)/bin/deferdb
	chmod 755 $(DESTDIR)$(PREFIX)/bin/deferdb
	$(if $(GDBINIT_D),install -d $(DESTDIR)$(GDBINIT_D))
	$(if $(GDBINIT_D),sed -e 's|@LIBDEFER_GDB_DIR@|$(GDB_INSTALL_DIR)|' gdb/libdefer.gdb.in \
		> $(DESTDIR)$(GDBINIT_D)/libdefer.gdb)

uninstall-gdb:
	rm -f $(DESTDIR)$(GDB_INSTALL_DIR)/libdefer-gdb.py $(DESTDIR)$(GDB_INSTALL_DIR)/libdefer_session.py \
		$(DESTDIR)$(PREFIX)/bin/deferdb
	rm -rf $(DESTDIR)$(GDB_INSTALL_DIR)/__pycache__
	rm -f $(addprefix $(DESTDIR)$(GDB_INSTALL_DIR)/libdefer_gdb/,$(notdir $(GDB_PKG)))
	rm -rf $(DESTDIR)$(GDB_INSTALL_DIR)/libdefer_gdb/__pycache__
	-rmdir $(DESTDIR)$(GDB_INSTALL_DIR)/libdefer_gdb $(DESTDIR)$(GDB_INSTALL_DIR) \
		$(DESTDIR)$(PREFIX)/share/libdefer 2>/dev/null
	$(if $(GDBINIT_D),rm -f $(DESTDIR)$(GDBINIT_D)/libdefer.gdb)

bench-gdb: all
	@$(PYTHON) gdb/bench.py

test-gdb: test-deps
	@$(MAKE) --no-print-directory all examples
	$(PYTHON) -m pytest -q tests/gdb
