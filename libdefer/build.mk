# SPDX-License-Identifier: MIT
# The runtime: build/libdefer.a, build/libdefer.so.VERSION (the real name;
# soname libdefer.so.MAJOR, and libdefer.so for -ldefer beside it).
#
# The version is written once, in libdefer/include/defer.h
# (LIBDEFER_VERSION_MAJOR/MINOR/PATCH); `make -s version` prints it.
# Soname policy (docs/releasing.md): the major, and so the soname, changes
# only when a program built against the old header could break with the
# new library.

LIBDEFER_SRC := $(wildcard libdefer/src/*.c)
LIBDEFER_ASM := libdefer/src/x86_64/defer.S
LIBDEFER_HDR := $(wildcard libdefer/include/*.h) libdefer/src/runtime.h
libdefer_v = $(shell sed -n 's/^\#define LIBDEFER_VERSION_$(1) *\([0-9][0-9]*\)$$/\1/p' libdefer/include/defer.h)
LIBDEFER_MAJOR := $(call libdefer_v,MAJOR)
LIBDEFER_VERSION := $(LIBDEFER_MAJOR).$(call libdefer_v,MINOR).$(call libdefer_v,PATCH)
LIBDEFER_SONAME := libdefer.so.$(LIBDEFER_MAJOR)
LIBDEFER_REALNAME := libdefer.so.$(LIBDEFER_VERSION)
LIBDEFER_CFLAGS := $(CFLAGS_COMMON) $(OPT) -fPIC -Ilibdefer/include -fvisibility=hidden

LIBDEFER_OBJ := $(patsubst libdefer/src/%.c,$(B)/libdefer/%.o,$(LIBDEFER_SRC)) \
	$(B)/libdefer/defer.S.o

$(B)/libdefer/%.o: libdefer/src/%.c $(LIBDEFER_HDR) $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(LIBDEFER_CFLAGS) -c $< -o $@

$(B)/libdefer/defer.S.o: $(LIBDEFER_ASM) $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

$(B)/libdefer.a: $(LIBDEFER_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/$(LIBDEFER_REALNAME): $(LIBDEFER_OBJ)
	$(CC) -shared -Wl,-soname,$(LIBDEFER_SONAME) -Wl,-z,nodelete -o $@ $^ -lgcc_s
	ln -sf $(LIBDEFER_REALNAME) $(B)/$(LIBDEFER_SONAME)
	ln -sf $(LIBDEFER_SONAME) $(B)/libdefer.so

# The libraries make install copies: the same objects but gdb_autoload.o,
# whose .debug_gdb_scripts entry names the installed extension instead of
# this source tree (gdb/build.mk), so no installed file points here.
LIBDEFER_INSTALL_OBJ := $(filter-out $(B)/libdefer/gdb_autoload.o,$(LIBDEFER_OBJ)) \
	$(B)/install/gdb_autoload.o

$(B)/install/gdb_autoload.o: libdefer/src/gdb_autoload.c $(B)/install/prefix
	@mkdir -p $(dir $@)
	$(CC) $(LIBDEFER_CFLAGS) -c $< -o $@

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
$(B)/$(1)/%.o: libdefer/src/%.c $(LIBDEFER_HDR) $(B)/.deps
	@mkdir -p $$(dir $$@)
	$(CC) $$(CFLAGS_COMMON) -O1 $(2) -fPIC -Ilibdefer/include -fvisibility=hidden -c $$< -o $$@

$(B)/$(1)/defer.S.o: $(LIBDEFER_ASM) $(B)/.deps
	@mkdir -p $$(dir $$@)
	$(CC) -c $$< -o $$@

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
# (what running the cleanups of the frames a panic crosses would cost).
$(B)/bench/defer_bench: libdefer/bench/defer_bench.c libdefer/bench/forced_unwind.c \
		$(B)/libdefer.a $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 -fexceptions -c libdefer/bench/forced_unwind.c -o $@-fu.o
	$(CC) $(CFLAGS_COMMON) -O2 -falign-functions=64 -falign-loops=32 -Ilibdefer/include \
		$< $@-fu.o $(B)/libdefer.a -o $@
all: $(B)/bench/defer_bench

# Instructions per panic + recover (scripts/panic_bench, make bench).
$(B)/bench/panic_bench: libdefer/bench/panic_bench.c $(B)/libdefer.a $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 -Ilibdefer/include $< $(B)/libdefer.a -o $@
$(B)/bench/panic_unwind_bench: libdefer/bench/panic_unwind_bench.c $(B)/libdefer.a $(LIBDEFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 -fexceptions -Ilibdefer/include $< $(B)/libdefer.a -o $@
all: $(B)/bench/panic_bench $(B)/bench/panic_unwind_bench

