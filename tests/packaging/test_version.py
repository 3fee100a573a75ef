# SPDX-License-Identifier: MIT
"""One version, written once (defer.h's LIBDEFER_VERSION_MAJOR/MINOR/
PATCH), and every place that shows it: the header's LIBDEFER_VERSION, the
library's defer_version(), the .so's real name and soname, libdefer.pc,
defer-inspect --version, deferdb --version, the gdb extension, the man
pages, debian/changelog (the tarball's name: test_dist.py)."""
import re
import shutil
import subprocess

import pytest

from conftest import header_version
from pkgtest import BUILD, PROG, ROOT


def sh(*cmd, cwd=ROOT, **kw):
    r = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, cwd=cwd, **kw)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def soname(lib):
    return re.search(r"Library soname: \[(.*)\]", sh("readelf", "-d", lib)).group(1)


def test_make_debian_changelog_and_the_header_agree_on_the_version():
    v = header_version()
    assert sh("make", "-s", "version").strip() == v
    assert sh("dpkg-parsechangelog", "-S", "Version").strip() == v


@pytest.mark.parametrize("link", ["static", "shared"])
def test_defer_version_returns_the_header_version_at_run_time(tmp_path, link):
    src = tmp_path / "prog.c"
    src.write_text(PROG)
    exe = tmp_path / "prog"
    lib = [BUILD / "libdefer.a"] if link == "static" else \
        ["-L", BUILD, "-ldefer", "-Wl,-rpath," + str(BUILD)]
    sh("cc", "-I", ROOT / "libdefer/include", src, "-o", exe, *lib, "-lpthread")
    v = header_version()
    assert sh(exe).splitlines()[0] == "header %s library %s" % (v, v)


def test_the_shared_library_has_its_real_name_and_the_major_as_soname():
    v = header_version()
    real = BUILD / ("libdefer.so." + v)
    assert real.is_file() and not real.is_symlink()
    assert (BUILD / "libdefer.so.1").resolve() == real.resolve()
    assert (BUILD / "libdefer.so").resolve() == real.resolve()
    assert soname(real) == "libdefer.so." + v.split(".")[0]


def test_defer_inspect_deferdb_and_the_extension_print_the_version():
    v = header_version()
    assert sh(BUILD / "defer-inspect", "--version") == "defer-inspect (libdefer) %s\n" % v
    lines = sh(ROOT / "gdb/deferdb", "--version").splitlines()
    assert lines[0] == "deferdb (libdefer) %s" % v
    assert lines[1] == sh("gdb", "--version").splitlines()[0]
    out = sh("gdb", "-nx", "-batch", "-ix", ROOT / "gdb/libdefer-gdb.py",
             "-ex", "show defer version",
             "-ex", "python import libdefer_gdb; print('V', libdefer_gdb.__version__)")
    assert "libdefer gdb extension %s (gdb " % v in out and "V %s\n" % v in out, out


def test_installed_copies_carry_the_version_written_in(tmp_path):
    v = header_version()
    sh("make", "-s", "install-files", "DESTDIR=%s" % tmp_path, "PREFIX=/usr/local")
    pc = (tmp_path / "usr/local/lib/pkgconfig/libdefer.pc").read_text()
    assert "\nVersion: %s\n" % v in pc
    # Read away from the source tree: nothing to fall back on.
    deferdb = (tmp_path / "usr/local/bin/deferdb").read_text()
    assert "version=%s\n" % v in deferdb
    ext = (tmp_path / "usr/local/share/libdefer/gdb/libdefer_gdb/version.py").read_text()
    assert '_INSTALLED = "%s"' % v in ext
    for page in ("man1/deferdb.1", "man1/defer-inspect.1", "man3/defer.3"):
        th = next(ln for ln in (tmp_path / "usr/local/share/man" / page).read_text().splitlines()
                  if ln.startswith(".TH "))
        assert '"libdefer %s"' % v in th, th


def test_changing_the_three_header_lines_changes_every_version(tmp_path):
    """A copy of the source tree (a clone or an unpacked tarball), its
    header bumped to 2.3.4: the build and the tools follow, with nothing
    else edited."""
    tmp_path = tmp_path / "tree"
    shutil.copytree(ROOT, tmp_path, symlinks=True,
                    ignore=shutil.ignore_patterns("build", ".git", "__pycache__", ".pytest_cache"))
    h = tmp_path / "libdefer/include/defer.h"
    text = h.read_text()
    for k, n in (("MAJOR", 2), ("MINOR", 3), ("PATCH", 4)):
        text = re.sub(r"^(#define LIBDEFER_VERSION_%s) \d+$" % k, r"\g<1> %d" % n, text,
                      flags=re.M)
    h.write_text(text)
    assert sh("make", "-s", "version", cwd=tmp_path).strip() == "2.3.4"
    sh("make", "-s", "-j2", "build/libdefer.so.2.3.4", "build/defer-inspect",
       cwd=tmp_path)
    assert soname(tmp_path / "build/libdefer.so.2.3.4") == "libdefer.so.2"
    assert (tmp_path / "build/libdefer.so.2").resolve().name == "libdefer.so.2.3.4"
    assert sh(tmp_path / "build/defer-inspect", "--version").endswith(" 2.3.4\n")
    assert sh(tmp_path / "gdb/deferdb", "--version").startswith("deferdb (libdefer) 2.3.4\n")
    out = sh("gdb", "-nx", "-batch", "-ix", tmp_path / "gdb/libdefer-gdb.py",
             "-ex", "python import libdefer_gdb; print('V', libdefer_gdb.__version__)")
    assert "V 2.3.4\n" in out, out


def test_every_symbol_debian_records_is_still_exported_under_the_same_soname():
    """The soname policy: removing an exported symbol bumps the major.
    debian/libdefer1.symbols lists what 1.x exports (dpkg-gensymbols also
    fails the package build on a removal); additions need a new line."""
    lines = (ROOT / "debian/libdefer1.symbols").read_text().splitlines()
    lib, pkg = lines[0].split()[:2]
    major = header_version().split(".")[0]
    assert (lib, pkg) == ("libdefer.so." + major, "libdefer" + major)
    recorded = {ln.split("@")[0].strip() for ln in lines[1:] if not ln.startswith("*")}
    exported = set(sh("nm", "-D", "--defined-only", BUILD / "libdefer.so").split()[2::3])
    assert recorded - exported == set()         # a removal: bump the major
    assert exported - recorded == set()         # an addition: record it (its version)
    assert {"defer_version", "deferproc", "gopanic", "gorecover"} <= recorded
