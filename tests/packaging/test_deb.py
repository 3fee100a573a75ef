# SPDX-License-Identifier: MIT
"""The Debian packages (debian/, make deb): built with dpkg-buildpackage,
lintian-clean, with their dependencies declared; installed with
`apt-get install ./*.deb` into a namespace whose /usr, /etc, /opt and /var
are overlays (pkgtest.py), where a program is compiled with pkg-config,
run, and debugged with plain gdb; then purged, leaving nothing."""
import os
import re
import subprocess

import pytest

from pkgtest import BUILD, PROG, ROOT, in_namespace, written

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces")
DEB = BUILD / "deb"
PACKAGES = ["libdefer1", "libdefer-dev", "libdefer-gdb", "defer-inspect"]


def version():
    return subprocess.run(["make", "-s", "-C", str(ROOT), "version"], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def debs():
    r = subprocess.run(["make", "-s", "-C", str(ROOT), "deb"], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return {p: next(DEB.glob(p + "_*.deb")) for p in PACKAGES}


def field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_dpkg_buildpackage_builds_the_four_packages_and_lintian_reports_no_error_or_warning(debs):
    v = version()
    for p, deb in debs.items():
        assert field(deb, "Version") == v, deb
    lint = (DEB / "lintian.txt").read_text()
    assert not re.search(r"^[EW]: ", lint, re.M), lint


def test_packages_declare_their_debian_dependencies(debs):
    dev = field(debs["libdefer-dev"], "Depends")
    assert "libdefer1 (= %s)" % version() in dev, dev
    gdbext = field(debs["libdefer-gdb"], "Depends")
    assert re.search(r"\bgdb \(>= 12\)", gdbext) and "python3" in gdbext, gdbext
    tool = field(debs["defer-inspect"], "Depends")
    assert "libdwarf1" in tool and "libelf1" in tool, tool
    lib = field(debs["libdefer1"], "Depends")
    assert "libc6" in lib, lib


def test_the_libraries_keep_the_gdb_auto_load_entry_after_stripping(debs, tmp_path):
    for p in ("libdefer1", "libdefer-dev"):
        subprocess.run(["dpkg-deb", "-x", str(debs[p]), str(tmp_path)], check=True)
    libdir = tmp_path / "usr/lib/x86_64-linux-gnu"
    so = libdir / ("libdefer.so." + version())
    assert "stripped" in subprocess.run(["file", "-L", str(so)], capture_output=True,
                                        text=True).stdout.replace("not stripped", "")
    for f in (so, libdir / "libdefer.a"):
        out = subprocess.run(["objdump", "-s", "-j", ".debug_gdb_scripts", str(f)],
                             capture_output=True, text=True).stdout
        assert "/usr/share/lib" in out, (f, out)


# Plain gdb: no -nx (it would skip /etc/gdb/gdbinit.d), an empty HOME.
USE = r'''
apt-get install -y -q --no-install-recommends %(debs)s > "$T/apt-install.log" 2>&1
v=$(pkg-config --modversion libdefer)
echo "PC $v"
cd "$T"
cat > prog.c <<'PROG'
%(prog)s
PROG
cc -g -O0 -o shared prog.c $(pkg-config --cflags --libs libdefer)
cc -g -O0 -static -o static prog.c $(pkg-config --static --cflags --libs libdefer)
./shared > shared.out
./static > static.out
for p in shared static; do
	gdb -batch -ex 'break checkpoint' -ex run -ex 'info defers' -ex 'show defer version' \
		-ex 'python import libdefer_gdb; print("PKG", libdefer_gdb.__file__)' \
		./$p > $p.gdb 2>&1
done
man --warnings -w 3 defer > man.path
for page in "3 defer" "1 deferdb" "1 defer-inspect"; do
	man --warnings $page 2>> man.err | grep -c . >> man.lines
done
defer-inspect --version > tool.version
deferdb --version > deferdb.version
apt-get purge -y -q %(pkgs)s > "$T/apt-purge.log" 2>&1
dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' %(pkgs)s > "$T/left.txt" 2>&1 || true
'''


def test_installed_packages_compile_run_and_debug_with_plain_gdb_then_purge_cleanly(debs, tmp_path):
    v = version()
    out = in_namespace(tmp_path, USE % {"debs": " ".join(str(d) for d in debs.values()),
                                        "pkgs": " ".join(PACKAGES), "prog": PROG},
                       tops=("/usr", "/etc", "/opt", "/var"))
    assert "PC %s" % v in out, out
    for kind in ("shared", "static"):
        run = (tmp_path / (kind + ".out")).read_text()
        assert "header %s library %s" % (v, v) in run, run
        assert "recovered: request 7 failed" in run and "status 500" in run, run
        assert "ran first 7" in run and "closed 1" in run, run
        text = (tmp_path / (kind + ".gdb")).read_text()
        assert re.search(r"defer 1: to_status\(status=0x[0-9a-f]+\)", text), text
        assert re.search(r'defer 2: note\(what=0x[0-9a-f]+ "first", n=7\)', text), text
        assert "libdefer gdb extension %s" % v in text, text
        assert "PKG /usr/share/libdefer/gdb/libdefer_gdb/__init__.py" in text, text
        assert "warning" not in text.lower() and "declined" not in text, text
    assert (tmp_path / "man.path").read_text().strip() == "/usr/share/man/man3/defer.3.gz"
    assert (tmp_path / "man.err").read_text() == ""
    assert all(int(n) > 40 for n in (tmp_path / "man.lines").read_text().split())
    assert (tmp_path / "tool.version").read_text() == "defer-inspect (libdefer) %s\n" % v
    deferdb = (tmp_path / "deferdb.version").read_text()
    assert deferdb.startswith("deferdb (libdefer) %s\nGNU gdb" % v), deferdb
    # Purged: dpkg knows none of them, and no file of theirs is left (gdb,
    # run as root, wrote bytecode beside the extension: the prerm removes it).
    purge = (tmp_path / "apt-purge.log").read_text()
    assert "warning" not in purge and "not empty" not in purge, purge
    assert "ii" not in (tmp_path / "left.txt").read_text()
    left = [f for top in ("/usr", "/opt") for f in written(tmp_path, top)]
    assert left == [], left
    etc = [f for f in written(tmp_path, "/etc") if f != "ld.so.cache"]
    assert etc == [], etc
