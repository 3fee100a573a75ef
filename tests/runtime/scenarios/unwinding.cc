// SPDX-License-Identifier: MIT
// A panic that crosses C++ frames runs their destructors, interleaved
// with the frames' deferred calls, innermost first; a frame that catches
// with catch (...) and rethrows lets it go on.  argv[1] "renest": a call
// that the panic runs from a frame's landing pad panics again, and an
// older call of that frame recovers the new panic ("renest_fatal": none
// does).
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

static void repanic()
{
	std::printf("repanic B\n");
	panic("B");
}

__attribute__((noinline)) static void raise_a()
{
	guard a{"raise_a"};
	defer_frame;
	defer(note, "raise_a");
	panic("A");
}

__attribute__((noinline)) static int renest(bool rec)
{
	int r = 1;
	guard a{"renest before defer_frame"};
	defer_frame;
	defer_result(r);
	guard b{"renest after defer_result"};
	defer(note, "renest 0");
	if (rec)
		defer(catch_set, &r);
	defer(note, "renest 1");
	defer(repanic);
	defer(note, "renest 2");
	raise_a();
	return 0;
}

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IONBF, 0);
	if (argc > 1 && !std::strncmp(argv[1], "renest", 6))
		std::printf("renest returned %d\n", renest(!std::strcmp(argv[1], "renest")));
	else
		std::printf("outer returned %d\n", outer());
	return 0;
}
