// SPDX-License-Identifier: MIT
// anchors.cc - C++ throw/catch through one frame and through ten, for the
// panic + recover rows of `make bench`.  shapes.c's command line:
// `anchors ir SHAPE N` runs N operations; `anchors time N` times them.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>

struct boom {};

__attribute__((noinline)) static void thrower(int depth)
{
	if (depth > 1)
		thrower(depth - 1);
	else
		throw boom();
	__asm__ volatile("");
}

__attribute__((noinline)) static void catch1(long)
{
	try {
		thrower(1);
	} catch (const boom &) {
	}
}

__attribute__((noinline)) static void catch10(long)
{
	try {
		thrower(10);
	} catch (const boom &) {
	}
}

struct shape {
	const char *name;
	void (*f)(long);
};
static const shape shapes[] = { { "throw_catch", catch1 }, { "throw_catch10", catch10 } };

// Named in C so that instructions.py can count from here (--toggle-collect).
extern "C" __attribute__((noinline)) void run(void (*f)(long), long n)
{
	for (long i = 0; i < n; i++)
		f(i);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "ir")) {
		for (const shape &s : shapes)
			if (!strcmp(s.name, argv[2])) {
				run(s.f, atol(argv[3]));
				return 0;
			}
		fprintf(stderr, "anchors: no shape %s\n", argv[2]);
		return 2;
	}
	if (argc == 3 && !strcmp(argv[1], "time")) {
		long n = atol(argv[2]) / 100;
		for (const shape &s : shapes) {
			double t[21];
			for (double &x : t) {
				auto t0 = std::chrono::steady_clock::now();
				run(s.f, n);
				std::chrono::duration<double, std::nano> d = std::chrono::steady_clock::now() - t0;
				x = d.count() / n;
			}
			std::sort(t, t + 21);
			printf("%s %.2f 0\n", s.name, t[10]);
		}
		return 0;
	}
	fprintf(stderr, "usage: anchors ir SHAPE N | anchors time N\n");
	return 2;
}
