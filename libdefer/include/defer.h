/* SPDX-License-Identifier: MIT */
/*
 * defer.h - Go's defer, panic and recover for C.
 *
 *	int copy(const char *from, const char *to)
 *	{
 *		defer_frame;                     // this function's deferred calls
 *		FILE *in = fopen(from, "rb");
 *		if (!in)
 *			return -1;
 *		defer(fclose, in);               // runs on every way out, LIFO
 *		...
 *	}
 *
 * THE UNIT.  `defer_frame;` declares a frame marker; every defer() after it
 * in the same block belongs to it, and the frame's calls run, newest first,
 * when control leaves that block by any path: falling off the end, return,
 * break, continue, goto.  Written first in a function body it gives exactly
 * Go's function-level behaviour (defer in a loop piles up calls until the
 * function returns).  Written in an inner block it scopes calls to that block.
 *
 * ARGUMENTS are evaluated and converted at the defer() call, exactly as for
 * a direct call to the function (prototype conversions, variadic
 * promotions): defer(printf, "%d\n", i) in a loop prints each i.  At most
 * six scalar arguments (integers up to 64 bits, bit-fields, pointers,
 * float, double); the return value is ignored.  Anything else (more
 * arguments, structs, __int128, long double) is a compile-time error.
 * Pointers may point to incomplete or opaque types (DIR, FILE, struct conn
 * never completed in the unit); function pointers, enums and bool are
 * integers or pointers as the ABI passes them.
 *
 * COMPILERS AND LANGUAGES.  gcc 12 or later, or clang 14 or later (tested
 * with gcc 12 and clang 14, 19 and 22), on x86-64 and aarch64 Linux.  C11, C17, C2x and their
 * GNU dialects; C++17 and C++20.  The macros rely on GNU C features with no
 * ISO equivalent (statement expressions, __typeof__, label addresses, local
 * labels, the cleanup attribute, __builtin_choose_expr and
 * __builtin_types_compatible_p in C), marked __extension__ so that
 * -pedantic -Werror builds (with -Wshadow -Wconversion -Wcast-qual) stay
 * clean (in C++ also -Wold-style-cast -Wzero-as-null-pointer-constant).
 * In C++ defer() checks the same rules with templates, and also
 * that every parameter is a scalar taken by value (a reference or class
 * parameter would be built from the argument and passed in memory), and
 * that a class returned is trivially copyable; defer_result's variable
 * must be a scalar (it is read back through a volatile lvalue, which a
 * class's copy constructor does not take).  Older C++ may include the
 * header for recover(), panic() and the records only.  A C++ exception
 * that leaves a defer_frame runs the frame's calls (its cleanup runs during
 * unwinding, as in C built with -fexceptions); a panic that crosses C++
 * frames runs their destructors (see CLEANUPS); a catch (...) it crosses
 * must rethrow it.
 *
 * DEBUGGING.  The records are meant to be read: gdb's `info defers`, `catch
 * defer`, `catch panic`; defer-inspect on a core.  A defer() whose
 * arguments already have the parameters' types is open-coded (while the
 * thread's record pool has records) and does not call deferproc: break on
 * the SDT probe libdefer:defer (what `catch defer` does) rather than on
 * deferproc to see every defer.
 *
 * PANIC.  panic("fmt", ...) starts a panic with a formatted message;
 * panic_value(ptr, "fmt", ...) also carries a pointer (an error object).
 * The thread's pending deferred calls then run, newest first, across frames.
 * defer_repanic(p), in the deferred call that recovered p, raises it again.
 *
 * MESSAGES of any length: p->text is the whole message (p->textlen bytes,
 * NUL-terminated), p->msg its first 255 bytes.  A message longer than
 * that gets memory from mmap (not malloc; safe in a signal handler); if
 * none can be had, text is msg, cut, and ends in " [... N more bytes not
 * shown]".
 *
 * RECOVER.  recover() returns the current panic only when called directly by
 * a deferred call that the panic is running, and marks it recovered;
 * anywhere else (not panicking, in a helper the deferred call calls, in a
 * call run by a normal return, a second time) it returns NULL.  The result
 * is valid until the deferred call returns.
 *
 * WHERE EXECUTION RESUMES after a recovery: as in Go, the function that owns
 * the recovering frame returns to its caller.  Its remaining deferred calls
 * run first: those of every defer_frame of the function still open, the
 * recovering one first, then the blocks around it out to the function's
 * own, each call once.  A recovering frame in an inner block (a loop body,
 * an if arm) therefore does not resume after its block: the function
 * returns, through the innermost defer_result of those frames if any.  A function that returns a value names it with
 * defer_result(var), which the deferred call can set through a pointer (Go's
 * named result): a recovery resumes at the defer_result line as if it read
 * `return var;`.  A void function may write defer_result(): recovery then
 * costs a jump instead of an unwind.  Without defer_result the function
 * returns as if it had ended (found by unwinding), and a caller must not use
 * its value:
 *
 *	int handle(struct request *rq)
 *	{
 *		int status = 200;
 *		defer_frame;
 *		defer_result(status);            // a recovery returns status here
 *		defer(recover_status, &status);  // sets status = 500 if it recovers
 *		serve(rq);                       // may panic
 *		return status;
 *	}
 *
 * A deferred call changes the result of a normal return too when the
 * function returns with defer_return(var) instead of `return var;` (which
 * reads var before the calls run): the calls run, then var is returned
 * (Go's `defer func() { err = f.Close() }()`).
 *
 * The rest of that function is skipped, like the rest of any frame the panic
 * went through.
 *
 * CLEANUPS.  In code built with landing pads (-fexceptions in C, always in
 * C++) a panic unwinds the frames it crosses, as thread cancellation does:
 * their `__attribute__((cleanup))` variables, _Defer blocks, destructors
 * and pthread_cleanup_push handlers run innermost first, and a
 * defer_frame's calls run where its own cleanup stands (after what was
 * declared after it, before what was declared before it); the recovering
 * function returns defer_result's variable (at most 8 bytes) after its own
 * cleanups ran, once each.  Code without landing pads drops those cleanups
 * as longjmp does (use defer there), and a recovering function's cleanup
 * variables declared after its defer_result do not run.
 *
 * panic() is deliberately not noreturn (see gopanic below); a function
 * that owns a defer_frame must be able to return, so do not end all of its
 * paths in calls of your own noreturn functions.  Nor defer a noreturn
 * function itself (defer(exit, 1), defer(abort)): defer() calls deferproc
 * through the function's own type, which carries noreturn, and the
 * compiler deletes the code after the defer().  Defer a wrapper.
 *
 * UNRECOVERED panics print the panic chain and a backtrace to stderr and
 * exit with status 2; DEFER_TRACEBACK=none|single|all|system|crash says how
 * much (as Go's GOTRACEBACK: all is every thread's stack and pending calls,
 * system adds the runtime's own frames, crash then calls abort() for a
 * core).  Frames have file:line where the program, or its debug file
 * found by build ID under DEFER_DEBUG_DIR (default /usr/lib/debug), has
 * line tables.
 * Only the first thread to die prints; others that die meanwhile wait for
 * the end.  A stderr whose reader has gone loses the report (SIGPIPE is
 * blocked); one that accepts nothing for a second loses the rest of it;
 * if anything else blocks the end (a full stdout, an atexit handler) the
 * process still ends the same way 10 s after the report began.
 *
 * LIBRARY LIFETIME.  Once a thread has deferred, the object that contains
 * libdefer (libdefer.so, or a plugin linked with libdefer.a) stays loaded:
 * dlclose does not unload it, since thread exits call into it.
 *
 * FAULTS.  After defer_panic_on_fault(1), a SIGSEGV or SIGBUS that the
 * program's code causes, in a thread that has deferred, is a panic with
 * Go's message "runtime error: invalid memory address or nil pointer
 * dereference"; a SIGFPE is "runtime error: integer divide by zero",
 * "... integer overflow" or "... floating point error" by its code.  The
 * panic is raised at the faulting instruction (its pc is the panic site),
 * runs on the thread's own stack with its signal mask, and is recovered
 * like any; unrecovered, the report adds Go's line
 * "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x...]".
 * Not turned into panics: signals sent by kill or raise, stack overflows,
 * faults in threads that never deferred, and faults in the runtime's own
 * code (they stay fatal).  The value is NULL: there is no error object.
 *
 * THREADS.  Each thread has its own chain; a panic runs only its own
 * thread's calls.  defer_goexit() runs all of the calling thread's pending
 * calls, then ends the thread; a panic in one of them that an older one
 * recovers does not stop it (Go since 1.14): the thread still ends.
 * pthread_exit() and pthread_cancel() run a thread's pending calls only in
 * frames built with -fexceptions (glibc's forced unwinding runs cleanups
 * there); calls it could not run are reported once per process on stderr
 * when the thread ends.  Asynchronous cancellation can stop a frame where
 * it has no cleanup: an outer frame's exit then finds that frame's record
 * and aborts ("outlived its frame").  exit() with calls pending skips
 * them, as Go's os.Exit does, also from a deferred call during a panic.
 *
 * LIMITS.  x86-64 (System V) and aarch64 (AAPCS64) Linux only.  longjmp (or a C++ exception through C
 * code built without -fexceptions) across a defer_frame skips its calls;
 * the exit of a deferring frame around the setjmp or the catch, or a
 * later panic or goexit that reaches them, notices the stale records,
 * reports them and aborts; a thread that ends with some says so; else
 * they are lost (docs/runtime.md, "Limits").
 * Recovery unwinds with the frames' unwind tables (.eh_frame, the
 * default for gcc and clang on x86-64), which also let recover() tell the
 * deferred function from a helper it tail-calls.
 * Signal handlers may defer; a handler's defer allocates nothing while the
 * thread's record pool has records.  A handler may panic: a recovery that
 * leaves the handler restores the signal mask its return would have.  A pointer argument must outlive the
 * frame: a compound literal (&(int){0}) dies at the end of the defer().
 */
