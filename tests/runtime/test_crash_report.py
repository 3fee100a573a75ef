# SPDX-License-Identifier: MIT
"""The crash report of an unrecovered panic (issue 17 points 1 and 4): Go's
shape with file:line in every kind of build, the runtime's frames folded,
deferred calls marked, DEFER_TRACEBACK's levels, and Go 1.25's
"[recovered, repanicked]".  Lines are matched by structure (regexes), and
line numbers by the `@name` markers in scenarios/report.c."""
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import ARCH, LIBC, binutil, cross, command, compile_program, not_on_musl, program_threads, run

SRC = Path(__file__).parent / "scenarios" / "report.c"
MARK = {m.group(1): i for i, line in enumerate(SRC.read_text().splitlines(), 1)
        for m in [re.search(r"/\* @(\w+) \*/", line)] if m}
RUNTIME = re.compile(r"^(gopanic|rundefer|__defer_invoke|fatalpanic|deferreturn)\(", re.M)

# Executable kind -> (link of libdefer, extra flags).
KINDS = {
    "shared": ("shared", []),
    "static-libdefer": ("static", []),
    "fully-static": ("static", ["-static"]),
    "static-pie": ("static", ["-static-pie"]),
    "pie": ("static", ["-fPIE", "-pie"]),
    "non-pie": ("static", ["-fno-PIE", "-no-pie"]),
}


def report(kind="pie", cc="gcc", opt="-O2", extra=()):
    link, flags = KINDS[kind]
    return compile_program(SRC, cc=cc, opt=opt, link=link, extra=flags + list(extra))


def die(exe, *args, env=None, status=2):
    r = run(exe, *args, env=env)
    assert r.returncode == status, f"exit {r.returncode}\n{r.stderr}"
    return r.stderr


def frame(name, mark=None, line=r"\d+"):
    """A frame with line information: `name(...)` and `\\tFILE:LINE +0xOFF`."""
    if mark:
        line = str(MARK[mark])
    return r"%s\(\.\.\.\)\n\t/\S+\.c:%s \+0x[0-9a-f]+\n" % (re.escape(name), line)


def deferred_by(owner, mark):
    return r"\tdeferred by %s at /\S+\.c:%d\n" % (owner, MARK[mark])


# The nested scenario: flush, deferred by commit, panics while commit's
# panic runs it.
NESTED = ("panic: commit: transaction 17 conflicts\n\tpanic: flush: journal: disk full\n\n"
          r'thread \d+ "[^"]*" \[running\]:' "\n"
          + frame("flush", "flush") + deferred_by("commit", "deferflush")
          + r"panic\(\.\.\.\)\n\t\S+ \+0x[0-9a-f]+\n"
          + frame("commit", "commit") + frame("main", "main") + r"\Z")


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_report_names_file_and_line_in_every_kind_of_executable(kind, cc):
    err = die(report(kind, cc=cc), "nested")
    assert re.match(NESTED, err), err


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_dwarf4_line_tables_are_read_too(opt):
    err = die(report("pie", opt=opt, extra=["-gdwarf-4"]), "nested")
    assert re.match(NESTED, err), err


def test_runtime_frames_are_folded_into_one_panic_line():
    """The dying panic's own frames are left out (Go leaves out the top
    runtime.gopanic too); the panic that runs a deferred call is one
    panic(...) line between the call and the function that panicked."""
    err = die(report(), "nested")
    assert not RUNTIME.search(err), err
    frames = re.findall(r"^(\S+)\(\.\.\.\)$", err, re.M)
    assert frames == ["flush", "panic", "commit", "main"], err


def test_calls_defer_goexit_runs_are_folded_into_one_defer_goexit_line():
    err = die(report(), "goexit")
    assert re.search(r"\[running\]:\n" + frame("flush", "flush")
                     + r"defer_goexit\(\.\.\.\)\n\t\S+ \+0x[0-9a-f]+\n" + frame("leave", "goexit")
                     + frame("leaver") + r"\Z", err), err


