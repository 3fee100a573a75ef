# SPDX-License-Identifier: MIT
# Example programs, linked with the static runtime: build/examples/NAME.
EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))

$(B)/examples/%: examples/%.c $(B)/libdefer.a libdefer/include/defer.h libdefer/include/defer_abi.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 -Ilibdefer/include $< $(B)/libdefer.a $(LIBDEFER_LIBS) -o $@

.PHONY: examples
examples: $(EXAMPLES)
all: examples