#ifndef DEFER_H
#define DEFER_H

#include <stdint.h>
#include "defer_abi.h"

/* The version: written here and nowhere else (make, libdefer.pc, the .so's
 * real name, the tools and the gdb extension read it from these three
 * lines; a test checks that debian/changelog agrees).  The major number is
 * the soname's: it changes when a program built against an older header
 * could break with the new library (docs/releasing.md).  defer_version()
 * is the library's own. */
#define LIBDEFER_VERSION_MAJOR 1
#define LIBDEFER_VERSION_MINOR 0
#define LIBDEFER_VERSION_PATCH 0
#define __LIBDEFER_VSTR_(x) #x
#define __LIBDEFER_VSTR(x) __LIBDEFER_VSTR_(x)
#define LIBDEFER_VERSION __LIBDEFER_VSTR(LIBDEFER_VERSION_MAJOR) "." \
	__LIBDEFER_VSTR(LIBDEFER_VERSION_MINOR) "." __LIBDEFER_VSTR(LIBDEFER_VERSION_PATCH)
#ifdef __cplusplus
extern "C"
#endif
__attribute__((visibility("default"))) const char *defer_version(void);

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__GNUC__) || !(defined(__x86_64__) || defined(__aarch64__)) || defined(__ILP32__)
#error "libdefer supports GCC or clang on x86-64 (LP64) and aarch64 (LP64) Linux only"
#endif

/*
 * What the macros below do per architecture: take the address of the
 * current instruction (the open-coded defer's pc), and give recover() the
 * caller's frame such that gorecover finds its CFA __DEFER_FRAME_CFA above
 * it.  On x86-64 that is the frame pointer (the CFA is 16 above it, the
 * rule of programs built before aarch64 was supported).  On aarch64 the
 * frame pointer says nothing of the CFA (gcc's `stp x29, x30, [sp, -N]!`
 * puts it N above; clang's __builtin_dwarf_cfa returns x29, 16 below it),
 * so recover() passes NULL and gorecover finds its caller's CFA by
 * unwinding.  The probe's nop
 * carries a comment in the assembler's syntax; __DEFER_STORE_ASM(n) is the
 * store of operand n into operand 0, a 64-bit word in memory.
 */
#if defined(__x86_64__)
#define __DEFER_HERE(pc, site) __asm__ volatile("leaq 0(%%rip), %0 # defer site " #site : "=r"(pc))
#define __DEFER_CALLER_FRAME() __builtin_frame_address(0)
#define __DEFER_FRAME_CFA 16
#define __DEFER_ASM_COMMENT "#"
#define __DEFER_STORE_ASM(reg) "movq %" #reg ", %0"
#else
#define __DEFER_HERE(pc, site) __asm__ volatile("adr %0, . // defer site " #site : "=r"(pc))
#define __DEFER_CALLER_FRAME() __DEFER_NULL
#define __DEFER_FRAME_CFA 0
#define __DEFER_ASM_COMMENT "//"
#define __DEFER_STORE_ASM(reg) "str %" #reg ", %0"
#endif

/* Everything declared here is exported from libdefer.so. */
#pragma GCC visibility push(default)

/* struct defer_mark (what defer_frame declares) and struct defer_resume
 * (what defer_result saves) are records of the spec, in defer_abi.h. */

/* Per-thread data: the thread's g, and the slot through which a defer()
 * compiled by clang tells deferproc_tls which frame's mark holds the rest
 * (the arguments travel in their registers).  defer.S reaches its members
 * through the generated asm_offsets.h (TLS_G, TLS_FRAME). */
struct defer_tls {
	struct g *g;
	struct defer_mark *frame;
};
extern __thread struct defer_tls __defer_tls __attribute__((tls_model("initial-exec")));

/* The runtime entry points (well-known names that debuggers break on). */
void deferproc(void);  /* called through the deferred function's own type */
void deferproc_tls(void); /* the same, the mark in __defer_tls (clang) */
/* Reached through pointers so that the compiler does not see (and warn
 * about) a call of a known function through another type. */
extern void (*const __defer_deferproc)(void);
extern void (*const __defer_deferproc_tls)(void);
void deferreturn(struct defer_mark *frame);
/* Not declared noreturn, on purpose: a compiler that knows a function
 * always panics concludes that the function never returns and deletes the
 * code after calls to it; but a recovery makes the owner of the recovering
 * frame return to exactly that code. */
