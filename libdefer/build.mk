# The runtime: build/libdefer.a, build/libdefer.so (soname libdefer.so.1),
# build/libdefer.pc.

LIBDEFER_SRC := $(wildcard libdefer/src/*.c)
LIBDEFER_ASM := libdefer/src/x86_64/defer.S
LIBDEFER_HDR := $(wildcard libdefer/include/*.h) libdefer/src/runtime.h
LIBDEFER_VERSION := 1.0.0
LIBDEFER_SONAME := libdefer.so.1
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

$(B)/$(LIBDEFER_SONAME): $(LIBDEFER_OBJ)
	$(CC) -shared -Wl,-soname,$(LIBDEFER_SONAME) -Wl,-z,nodelete -o $@ $^ -lgcc_s
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

$(B)/install/$(LIBDEFER_SONAME): $(LIBDEFER_INSTALL_OBJ)
	$(CC) -shared -Wl,-soname,$(LIBDEFER_SONAME) -o $@ $^ -lgcc_s

all: $(B)/libdefer.a $(B)/$(LIBDEFER_SONAME)

INSTALL_TARGETS += install-libdefer
.PHONY: install-libdefer
install-libdefer: $(B)/install/libdefer.a $(B)/install/$(LIBDEFER_SONAME)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 libdefer/include/defer.h libdefer/include/defer_abi.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(B)/install/libdefer.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/install/$(LIBDEFER_SONAME) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(LIBDEFER_SONAME) $(DESTDIR)$(PREFIX)/lib/libdefer.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LIBDEFER_VERSION)|' \
		libdefer/libdefer.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libdefer.pc
	@# The live system's loader cache learns of libdefer.so.1 (a staging
	@# DESTDIR is someone else's to register: dpkg's trigger, say).
	$(if $(DESTDIR),,-ldconfig)

UNINSTALL_TARGETS += uninstall-libdefer
.PHONY: uninstall-libdefer
uninstall-libdefer:
	rm -f $(DESTDIR)$(PREFIX)/include/defer.h $(DESTDIR)$(PREFIX)/include/defer_abi.h \
		$(DESTDIR)$(PREFIX)/lib/libdefer.a $(DESTDIR)$(PREFIX)/lib/$(LIBDEFER_SONAME) \
		$(DESTDIR)$(PREFIX)/lib/libdefer.so $(DESTDIR)$(PREFIX)/lib/pkgconfig/libdefer.pc

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

