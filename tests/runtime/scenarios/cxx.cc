/* SPDX-License-Identifier: MIT */
// defer.h from C++17 and C++20: defer_frame, defer() with the C argument
// rules, panic, panic_value, recover, defer_result; and a C++ exception
// that crosses a defer_frame runs the frame's calls.
#include <cstdio>
#include <dirent.h>
#include <defer.h>

struct conn;  // never completed here
static void conn_note(const conn *c) { std::printf("conn_note null=%d\n", c == nullptr); }
static void say(const char *s) { std::printf("%s\n", s); }
static void num(int a, double b, unsigned char c, long d) { std::printf("num %d %g %u %ld\n", a, b, c, d); }
enum class color : unsigned char { red, green };
static void col(color c) { std::printf("col %d\n", static_cast<int>(c)); }
static void nul(void *p) { std::printf("nul %d\n", p == nullptr); }
static void ne(int x) noexcept { std::printf("noexcept %d\n", x); }
static void (*const hookp)(const char *) = say;
static void catcher(int *st)
{
	const struct _panic *p = recover();
	if (p) {
		std::printf("recovered: %s\n", p->msg);
		*st = p->arg ? *static_cast<int *>(p->arg) : 500;
	}
}
struct guard {
	const char *n;
	~guard() { std::printf("~guard %s\n", n); }
};

static int handle(int code)
{
	int status = 200;
	guard g{"handle"};          // in the recovering frame: destroyed on its return
	defer_frame;
	defer_result(status);
	defer(catcher, &status);
	if (code)
		panic_value(&code, "failed %d", code);
	else
		panic("boom %d", 7);
	return status;
}
static void void_result()
{
	int st = 0;
	defer_frame;
	defer_result();
	defer(catcher, &st);
	panic("void_result");
}
// Templates: g++ instantiates them without the __extension__ that the
// macros' GNU features are written under.
template <class T> static void recover_into(T *st)
{
	if (const struct _panic *p = recover()) {
		std::printf("template recovered: %s\n", p->msg);
		*st = static_cast<T>(sizeof(T));
	}
}
template <class T> static T templated()
{
	T st = 0;
	defer_frame;
	defer_result(st);
	defer(recover_into<T>, &st);
	panic("in templated<%zu>", sizeof(T));
	return st;
}
static void thrower()
{
	guard g{"thrower"};
	defer_frame;
	defer(say, "thrower: deferred call ran during the exception");
	throw 42;
}

int main()
{
	{
		// Declared before the frame: a pointer argument must outlive it
		// (C++ ends buf's lifetime before the frame's cleanup runs).
		char buf[] = "char[] to const char *";
		defer_frame;
		DIR *d = opendir("/");
		defer(closedir, d);
		std::FILE *f = std::fopen("/dev/null", "r");
		defer(std::fclose, f);
		defer(conn_note, static_cast<conn *>(nullptr));
		defer(num, 1, 2.5f, 44, 4);   // float to double, int to unsigned char and long
		defer(col, color::green);
		defer(nul, nullptr);
		defer(ne, 3);
		defer(hookp, "through a pointer");
		defer(say, buf);
		std::printf("block ends\n");
	}
	std::printf("handle(0) = %d\n", handle(0));
	std::printf("handle(503) = %d\n", handle(503));
	void_result();
	std::printf("templated<short>() = %d\n", templated<short>());
	std::printf("templated<long>() = %ld\n", templated<long>());
	try {
		thrower();
	} catch (int e) {
		std::printf("caught %d\n", e);
	}
	return 0;
}
