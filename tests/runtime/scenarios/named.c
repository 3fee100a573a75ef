/* SPDX-License-Identifier: MIT */
/* Go's named results: a deferred call changes the function's result on a
 * normal return (defer_return) and after a recovery (defer_result). */
#include <stdio.h>
#include <string.h>
#include <defer.h>

static void set_to(int *r, int v) { printf("deferred call sees %d, sets %d\n", *r, v); *r = v; }
static void add(int *r, int v) { *r += v; }

/* func f() (r int) { defer func() { r = 7 }(); return 1 } returns 7 */
static int normal_return(void)
{
	int r;
	defer_frame;
	defer(set_to, &r, 7);
	r = 1;
	defer_return(r);
}

/* Calls run newest first, each sees what the newer ones left. */
static int several(void)
{
	int r = 0;
	defer_frame;
	defer(add, &r, 100);
	defer(add, &r, 10);
	r = 1;
	defer_return(r);
}

/* An error code set through a pointer by the deferred close
 * (func copy() (err error) { ...; defer func() { err = f.Close() }() }). */
static void close_into(FILE *f, int *err)
{
	if (fclose(f) != 0 && *err == 0)
		*err = -1;
	else if (*err == 0)
		*err = 42;	/* stands for "closed fine, reported" */
}
static int write_file(const char *path)
{
	int err = 0;
	FILE *f = fopen(path, "w");
	if (!f)
		return -2;
	defer_frame;
	defer(close_into, f, &err);
	fputs("data\n", f);
	defer_return(err);
}

/* Both paths in one function: a normal return and a recovered panic. */
static void recover_to(int *r)
{
	if (recover())
		*r = 500;
	else
		*r += 1;
}
static int both(int fail)
{
	int status = 200;
	defer_frame;
	defer_result(status);
	defer(recover_to, &status);
	if (fail)
		panic("fail");
	defer_return(status);
}

int main(int argc, char **argv)
{
	(void)argc;
	printf("normal_return -> %d\n", normal_return());
	printf("several -> %d\n", several());
	printf("write_file -> %d\n", write_file(argv[0][0] ? "/dev/null" : ""));
	printf("both(0) -> %d\n", both(0));
	printf("both(1) -> %d\n", both(1));
	return 0;
}
