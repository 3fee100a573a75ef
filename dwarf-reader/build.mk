# SPDX-License-Identifier: MIT
# The DWARF reader and defer-inspect: build/libdreader.a, build/defer-inspect.
#
#   make build/defer-inspect   the tool (also part of `make all`)
#   make fuzz                  libFuzzer over the reader and the core walker
#                              (FUZZ_SECONDS per target, default 60)
#   make bench-reader          layout and dump timings against gdb
#   make test-reader           the reader's pytest suite

DR_SRC := $(wildcard dwarf-reader/src/*.c)
DR_HDR := $(wildcard dwarf-reader/include/*.h dwarf-reader/src/*.h) libdefer/include/defer_abi.h
DR_CFLAGS := $(CFLAGS_COMMON) $(OPT) -Idwarf-reader/include -Idwarf-reader/src -Ilibdefer/include
DR_LIBS := -ldwarf -lelf -lz
DR_OBJ := $(patsubst dwarf-reader/src/%.c,$(B)/dwarf-reader/%.o,$(DR_SRC))

# Headers order-only, as in libdefer/build.mk: the .d files say which.
$(B)/dwarf-reader/%.o: dwarf-reader/src/%.c | $(DR_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(DR_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/libdreader.a: $(DR_OBJ)
	rm -f $@ && ar rcs $@ $^

DR_TOOL := $(wildcard dwarf-reader/tool/*.c dwarf-reader/tool/*.h)
# --version prints libdefer's version (written once, in defer.h).
DR_TOOL_CFLAGS := -Idwarf-reader/tool -DDEFER_INSPECT_VERSION='"$(LIBDEFER_VERSION)"'
$(B)/defer-inspect: $(DR_TOOL) $(B)/libdreader.a libdefer/include/defer.h
	$(CC) $(DR_CFLAGS) $(DR_TOOL_CFLAGS) dwarf-reader/tool/*.c $(B)/libdreader.a $(DR_LIBS) -o $@

all: $(B)/defer-inspect

# The same tool under AddressSanitizer and UBSan, for the tests.
$(B)/defer-inspect-asan: $(DR_SRC) $(DR_TOOL) $(DR_HDR) libdefer/include/defer.h
	$(CC) $(CFLAGS_COMMON) -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -Idwarf-reader/include -Idwarf-reader/src -Ilibdefer/include \
		$(DR_TOOL_CFLAGS) $(DR_SRC) dwarf-reader/tool/*.c $(DR_LIBS) -o $@

# libFuzzer harnesses (clang): one over a binary, one over a core.
DR_FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Idwarf-reader/include -Idwarf-reader/src -Ilibdefer/include
$(B)/fuzz/fuzz-%: dwarf-reader/fuzz/fuzz-%.c $(DR_SRC) $(DR_HDR)
	@mkdir -p $(dir $@)
	clang $(DR_FUZZ_FLAGS) $< $(DR_SRC) $(DR_LIBS) -o $@

FUZZ_SECONDS ?= 60
.PHONY: fuzz bench-reader test-reader
fuzz: $(B)/fuzz/fuzz-elf $(B)/fuzz/fuzz-core $(B)/defer-inspect $(B)/libdefer.a
	@sh dwarf-reader/fuzz/run.sh $(B) $(FUZZ_SECONDS)

bench-reader: $(B)/defer-inspect $(B)/libdefer.a
	@$(PYTHON) dwarf-reader/bench/bench.py

test-reader: $(B)/defer-inspect $(B)/defer-inspect-asan $(B)/libdefer.a $(B)/libdefer.so
	$(PYTHON) -m pytest -q tests/reader

INSTALL_TARGETS += install-defer-inspect
.PHONY: install-defer-inspect
install-defer-inspect: $(B)/defer-inspect
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(B)/defer-inspect $(DESTDIR)$(PREFIX)/bin/

UNINSTALL_TARGETS += uninstall-defer-inspect
.PHONY: uninstall-defer-inspect
uninstall-defer-inspect:
	rm -f $(DESTDIR)$(PREFIX)/bin/defer-inspect