def test_traceback_system_shows_the_runtimes_frames():
    err = die(report(), "nested", env={"DEFER_TRACEBACK": "system"})
    frames = re.findall(r"^(\S+)\(\.\.\.\)$", err, re.M)
    # rundefer is inline in gopanic (runtime.h).
    assert frames[:5] == ["gopanic", "flush", "__defer_invoke", "gopanic", "commit"], err
    assert "panic" not in frames, err


def test_a_deferred_call_a_panic_runs_says_where_it_was_deferred():
    err = die(report(), "repanic")
    assert re.search(frame("rethrow", "repanic") + deferred_by("guarded", "deferhandler")
                     + r"panic\(\.\.\.\)\n\t\S+ \+0x[0-9a-f]+\n" + frame("guarded", "locked"),
                     err), err


@pytest.mark.parametrize("mode", ["repanic", "samevalue"])
def test_recovered_and_raised_again_prints_one_repanicked_line(mode):
    err = die(report(), mode)
    assert err.startswith("panic: locked: code 423 [recovered, repanicked]\n\nthread "), err
    assert err.count("panic: ") == 1, err


def test_recovered_then_another_panic_prints_both_as_before():
    err = die(report(), "other")
    assert err.startswith("panic: locked: code 423 [recovered]\n\tpanic: cleanup failed\n\n"
                          "thread "), err


def test_traceback_none_prints_only_the_panics():
    err = die(report(), "nested", env={"DEFER_TRACEBACK": "none"})
    assert err == "panic: commit: transaction 17 conflicts\n\tpanic: flush: journal: disk full\n"


@pytest.mark.parametrize("value", [None, "single", "bogus"])
def test_traceback_single_prints_the_dying_thread_only(value):
    env = {"DEFER_TRACEBACK": value} if value else None
    err = die(report(), "threads", env=env)
    assert len(re.findall(r"^thread \d+ ", err, re.M)) == 1, err
    assert "pending deferred calls" not in err


def worker_sections(err):
    """The other threads' sections of a DEFER_TRACEBACK=all report."""
    parts = re.split(r"\n(?=thread \d+ )", program_threads(err))
    return {re.match(r'thread \d+ "([^"]*)"', p).group(1): p for p in parts[2:]}


# The C library's frame that started the thread, shown with the system
# frames.  The aarch64 cross sysroot's libc.so.6 has no symbol table and
# Debian has no debug file for it: there the frame is libc's, unnamed.
SYSTEM_FRAME = (r"^(start_thread|\?)\(\.\.\.\)\n\t/\S*/libc\.so\.6\b" if cross(ARCH)
                else r"^start_thread\(")


def check_workers(err, system):
    workers = worker_sections(err)
    assert sorted(workers) == ["server-0", "server-1"], err
    for text in workers.values():
        assert re.match(r'thread \d+ "server-\d" \[\w+\]:\n', text), text
        # Waiting in read (or just before it): serve, called by worker.
        assert re.search(frame("serve") + frame("worker", "serve"), text), text
        assert re.search(r"^pending deferred calls, newest first:\n"
                         r"\tunlock\(\.\.\.\) deferred by serve at /\S+\.c:%d$"
                         % MARK["deferunlock"], text, re.M), text
        assert bool(re.search(SYSTEM_FRAME, text, re.M)) == system, text


MUSL_BLOCKED = ("musl's libc has no unwind tables: a thread blocked in a libc call "
                "shows that call alone")


def test_traceback_all_prints_every_thread_and_its_pending_calls():
    not_on_musl(MUSL_BLOCKED)
    err = die(report(), "threads", env={"DEFER_TRACEBACK": "all"})
    main = re.split(r"\n(?=thread \d+ )", err)[1]
    assert re.match(r'thread \d+ "[^"]*" \[running\]:\n' + frame("flush", "flush"), main), err
    check_workers(err, system=False)


