# SPDX-License-Identifier: MIT
"""make install as a user runs it, and plain gdb afterwards.

Each test installs for real, into PREFIX=/usr/local or /usr, inside a
private mount namespace whose /usr, /etc and /opt are overlays over the
machine's: the install, ldconfig and gdb all see the installed files, and
nothing of it reaches the machine.  The overlays' upper layers also show
exactly what a command wrote."""
import os
import subprocess

import pytest

from gdbtest import ROOT, SCEN_C, defers_of

INCLUDE = ROOT / "libdefer" / "include"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces")

# Runs inside `unshare -m`: $T is the test's directory.  Overlays first.
PREAMBLE = r'''
set -eu
for d in /usr /etc /opt; do
	mkdir -p "$T/ov$d/u" "$T/ov$d/w" "$d"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$T/ov$d/u,workdir=$T/ov$d/w" "$d"
done
'''


def in_namespace(tmp_path, script, timeout=600):
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        PREAMBLE + script], capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, T=str(tmp_path), ROOT=str(ROOT),
                                SCEN=str(SCEN_C), HOME=str(tmp_path / "home")))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


def written(tmp_path, top):
    """Files (not directories) a command wrote below `top` (/usr, /etc, /opt)."""
    upper = tmp_path / ("ov" + top) / "u"
    return sorted(str(p.relative_to(upper)) for p in upper.rglob("*")
                  if not p.is_dir())


# A planted copy of the extension where the source tree's was: if anything
# still pointed at the build tree, it would run and leave a marker.
PLANT = r'''
mkdir -p "$T/planted/libdefer_gdb" "$T/home"
echo "open('$T/marker', 'w').write('planted')" > "$T/planted/libdefer-gdb.py"
cp "$T/planted/libdefer-gdb.py" "$T/planted/libdefer_gdb/__init__.py"
mount --bind "$T/planted" "$ROOT/gdb"
'''

# Plain gdb: no -nx (it would skip /etc/gdb/gdbinit.d), an empty HOME.
DEBUG = r'''
gdb -batch -ex 'break checkpoint' -ex run -ex 'info defers' \
	-ex 'python import libdefer_gdb; print("PKG", libdefer_gdb.__file__)' \
	--args "$1" basic > "$T/$2.out" 2>&1
'''


@pytest.mark.parametrize("prefix", ["/usr/local", "/usr"])
def test_plain_gdb_loads_the_installed_extension_with_no_configuration(tmp_path, prefix):
    out = in_namespace(tmp_path, r'''
make -s -C "$ROOT" install PREFIX=%(p)s >/dev/null
%(plant)s
debug() { %(debug)s }
cc -g -O0 -o "$T/shared" "$SCEN" $(pkg-config --cflags --libs libdefer) -lpthread
cc -g -O0 -o "$T/static" "$SCEN" $(pkg-config --cflags libdefer) %(p)s/lib/libdefer.a -lpthread
debug "$T/shared" shared
debug "$T/static" static
''' % {"p": prefix, "plant": PLANT, "debug": DEBUG})
    pkg = "PKG %s/share/libdefer/gdb/libdefer_gdb/__init__.py" % prefix
    for kind in ("shared", "static"):
        text = (tmp_path / ("%s.out" % kind)).read_text()
        assert len(defers_of(text)) == 6, text
        assert pkg in text, text
        assert "warning" not in text.lower() and "declined" not in text, text
    assert not (tmp_path / "marker").exists(), out
    # What gdb was told to trust: exactly the extension's directory.
    conf = (tmp_path / "ov/etc/u/gdb/gdbinit.d/libdefer.gdb").read_text()
    trusted = [ln for ln in conf.splitlines() if ln and not ln.startswith("#")]
    assert trusted == ["add-auto-load-safe-path %s/share/libdefer/gdb/libdefer-gdb.py" % prefix], conf
    # ldconfig ran (the shared program found libdefer.so.1 without help).
    assert "ld.so.cache" in written(tmp_path, "/etc"), written(tmp_path, "/etc")


def test_staging_with_destdir_writes_only_below_destdir_and_names_no_build_path(tmp_path):
    in_namespace(tmp_path, r'''
make -s -C "$ROOT" install DESTDIR="$T/dest" PREFIX=/usr/local >/dev/null
''')
    for top in ("/usr", "/etc", "/opt"):
        assert written(tmp_path, top) == [], top
    dest = tmp_path / "dest"
    files = [p for p in dest.rglob("*") if p.is_file()]
    assert len(files) > 15, files
    for p in files:
        assert str(ROOT).encode() not in p.read_bytes(), p
    assert (dest / "etc/gdb/gdbinit.d/libdefer.gdb").is_file()


def test_uninstall_removes_every_file_install_wrote(tmp_path):
    in_namespace(tmp_path, r'''
make -s -C "$ROOT" install DESTDIR="$T/dest" PREFIX=/usr/local >/dev/null
make -s -C "$ROOT" uninstall DESTDIR="$T/dest" PREFIX=/usr/local >/dev/null
''')
    left = [str(p) for p in (tmp_path / "dest").rglob("*") if not p.is_dir()]
    assert left == []


def test_installed_deferdb_loads_only_the_installed_package(tmp_path):
    in_namespace(tmp_path, r'''
make -s -C "$ROOT" install PREFIX=/usr/local >/dev/null
%(plant)s
cc -g -O0 -o "$T/static" "$SCEN" -I/usr/local/include /usr/local/lib/libdefer.a -lpthread
/usr/local/bin/deferdb -nx -batch -ex 'break checkpoint' -ex run -ex 'info defers' \
	-ex 'python import libdefer_gdb; print("PKG", libdefer_gdb.__file__)' \
	"$T/static" basic > "$T/deferdb.out" 2>&1
''' % {"plant": PLANT})
    text = (tmp_path / "deferdb.out").read_text()
    assert "PKG /usr/local/share/libdefer/gdb/libdefer_gdb/__init__.py" in text, text
    assert len(defers_of(text)) == 6, text
    assert "declined" not in text, text
    assert not (tmp_path / "marker").exists()
