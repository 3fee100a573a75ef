# SPDX-License-Identifier: MIT
"""Records whose frames a longjmp, or a C++ exception through C built
without -fexceptions, left without running their calls (stale.c).  Their
calls are lost; what must never happen is that a later panic, goexit or
thread exit runs them in dead stack.  A panic or goexit that reaches one
ends the program with one line that says why; a thread, or the process,
that ends with some says how many (README, Limits)."""
import signal
import subprocess

import pytest

from conftest import (BUILD, COMPILERS, INCLUDE, MUSL_NO_LIBC_UNWIND, OPTS, compile_program, on_host,
                      not_on_musl, run)

STALE = ("outlived its frame (longjmp or a C++ exception across a defer_frame in code built "
         "without -fexceptions?)")


def never_ran(count):
    """The process's end's line (exitcheck) for count calls: "2", "at least 2"."""
    return ("libdefer: %s deferred call(s) never ran: their frames were left by a longjmp or a "
            "C++ exception across a defer_frame built without -fexceptions" % count)


def process_says(r, stdout, count):
    """The process ended normally after stdout, and its one line on stderr
    says how many calls never ran."""
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.splitlines() == stdout, r.stdout
    assert r.stderr.splitlines() == [never_ran(count)], r.stderr

# skipped() runs five frames of 8 KB below where the program goes on, so
# its dead records lie below every frame made after the longjmp.
LONGJMP = r"""
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <defer.h>
static jmp_buf env;
static volatile int jump = 1;	/* or gcc sees deep() never return */
static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
__attribute__((noinline)) static void skipped(void)
{
	defer_frame;
	defer(say, "skipped: first call ran");
	defer(say, "skipped: second call ran");
	if (jump)
		longjmp(env, 1);
}
__attribute__((noinline)) static void deep(int n)
{
	char pad[8192];
	memset(pad, n, sizeof pad);
	__asm__ volatile("" : : "r"(pad) : "memory");	/* the frame keeps it */
	if (n)
		deep(n - 1);
	else
		skipped();
	say(pad[0] ? "deep returned" : "deep returned.");
}
__attribute__((noinline)) static void panics(void) { panic("after the longjmp"); }
static void catch(void) { recover(); }
/* A frame that encloses the landing point and recovers: the panic meets
 * the dead records first. */
__attribute__((noinline)) static void guarded(void)
{
	defer_frame;
	defer(say, "guarded: call ran");
	defer(catch);
	if (!setjmp(env))
		deep(4);
	say("back from the longjmp");
	panics();
}
__attribute__((noinline)) static void leave(void)
{
	if (!setjmp(env))
		deep(4);
	say("back from the longjmp");
}
/* Writes over the dead frames' stack, records included. */
__attribute__((noinline)) static void scribble(void)
{
	char junk[65536];
	memset(junk, 0xab, sizeof junk);
	__asm__ volatile("" : : "r"(junk) : "memory");
}
static void *thread(void *how)
{
	leave();
	if (!strcmp(how, "scribble"))
		scribble();
	if (!strcmp(how, "goexit"))
		defer_goexit();
	return 0;
}
/* exit() from a deferring frame skips its calls, as Go's os.Exit. */
__attribute__((noinline)) static void exits(void)
{
	defer_frame;
	defer(say, "exits: call ran");
	exit(0);
}
int main(int argc, char **argv)
{
	pthread_t t;

	if (argc < 2)
		return 2;
	if (!strncmp(argv[1], "main-", 5)) {
		leave();
		if (!strcmp(argv[1], "main-scribble"))
			scribble();
		return 0;
	}
	if (!strcmp(argv[1], "exit-live"))
		exits();
	if (!strcmp(argv[1], "recover")) {
		guarded();
		say("recovered");
	} else {
		pthread_create(&t, 0, thread, argv[1]);
		pthread_join(t, 0);
		say("joined");
	}
	return 0;
}
"""


@pytest.fixture(params=[(cc, opt) for cc in COMPILERS for opt in OPTS],
                ids=lambda p: "%s%s" % p)
def longjmp_prog(request):
    cc, opt = request.param
    return compile_program(LONGJMP, cc=cc, opt=opt, name="stale_longjmp")


def stops_at_the_stale_records(r, stdout):
    """The program ended at the first dead record, before running its call."""
    assert r.returncode == -signal.SIGABRT, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.splitlines() == stdout, r.stdout
    assert STALE in r.stderr, r.stderr


