# libdefer: one `make` builds everything; see README.md.
#
#   make            build the runtime, the reader and the gdb extension
#   make demo       build, then run the example programs (and the gdb demo)
#   make test       every test (pytest), including the sanitizer builds,
#                   and a bounded fuzz run (TEST_FUZZ_SECONDS per harness)
#   make test-gdb, make test-reader, make bench-gdb, make bench-reader
#   make bench      performance table
#   make install    PREFIX=/usr/local DESTDIR=  (make uninstall: the same files)

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

.PHONY: all deps demo test bench install uninstall clean
all: deps-stamp

include libdefer/build.mk
-include dwarf-reader/build.mk
-include gdb/build.mk
include man/build.mk
include examples/build.mk

# Missing Debian packages are installed once; the stamp remembers it.
$(B)/.deps: scripts/install-deps
	@mkdir -p $(B)
	@sh scripts/install-deps
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
test: all examples $(B)/defer-inspect-asan $(B)/gdb16/gdb $(B)/gdb10/gdb
	$(PYTHON) -m pytest -q tests
	PATH=$(CURDIR)/$(B)/gdb16:$$PATH $(PYTHON) -m pytest -q tests/gdb \
		--ignore=tests/gdb/test_install.py
	$(MAKE) -s fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

$(B)/gdb16/gdb: scripts/gdb-chroot $(B)/.deps
	sh scripts/gdb-chroot trixie $(B)/gdb16
$(B)/gdb10/gdb: scripts/gdb-chroot $(B)/.deps
	sh scripts/gdb-chroot bullseye $(B)/gdb10

bench: all
	@sh scripts/bench

install: all $(INSTALL_TARGETS)

uninstall: $(UNINSTALL_TARGETS)

clean:
	rm -rf $(B)
