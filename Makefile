# SPDX-License-Identifier: MIT
# libdefer: one `make` builds everything; see README.md.
#
#   make            build the runtime, the reader and the gdb extension
#   make demo       build, then run the example programs (and the gdb demo)
#   make test       every test (pytest), including the sanitizer builds,
#                   and a bounded fuzz run (TEST_FUZZ_SECONDS per harness)
#   make test-gdb, make test-reader, make test-release, make bench-gdb,
#   make bench-reader
#   make bench      performance table
#   make install    PREFIX=/usr/local DESTDIR= LIBDIR= MANDIR=
#                   (make uninstall: the same files, the same variables)
#   make dist       libdefer-VERSION.tar.gz from the tracked files (DIST_REF)
#   make deb        the Debian packages in build/deb/ (debian/, tested)

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
MANDIR ?= $(PREFIX)/share/man
CC ?= cc
PYTHON := /usr/bin/python3
B := build

# Debug info names sources relative to the tree (as Debian's reproducible
# builds do), so no installed file carries this checkout's path.
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -g -fdebug-prefix-map=$(CURDIR)=.
OPT ?= -O2

.PHONY: all deps demo test test-release bench install uninstall clean
all: deps-stamp

include libdefer/build.mk
-include dwarf-reader/build.mk
-include gdb/build.mk
include man/build.mk
include examples/build.mk

# Missing Debian packages are installed once; the stamp remembers it.
# INSTALL_DEPS=true skips that (debian/rules: dpkg checks Build-Depends).
INSTALL_DEPS ?= sh scripts/install-deps
$(B)/.deps: scripts/install-deps
	@mkdir -p $(B)
	@$(INSTALL_DEPS)
	@touch $@
deps-stamp: $(B)/.deps
deps: $(B)/.deps

demo: all examples
	@sh scripts/demo

# Every test (runtime, sanitizer and stress builds, gdb extension, reader,
# portability matrix), then a bounded fuzz run of the reader.
# The gdb tests run twice: with this machine's gdb (13 on Debian 12) and
# with Debian 13's gdb 16 from a chroot (scripts/gdb-chroot, cached outside
# the clone); Debian 11's gdb 10 checks the version gate.
TEST_FUZZ_SECONDS ?= 60
test: all examples $(B)/defer-inspect-asan $(B)/gdb16/gdb $(B)/gdb10/gdb $(B)/.npm
	$(PYTHON) -m pytest -q tests
	LIBDEFER_GDB_DIR=$(CURDIR)/gdb $(PYTHON) -m pytest -q examples
	PATH=$(CURDIR)/$(B)/gdb16:$$PATH $(PYTHON) -m pytest -q tests/gdb \
		--ignore=tests/gdb/test_install.py
	$(MAKE) -s fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

# The release checks alone (also part of make test): versions, install
# layout, man pages, the tarball and the Debian packages (about 2 min).
test-release: all
	$(PYTHON) -m pytest -q tests/packaging

$(B)/gdb16/gdb: scripts/gdb-chroot $(B)/.deps
	sh scripts/gdb-chroot trixie $(B)/gdb16
$(B)/gdb10/gdb: scripts/gdb-chroot $(B)/.deps
	sh scripts/gdb-chroot bullseye $(B)/gdb10
$(B)/.npm: scripts/npm-deps $(B)/.deps
	sh scripts/npm-deps
	@touch $@

bench: all
	@sh scripts/bench
	@echo; sh scripts/panic_bench

install: all install-files

# Only what install writes, built as needed (debian/rules).
.PHONY: install-files dist deb
install-files: $(INSTALL_TARGETS)

# The release tarball: the files git tracks at DIST_REF, under
# libdefer-VERSION/.  (The test passes DIST_REF=$(git stash create): the
# tracked files as they are in the work tree; empty when it is clean.)
DIST_REF ?= HEAD
DIST := libdefer-$(LIBDEFER_VERSION)
dist:
	@mkdir -p $(B)
	git archive --format=tar.gz --prefix=$(DIST)/ -o $(B)/$(DIST).tar.gz.tmp $(or $(DIST_REF),HEAD)
	mv $(B)/$(DIST).tar.gz.tmp $(B)/$(DIST).tar.gz
	@echo $(B)/$(DIST).tar.gz

# The Debian packages, built from a copy of the tracked files in
# build/deb/src (dpkg-buildpackage -us -uc -b), then checked by lintian.
deb:
	sh scripts/build-deb $(B)/deb

uninstall: $(UNINSTALL_TARGETS)

clean:
	rm -rf $(B)
