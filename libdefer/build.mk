# SPDX-License-Identifier: MIT
# The runtime: build/libdefer.a, build/libdefer.so.VERSION (the real name;
# soname libdefer.so.MAJOR, and libdefer.so for -ldefer beside it).
#
# The version is written once, in libdefer/include/defer.h
# (LIBDEFER_VERSION_MAJOR/MINOR/PATCH); `make -s version` prints it.
# Soname policy (docs/releasing.md): the major, and so the soname, changes
# only when a program built against the old header could break with the
# new library.

LIBDEFER_SRC := $(filter-out libdefer/src/asm_offsets.c,$(wildcard libdefer/src/*.c))
LIBDEFER_ASM := libdefer/src/$(ARCH)/defer.S
LIBDEFER_HDR := $(wildcard libdefer/include/*.h) libdefer/src/runtime.h
libdefer_v = $(shell sed -n 's/^\#define LIBDEFER_VERSION_$(1) *\([0-9][0-9]*\)$$/\1/p' libdefer/include/defer.h)
LIBDEFER_MAJOR := $(call libdefer_v,MAJOR)
LIBDEFER_VERSION := $(LIBDEFER_MAJOR).$(call libdefer_v,MINOR).$(call libdefer_v,PATCH)
LIBDEFER_SONAME := libdefer.so.$(LIBDEFER_MAJOR)
LIBDEFER_REALNAME := libdefer.so.$(LIBDEFER_VERSION)
LIBDEFER_CFLAGS := $(CFLAGS_COMMON) $(OPT) -fPIC -Ilibdefer/include -fvisibility=hidden

LIBDEFER_OBJ := $(patsubst libdefer/src/%.c,$(B)/libdefer/%.o,$(LIBDEFER_SRC)) \
	$(B)/libdefer/defer.S.o
# What the shared library links, and what a program linked with the
# runtime needs after it (the examples; libdefer.pc's Libs.private).
LIBDEFER_SO_LIBS := -lgcc_s
LIBDEFER_LIBS := -lpthread

# LIBC=musl (the Makefile sets B and CC).  musl-gcc searches musl's headers
# only: $(B)/sysinclude links in the header-only system headers the
# runtime uses (<sys/sdt.h>; the kernel's <linux/futex.h>), searched after
# musl's.  Its specs also drop gcc's --eh-frame-hdr, without which the
# unwinder finds no frames (recovery aborts), and Debian's libgcc_eh.a
# needs glibc's _dl_find_object (src/musl/dl_find_object.c): both are in
# LIBDEFER_LINK, which libdefer.pc's Libs carry.  libgcc_s is glibc's: the
# shared library links libgcc_eh.a in, as musl-gcc's specs do.
ifeq ($(LIBC),musl)
MUSL_SYSINC := $(B)/sysinclude
LIBDEFER_CFLAGS += -idirafter $(MUSL_SYSINC)
LIBDEFER_OBJ += $(B)/libdefer/musl/dl_find_object.o
LIBDEFER_LINK := -Wl,--eh-frame-hdr -Wl,--undefined=_dl_find_object
LIBDEFER_SO_LIBS := -Wl,--eh-frame-hdr
LIBDEFER_LIBS := -static $(LIBDEFER_LINK) -lpthread
MUSL_SYSHDRS := sys/sdt.h sys/sdt-config.h linux asm asm-generic
$(MUSL_SYSINC)/.stamp: libdefer/build.mk
	@mkdir -p $(MUSL_SYSINC)/sys
	@for h in $(MUSL_SYSHDRS); do \
		for d in /usr/include/$$(gcc -print-multiarch) /usr/include; do \
			[ -e $$d/$$h ] && { ln -sfn $$d/$$h $(MUSL_SYSINC)/$$h; break; }; \
		done; \
		[ -e $(MUSL_SYSINC)/$$h ] || { echo "$$h: not found (packages systemtap-sdt-dev, linux-libc-dev)" >&2; exit 1; }; \
	done
	@touch $@
$(LIBDEFER_OBJ) $(B)/libdefer/asm_offsets.h: | $(MUSL_SYSINC)/.stamp
endif

# Cross builds (ARCH=aarch64; the Makefile sets B, CC and CROSS).  Debian's
# cross compiler searches its target's headers only: $(B)/sysinclude links
# in <sys/sdt.h>, which is the same text for every architecture (the
# host's systemtap-sdt-dev), searched after the target's own.
ifdef CROSS
CROSS_SYSINC := $(B)/sysinclude
LIBDEFER_CFLAGS += -idirafter $(CROSS_SYSINC)
$(CROSS_SYSINC)/.stamp: libdefer/build.mk
	@mkdir -p $(CROSS_SYSINC)/sys
	@for h in sdt.h sdt-config.h; do \
		for d in /usr/include/$$(gcc -print-multiarch)/sys /usr/include/sys; do \
			[ -e $$d/$$h ] && { ln -sfn $$d/$$h $(CROSS_SYSINC)/sys/$$h; break; }; \
		done; \
		[ -e $(CROSS_SYSINC)/sys/$$h ] || { echo "sys/$$h: not found (package systemtap-sdt-dev)" >&2; exit 1; }; \
	done
	@touch $@
$(LIBDEFER_OBJ) $(B)/libdefer/asm_offsets.h: | $(CROSS_SYSINC)/.stamp

# `make ARCH=aarch64`: the deps step (the cross toolchain, qemu), then the
# runtime, its libdefer.pc for this tree (PKG_CONFIG_PATH=build/aarch64),
# the examples and make bench's C programs (the tests run their shapes
# under qemu).
$(B)/libdefer.pc: libdefer/libdefer.pc.in libdefer/build.mk
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@LIBDIR@|$(CURDIR)/$(B)|' -e 's|@VERSION@|$(LIBDEFER_VERSION)|' \
		-e 's|^includedir=.*|includedir=$(CURDIR)/libdefer/include|' $< > $@
.PHONY: cross cross-build
cross: deps
	@$(MAKE) --no-print-directory ARCH=$(ARCH) cross-build
cross-build: $(B)/libdefer.a $(B)/$(LIBDEFER_REALNAME) $(B)/libdefer.pc examples \
	$(addprefix $(B)/bench/,defer_bench shapes shapes-deferproc panic_bench panic_unwind_bench)
.DEFAULT_GOAL := cross
endif

# The headers are order-only: they exist before the first compile; what
# each object really includes is in its .d file (DEPFLAGS, Makefile).
$(B)/libdefer/%.o: libdefer/src/%.c | $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(LIBDEFER_CFLAGS) $(DEPFLAGS) -c $< -o $@

# defer.S's offsets (asm_offsets.h), from the spec in defer_abi.h: the C
# file compiled to assembly by the compiler that builds the library (so a
# cross compiler gives its target's layout), each "->NAME VALUE" line made
# a #define.
LIBDEFER_ASM_OFFSETS := $(B)/libdefer/asm_offsets.h
$(LIBDEFER_ASM_OFFSETS): libdefer/src/asm_offsets.c $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(LIBDEFER_CFLAGS) -S $< -o $@.s
	{ echo '/* Generated from libdefer/src/asm_offsets.c by libdefer/build.mk: do not edit. */'; \
	  sed -n 's/^[[:space:]]*\.ascii[[:space:]]*"->\([A-Za-z0-9_]*\) [$$]\{0,1\}\(-\{0,1\}[0-9][0-9]*\)"$$/#define \1 \2/p' $@.s; \
	} > $@.tmp
	@grep -q '^#define D_LINK ' $@.tmp || { echo "$@: no constants found in $@.s" >&2; exit 1; }
	mv $@.tmp $@
LIBDEFER_ASFLAGS := -I$(B)/libdefer

# Assembled with the C files' flags: -g gives it DWARF (line tables and its
# functions' ranges), as gcc's own objects have.
$(B)/libdefer/defer.S.o: $(LIBDEFER_ASM) $(LIBDEFER_ASM_OFFSETS) | $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(LIBDEFER_CFLAGS) $(LIBDEFER_ASFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/libdefer.a: $(LIBDEFER_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/$(LIBDEFER_REALNAME): $(LIBDEFER_OBJ)
	$(CC) -shared -Wl,-soname,$(LIBDEFER_SONAME) -Wl,-z,nodelete -o $@ $^ $(LIBDEFER_SO_LIBS)
	ln -sf $(LIBDEFER_REALNAME) $(B)/$(LIBDEFER_SONAME)
	ln -sf $(LIBDEFER_SONAME) $(B)/libdefer.so

# The libraries make install copies: the same objects but gdb_autoload.o,
# whose .debug_gdb_scripts entry names the installed extension instead of
# this source tree (gdb/build.mk), so no installed file points here.
LIBDEFER_INSTALL_OBJ := $(filter-out $(B)/libdefer/gdb_autoload.o,$(LIBDEFER_OBJ)) \
	$(B)/install/gdb_autoload.o

$(B)/install/gdb_autoload.o: libdefer/src/gdb_autoload.c $(B)/install/prefix
	@mkdir -p $(dir $@)
	$(CC) $(LIBDEFER_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/install/libdefer.a: $(LIBDEFER_INSTALL_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/install/$(LIBDEFER_REALNAME): $(LIBDEFER_INSTALL_OBJ)
	$(CC) -shared -Wl,-soname,$(LIBDEFER_SONAME) -Wl,-z,nodelete -o $@ $^ -lgcc_s

all: $(B)/libdefer.a $(B)/$(LIBDEFER_REALNAME)

.PHONY: version
version:
	@echo $(LIBDEFER_VERSION)

INSTALL_TARGETS += install-libdefer
.PHONY: install-libdefer
install-libdefer: $(B)/install/libdefer.a $(B)/install/$(LIBDEFER_REALNAME)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 libdefer/include/defer.h libdefer/include/defer_abi.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(B)/install/libdefer.a $(DESTDIR)$(LIBDIR)/
	install -m 644 $(B)/install/$(LIBDEFER_REALNAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIBDEFER_REALNAME) $(DESTDIR)$(LIBDIR)/$(LIBDEFER_SONAME)
	ln -sf $(LIBDEFER_SONAME) $(DESTDIR)$(LIBDIR)/libdefer.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(LIBDEFER_VERSION)|' \
		libdefer/libdefer.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libdefer.pc
	@# The live system's loader cache learns of libdefer.so.1 (a staging
	@# DESTDIR is someone else's to register: dpkg's trigger, say).
	$(if $(DESTDIR),,-ldconfig)

UNINSTALL_TARGETS += uninstall-libdefer
.PHONY: uninstall-libdefer
uninstall-libdefer:
	rm -f $(DESTDIR)$(PREFIX)/include/defer.h $(DESTDIR)$(PREFIX)/include/defer_abi.h \
		$(DESTDIR)$(LIBDIR)/libdefer.a $(DESTDIR)$(LIBDIR)/$(LIBDEFER_REALNAME) \
		$(DESTDIR)$(LIBDIR)/$(LIBDEFER_SONAME) $(DESTDIR)$(LIBDIR)/libdefer.so \
		$(DESTDIR)$(LIBDIR)/pkgconfig/libdefer.pc
	$(if $(DESTDIR),,-ldconfig)

# The same runtime built with sanitizers, for the tests:
# build/san (AddressSanitizer + UndefinedBehaviorSanitizer), build/tsan.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

define sanitized_libdefer # $(1): directory under build, $(2): flags
$(B)/$(1)/%.o: libdefer/src/%.c | $(LIBDEFER_HDR)
	@mkdir -p $$(dir $$@)
	$(CC) $$(CFLAGS_COMMON) -O1 $(2) -fPIC -Ilibdefer/include -fvisibility=hidden $(DEPFLAGS) -c $$< -o $$@

$(B)/$(1)/defer.S.o: $(LIBDEFER_ASM) $(LIBDEFER_ASM_OFFSETS) | $(LIBDEFER_HDR)
	@mkdir -p $$(dir $$@)
	$(CC) $$(CFLAGS_COMMON) -O1 $(2) -fPIC -Ilibdefer/include -fvisibility=hidden $(LIBDEFER_ASFLAGS) $(DEPFLAGS) -c $$< -o $$@

$(B)/$(1)/libdefer.a: $(patsubst libdefer/src/%.c,$(B)/$(1)/%.o,$(LIBDEFER_SRC)) $(B)/$(1)/defer.S.o
	rm -f $$@ && ar rcs $$@ $$^

all: $(B)/$(1)/libdefer.a
endef

$(eval $(call sanitized_libdefer,san,$(SAN_FLAGS)))
$(eval $(call sanitized_libdefer,tsan,-fsanitize=thread))

# The runtime benchmark (make bench).
# Functions and loops aligned: otherwise where the linker happens to put the
# tiny baseline functions moves the direct call's time by 15%.
# forced_unwind.c, with -fexceptions, measures the unwinder's forced unwinding
# (glibc's cancellation, the mechanism unwinding panics use).  It is a shared
# object of its own: linked in, its LSDAs would make the executable one with
# landing pads, and every panic row would pay the walk that looks for them
# (2,002 ns instead of 81 for panic + recover with defer_result).
$(B)/bench/defer_bench: libdefer/bench/defer_bench.c $(B)/bench/libforced_unwind.so \
		libdefer/bench/clock.h $(B)/libdefer.a $(LIBDEFER_HDR)
	$(CC) $(CFLAGS_COMMON) -O2 -falign-functions=64 -falign-loops=32 -Ilibdefer/include \
		$< -L$(B)/bench -lforced_unwind -Wl,-rpath,'$$ORIGIN' $(B)/libdefer.a -o $@
$(B)/bench/libforced_unwind.so: libdefer/bench/forced_unwind.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 -fexceptions -fPIC -shared $< -o $@
all: $(B)/bench/defer_bench

# The defer shapes counted by libdefer/bench/instructions.py: as built, and
# with every defer() through deferproc; the same shapes in Go 1.19 and C++
# throw/catch, built by scripts/bench when go and g++ are installed.
BENCH_CFLAGS := $(CFLAGS_COMMON) -O2 -falign-functions=64 -falign-loops=32 -Ilibdefer/include
$(B)/bench/shapes: libdefer/bench/shapes.c libdefer/bench/clock.h $(B)/libdefer.a $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< $(B)/libdefer.a -o $@
$(B)/bench/shapes-deferproc: libdefer/bench/shapes.c libdefer/bench/clock.h $(B)/libdefer.a $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -DDEFER_NO_OPEN_CODE $< $(B)/libdefer.a -o $@
$(B)/bench/anchors: libdefer/bench/anchors.cc
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O2 -Wall -Wextra $< -o $@
# GOPATH mode, with the cache in the build tree: nothing outside it is written.
$(B)/bench/shapes-go: libdefer/bench/shapes.go
	@mkdir -p $(dir $@)
	GO111MODULE=off GOCACHE=$(CURDIR)/$(B)/gocache GOPATH=$(CURDIR)/$(B)/gopath \
		go build -o $@ $<
# Instructions per panic + recover (scripts/panic_bench, make bench): one
# source, built as it is and with -fexceptions (frames with landing pads).
$(B)/bench/panic_bench: libdefer/bench/panic_bench.c $(B)/libdefer.a $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 -Ilibdefer/include $< $(B)/libdefer.a -o $@
$(B)/bench/panic_unwind_bench: libdefer/bench/panic_bench.c $(B)/libdefer.a $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 -fexceptions -Ilibdefer/include $< $(B)/libdefer.a -o $@
all: $(B)/bench/panic_bench $(B)/bench/panic_unwind_bench


# `make LIBC=musl`: the deps step (musl-tools), then the runtime, its
# libdefer.pc for this tree (PKG_CONFIG_PATH=build/musl; the tests link
# with its flags) and the examples.
ifeq ($(LIBC),musl)
$(B)/libdefer.pc: libdefer/libdefer.pc.in libdefer/build.mk
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@LIBDIR@|$(CURDIR)/$(B)|' -e 's|@VERSION@|$(LIBDEFER_VERSION)|' \
		-e 's|^includedir=.*|includedir=$(CURDIR)/libdefer/include|' \
		-e 's|^Libs: .*|& $(LIBDEFER_LINK)|' $< > $@
.DEFAULT_GOAL := musl
.PHONY: musl musl-build
musl: deps
	@$(MAKE) --no-print-directory musl-build
musl-build: $(B)/libdefer.a $(B)/$(LIBDEFER_REALNAME) $(B)/libdefer.pc examples
endif
