# SPDX-License-Identifier: MIT
"""musl (issue 18 point 3), in every run: a static musl-gcc program built
with build/musl/libdefer.pc's flags (`make LIBC=musl`) recovers, closes a
FILE * that musl declares incomplete, and dies with a report that names
its frames with file:line.  (DEFER_TEST_LIBC=musl runs the whole runtime
suite so; tests/conftest.py.)"""
import re

from conftest import compile_program, run

FCLOSE = r"""
#include <stdio.h>
#include <defer.h>

static void tell(void)
{
	const struct _panic *p = recover();
	printf("recovered: %s\n", p ? p->msg : "nothing");
}

static void write_log(const char *path)
{
	defer_frame;
	FILE *f = fopen(path, "w");

	defer(tell);
	defer(fclose, f);          /* musl's FILE is an incomplete type */
	fputs("buffered until fclose\n", f);
	panic("after the write");
}

int main(int argc, char **argv)
{
	(void)argc;
	write_log(argv[1]);
	return 0;
}
"""

REPORT = r"""
#include <defer.h>

__attribute__((noinline)) static void inner(int n)
{
	panic("inner gave up at %d", n);    /* @panic */
}

__attribute__((noinline)) static void outer(void)
{
	defer_frame;
	defer(inner, 2);
	inner(1);
}

int main(void)
{
	outer();
	return 0;
}
"""

FAULT = r"""
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <defer.h>

volatile int *volatile nowhere;

static void catch(void)
{
	const struct _panic *p = recover();
	printf("recovered: %s\n", p ? p->msg : "nothing");
}

__attribute__((noinline)) static int load(void)
{
	defer_frame;
	defer(catch);
	return *nowhere;
}

static void onsig(int sig)
{
	panic("handler got signal %d", sig);
}

/* Recovered at defer_result from the program's own handler: the jump
 * leaves the handler, and must put back the mask its sigreturn would have
 * (SIGSEGV unblocked), or the next fault kills. */
__attribute__((noinline)) static int load_result(void)
{
	defer_frame;
	int v = -1;
	defer_result(v);
	defer(catch);
	v = *nowhere;
	return v;
}

int main(void)
{
	defer_panic_on_fault(1);
	struct sigaction sa;

	load();
	load();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsig;
	sigaction(SIGSEGV, &sa, 0);
	load_result();
	load_result();
	printf("main: done\n");
	return 0;
}
"""


def test_a_deferred_fclose_of_musls_incomplete_file_runs_during_a_recovered_panic(tmp_path):
    exe = compile_program(FCLOSE, name="musl_fclose", libc="musl")
    r = run(exe, tmp_path / "log")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "recovered: after the write\n"
    assert (tmp_path / "log").read_text() == "buffered until fclose\n"


def test_a_static_musl_programs_report_names_its_frames_with_file_and_line():
    exe = compile_program(REPORT, opt="-O0", name="musl_report", libc="musl")
    r = run(exe)
    assert r.returncode == 2, r.stderr
    line = next(i for i, t in enumerate(REPORT.splitlines(), 1) if "@panic" in t)
    frame = r"%s\(\.\.\.\)\n\t/\S+\.c:%s \+0x[0-9a-f]+\n"
    assert re.search(r"\[running\]:\n" + frame % ("inner", line) + r"\tdeferred by outer at /\S+\.c:\d+\n"
                     + r"panic\(\.\.\.\)\n\t\S+ \+0x[0-9a-f]+\n" + frame % ("inner", line)
                     + frame % ("outer", r"\d+") + frame % ("main", r"\d+") + r"\Z",
                     r.stderr), r.stderr


def test_a_fault_in_the_programs_own_code_recovers_under_musl():
    """Only the program's frames and the signal frame lie between the fault
    and the recovering frame (musl's libc, without unwind tables, is not
    crossed); a recovery out of the program's own handler unblocks the
    signal (musl's sigaction does not tell the restorer)."""
    exe = compile_program(FAULT, opt="-O2", name="musl_fault", libc="musl")
    r = run(exe)
    assert r.returncode == 0, r.stderr
    nil = "runtime error: invalid memory address or nil pointer dereference"
    assert r.stdout == ("recovered: %s\n" % nil * 2 + "recovered: handler got signal 11\n" * 2
                        + "main: done\n")