/* vtype: panic_value's site object (__DEFER_VTYPE), or NULL. */
void gopanic(void *value, const void *vtype, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const struct _panic *gorecover(void *caller_frame, const void *caller_pc);
/* Like setjmp: returns 0, and 1 again when a recovery resumes here. */
int __defer_setresume(struct defer_resume *r) __attribute__((returns_twice));
/* Never returns, but not declared noreturn either, for gopanic's reason: a
 * function whose every path ends in defer_goexit() would be taken for one
 * that cannot return, yet a panic before the goexit that its frame
 * recovers makes it return.  A recovery of a panic raised by a call that
 * defer_goexit runs does not stop the goexit (Go since 1.14): the thread
 * still ends. */
void defer_goexit(void);

/* Turn faults of the program's code (SIGSEGV, SIGBUS, SIGFPE) in threads
 * that have deferred into panics with Go's runtime errors, recoverable like
 * any: on != 0 turns it on for the whole process, 0 off.  Returns 0, or -1
 * if the program has a handler of its own for one of those signals (that
 * one stays the program's).  See FAULTS above. */
int defer_panic_on_fault(int on);

/* recover as a plain function, for defer(recover), behaves as Go's
 * `defer recover()` (recover1.go): deferred by a function F that a panic
 * is running, it recovers that panic when F's frame exit runs it (also
 * after F recovered a later panic of its own); run by a panic itself it
 * is a no-op, as in a helper F calls.  Called directly, (recover)() is
 * recover(). */
const struct _panic *(recover)(void);

/* A frame's exit while a panic unwinds it (armed 2): its calls run as
 * the panic's, where the landing pad calls the frame's cleanup. */
void __defer_unwound(struct defer_mark *frame);

#pragma GCC visibility pop

static inline void __defer_frame_exit(struct defer_mark *f)
{
	if (f->armed) {
		if (__builtin_expect(f->armed == 1, 1))
			deferreturn(f);
		else
			__defer_unwound(f);
	}
}

/*
 * Keep the enclosing function out of line: gcc and clang never inline or
 * clone a function that stores the address of one of its labels in a static.
 * A function with a defer_frame needs its own stack frame, because recovery
 * returns from it; one that calls recover() must stay a frame of its own, or
 * a helper inlined into its caller could recover.  The label is local to a
 * statement expression (__label__), so any number of them fit in a
 * function; __extension__ keeps -pedantic quiet about these GNU features,
 * which have no ISO equivalent.
 */
#define __DEFER_PIN(...)                                                      \
	__extension__ ({                                                      \
		__label__ __defer_pin;                                        \
		__defer_pin: __attribute__((unused));                         \
		__DEFER_GNU_PUSH                                              \
		static void *const __defer_pinned __attribute__((used)) = &&__defer_pin; \
		__DEFER_GNU_POP                                               \
		__VA_ARGS__;                                                  \
	})
/* g++ forgets __extension__ when it instantiates a template. */
#if defined(__cplusplus) && !defined(__clang__)
#define __DEFER_GNU_PUSH                                                      \
	_Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpedantic\"")
#define __DEFER_GNU_POP _Pragma("GCC diagnostic pop")
#else
#define __DEFER_GNU_PUSH
#define __DEFER_GNU_POP
#endif

/* Casts the C++ way in C++, so that -Wold-style-cast and
 * -Wzero-as-null-pointer-constant stay quiet there too. */
#ifdef __cplusplus
#define __DEFER_PCAST(T, x) reinterpret_cast<T>(x)
#define __DEFER_ICAST(T, x) static_cast<T>(x)
#define __DEFER_NULL nullptr
#else
#define __DEFER_PCAST(T, x) ((T)(x))
#define __DEFER_ICAST(T, x) ((T)(x))
#define __DEFER_NULL ((void *)0)
#endif

/* A frame in an inner block may shadow an outer one's names on purpose:
 * defer() uses the innermost. */
#define __DEFER_SHADOW(decl)                                                  \
	_Pragma("GCC diagnostic push")                                        \
	_Pragma("GCC diagnostic ignored \"-Wshadow\"")                        \
	decl;                                                                 \
	_Pragma("GCC diagnostic pop")

#define defer_frame                                                          \
	__DEFER_SHADOW(struct defer_mark __defer_fr __attribute__((cleanup(__defer_frame_exit)))) \
	__DEFER_SHADOW(unsigned char __defer_on __attribute__((unused)) = 0) \
	__defer_fr.armed = 0;                                                 \
	__defer_fr.resumable = 0;                                             \
	(void)__DEFER_PIN(0)

/*
 * defer_result(var) / defer_result(): where a recovery resumes this frame.
 * A declaration: write it once, after defer_frame and before any defer()
 * that may recover.  A recovered panic continues here as `return var;` (or
 * `return;` in a void function).  The deferred call changed var after this
 * setjmp-like point, so it is read back through a volatile lvalue
 * (C11 7.13.2.1).  Whether the argument is empty is found without GNU's
 * `, ##__VA_ARGS__`, which strict ISO modes do not honour.
 */
#define defer_result(...)                                                     \
	__DEFER_SHADOW(struct defer_resume __defer_rs)                        \
	__DEFER_CAT(__DEFER_VAR_, __DEFER_EMPTY(__VA_ARGS__))(__VA_ARGS__);   \
	__DEFER_RESUME_POINT return __DEFER_CAT(__DEFER_RESULT_, __DEFER_EMPTY(__VA_ARGS__))(__VA_ARGS__)
#define __DEFER_RESULT_1(...)
#define __DEFER_RESULT_0(var) *__DEFER_PCAST(volatile __typeof__(var) *, &(var))
#define __DEFER_VAR_1(...) __defer_rs.var = __DEFER_NULL
#define __DEFER_VAR_0(v)                                                      \
	(__defer_rs.var = &(v),                                               \
	 __defer_rs.varinfo = sizeof(v) | (__DEFER_IS_REAL(v) ? 0x100u : 0u))
#define __DEFER_RESUME_POINT                                                 \
	__defer_rs.cfa = __DEFER_PCAST(uintptr_t, __builtin_dwarf_cfa());     \
	__defer_fr.resume = &__defer_rs;                                      \
	__defer_fr.resumable = 1;                                             \
	if (__builtin_expect(__defer_setresume(&__defer_rs), 0))
/* 1 if the arguments are empty, else 0, for an argument without top-level
 * commas (Gustedt's ISEMPTY): only an empty one gives a comma in the last
 * test alone. */
#define __DEFER_HAS_COMMA(...) __DEFER_ARG3(__VA_ARGS__, 1, 0, ~)
#define __DEFER_ARG3(a, b, c, ...) c
#define __DEFER_COMMA(...) ,
#define __DEFER_EMPTY(...)                                                    \
	__DEFER_EMPTY_(__DEFER_HAS_COMMA(__VA_ARGS__), __DEFER_HAS_COMMA(__DEFER_COMMA __VA_ARGS__), \
		       __DEFER_HAS_COMMA(__VA_ARGS__ ()), __DEFER_HAS_COMMA(__DEFER_COMMA __VA_ARGS__ ()))
#define __DEFER_EMPTY_(a, b, c, d) __DEFER_HAS_COMMA(__DEFER_PASTE5(__DEFER_EMPTY_CASE_, a, b, c, d))
#define __DEFER_PASTE5(p, a, b, c, d) p##a##b##c##d
#define __DEFER_EMPTY_CASE_0001 ,

