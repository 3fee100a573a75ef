/* SPDX-License-Identifier: MIT */
/* Every scalar handle type a program defers: opaque and incomplete
 * pointers (DIR, FILE, a struct never completed here), pointers to const,
 * function pointers, enums, bool, and integers of every width.  Each first_*
 * function's first defer has the parameter's exact type (or T * for a
 * const T * parameter), so it is open-coded. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <defer.h>

/* struct conn is never completed in this unit: the handle is an int in
 * disguise, as a library's opaque type would be. */
struct conn;
static struct conn *conn_open(int id)
{
	int *p = malloc(sizeof *p);
	*p = id;
	return (struct conn *)(void *)p;
}
static void conn_close(struct conn *c)
{
	printf("conn_close %d\n", *(int *)(void *)c);
	free(c);
}
static void conn_show(const struct conn *c) { printf("conn_show %d\n", *(const int *)(const void *)c); }
static void dir_show(const DIR *d) { printf("dir_show %d\n", d != NULL); }
static void file_show(const FILE *f) { printf("file_show %d\n", f != NULL); }
static int closedir_noisy(DIR *d) { printf("closedir\n"); return closedir(d); }
static int fclose_noisy(FILE *f) { printf("fclose\n"); return fclose(f); }

enum color { RED, GREEN, BLUE };
enum sign { NEG = -5 };
typedef void (*hook_fn)(int);
static void hook(int n) { printf("hook %d\n", n); }
static void run_hook(hook_fn h) { h(7); }
static void show_color(enum color c) { printf("color %d\n", (int)c); }
static void show_sign(enum sign s) { printf("sign %d\n", (int)s); }
static void show_bool(bool b) { printf("bool %d\n", b); }
static void widths(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint64_t f)
{
	printf("widths %d %u %d %u %d %llx\n", a, b, c, d, e, (unsigned long long)f);
}
static void chars(char a, signed char b, unsigned char c, long long d, unsigned long long e, short f)
{
	printf("chars %c %d %u %lld %llu %d\n", a, b, c, d, e, f);
}

static void first_dir(void)
{
	defer_frame;
	DIR *d = opendir("/");
	defer(closedir_noisy, d);
	defer(closedir, opendir("/"));  /* a later call: through deferproc */
}
static void first_file(void)
{
	defer_frame;
	FILE *f = fopen("/dev/null", "r");
	defer(fclose_noisy, f);
	defer(fclose, fopen("/dev/null", "r"));
}
static void first_conn(void)
{
	defer_frame;
	struct conn *c = conn_open(1);
	defer(conn_close, c);
}
static void first_const_dir(DIR *d)
{
	defer_frame;
	defer(dir_show, d);          /* DIR * to const DIR * */
}
static void first_const_file(const FILE *f)
{
	defer_frame;
	defer(file_show, f);         /* const FILE * as it is */
}
static void first_const_conn(struct conn *c)
{
	defer_frame;
	defer(conn_show, c);         /* struct conn * to const struct conn * */
}
static void first_const_conn_exact(const struct conn *c)
{
	defer_frame;
	defer(conn_show, c);
}
static void first_fnptr(hook_fn h)
{
	defer_frame;
	defer(run_hook, h);
}
static void first_function(void)
{
	defer_frame;
	defer(run_hook, hook);       /* a function designator decays */
}
static void first_enum(enum color c)
{
	defer_frame;
	defer(show_color, c);
}
static void first_signed_enum(enum sign s)
{
	defer_frame;
	defer(show_sign, s);
}
static void first_bool(bool b)
{
	defer_frame;
	defer(show_bool, b);
}
static void first_widths(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint64_t f)
{
	defer_frame;
	defer(widths, a, b, c, d, e, f);
}
static void first_chars(char a, signed char b, unsigned char c, long long d, unsigned long long e, short f)
{
	defer_frame;
	defer(chars, a, b, c, d, e, f);
}

int main(void)
{
	DIR *d = opendir("/");
	FILE *f = fopen("/dev/null", "r");
	struct conn *c = conn_open(2);
	first_dir();
	first_file();
	first_conn();
	first_const_dir(d);
	first_const_file(f);
	first_const_conn(c);
	first_const_conn_exact(c);
	first_fnptr(hook);
	first_function();
	first_enum(BLUE);
	first_signed_enum(NEG);
	first_bool(true);
	first_widths(-128, 255, -32768, 65535, -2147483647 - 1, 0xfedcba9876543210ULL);
	first_chars('z', -1, 200, -9223372036854775807LL - 1, 18446744073709551615ULL, -2);
	closedir(d);
	fclose(f);
	conn_close(c);
	return 0;
}
