# SPDX-License-Identifier: MIT
"""Each failure class: one clear line on stderr and its own exit status."""
import os
import shutil
import subprocess

import pytest

from dr_util import BUILD, Running, gcore, inspect, prog

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def one_error(r, status, words):
    assert r.returncode == status, (r.returncode, r.stderr)
    lines = [l for l in r.stderr.splitlines() if not l.startswith("defer-inspect: warning:")]
    assert len(lines) == 1 and lines[0].startswith("defer-inspect: "), r.stderr
    assert words in lines[0], lines[0]


def test_usage_error():
    r = inspect("layout")
    assert r.returncode == 2 and r.stderr.startswith("defer-inspect: wants one BINARY\nusage:")
    assert inspect("frobnicate", "x").returncode == 2
    assert inspect("dump", "--core", "x").returncode == 2


def test_no_such_file():
    one_error(inspect("layout", "/nonexistent/prog"), 3, "No such file")
    one_error(inspect("dump", "--core", "/nonexistent/core", "/bin/true"), 3, "No such file")


def test_no_such_process():
    assert inspect("dump", "--pid", "abc").returncode == 2
    one_error(inspect("dump", "--pid", "4194303"), 3, "no such process")


def test_not_elf(tmp_path):
    f = tmp_path / "text"
    f.write_text("hello\n" * 100)
    one_error(inspect("layout", f), 4, "not an ELF file")


def test_core_argument_not_a_core():
    exe = prog("threads.c")
    one_error(inspect("dump", "--core", exe, exe), 4, "not a core file")


def test_not_linked_with_libdefer():
    one_error(inspect("layout", "/bin/true"), 5, "not linked with libdefer")
    one_error(inspect("sites", "/bin/true"), 5, "not linked with libdefer")


def test_no_debug_info_and_no_offsets_table(tmp_path):
    lib = tmp_path / "libdefer.so.1"
    subprocess.run(["strip", "-o", str(lib), str(BUILD / "libdefer.so.1")], check=True)
    data = bytearray(lib.read_bytes())
    magic = (0x5245464544444c00).to_bytes(8, "little")
    assert data.count(magic) == 1
    i = data.index(magic)
    data[i:i + 8] = b"\0" * 8
    lib.write_bytes(bytes(data))
    one_error(inspect("layout", lib), 6, "no debug info")


def test_core_from_another_binary(tmp_path):
    a = prog("threads.c", "gcc", "-O0", "static")
    b = prog("threads.c", "gcc", "-O2", "static")
    core = tmp_path / "a.core"
    with Running(a, 1, 1) as p:
        gcore(p.pid, core)
    one_error(inspect("dump", "--core", core, b), 7, "core does not match")
    assert inspect("dump", "--core", core, a).returncode == 0


def test_permission_denied_to_attach():
    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to run the tool as another user")
    exe = prog("threads.c")
    with Running(exe, 1, 1) as p:
        r = subprocess.run(NOBODY + [str(BUILD / "defer-inspect"), "dump", "--pid", str(p.pid)],
                           capture_output=True, text=True, timeout=60)
    one_error(r, 8, "process")


def test_permission_denied_to_read(tmp_path):
    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to run the tool as another user")
    f = tmp_path / "secret"
    shutil.copy(prog("threads.c"), f)
    os.chmod(f, 0)
    os.chmod(tmp_path, 0o755)
    r = subprocess.run(NOBODY + [str(BUILD / "defer-inspect"), "layout", str(f)],
                       capture_output=True, text=True, timeout=60)
    one_error(r, 8, "Permission denied")