/*
 * defer_return(var): Go's return from a function with a named result.
 * The frame's calls run first, then the function returns var as they
 * left it: a deferred call that sets var through a pointer changes the
 * result (Go's `defer func() { err = f.Close() }()`).  `return var;`
 * would read var before the calls run.  Write it in the block of the
 * function-level defer_frame (in an inner frame's block it runs only that
 * frame's calls before reading var); with defer_result(var) as well, the
 * function returns var after its calls on every path, normal or recovered.
 */
#define defer_return(var)                                                    \
	do {                                                                  \
		__defer_frame_exit(&__defer_fr);                              \
		__defer_fr.armed = 0;                                         \
		__defer_on = 0;                                               \
		return *__DEFER_PCAST(volatile __typeof__(var) *, &(var));    \
	} while (0)

/* The empty asm after the call keeps it from being a tail call (a jump),
 * which would leave the panicking function out of the stack: gopanic's
 * return address is the panic site that the report, gdb and
 * defer-inspect name. */
#define panic(...) __DEFER_NOTAIL(gopanic(__DEFER_NULL, __DEFER_NULL, __VA_ARGS__))
#define panic_value(value, ...)                                               \
	__DEFER_TYPED(value, gopanic((value), &__defer_vtype, __VA_ARGS__))
/* The panic's record keeps the address of a static object whose type is
 * value's static type (never written, never read: debuggers take that type
 * from the debug information of the variable at that address), so a typed
 * value costs one address load at the site.  The object is declared in the
 * block that holds the call, so that the block has code and debuggers keep
 * its variables (a block with an empty range is dropped).  Zero-initialised,
 * {} in C++ (a const object needs an initialiser there; a constant one takes
 * no guard).  __typeof__ does not evaluate value. */
#ifdef __cplusplus
#define __DEFER_VTYPE_INIT {}
#else
#define __DEFER_VTYPE_INIT
#endif
#define __DEFER_TYPED(value, call)                                            \
	(__extension__ ({                                                     \
		__DEFER_GNU_PUSH                                              \
		static __typeof__(value) const __defer_vtype                  \
			__attribute__((used)) __DEFER_VTYPE_INIT;             \
		__DEFER_GNU_POP                                               \
		call;                                                         \
		__asm__ volatile("");                                         \
	}))
#define __DEFER_NOTAIL(call) (__extension__({ call; __asm__ volatile(""); }))
/* defer_repanic(p): in the deferred call that recovered p, raise it again: the
 * same value and message (Go's panic(recover())).  The report prints the
 * two as one line, "panic: MSG [recovered, repanicked]", as Go 1.25 does;
 * so does panic_value(p->arg, "%s", p->msg) when the message fits msg. */
#define defer_repanic(p)                                                           \
	(__extension__({                                                      \
		const struct _panic *__defer_rp = (p);                        \
		__DEFER_NOTAIL(gopanic(__defer_rp->arg, __defer_rp->vtype, "%s", \
			    __defer_rp->text ? __defer_rp->text : __defer_rp->msg)); \
	}))
/* The pin's label also names a pc inside the calling function, which
 * gorecover checks against the deferred function. */
#define recover() __DEFER_PIN(gorecover(__DEFER_CALLER_FRAME(), &&__defer_pin))

/* ---- argument classification (compile time) ---- */

/*
 * Shared by C and C++: counting, the descriptor (each argument's kind byte
 * packed after the count: the 8 bytes from struct _defer's nargs, as
 * defer_abi.h lays them out and offsets.c checks; flags 0), the
 * per-argument checks, and mapping a macro T
 * over the arguments.  What an argument's kind, check and type are is
 * defined per language below: C asks the builtins (__builtin_choose_expr,
 * __builtin_types_compatible_p), which C++ does not have; C++ asks templates.
 */
#define __DEFER_NARGS(...) __DEFER_NARGS_(__VA_ARGS__, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, ~)
#define __DEFER_NARGS_(f, a, b, c, d, e, g, h, i, j, n, ...) n
#define __DEFER_CAT(a, b) __DEFER_CAT_(a, b)
#define __DEFER_CAT_(a, b) a##b

#define __DEFER_K(x, i) (__DEFER_ICAST(uint64_t, __DEFER_KIND(x)) << (8 * (i)))
#define __DEFER_DESC0() 0
#define __DEFER_DESC1(a) (1 | __DEFER_K(a, 1))
#define __DEFER_DESC2(a, b) (2 | __DEFER_K(a, 1) | __DEFER_K(b, 2))
#define __DEFER_DESC3(a, b, c) (3 | __DEFER_K(a, 1) | __DEFER_K(b, 2) | __DEFER_K(c, 3))
#define __DEFER_DESC4(a, b, c, d) (4 | __DEFER_K(a, 1) | __DEFER_K(b, 2) | __DEFER_K(c, 3) | __DEFER_K(d, 4))
#define __DEFER_DESC5(a, b, c, d, e) (5 | __DEFER_K(a, 1) | __DEFER_K(b, 2) | __DEFER_K(c, 3) | __DEFER_K(d, 4) | __DEFER_K(e, 5))
#define __DEFER_DESC6(a, b, c, d, e, f) (6 | __DEFER_K(a, 1) | __DEFER_K(b, 2) | __DEFER_K(c, 3) | __DEFER_K(d, 4) | __DEFER_K(e, 5) | __DEFER_K(f, 6))

#define __DEFER_CHECK0()
#define __DEFER_CHECK1(a) __DEFER_SCALAR(a);
#define __DEFER_CHECK2(a, b) __DEFER_SCALAR(a); __DEFER_SCALAR(b);
#define __DEFER_CHECK3(a, b, c) __DEFER_CHECK2(a, b) __DEFER_SCALAR(c);
#define __DEFER_CHECK4(a, b, c, d) __DEFER_CHECK3(a, b, c) __DEFER_SCALAR(d);
#define __DEFER_CHECK5(a, b, c, d, e) __DEFER_CHECK4(a, b, c, d) __DEFER_SCALAR(e);
#define __DEFER_CHECK6(a, b, c, d, e, f) __DEFER_CHECK5(a, b, c, d, e) __DEFER_SCALAR(f);

#define __DEFER_PT0(T, ...)
#define __DEFER_PT1(T, a) T(a)
#define __DEFER_PT2(T, a, b) T(a), T(b)
#define __DEFER_PT3(T, a, b, c) T(a), T(b), T(c)
#define __DEFER_PT4(T, a, b, c, d) T(a), T(b), T(c), T(d)
#define __DEFER_PT5(T, a, b, c, d, e) T(a), T(b), T(c), T(d), T(e)
#define __DEFER_PT6(T, a, b, c, d, e, f) T(a), T(b), T(c), T(d), T(e), T(f)
#define __DEFER_PARAMS(n, T, ...) __DEFER_CAT(__DEFER_PT, n)(T, __VA_ARGS__)

#ifndef __cplusplus

#define __DEFER_STATIC_ASSERT _Static_assert
/* x as an rvalue: arrays decay, and a bit-field becomes a plain integer
 * value that sizeof and typeof accept. */
