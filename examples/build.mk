examples:
.PHONY: examples