def test_a_panic_that_meets_calls_a_longjmp_skipped_ends_the_program_instead_of_running_them(
        longjmp_prog):
    stops_at_the_stale_records(run(longjmp_prog, "recover"), ["back from the longjmp"])


def test_goexit_that_meets_calls_a_longjmp_skipped_ends_the_program_instead_of_running_them(
        longjmp_prog):
    stops_at_the_stale_records(run(longjmp_prog, "goexit"), ["back from the longjmp"])


def thread_says(r, count):
    """The thread ended normally, and one line says how many calls it left."""
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.splitlines() == ["back from the longjmp", "joined"], r.stdout
    lines = [l for l in r.stderr.splitlines() if l.startswith("libdefer: thread ")]
    assert len(lines) == 1 and " ended with %s deferred call(s) pending: not run (" % count \
        in lines[0], r.stderr


def test_a_thread_that_returns_after_a_longjmp_skipped_calls_says_how_many_were_lost(
        longjmp_prog):
    thread_says(run(longjmp_prog, "return"), "2")


def test_a_process_that_ends_after_a_longjmp_skipped_calls_says_how_many_never_ran(
        longjmp_prog):
    process_says(run(longjmp_prog, "main-returns"), ["back from the longjmp"], "2")


# skipped()'s first call is in its mark's record, on the dead stack; its
# second in a pool record, whose link to the first survives.  Once the
# first is written over, its link is junk: the counts stop there, say "at
# least", and follow no junk pointer.
def test_a_thread_whose_dead_records_were_written_over_counts_them_without_following_junk(
        longjmp_prog):
    thread_says(run(longjmp_prog, "scribble"), "at least 3")


def test_a_process_whose_dead_records_were_written_over_counts_them_without_following_junk(
        longjmp_prog):
    process_says(run(longjmp_prog, "main-scribble"), ["back from the longjmp"], "at least 2")


def test_exit_from_a_deferring_frame_skips_its_calls_and_says_nothing(longjmp_prog):
    r = run(longjmp_prog, "exit-live")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


# The C++ case: C without landing pads between a throw and a catch in C++
# code, then a C frame whose call runs before the panic meets the dead ones.
C_SIDE = r"""
#include <stdio.h>
#include <string.h>
#include <defer.h>
void cxx_throw(void);
static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
__attribute__((noinline)) void c_skipped(int n)
{
	char pad[8192];
	memset(pad, n, sizeof pad);
	__asm__ volatile("" : : "r"(pad) : "memory");	/* the frame keeps it */
	if (n) {
		c_skipped(n - 1);
		say(pad[0] ? "returned" : "returned.");
		return;
	}
	defer_frame;
	defer(say, "skipped: call ran");
	cxx_throw();
}
__attribute__((noinline)) void c_after(void)
{
	defer_frame;
	defer(say, "after: call ran");
	panic("after the exception");
}
"""
CXX_SIDE = r"""
#include <cstdio>
extern "C" void c_skipped(int);
extern "C" void c_after(void);
extern "C" void cxx_throw(void) { throw 1; }
int main(int argc, char **) {
	try { c_skipped(4); } catch (int) { std::printf("caught\n"); std::fflush(stdout); }
	if (argc > 1)
		c_after();
}
"""


@pytest.fixture(params=[("gcc", "g++"), ("clang", "clang++")], ids=lambda p: p[1])
def cxx_prog(request, tmp_path):
    on_host("a C++ program")
    not_on_musl("no C++ for musl here")
    cc, cxx = request.param
    (tmp_path / "c.c").write_text(C_SIDE)
    (tmp_path / "m.cc").write_text(CXX_SIDE)
    subprocess.run([cc, "-O2", "-g", "-fno-exceptions", "-I", str(INCLUDE), "-c",
                    str(tmp_path / "c.c"), "-o", str(tmp_path / "c.o")], check=True)
    subprocess.run([cxx, "-g", str(tmp_path / "m.cc"), str(tmp_path / "c.o"),
                    str(BUILD / "libdefer.a"), "-lpthread", "-o", str(tmp_path / "m")], check=True)
    return tmp_path / "m"


def test_a_panic_after_a_cplusplus_exception_skipped_c_calls_runs_the_live_ones_then_stops(
        cxx_prog):
    stops_at_the_stale_records(run(cxx_prog, "panic"), ["caught", "after: call ran"])


def test_a_process_that_ends_after_a_cplusplus_exception_skipped_c_calls_says_so(cxx_prog):
    process_says(run(cxx_prog), ["caught"], "1")