#define __DEFER_V(x) ((void)0, (x))
/* GCC/clang __builtin_classify_type codes. */
#define __DEFER_TC(x) __builtin_classify_type(x)
#define __DEFER_IS_INT(x) (__DEFER_TC(x) >= 1 && __DEFER_TC(x) <= 4)
#define __DEFER_IS_PTR(x) (__DEFER_TC(x) == 5 || __DEFER_TC(x) == 10 || __DEFER_TC(x) == 14)
#define __DEFER_IS_REAL(x) (__DEFER_TC(x) == 8)
/* x's type if it is an integer, else unsigned: lets us test signedness of
 * any argument without a type error (the sys/sdt.h idiom). */
#define __DEFER_INTTYPE(x) __typeof__(__builtin_choose_expr(__DEFER_IS_INT(x), __DEFER_V(x), 0U))
#define __DEFER_SIGNED(x) ((__DEFER_INTTYPE(x))-1 < (__DEFER_INTTYPE(x))1)
#define __DEFER_SIZE(x) sizeof(__typeof__(__DEFER_V(x)))
/* An integer's size in the kind byte: 1, 2, 4 or 8 (gcc gives a wide
 * bit-field, such as unsigned long : 40, a size of its own). */
#define __DEFER_ISIZE(x)                                                      \
	(__DEFER_SIZE(x) <= 1 ? 1 : __DEFER_SIZE(x) <= 2 ? 2 : __DEFER_SIZE(x) <= 4 ? 4 : 8)
#define __DEFER_KIND(x)                                                      \
	(__DEFER_TC(x) == 4 ? DEFER_ARG_BOOL | 1 :                            \
	 __DEFER_IS_PTR(x) ? DEFER_ARG_POINTER | 8 :                          \
	 __DEFER_IS_REAL(x) ? (__DEFER_SIZE(x) == 4 ? DEFER_ARG_FLOAT | 4 : DEFER_ARG_DOUBLE | 8) : \
	 (__DEFER_SIGNED(x) ? DEFER_ARG_SIGNED : DEFER_ARG_UNSIGNED) | __DEFER_ISIZE(x))
/* __int128 and long double would take two registers or the stack. */
#define __DEFER_SCALAR(x)                                                    \
	_Static_assert(((__DEFER_IS_INT(x) || __DEFER_IS_REAL(x)) && __DEFER_SIZE(x) <= 8) || \
		       __DEFER_IS_PTR(x),                                     \
		       "defer: arguments must be integers, pointers, float or double")

/*
 * Return values are ignored, but one returned in memory would take %rdi for
 * its address, and an x87 one would be left on the FPU stack.  A struct or
 * union is returned in memory when it is larger than 16 bytes or has an
 * unaligned (packed) member, and in x87 registers when it holds a long
 * double: C cannot see packing, but a packed struct has alignment 1, and
 * one with a long double alignment 16.  So a struct or union passes if it
 * is a single byte or has an alignment of 2 to 8 (a struct of chars only,
 * such as char[3], is refused although the ABI would allow it).
 */
#define __DEFER_RET_AGGR(T)                                                   \
	(__builtin_classify_type(*(T *)0) == 12 || __builtin_classify_type(*(T *)0) == 13)
#define __DEFER_RET_OK_(T)                                                    \
	(sizeof(T) <= 16 && !__builtin_types_compatible_p(T, long double) &&  \
	 (!__DEFER_RET_AGGR(T) || sizeof(T) == 1 || (_Alignof(T) >= 2 && _Alignof(T) <= 8)))
#define __DEFER_RET_VOID(call) __builtin_types_compatible_p(__typeof__(call), void)
/* The return type, or int for void: both branches must compile. */
#define __DEFER_RET_T(call) __typeof__(__builtin_choose_expr(__DEFER_RET_VOID(call), 0, (call)))
#define __DEFER_RET_OK(call) (__DEFER_RET_VOID(call) || __DEFER_RET_OK_(__DEFER_RET_T(call)))
#define __DEFER_CHECK_FN(f)

/*
 * How the frame's mark reaches deferproc beside the arguments.  gcc passes
 * it in the static-chain register (%r10; x18 on aarch64), which no argument uses and the
 * kernel saves around signal handlers.  clang (and C++, where the builtin
 * does not exist) has no way to set it, so the mark goes through
 * __defer_tls.frame to deferproc_tls, which puts back what the slot held
 * before: a signal handler that defers in between leaves the slot as it
 * found it.
 */
#if !defined(__clang__)
#define __DEFER_PROC __defer_deferproc
#define __DEFER_ENTER(call) ((void)__builtin_call_with_static_chain(call, &__defer_fr))
#endif

/*
 * Does the open-coded first defer (see the comment at __DEFER_OPEN) apply:
 * do the arguments already have exactly the deferred function's parameter
 * types?  An argument's type after array and function decay, without
 * promotion.  A real type other than float and double (_Float16,
 * _Decimal64...) is replaced by a pointer to an undeclared struct, which no
 * parameter has: only float and double bits are what the callee's register
 * would hold.
 */
#define __DEFER_BITS_OK(x)                                                    \
	(!__DEFER_IS_REAL(x) || __builtin_types_compatible_p(__typeof__(__DEFER_V(x)), float) || \
	 __builtin_types_compatible_p(__typeof__(__DEFER_V(x)), double))
struct __defer_no_match;
#define __DEFER_VB(x)                                                         \
	__builtin_choose_expr(__DEFER_BITS_OK(x), __DEFER_V(x), (struct __defer_no_match *)0)
#define __DEFER_T(x) __typeof__(__DEFER_VB(x))
/*
 * The same with a pointer to T made const T *, or any pointer made void *
 * or const void *: puts(buf), show(const struct stats *) and free(buf)
 * pass the same bits as a direct call would.  T may be incomplete (DIR,
 * struct conn): only __typeof__ names it.  __DEFER_OBJ gives something to
 * dereference in every case, so that both branches compile.
 */
#define __DEFER_NOTVOIDP(x)                                                   \
	(!__builtin_types_compatible_p(__DEFER_T(x), void *) &&               \
	 !__builtin_types_compatible_p(__DEFER_T(x), const void *) &&         \
	 !__builtin_types_compatible_p(__DEFER_T(x), volatile void *) &&      \
	 !__builtin_types_compatible_p(__DEFER_T(x), const volatile void *))
#if defined(__clang__)
/* A const function type is not allowed (clang warns): leave function
 * pointers (a function designator classifies as 10, or as 5 once it has
 * decayed), and pointers to pointers, alone.  clang classifies an
 * incomplete *x as a record. */
#define __DEFER_DEREF(x)                                                      \
	(*__builtin_choose_expr(__DEFER_IS_PTR(x) && __DEFER_NOTVOIDP(x), __DEFER_V(x), (char *)0))
#define __DEFER_OBJPTR(x)                                                     \
	(__DEFER_IS_PTR(x) && __DEFER_NOTVOIDP(x) &&                          \
	 __builtin_classify_type(__DEFER_DEREF(x)) != 5 && __builtin_classify_type(__DEFER_DEREF(x)) != 10)
#else
/* gcc cannot classify an incomplete *x (an error, not SFINAE), so every
 * pointer qualifies; for a function pointer it forms a const function type,
 * which gcc accepts as an extension. */