def test_traceback_crash_prints_all_threads_with_runtime_frames_then_aborts():
    not_on_musl(MUSL_BLOCKED)
    err = die(report(), "threads", env={"DEFER_TRACEBACK": "crash"}, status=-signal.SIGABRT)
    assert re.search(r"^gopanic\(\.\.\.\)$", err, re.M), err
    check_workers(err, system=True)


@pytest.mark.parametrize("level,status", [("all", 2), ("crash", -signal.SIGABRT)])
def test_a_thread_whose_stack_cannot_be_unwound_ends_its_own_section_not_the_report(level, status):
    """The spinner's unwind table gives a garbage return address; libgcc
    then reads the instruction there and faults (the report died of it,
    1 run in 30, for a thread stopped in ld.so under qemu).  The walk is
    guarded: that stack ends with a line saying where, the rest is whole."""
    err = die(report(), "badunwind", env={"DEFER_TRACEBACK": level}, status=status)
    sections = worker_sections(err)
    assert sorted(sections) == ["server-0", "spinner"], err
    assert re.match(r'thread \d+ "spinner" \[\w+\]:\n'
                    r"badcfi_spin\(\.\.\.\)\n\t\S+ \+0x[0-9a-f]+ pc=0x[0-9a-f]+\n"
                    r"\.\.\.stack unreadable beyond here \(the unwinder faulted at 0x1008\)\.\.\.\n",
                    sections["spinner"]), err
    if LIBC != "musl":   # MUSL_BLOCKED
        assert re.search(frame("serve") + frame("worker", "serve"), sections["server-0"]), err
    assert re.search(r"^\tunlock\(\.\.\.\) deferred by serve at ", sections["server-0"], re.M), err


def stripped_with_debug_file(tmp_path):
    """The pie build stripped, its debug part under a build-id path in
    tmp_path/debug, as Debian's -dbgsym packages install it."""
    exe = tmp_path / "report"
    shutil.copy(report(), exe)
    subprocess.run(binutil("objcopy") + ["--only-keep-debug", str(exe), str(tmp_path / "report.debug")],
                   check=True)
    subprocess.run(binutil("strip") + [str(exe)], check=True)
    notes = subprocess.run(["readelf", "-n", str(exe)], capture_output=True, text=True,
                           check=True).stdout
    bid = re.search(r"Build ID: ([0-9a-f]+)", notes).group(1)
    where = tmp_path / "debug" / ".build-id" / bid[:2]
    where.mkdir(parents=True)
    shutil.move(str(tmp_path / "report.debug"), where / (bid[2:] + ".debug"))
    return exe


def test_stripped_program_finds_its_debug_file_by_build_id(tmp_path):
    exe = stripped_with_debug_file(tmp_path)
    err = die(exe, "nested", env={"DEFER_DEBUG_DIR": str(tmp_path / "debug")})
    assert re.match(NESTED, err), err


def test_stripped_program_without_debug_file_prints_addresses_and_still_folds(tmp_path):
    exe = stripped_with_debug_file(tmp_path)
    err = die(exe, "nested", env={"DEFER_DEBUG_DIR": str(tmp_path / "nowhere")})
    unknown = r"\?\(\.\.\.\)\n\t%s\(\+0x[0-9a-f]+\) pc=0x[0-9a-f]+\n" % re.escape(str(exe))
    assert re.search(r"\[running\]:\n" + unknown + r"\tdeferred at pc=0x[0-9a-f]+\n"
                     + r"panic\(\.\.\.\)\n" + r"(?:\t\S+ \+0x[0-9a-f]+\n|\t\S+\(\+0x[0-9a-f]+\) pc=0x[0-9a-f]+\n)"
                     + unknown, err), err
    assert not RUNTIME.search(err), err