# No false alarm: a panic in a signal handler on an alternate stack that
# lies above the thread's own stack (the thread's stack is in .bss, the
# alternate one mmap'd), so every live record is below the panic's frame.
# (Before stackkey, the recovery looped: it resumed in the handler.)
# The interrupted frame of the alternate-stack programs: a call pending,
# one that recovers, and SIGUSR1 raised (each program's catch and say).
GUARD = r"""
__attribute__((noinline)) static void guard(void)
{
	defer_frame;
	defer(catch);
	defer(say, "guard: call ran");
	raise(SIGUSR1);
	say("guard: after the signal");
}
"""


ALTSTACK = r"""
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <defer.h>
static char stack[1 << 20] __attribute__((aligned(4096)));
static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
static void onsig(int sig) { (void)sig; panic("in the handler"); }
static void catch(void) { recover(); }
static void handled(void) { say(recover() ? "handler: recovered" : "handler: not recovered"); }
/* A handler whose inner block recovers and resumes: the function's exit
 * then finds the interrupted frame's records, below its own mark. */
static void recovers(int sig)
{
	(void)sig;
	defer_frame;
	defer(say, "handler: call ran");
	{
		defer_frame;
		defer_result();
		defer(handled);
		panic("in the handler's block");
	}
}
""" + GUARD + r"""static void *thread(void *arg)
{
	size_t n = 1 << 16;
	stack_t ss = { .ss_sp = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				     -1, 0), .ss_size = n };
	struct sigaction sa = { .sa_handler = arg ? recovers : onsig, .sa_flags = SA_ONSTACK };

	if ((char *)ss.ss_sp < stack + sizeof stack)
		return "the alternate stack is not above the thread's";
	sigaltstack(&ss, 0);
	sigaction(SIGUSR1, &sa, 0);
	guard();
	return "guard returned";
}
int main(int argc, char **argv)
{
	pthread_attr_t a;
	pthread_t t;
	void *r;

	(void)argv;
	pthread_attr_init(&a);
	pthread_attr_setstack(&a, stack, sizeof stack);
	pthread_create(&t, &a, thread, argc > 1 ? "block" : 0);
	pthread_join(t, &r);
	say(r);
	return 0;
}
"""


@pytest.mark.parametrize("flags", [[], ["-fexceptions"]], ids=["", "fexceptions"])
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_panic_on_an_alternate_stack_above_the_threads_own_recovers(cc, flags):
    """Also the recovery itself: its walk to the owner's caller, and with
    -fexceptions the unwind, pass from the handler's stack to the thread's
    (stackkey); both took the handler's frames for the owner's callers."""
    not_on_musl(MUSL_NO_LIBC_UNWIND)  # raise() is a libc call
    exe = compile_program(ALTSTACK, cc=cc, opt="-O2", name="stale_altstack", extra=flags)
    r = run(exe)
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == \
        (0, ["guard: call ran", "guard returned"], ""), r.stderr


@pytest.mark.parametrize("flags", [[], ["-fexceptions"]], ids=["", "fexceptions"])
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_handler_frame_on_an_alternate_stack_above_the_threads_own_exits_after_its_block_recovers(
        cc, flags):
    """The handler's function-level frame exits with its call run by the
    recovery; the head is then the interrupted frame's record, which lies
    below the frame's mark by address but is older (__defer_checkstale
    took it for a dead deeper frame's and aborted)."""
    exe = compile_program(ALTSTACK, cc=cc, opt="-O2", name="stale_altstack", extra=flags)
    r = run(exe, "block")
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == \
        (0, ["handler: recovered", "handler: call ran", "guard: after the signal",
             "guard: call ran", "guard returned"], ""), r.stderr


# No false alarm: a recovery in an inner block's frame, in code with
# landing pads.  At -O2 gcc and clang put the block's mark above the
# function's own; the landing pad's __defer_unwound runs the block's calls
# and then its deferreturn, which finds the function's own record at the
# head, below the block's mark: not a deeper frame's (it is above the
# stack pointer of the frame being left).
BLOCK_RECOVERS = r"""
#include <stdio.h>
#include <defer.h>
static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
static void catch_(void) { say(recover() ? "recovered" : "not recovered"); }
__attribute__((noinline)) static void work(int x)
{
	defer_frame;
	defer(say, "outer call ran");
	if (x) {
		defer_frame;
		defer(catch_);
		panic("in the block");
	}
}
int main(void)
{
	work(1);
	say("returned");
	return 0;
}
"""