#define __DEFER_OBJPTR(x) (__DEFER_IS_PTR(x) && __DEFER_NOTVOIDP(x))
#endif
#define __DEFER_OBJ(x) __builtin_choose_expr(__DEFER_OBJPTR(x), __DEFER_V(x), (char *)0)
#define __DEFER_TCONST(x)                                                     \
	__typeof__(__extension__ __builtin_choose_expr(__DEFER_OBJPTR(x),     \
		(const __typeof__(*__DEFER_OBJ(x)) *)0, __DEFER_VB(x)))
#define __DEFER_TV(x) __typeof__(__builtin_choose_expr(__DEFER_IS_PTR(x), (void *)0, __DEFER_VB(x)))
#define __DEFER_TCV(x) __typeof__(__builtin_choose_expr(__DEFER_IS_PTR(x), (const void *)0, __DEFER_VB(x)))
#define __DEFER_PROTO(n, f, T, ...)                                           \
	__builtin_types_compatible_p(__typeof__(&*(f)),                       \
		__typeof__((f)(__VA_ARGS__)) (*)(__DEFER_CAT(__DEFER_VOID, n)   \
						 __DEFER_PARAMS(n, T, __VA_ARGS__)))
#define __DEFER_VOID0 void
#define __DEFER_VOID1
#define __DEFER_VOID2
#define __DEFER_VOID3
#define __DEFER_VOID4
#define __DEFER_VOID5
#define __DEFER_VOID6
#define __DEFER_EXACT(n, f, ...)                                              \
	(__DEFER_PROTO(n, f, __DEFER_T, __VA_ARGS__) ||                       \
	 __DEFER_PROTO(n, f, __DEFER_TCONST, __VA_ARGS__) ||                  \
	 __DEFER_PROTO(n, f, __DEFER_TV, __VA_ARGS__) ||                      \
	 __DEFER_PROTO(n, f, __DEFER_TCV, __VA_ARGS__))

/* The register image of an argument whose type is the parameter's.  Each
 * branch gets a value of its own type, so that no conversion (and no
 * -Wconversion warning) is written even where it is never used. */
#define __DEFER_REAL(x, T)                                                    \
	__builtin_choose_expr(__DEFER_IS_REAL(x) && __DEFER_SIZE(x) == sizeof(T), (x), (T)0)
#define __DEFER_FBITS(x)                                                      \
	__builtin_choose_expr(__DEFER_SIZE(x) == 4,                           \
		(uint64_t)((union { float __f; uint32_t __u; }){ .__f = __DEFER_REAL(x, float) }).__u, \
		((union { double __d; uint64_t __u; }){ .__d = __DEFER_REAL(x, double) }).__u)
#define __DEFER_STORE(x, nreal, i)                                            \
	do {                                                                  \
		if (__DEFER_IS_REAL(x))                                       \
			__defer_r->fregs[(nreal)] = __DEFER_FBITS(x);         \
		else                                                          \
			__defer_r->iregs[(i) - (nreal)] = (uint64_t)(uintptr_t)__DEFER_V(x); \
	} while (0)

#elif __cplusplus >= 201703L

/*
 * C++: the same rules, answered by templates.  An argument's type is the
 * one a by-value template parameter deduces from it (arrays and functions
 * decay, top-level cv goes, a bit-field has its declared type).  C++ also
 * checks the parameters: a class or reference parameter would be built
 * from the argument (a constructor, a temporary) and passed in memory,
 * which deferproc does not save, so every parameter must be a scalar too.
 * extern "C++" keeps the templates legal when the header is included
 * inside extern "C".
 */
extern "C++" {
namespace __defer_cxx {
template <class T> T decay(T);
template <class A, class B> struct same { static constexpr bool v = false; };
template <class A> struct same<A, A> { static constexpr bool v = true; };
template <class T> struct ptr { static constexpr bool v = false; };
template <class T> struct ptr<T *> { static constexpr bool v = true; typedef T to; };

/* The kind byte of a scalar that fits a register, or 0 for anything else
 * (classes, references, member pointers, __int128, long double). */
template <class T, bool = __is_enum(T)> struct scalar { static constexpr unsigned kind = 0; };
template <class T> struct scalar<T, true> : scalar<__underlying_type(T)> {};
template <class T> struct scalar<T *, false> { static constexpr unsigned kind = DEFER_ARG_POINTER | 8; };
template <> struct scalar<decltype(nullptr)> { static constexpr unsigned kind = DEFER_ARG_POINTER | 8; };
template <> struct scalar<bool> { static constexpr unsigned kind = DEFER_ARG_BOOL | 1; };
template <> struct scalar<float> { static constexpr unsigned kind = DEFER_ARG_FLOAT | 4; };
template <> struct scalar<double> { static constexpr unsigned kind = DEFER_ARG_DOUBLE | 8; };
#define __DEFER_CXX_INT(T)                                                    \
	template <> struct scalar<T> {                                        \
		static constexpr unsigned kind =                              \
			(static_cast<T>(-1) < static_cast<T>(0) ? DEFER_ARG_SIGNED : DEFER_ARG_UNSIGNED) | sizeof(T); \
	};
__DEFER_CXX_INT(char) __DEFER_CXX_INT(signed char) __DEFER_CXX_INT(unsigned char)
__DEFER_CXX_INT(wchar_t) __DEFER_CXX_INT(char16_t) __DEFER_CXX_INT(char32_t)
__DEFER_CXX_INT(short) __DEFER_CXX_INT(unsigned short) __DEFER_CXX_INT(int)
__DEFER_CXX_INT(unsigned) __DEFER_CXX_INT(long) __DEFER_CXX_INT(unsigned long)
__DEFER_CXX_INT(long long) __DEFER_CXX_INT(unsigned long long)
#ifdef __cpp_char8_t
__DEFER_CXX_INT(char8_t)
#endif
#undef __DEFER_CXX_INT

template <class T> constexpr bool is_real() { return same<T, float>::v || same<T, double>::v; }

/* An argument of type A passes the bits a parameter of type P holds: the
 * same type, or a pointer made const T *, void * or const void *. */
template <class P, class A> constexpr bool same_bits()
{
	if constexpr (same<P, A>::v)
		return true;
	else if constexpr (ptr<A>::v)
		return same<P, const typename ptr<A>::to *>::v || same<P, void *>::v ||
		       same<P, const void *>::v;
	else
		return false;
}

/* The C rule for return values (see the C section), plus: a class returned
 * in registers must be trivially copyable (otherwise the ABI passes it in
 * memory, and nobody would destroy it). */
template <class R> constexpr bool ret_ok()
{
	if constexpr (same<R, void>::v || scalar<R>::kind != 0)
		return true;
	else if constexpr (__is_class(R) || __is_union(R))
		return __is_trivially_copyable(R) && sizeof(R) <= 16 &&
		       (sizeof(R) == 1 || (alignof(R) >= 2 && alignof(R) <= 8));
	else
		return sizeof(R) <= 16 && !same<R, long double>::v;
}

/* What the deferred function's own type says. */
template <bool Variadic, class... P> struct sig {
	static constexpr bool ok = true;
	static constexpr bool params = (true && ... && (scalar<P>::kind != 0));
	template <class... A> static constexpr bool exact()
	{
		if constexpr (Variadic || sizeof...(A) != sizeof...(P))
			return false;
		else
			return (true && ... && same_bits<P, A>());
	}
};
/* Found by overload resolution rather than as a template argument, so
 * that attributes on the function's type (nonnull) are not in the way. */
template <class R, class... P> sig<false, P...> sigof(R (*)(P...));
template <class R, class... P> sig<true, P...> sigof(R (*)(P..., ...));
struct nosig {   /* not a function or function pointer */
	static constexpr bool ok = false, params = true;
	template <class... A> static constexpr bool exact() { return false; }
};
nosig sigof(...);

/* The open-coded record's register image of one argument. */
template <class T> __attribute__((always_inline)) inline void
put(struct _defer &r, int nreal, int i, T x)
{
	if constexpr (same<T, float>::v) {
		uint32_t u;
		__builtin_memcpy(&u, &x, sizeof u);
		r.fregs[nreal] = u;
	} else if constexpr (same<T, double>::v) {
		__builtin_memcpy(&r.fregs[nreal], &x, sizeof x);
	} else if constexpr (ptr<T>::v) {
		r.iregs[i - nreal] = reinterpret_cast<uintptr_t>(x);
	} else if constexpr (same<T, decltype(nullptr)>::v) {
		r.iregs[i - nreal] = 0;
	} else {
		r.iregs[i - nreal] = static_cast<uint64_t>(x);
	}
}
} /* namespace __defer_cxx */
} /* extern "C++" */

