/* SPDX-License-Identifier: MIT */
/* Arguments are evaluated at the defer and converted as for a direct call. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <defer.h>

struct engine { const char *name; int running; };

static void engine_stop(struct engine *e) { e->running = 0; printf("engine_stop(%s)\n", e->name); }
static void scalars(char c, short s, unsigned u, long l, bool b, const char *p)
{
	printf("scalars c=%c s=%d u=%u l=%ld b=%d p=%s\n", c, s, u, l, b, p);
}
static void floats(float f, double d, int i, float g, double e, long l)
{
	printf("floats f=%g d=%g i=%d g=%g e=%g l=%ld\n", f, d, i, g, e, l);
}
static void wants_double(double d) { printf("wants_double %g\n", d); }
static void wants_long(long l) { printf("wants_long %ld\n", l); }
static void wants_uchar(unsigned char c) { printf("wants_uchar %u\n", c); }
static void none(void) { printf("none\n"); }
static void (*fnptr)(double) = wants_double;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void work(struct engine *e)
{
	defer_frame;
	pthread_mutex_lock(&mu);
	defer(pthread_mutex_unlock, &mu);
	defer(engine_stop, e);
	FILE *fp = fopen("/dev/null", "w");
	defer(fclose, fp);
	for (int i = 0; i < 3; i++)
		defer(printf, "loop i=%d half=%.1f\n", i, i * 0.5f);
	defer(printf, "variadic doubles %g %g %g %g %g\n", 1.5, 2.5, 3.5, 4.5, 5.5);
	defer(scalars, 'x', (short)-7, 4000000000u, -1234567890123L, true, "str");
	defer(floats, 1.25f, 2.5, -3, 4.75f, -5.125, 6L);
	defer(wants_double, 7);        /* int converted to double, as a call would */
	defer(wants_long, -5);         /* int sign-extended to long */
	int big = 300;
	defer(wants_uchar, big);       /* converted to unsigned char: 44 */
	defer(fnptr, 0.25);            /* a function pointer */
	defer(none);
	int late = 1;
	defer(printf, "late=%d (value at the defer)\n", late);
	late = 2;
	printf("work body ends, late=%d, engine running=%d\n", late, e->running);
}

/*
 * A frame's first defer is open-coded when the arguments have exactly the
 * parameters' types (defer.h): each of these is a first defer, some with
 * exact types (every register class and width), some needing conversion.
 */
static void first_scalars(char c, short s, unsigned u, long l, bool b, const char *p)
{
	defer_frame;
	defer(scalars, c, s, u, l, b, p);
}
static void first_floats(float f, double d, int i, float g, double e, long l)
{
	defer_frame;
	defer(floats, f, d, i, g, e, l);
}
static void first_converted(void)
{
	defer_frame;
	defer(wants_double, 9);
}
static void first_pointer(void)
{
	defer_frame;
	char text[] = "char * to const char *";
	defer(puts, text);
}
static void engine_report(const struct engine *e) { printf("engine_report %s\n", e->name); }
static void first_const_struct(struct engine *e)
{
	defer_frame;
	defer(engine_report, e);     /* struct engine * to const struct engine * */
}
static void show(const void *p) { printf("show %s\n", (const char *)p); }
static void first_const_void(void)
{
	defer_frame;
	char text[] = "char * to const void *";
	defer(show, text);
}
struct pair { int a, b; };
static struct pair make_pair(int a) { printf("make_pair %d\n", a); return (struct pair){ a, -a }; }
static void first_struct_return(void)
{
	defer_frame;
	defer(make_pair, 8);         /* returned in registers, ignored */
}
/* The function is evaluated before the arguments, open-coded or not. */
static int order_n;
static int next_n(void) { return order_n++; }
static void order_a(int k) { printf("order a %d\n", k); }
static void order_b(int k) { printf("order b %d\n", k); }
static void (*const order_tbl[])(int) = { order_a, order_b, order_a, order_b };
static void first_order(void)
{
	defer_frame;
	for (int i = 0; i < 2; i++)
		defer(order_tbl[next_n()], next_n());
}
struct flags { unsigned mode : 3; int delta : 5; };
static void bits(unsigned mode, int delta) { printf("bits mode=%u delta=%d\n", mode, delta); }
static void first_bit_fields(struct flags fl)
{
	defer_frame;
	defer(bits, fl.mode, fl.delta);  /* bit-field arguments */
}
static void first_through_pointer(void)
{
	defer_frame;
	defer(fnptr, -0.75);
}
static void first_none(void)
{
	defer_frame;
	defer(none);
}

int main(void)
{
	struct engine e = { "main", 1 };
	work(&e);
	printf("after work: running=%d, mutex %s\n", e.running,
	       pthread_mutex_trylock(&mu) == 0 ? "unlocked" : "still locked");
	first_scalars('y', -32768, 4294967295u, -9223372036854775807L - 1, true, "edge");
	first_floats(-0.5f, 1e300, 2147483647, 3.5f, -2.25, -1L);
	first_converted();
	first_pointer();
	first_const_void();
	first_const_struct(&e);
	first_bit_fields((struct flags){ 5, -3 });
	first_struct_return();
	first_order();
	first_through_pointer();
	first_none();
	return 0;
}