@pytest.mark.parametrize("cc", ["gcc", "clang", "g++", "clang++"])
def test_a_recovery_in_an_inner_blocks_frame_with_landing_pads_runs_the_outer_call(cc):
    if "++" in cc:
        on_host("a C++ program")
        not_on_musl("no C++ for musl here")
    elif cc not in COMPILERS:
        pytest.skip("%s: not for this libc" % cc)
    extra = [] if "++" in cc else ["-fexceptions"]
    exe = compile_program(BLOCK_RECOVERS, cc=cc, opt="-O2", name="stale_block_landing",
                          extra=extra, std="c++17" if "++" in cc else "gnu11")
    r = run(exe)
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == \
        (0, ["recovered", "outer call ran", "returned"], ""), r.stderr


# A few frames of 2 KB below the caller, then leaf(): what the leaf leaves
# on the stack lies below every frame made after it returns or jumps.
DEEP = r"""
__attribute__((noinline)) static void deep(int n)
{
	char pad[2048];
	memset(pad, n, sizeof pad);
	__asm__ volatile("" : : "r"(pad) : "memory");
	if (n)
		deep(n - 1);
	else
		%s();
}
"""


# An alternate signal stack that is a local array of a frame of the
# thread (inside the thread's own stack, above the frames the signal
# interrupts): the handler's frames are newer than those frames although
# their addresses are higher.  stackkey orders only a stack outside the
# thread's below it, so the handler's frames are taken for the callers
# of the interrupted ones.
LOCAL_ALTSTACK = r"""
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <defer.h>
static const char *who;	/* who recovers: the interrupted frame, or the handler */
static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
static void catch(void) { say(recover() ? "recovered" : "not recovered"); }
static void onsig(int sig)
{
	(void)sig;
	defer_frame;
	if (!strcmp(who, "inner"))
		defer(catch);
	defer(say, "handler: call ran");
	/* One record per frame, each its mark's own: nothing on the way
	 * asks the kernel where the alternate stack is (checkslow) before
	 * the recovery runs the function's call (runowner). */
	if (!strcmp(who, "block")) {
		defer_frame;
		defer_result();
		defer(catch);
		panic("in the handler's block");
	}
	if (!strcmp(who, "unwound")) {	/* the recovery finds onsig's caller */
		defer_frame;
		defer(catch);
		panic("in the handler's block");
	}
	panic("in the handler");
}
""" + GUARD + DEEP % "guard" + r"""static void *thread(void *arg)
{
	char alt[1 << 16] __attribute__((aligned(16)));
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	struct sigaction sa = { .sa_handler = onsig, .sa_flags = SA_ONSTACK | SA_NODEFER };

	who = arg;
	sigaltstack(&ss, 0);
	sigaction(SIGUSR1, &sa, 0);
	deep(3);
	__asm__ volatile("" : : "r"(alt) : "memory");
	return 0;
}
int main(int argc, char **argv)
{
	pthread_t t;

	pthread_create(&t, 0, thread, argc > 1 ? argv[1] : "outer");
	pthread_join(t, 0);
	say("joined");
	return 0;
}
"""


@pytest.fixture(params=COMPILERS)
def local_altstack_prog(request):
    return compile_program(LOCAL_ALTSTACK, cc=request.param, opt="-O2", name="stale_local_altstack")


def test_a_panic_on_an_alternate_stack_inside_the_threads_own_is_recovered_by_the_interrupted_frame(
        local_altstack_prog):
    not_on_musl(MUSL_NO_LIBC_UNWIND)  # the recovery unwinds through raise()
    r = run(local_altstack_prog, timeout=20)
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == \
        (0, ["handler: call ran", "guard: call ran", "recovered", "joined"], ""), r.stderr


def test_a_handler_on_a_local_alternate_stack_that_recovers_leaves_the_interrupted_frames_calls_alone(
        local_altstack_prog):
    not_on_musl(MUSL_NO_LIBC_UNWIND)  # the recovery unwinds through raise()
    r = run(local_altstack_prog, "inner", timeout=20)
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == \
        (0, ["handler: call ran", "recovered", "guard: after the signal", "guard: call ran",
             "not recovered", "joined"], ""), r.stderr


# What a handler's block that recovers prints, and the interrupted frame after.
HANDLER_BLOCK_RECOVERED = (0, ["recovered", "handler: call ran", "guard: after the signal",
                               "guard: call ran", "not recovered", "joined"], "")