#define __DEFER_STATIC_ASSERT static_assert
#define __DEFER_CXX_T(x) decltype(::__defer_cxx::decay(x))
#define __DEFER_FN(f) decltype(::__defer_cxx::sigof(f))
#define __DEFER_KIND(x) (::__defer_cxx::scalar<__DEFER_CXX_T(x)>::kind)
#define __DEFER_IS_REAL(x) (::__defer_cxx::is_real<__DEFER_CXX_T(x)>())
#define __DEFER_SCALAR(x)                                                    \
	static_assert(__DEFER_KIND(x) != 0, "defer: arguments must be integers, pointers, float or double")
#define __DEFER_RET_OK(call) (::__defer_cxx::ret_ok<decltype(call)>())
#define __DEFER_CHECK_FN(f)                                                   \
	static_assert(__DEFER_FN(f)::ok, "defer: in C++, the function must be a function or a function pointer"); \
	static_assert(__DEFER_FN(f)::params, "defer: in C++, the parameters must be scalars passed by value");
#define __DEFER_EXACT(n, f, ...)                                              \
	(__DEFER_FN(f)::template exact<__DEFER_PARAMS(n, __DEFER_CXX_T, __VA_ARGS__)>())
#define __DEFER_STORE(x, nreal, i) ::__defer_cxx::put(*__defer_r, (nreal), (i), (x))

#else
/* Older C++ may include the header for recover(), panic() and the records. */
#define __DEFER_OLD_CXX 1
#endif

#ifndef __DEFER_PROC
#define __DEFER_PROC __defer_deferproc_tls
#define __DEFER_ENTER(call)                                                  \
	(__defer_fr.prev = __defer_tls.frame, __defer_tls.frame = &__defer_fr, (void)(call))
#endif

/* How many of the arguments before the one at `i` are floating. */
#define __DEFER_R(x) (__DEFER_IS_REAL(x) ? 1 : 0)
#define __DEFER_ST0()
#define __DEFER_ST1(a) __DEFER_STORE(a, 0, 0);
#define __DEFER_ST2(a, b) __DEFER_ST1(a) __DEFER_STORE(b, __DEFER_R(a), 1);
#define __DEFER_ST3(a, b, c) __DEFER_ST2(a, b)                              \
	__DEFER_STORE(c, __DEFER_R(a) + __DEFER_R(b), 2);
#define __DEFER_ST4(a, b, c, d) __DEFER_ST3(a, b, c)                        \
	__DEFER_STORE(d, __DEFER_R(a) + __DEFER_R(b) + __DEFER_R(c), 3);
#define __DEFER_ST5(a, b, c, d, e) __DEFER_ST4(a, b, c, d)                  \
	__DEFER_STORE(e, __DEFER_R(a) + __DEFER_R(b) + __DEFER_R(c) + __DEFER_R(d), 4);
#define __DEFER_ST6(a, b, c, d, e, f) __DEFER_ST5(a, b, c, d, e)            \
	__DEFER_STORE(f, __DEFER_R(a) + __DEFER_R(b) + __DEFER_R(c) + __DEFER_R(d) + __DEFER_R(e), 5);

/*
 * The SDT probe libdefer:defer with the record in a register: a nop and a
 * .note.stapsdt entry, the format of <sys/sdt.h>, which is not used here:
 * it would define macros of its own in every user's program, and clash
 * with a program's own probes that use semaphores.  `site` makes each
 * site's text unique, so that an optimiser cannot merge the code of two
 * defer() lines (two arms of an if) and leave one probe and one pc for
 * both.
 */
#define __DEFER_PROBE(site, rec)                                              \
	__asm__ volatile("990: nop " __DEFER_ASM_COMMENT " libdefer:defer, site " #site "\n" \
			 ".pushsection .note.stapsdt,\"?\",\"note\"\n"       \
			 ".balign 4\n"                                        \
			 ".4byte 992f-991f, 994f-993f, 3\n"                   \
			 "991: .asciz \"stapsdt\"\n"                          \
			 "992: .balign 4\n"                                   \
			 "993: .8byte 990b\n"                                 \
			 ".8byte _.stapsdt.base\n"                            \
			 ".8byte 0\n"                                         \
			 ".asciz \"libdefer\"\n"                              \
			 ".asciz \"defer\"\n"                                 \
			 ".asciz \"8@%0\"\n"                                  \
			 "994: .balign 4\n"                                   \
			 ".popsection\n"                                      \
			 ".ifndef _.stapsdt.base\n"                           \
			 ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
			 ".weak _.stapsdt.base\n"                             \
			 ".hidden _.stapsdt.base\n"                           \
			 "_.stapsdt.base: .space 1\n"                         \
			 ".size _.stapsdt.base, 1\n"                          \
			 ".popsection\n"                                      \
			 ".endif" : : "r"(rec))

/* __COUNTER__ makes each site's asm text unique (see __DEFER_PROBE); clang
 * 22 calls it a C2y extension under -pedantic. */
#if defined(__clang__) && defined(__has_warning)
#if __has_warning("-Wc2y-extensions")
#define __DEFER_COUNTER_PUSH                                                  \
	_Pragma("clang diagnostic push")                                      \
	_Pragma("clang diagnostic ignored \"-Wc2y-extensions\"")
#define __DEFER_COUNTER_POP _Pragma("clang diagnostic pop")
#endif
#endif
#ifndef __DEFER_COUNTER_PUSH
#define __DEFER_COUNTER_PUSH
#define __DEFER_COUNTER_POP
#endif
/*
 * What deferproc does, in the same order: for a frame's first call armed
 * and the mark's own record, for a later one a record from the pool; the
 * record (pc: an address inside this defer, as a return address would be),
 * then the store that publishes it, so that neither the compiler nor a
 * debugger that stops here sees a half-written record on the chain.  The
 * function is evaluated before the arguments, as on the deferproc path;
 * an empty pool, or no g yet, leaves it to deferproc.  The pool record is
 * taken as deferproc takes it (see .Lpool in defer.S): the asm that stores
 * the new pool head also "changes" the record's pointer, so that no store
 * into the record can be done before the record is ours.
 *
 * __defer_on, a local of the frame that no call can change, says that a
 * defer() of this frame has run (so the mark's record is taken): the
 * compiler knows it after every defer(), and drops this whole path, the
 * load of g included, from every later one of a straight-line sequence.
 * armed is still tested where __defer_on is 0, since only armed is right
 * after a longjmp back into the frame (__defer_on is 1 only while armed is:
 * both go back to 0 only together, in defer_return).  The publishing store is an asm whose
 * inputs are the mark (every store to it is done first) and no memory
 * clobber, not __atomic_store_n, whose compiler barrier made gcc forget
 * that armed is 1 and test it again at the frame's exit.  x86 keeps a
 * thread's stores in order, so a debugger or a signal handler that stops
 * the thread sees the record before the head.
 */
