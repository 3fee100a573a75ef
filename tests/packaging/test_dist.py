# SPDX-License-Identifier: MIT
"""make dist: libdefer-VERSION.tar.gz holds exactly the tracked files under
libdefer-VERSION/, and the unpacked tree builds with `make` and passes a
subset of the tests run from inside it (the whole `make test` takes about
10 minutes: this subset covers the runtime, the examples, the reader on
cores and live processes, the gdb extension's auto-load and info defers,
the version and make install, in about a minute)."""
import os
import subprocess
import tarfile

import pytest

from pkgtest import BUILD, ROOT

SUBSET = ["tests/runtime/test_runtime.py", "tests/runtime/test_abi.py", "tests/examples",
          "tests/reader/test_dump.py", "tests/reader/test_cli.py", "tests/reader/test_schema.py",
          "tests/gdb/test_autoload.py", "tests/gdb/test_info_defers.py",
          "tests/packaging/test_version.py", "tests/packaging/test_install_layout.py"]


def sh(*cmd, cwd=ROOT, timeout=600):
    r = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, cwd=cwd,
                       timeout=timeout)
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-5000:]
    return r.stdout


pytestmark = pytest.mark.skipif(not (ROOT / ".git").exists(),
                                reason="make dist archives a git checkout (this is not one)")


@pytest.fixture(scope="module")
def tarball():
    # The tracked files as they are in the work tree (HEAD when it is clean).
    ref = sh("git", "stash", "create").strip() or "HEAD"
    version = sh("make", "-s", "version").strip()
    path = BUILD / ("libdefer-%s.tar.gz" % version)
    if path.exists():
        path.unlink()
    sh("make", "-s", "dist", "DIST_REF=" + ref)
    return path, version, ref


def test_dist_tarball_holds_exactly_the_tracked_files(tarball):
    path, version, ref = tarball
    with tarfile.open(path) as t:
        names = {m.name for m in t.getmembers() if not m.isdir()}
    tracked = set(sh("git", "ls-tree", "-r", "--name-only", ref).split())
    assert names == {"libdefer-%s/%s" % (version, f) for f in tracked}
    for f in ("LICENSE", "debian/control", "man/defer.3", "libdefer/src/version.c"):
        assert "libdefer-%s/%s" % (version, f) in names, f


@pytest.mark.skipif(os.geteuid() != 0, reason="the subset includes the install tests")
def test_unpacked_tarball_builds_and_passes_the_release_subset_of_the_tests(tarball, tmp_path):
    path, version, _ = tarball
    with tarfile.open(path) as t:
        t.extractall(tmp_path)
    tree = tmp_path / ("libdefer-" + version)
    sh("make", "-j2", cwd=tree)
    # The host's build only: the aarch64 cases need `make ARCH=aarch64`
    # (make test builds it in the clone; here it would double the time).
    out = sh("/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUBSET,
             "-k", "not aarch64", cwd=tree, timeout=900)
    assert " passed" in out and "failed" not in out and "error" not in out, out[-3000:]
