# SPDX-License-Identifier: MIT
# libdefer: one `make` builds everything; see README.md.
#
#   make            build the runtime, the reader and the gdb extension
#                   (never installs anything: the packages must be there)
#   make ARCH=aarch64  deps (the cross toolchain), then the runtime,
#                   libdefer.pc and the examples for aarch64 in build/aarch64
#   make LIBC=musl  deps, then the runtime, libdefer.pc and the examples for
#                   musl-gcc in build/musl
#   make deps       the missing Debian packages the build needs (apt-get)
#   make test-deps  deps, and what the tests fetch: the gdb 16 and gdb 10
#                   chroots, the npm test clients (each done once)
#   make demo       deps, build, then run the example programs (and the gdb demo)
#   make test       test-deps, build everything the tests need, then every test
#                   (pytest), and a bounded fuzz run (TEST_FUZZ_SECONDS per harness)
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
# ARCH=aarch64: the runtime (static and shared), libdefer.pc and the
# examples cross-built for aarch64 Linux with Debian's toolchain, in
# build/aarch64 (libdefer/build.mk, "Cross builds"); they run under qemu.
# CLANG is the clang that tests cross-compile with, for the same target.
HOST_ARCH := $(shell uname -m)
ARCH ?= $(HOST_ARCH)
ifeq ($(ARCH),aarch64)
ifneq ($(HOST_ARCH),aarch64)
B := build/aarch64
CC := aarch64-linux-gnu-gcc
CROSS := aarch64
# Its libraries are aarch64's: nothing installs them over the host's.
ifneq ($(filter install uninstall deb test,$(MAKECMDGOALS)),)
$(error ARCH=aarch64 builds into build/aarch64 only: make $(filter install uninstall deb test,$(MAKECMDGOALS)) is for the host's build (make test runs the aarch64 tests too))
endif
endif
else ifneq ($(ARCH),$(HOST_ARCH))
$(error ARCH=$(ARCH): the supported architectures are x86_64 and aarch64)
endif
# LIBC=musl: the runtime (static and shared), libdefer.pc, the examples and
# the test programs for musl-gcc, in build/musl (libdefer/build.mk, "musl").
ifeq ($(LIBC),musl)
B := build/musl
CC := musl-gcc
# Its libraries would replace the system's glibc ones under the same names.
ifneq ($(filter install uninstall deb test,$(MAKECMDGOALS)),)
$(error LIBC=musl builds into build/musl only: make $(filter install uninstall deb test,$(MAKECMDGOALS)) is for the glibc build (make test runs the musl tests too))
endif
else ifneq ($(LIBC),)
$(error LIBC=$(LIBC): the supported C libraries are the system's glibc (no LIBC) and musl (LIBC=musl))
endif

# Debug info names sources relative to the tree (as Debian's reproducible
# builds do), so no installed file carries this checkout's path.
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -g -fdebug-prefix-map=$(CURDIR)=.
OPT ?= -O2
# Each object's header dependencies, as the compiler saw them (build/**/*.d).
DEPFLAGS := -MMD -MP

.PHONY: all deps demo test test-release bench install uninstall clean
all:

include libdefer/build.mk
include dwarf-reader/build.mk
include gdb/build.mk
include man/build.mk
include examples/build.mk

-include $(wildcard $(B)/*/*.d)

# What is fetched from outside, each once: the Debian packages
# (scripts/install-deps), and for the tests Debian 13's and 11's gdb in
# chroots cached outside the clone (scripts/gdb-chroot) and the npm
# packages the DAP and MI tests drive gdb with (scripts/npm-deps, which
# installs npm too if it has to).  `make demo` and `make test` run these
# first, alone (a fresh machine has no compiler yet), then build in a
# second make; a plain `make` runs none of them.
$(B)/.deps: scripts/install-deps
	@mkdir -p $(B)
	@sh scripts/install-deps $(CROSS)
	@touch $@
$(B)/gdb16/gdb: scripts/gdb-chroot $(B)/.deps
	sh scripts/gdb-chroot trixie $(B)/gdb16
$(B)/gdb10/gdb: scripts/gdb-chroot $(B)/.deps
	sh scripts/gdb-chroot bullseye $(B)/gdb10
$(B)/.npm: scripts/npm-deps $(B)/.deps
	sh scripts/npm-deps
	@touch $@
deps: $(B)/.deps
.PHONY: test-deps
test-deps: deps $(B)/gdb16/gdb $(B)/gdb10/gdb $(B)/.npm

demo: deps
	@$(MAKE) --no-print-directory all examples
	@sh scripts/demo

# Every test (runtime, sanitizer and stress builds, gdb extension, reader,
# portability matrix), the runtime's again against musl (`make LIBC=musl`,
# DEFER_TEST_LIBC=musl) and the runtime's behaviours for aarch64 under qemu
# (`make ARCH=aarch64`, DEFER_TEST_ARCH=aarch64: tests/conftest.py; the
# runtime tests, the examples in every build, the load tests at a reduced
# size), then a bounded fuzz run of the reader.
# The gdb tests run twice: with this machine's gdb (13 on Debian 12) and
# with Debian 13's gdb 16 from a chroot (scripts/gdb-chroot, cached outside
# the clone); Debian 11's gdb 10 checks the version gate.
# No test runs make to build what it needs: TEST_PREREQS are built before
# pytest starts, and a test that finds one missing says so (tests/conftest.py,
# built()).  The tests of make itself (install, dist, deb) are the
# exception: docs/hacking.md, "How a test is built".
TEST_FUZZ_SECONDS ?= 60
TEST_PREREQS := all examples $(B)/defer-inspect-asan \
	$(addprefix $(B)/bench/,shapes shapes-deferproc shapes-go)
test: test-deps
	@$(MAKE) --no-print-directory $(TEST_PREREQS)
	@$(MAKE) --no-print-directory LIBC=musl
	@$(MAKE) --no-print-directory ARCH=aarch64
	$(PYTHON) -m pytest -q tests
	DEFER_TEST_LIBC=musl $(PYTHON) -m pytest -q tests/runtime
	DEFER_TEST_ARCH=aarch64 $(PYTHON) -m pytest -q tests/runtime tests/examples \
		tests/reliability/test_runtime_load.py
	LIBDEFER_GDB_DIR=$(CURDIR)/gdb $(PYTHON) -m pytest -q examples
	PATH=$(CURDIR)/$(B)/gdb16:$$PATH $(PYTHON) -m pytest -q tests/gdb \
		--ignore=tests/gdb/test_install.py
	$(MAKE) -s fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

# The release checks alone (also part of make test): versions, install
# layout, man pages, the tarball and the Debian packages (about 2 min).
test-release: all
	$(PYTHON) -m pytest -q tests/packaging

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