#ifndef DEFER_NO_OPEN_CODE
#define __DEFER_OPEN(n, __f, ...) __DEFER_OPEN_(__COUNTER__, n, __f, __VA_ARGS__)
#define __DEFER_OPEN_(site, n, __f, ...)                                      \
	if (__DEFER_EXACT(n, __f, __VA_ARGS__)) {                             \
		struct g *__defer_g;                                          \
		struct _defer *__defer_r;                                     \
		uint64_t __defer_desc = __DEFER_CAT(__DEFER_DESC, n)(__VA_ARGS__); \
		if (!__defer_on && !__defer_fr.armed &&                       \
		    __builtin_expect((__defer_g = __defer_tls.g) != __DEFER_NULL, 1)) { \
			__defer_r = &__defer_fr.rec;                          \
			__defer_r->fn = __DEFER_PCAST(void (*)(void), __f);   \
			__defer_fr.armed = 1;                                 \
			__DEFER_FILL(site, n, __defer_desc, __VA_ARGS__)      \
			__asm__ volatile(__DEFER_STORE_ASM(1) : "=m"(__defer_g->_defer) \
					 : "r"(__defer_r), "m"(__defer_fr));  \
			__DEFER_PROBE(site, __defer_r);                       \
			__defer_on = 1;                                       \
			break;                                                \
		}                                                             \
		if (__builtin_expect(__defer_on || __defer_fr.armed, 1) &&    \
		    __builtin_expect((__defer_r = (__defer_g = __defer_tls.g)->pool) != __DEFER_NULL, 1)) { \
			/* A later call: a record from the pool (see deferproc's .Lpool). */ \
			__asm__ volatile(__DEFER_STORE_ASM(2) : "=m"(__defer_g->pool), "+r"(__defer_r) \
					 : "r"(__defer_r->link));             \
			__defer_r->fn = __DEFER_PCAST(void (*)(void), __f);   \
			__DEFER_FILL(site, n, __defer_desc | __DEFER_ICAST(uint64_t, DEFER_FLAG_HEAP) << 56, \
				     __VA_ARGS__)                             \
			__asm__ volatile(__DEFER_STORE_ASM(1) : "=m"(__defer_g->_defer) \
					 : "r"(__defer_r), "m"(*__defer_r));  \
			__DEFER_PROBE(site, __defer_r);                       \
			__defer_on = 1;                                       \
			break;                                                \
		}                                                             \
	}
/* The record __defer_r, but fn and the link's store: the arguments, the
 * descriptor (nargs, kinds, flags), pc (an address inside this defer, as
 * a return address would be), sp and link. */
#define __DEFER_FILL(site, n, desc, ...)                                      \
	{                                                                     \
		uint64_t __defer_pc, __defer_dsc = (desc);                    \
		__DEFER_CAT(__DEFER_ST, n)(__VA_ARGS__)                       \
		__builtin_memcpy(__DEFER_PCAST(char *, __defer_r) +           \
				 __builtin_offsetof(struct _defer, nargs), &__defer_dsc, 8); \
		__DEFER_HERE(__defer_pc, site);                               \
		__defer_r->pc = __defer_pc;                                   \
		__defer_r->sp = __DEFER_PCAST(uintptr_t, &__defer_fr);        \
		__defer_r->link = __defer_g->_defer;                          \
	}
#else
#define __DEFER_OPEN(n, __f, ...)
#endif

/*
 * defer(fn, args...): leave fn and the argument kinds in the frame's mark,
 * hand the mark over, then call deferproc as if it were fn, so the
 * compiler puts every argument where fn expects it.  Arguments are
 * evaluated once, here.
 */
#define __DEFER_CALL(n, __f, ...)                                             \
	do {                                                                  \
		__DEFER_STATIC_ASSERT(__DEFER_RET_OK((__f)(__VA_ARGS__)),      \
			       "defer: the function must return void, a scalar or a small struct (16 bytes, not packed)"); \
		__DEFER_CHECK_FN(__f)                                         \
		__DEFER_CAT(__DEFER_CHECK, n)(__VA_ARGS__)                    \
		__DEFER_COUNTER_PUSH                                          \
		__DEFER_OPEN(n, __f, __VA_ARGS__)                             \
		__DEFER_COUNTER_POP                                           \
		__defer_fr.fn = __DEFER_PCAST(void (*)(void), __f);           \
		__defer_fr.desc = __DEFER_CAT(__DEFER_DESC, n)(__VA_ARGS__);  \
		__DEFER_ENTER(__DEFER_PCAST(__typeof__(&*(__f)), __DEFER_PROC)(__VA_ARGS__)); \
		__DEFER_ARMED();                                              \
	} while (0)
/* deferproc always leaves the frame armed: saying so lets the compiler
 * call deferreturn at the exit without testing armed again, where every
 * path to it has deferred. */
#define __DEFER_ARMED()                                                      \
	do {                                                                  \
		if (!__defer_fr.armed)                                        \
			__builtin_unreachable();                              \
		__defer_on = 1;                                               \
	} while (0)

/* Every variadic macro gets at least one (maybe empty) argument for its
 * `...`: ISO C before C23 and C++ before C++20 require it. */
#define __DEFER_0(__f) __DEFER_CALL(0, __f, )
#define __DEFER_1(__f, ...) __DEFER_CALL(1, __f, __VA_ARGS__)
#define __DEFER_2(__f, ...) __DEFER_CALL(2, __f, __VA_ARGS__)
#define __DEFER_3(__f, ...) __DEFER_CALL(3, __f, __VA_ARGS__)
#define __DEFER_4(__f, ...) __DEFER_CALL(4, __f, __VA_ARGS__)
#define __DEFER_5(__f, ...) __DEFER_CALL(5, __f, __VA_ARGS__)
#define __DEFER_6(__f, ...) __DEFER_CALL(6, __f, __VA_ARGS__)
#define __DEFER_TOO_MANY(...) __DEFER_STATIC_ASSERT(0 == 1, "defer: at most 6 arguments can be deferred")
#define __DEFER_7 __DEFER_TOO_MANY
#define __DEFER_8 __DEFER_TOO_MANY
#define __DEFER_9 __DEFER_TOO_MANY

#ifndef __DEFER_OLD_CXX
#define defer(...) __DEFER_CAT(__DEFER_, __DEFER_NARGS(__VA_ARGS__))(__VA_ARGS__)
#else
#define defer(...) static_assert(0 == 1, "defer: C++17 or later is needed")
#endif

#ifdef __cplusplus
}
#endif
#endif
