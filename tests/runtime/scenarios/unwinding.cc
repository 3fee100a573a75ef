// SPDX-License-Identifier: MIT
// A panic that crosses C++ frames runs their destructors, interleaved
// with the frames' deferred calls, innermost first; a frame that catches
// with catch (...) and rethrows lets it go on.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <defer.h>

static void note(const char *s) { std::printf("defer %s\n", s); }

struct guard {
	const char *name;
	~guard() { std::printf("~guard %s\n", name); }
};

static void catch_set(int *r)
{
	const struct _panic *p = recover();
	std::printf("catch: %s\n", p ? p->msg : "nothing");
	if (p)
		*r = 42;
}

__attribute__((noinline)) static void inner()
{
	guard a{"inner before defer_frame"};
	std::vector<std::string> held(3, std::string(100, 'x'));	// heap: freed by unwinding
	defer_frame;
	guard b{"inner after defer_frame"};
	defer(note, "inner");
	panic("boom %d", 1);
}

__attribute__((noinline)) static void rethrows()
{
	guard a{"rethrows"};
	try {
		inner();
	} catch (...) {
		std::printf("catch (...) rethrows\n");
		throw;
	}
}

__attribute__((noinline)) static int outer()
{
	int r = 1;
	guard a{"outer before defer_frame"};
	defer_frame;
	defer_result(r);
	guard b{"outer after defer_result"};
	defer(catch_set, &r);
	rethrows();
	return 0;
}

int main()
{
	std::setvbuf(stdout, nullptr, _IONBF, 0);
	std::printf("outer returned %d\n", outer());
	return 0;
}