def test_a_handler_block_with_defer_result_on_a_local_alternate_stack_runs_only_the_handlers_calls(
        local_altstack_prog):
    """The recovery resumes at the block's defer_result and runs the rest of
    the handler's frame (runowner) by that frame's range, without asking
    the kernel: a raw address compare would run the interrupted frame's
    calls there too, as it did before stackkey."""
    r = run(local_altstack_prog, "block", timeout=20)
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == HANDLER_BLOCK_RECOVERED, r.stderr


def test_a_handler_block_without_defer_result_on_a_local_alternate_stack_runs_only_the_handlers_calls(
        local_altstack_prog):
    """The same recovery without defer_result: it returns from the handler
    after running the handler's frame's call; the interrupted frame's
    calls stay for its own exit (runowner asks the kernel where the
    alternate stack is before it orders a record below the owner's end)."""
    r = run(local_altstack_prog, "unwound", timeout=20)
    assert (r.returncode, r.stdout.splitlines(), r.stderr) == HANDLER_BLOCK_RECOVERED, r.stderr


# The same dead records met by a panic that unwinds (code with landing
# pads: a longjmp skips a defer_frame's cleanup there too).  Only
# gopanic's loop checks; once the panic unwinds, the stop function runs
# the dead records as any frame's without a landing pad.
UNWINDING = r"""
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <defer.h>
static jmp_buf env;
static volatile int jump = 1;
static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
static void catch(void) { say(recover() ? "recovered" : "not recovered"); }
__attribute__((noinline)) static void skipped(void)
{
	defer_frame;
	defer(say, "skipped: call ran");
	if (jump)
		longjmp(env, 1);
}
""" + DEEP % "skipped" + r"""__attribute__((noinline)) static void later(void)
{
	defer_frame;
	defer(say, "later: call ran");
	panic("after the longjmp");
}
int main(void)
{
	defer_frame;
	defer(catch);
	if (!setjmp(env))
		deep(2);
	say("back from the longjmp");
	later();
	return 0;
}
"""


@pytest.mark.parametrize("cc", COMPILERS)
def test_a_panic_that_unwinds_to_calls_a_longjmp_skipped_ends_the_program_instead_of_running_them(cc):
    """A panic that unwinds checks the whole chain before the unwind runs
    anything (unwindpanic): it stops before later's call too."""
    exe = compile_program(UNWINDING, cc=cc, opt="-O2", name="stale_unwinding", extra=["-fexceptions"])
    stops_at_the_stale_records(run(exe), ["back from the longjmp"])


# A longjmp out of an inner block's defer_frame to the function's own
# block: the function's exit finds the block's record at the head.  When
# the compiler put the block's mark below the function's (gcc and clang
# at -O0), the exit knows it for a dead frame's and aborts.  Above it
# (gcc and clang at -O2 on x86-64), it looks like an outer frame's: the
# function's own call is lost, silently (README, Limits: telling the two
# apart needs the function's own frame, which neither the mark nor
# deferreturn knows).  The program says which layout it got.
BLOCK_LONGJMP = r"""
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <defer.h>
static jmp_buf env;
static void say(const char *s) { printf("%s\n", s); fflush(stdout); }
__attribute__((noinline)) static void jump(void) { longjmp(env, 1); }
__attribute__((noinline)) static void work(int x)
{
	defer_frame;
	uintptr_t outer = (uintptr_t)&__defer_fr;
	defer(say, "outer call ran");
	if (!setjmp(env)) {
		defer_frame;
		fprintf(stderr, "block mark %s\n", (uintptr_t)&__defer_fr < outer ? "below" : "above");
		defer(say, "inner call ran");
		if (x)
			jump();
	}
	say("after the longjmp");
}
int main(void)
{
	work(1);
	say("returned");
	return 0;
}
"""


@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_the_exit_of_a_frame_whose_inner_block_a_longjmp_left_aborts_if_the_block_lies_below(
        cc, opt):
    exe = compile_program(BLOCK_LONGJMP, cc=cc, opt=opt, name="stale_block_longjmp")
    r = run(exe)
    if r.stderr.startswith("block mark below\n"):
        stops_at_the_stale_records(r, ["after the longjmp"])
    else:
        # The documented limit, exactly: the outer call is lost, and the
        # function's exit says nothing.  The process's end counts the dead
        # record only if it lies below exitcheck's frame, which depends on
        # the libc's exit path (it does under qemu for aarch64 gcc -O2).
        lines = r.stderr.splitlines()
        assert lines[0] == "block mark above" and lines[1:] in ([], [never_ran("1")]), r.stderr
        assert (r.returncode, r.stdout.splitlines()) == (0, ["after the longjmp", "returned"])