def test_without_debug_info_frames_are_function_and_offset():
    exe = report(extra=["-g0"])
    err = die(exe, "nested")
    known = r"%s\(\.\.\.\)\n\t%s \+0x[0-9a-f]+ pc=0x[0-9a-f]+\n"
    assert re.search(r"\[running\]:\n" + known % ("flush", re.escape(str(exe)))
                     + r"\tdeferred by commit \+0x[0-9a-f]+\n", err), err
    assert re.search(known % ("commit", re.escape(str(exe))), err), err


@pytest.mark.parametrize("link", ["static", "shared"])
@pytest.mark.parametrize("level", ["single", "all"])
def test_the_report_allocates_nothing(link, level):
    """The program's malloc ends it with status 99 once it is about to
    panic: the report, threads and line tables included, must not call it
    (glibc's backtrace() did, loading libgcc_s)."""
    exe = compile_program(SRC.parent / "report_nomalloc.c", opt="-O2", link=link)
    err = die(exe, env={"DEFER_TRACEBACK": level})
    assert re.search(r"\[running\]:\n" + frame("fail") + frame("main"), err), err
    assert len(re.findall(r"^thread \d+ ", program_threads(err), re.M)) == \
        (2 if level == "all" else 1), err


@pytest.mark.parametrize("section", [".debug_line", ".strtab", ".debug_line_str"])
def test_a_damaged_debug_file_never_breaks_the_report(tmp_path, section):
    """The debug file is read in a dying process: garbage in any section
    it reads (random bytes, or real ones changed; seeded) gives wrong or
    no names, never a crash or a hang."""
    import random
    exe = stripped_with_debug_file(tmp_path)
    debug = next((tmp_path / "debug").rglob("*.debug"))
    sections = subprocess.run(["readelf", "-SW", str(debug)], capture_output=True, text=True,
                              check=True).stdout
    # [Nr] Name Type Address Off Size ...
    off, size = (int(x, 16) for x in re.search(
        r"\]\s%s\s+\S+\s+\S+\s+(\S+)\s+(\S+)" % re.escape(section), sections).groups())
    good = debug.read_bytes()
    for seed in range(16):
        rng = random.Random(seed)
        if seed < 4:        # all garbage
            junk = rng.randbytes(size)
        else:               # the real bytes, 2% of them changed
            junk = bytearray(good[off:off + size])
            for i in rng.sample(range(size), max(1, size // 50)):
                junk[i] = rng.randrange(256)
        debug.write_bytes(good[:off] + junk + good[off + size:])
        r = subprocess.run(command(exe) + ["nested"], capture_output=True, timeout=60,
                           env=dict(os.environ, DEFER_DEBUG_DIR=str(tmp_path / "debug")))
        assert r.returncode == 2, r.stderr
        # Frames, each a name line and tab lines, no control characters
        # but the layout's own.
        assert re.search(rb'\[running\]:\n([^\t\n].*\n(\t.+\n)+)+\Z', r.stderr), r.stderr
        assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", r.stderr), r.stderr


REPANIC_SRC = r"""
#include <stdio.h>
#include <defer.h>
static int code = 7;
static void again(void)
{
	const struct _panic *p = recover();
	if (p)
		defer_repanic(p);
}
static void run(void)
{
	defer_frame;
	defer(again);
	panic_value(&code, "code %d", code);
}
int main(void)
{
	run();
	return 0;
}
"""


@pytest.mark.parametrize("cc,std", [("gcc", "c11"), ("clang", "c17"), ("g++", "c++17"),
                                    ("clang++", "c++20")])
def test_defer_repanic_compiles_under_strict_flags_in_c_and_cxx(cc, std):
    from test_header_builds import strict_build
    exe = strict_build(REPANIC_SRC, cc, std, name="repanic_strict")
    err = die(exe)
    assert err.startswith("panic: code 7 [recovered, repanicked]\n\nthread "), err
