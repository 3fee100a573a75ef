# SPDX-License-Identifier: MIT
"""The build's rules (issue 13): a plain make installs nothing, a missing
part's build file is an error, headers are tracked per object, defer.S
has DWARF, and a test missing a prerequisite says which target builds it.
These run make only dry (-n), which builds nothing."""
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT, built

FETCHERS = ("scripts/install-deps", "scripts/gdb-chroot", "scripts/npm-deps", "apt-get")


def make_n(*args, cwd=ROOT):
    r = subprocess.run(["make", "-n", *args], capture_output=True, text=True, cwd=cwd,
                       timeout=120)
    return r.returncode, r.stdout + r.stderr


def test_a_plain_make_runs_no_deps_step_and_make_demo_runs_it_first():
    rc, out = make_n("-B", "all")
    assert rc == 0, out
    assert not [f for f in FETCHERS if f in out], out
    rc, out = make_n("-B", "demo")
    assert rc == 0, out
    assert out.index("scripts/install-deps") < out.index(" -c "), out


def test_a_missing_part_build_file_is_an_error(tmp_path):
    for f in ("Makefile", "libdefer/build.mk", "libdefer/include/defer.h", "dwarf-reader/build.mk",
              "man/build.mk", "examples/build.mk"):    # no gdb/build.mk
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, tmp_path / f)
    rc, out = make_n(cwd=tmp_path)
    assert rc != 0 and "gdb/build.mk" in out, out


def test_a_header_change_recompiles_the_objects_that_include_it_and_no_other():
    built(BUILD / "dwarf-reader" / "dwarf_units.d", "all")
    rc, out = make_n("-W", "dwarf-reader/src/dwarf_impl.h", "build/libdreader.a")
    assert rc == 0, out
    compiled = set(re.findall(r" -c dwarf-reader/src/(\w+)\.c", out))
    assert "dwarf_units" in compiled and "dwarf_lines" in compiled, out
    assert not compiled & {"elf", "target", "walk", "leb128"}, out


def test_defer_S_is_assembled_with_debug_information():
    obj = built(BUILD / "libdefer" / "defer.S.o", "all")
    sections = subprocess.run(["readelf", "-S", obj], capture_output=True, text=True).stdout
    assert ".debug_info" in sections and ".debug_line" in sections, sections
    info = subprocess.run(["readelf", "--debug-dump=info", obj], capture_output=True,
                          text=True).stdout
    assert re.search(r"DW_AT_name\s*:.*\bdeferreturn$", info, re.M), info[:3000]
    # The library's flags: the source is named relative to the tree.
    assert re.search(r"DW_AT_name\s*:.* libdefer/src/x86_64/defer\.S$", info, re.M), info[:3000]


def test_a_missing_prerequisite_fails_naming_the_target_that_builds_it():
    with pytest.raises(pytest.fail.Exception, match=r"`make build/no-such-file` builds it"):
        built(BUILD / "no-such-file")
    with pytest.raises(pytest.fail.Exception, match=r"`make examples` builds it"):
        built(BUILD / "examples" / "no-such-example", "examples")


def test_make_libc_musl_runs_the_deps_step_then_builds_into_build_musl_with_musl_gcc():
    rc, out = make_n("-B", "LIBC=musl")
    assert rc == 0, out
    assert "musl-tools" in (ROOT / "scripts" / "install-deps").read_text()
    assert out.index("scripts/install-deps") < out.index("musl-gcc "), out
    outputs = set(re.findall(r" -o (\S+)", out)) | set(re.findall(r"> (\S+libdefer\.pc)\b", out))
    for want in ("libdefer.so.1.0.0", "libdefer.pc", "examples/engine",
                 "libdefer/musl/dl_find_object.o"):
        assert "build/musl/" + want in outputs, out
    assert all(o.startswith("build/musl/") for o in outputs), out
    compiles = [line for line in out.splitlines() if re.match(r"(cc|gcc|clang|musl-gcc) ", line)]
    assert compiles and all(line.startswith("musl-gcc ") for line in compiles), out
    assert re.search(r"ar rcs build/musl/libdefer\.a ", out), out


def test_make_libc_musl_install_is_refused_rather_than_replacing_the_glibc_libraries():
    rc, out = make_n("LIBC=musl", "install", "DESTDIR=/nonexistent")
    assert rc != 0 and "build/musl only" in out, out


def test_an_unknown_libc_is_an_error_naming_the_supported_ones():
    rc, out = make_n("LIBC=uclibc")
    assert rc != 0 and "LIBC=musl" in out, out
