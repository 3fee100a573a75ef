"""Auto-loading (.debug_gdb_scripts, objfile-gdb.py), the deferdb launcher,
make install."""
import os
import subprocess

import pytest

from gdbtest import BUILD, ROOT, defers_of, gdb, scen


def _has_script_section(path):
    r = subprocess.run(["readelf", "-W", "-S", str(path)], capture_output=True, text=True)
    return ".debug_gdb_scripts" in r.stdout


def test_shared_library_carries_the_autoload_entry():
    assert _has_script_section(BUILD / "libdefer.so.1")


def test_autoload_from_shared_libdefer():
    exe = scen(link="shared")
    out = gdb("break checkpoint", "run", "info defers", exe=exe, args=["basic"], load="autoload")
    assert len(defers_of(out)) == 6, out


def test_autoload_from_static_program():
    """Needs the runtime to reference __defer_gdb_autoload so that the linker
    keeps gdb_autoload.o (and its section) in static links."""
    exe = scen(link="static")
    assert _has_script_section(exe), "static program lost .debug_gdb_scripts"
    out = gdb("break checkpoint", "run", "info defers", exe=exe, args=["basic"], load="autoload")
    assert len(defers_of(out)) == 6, out


def test_autoload_declined_outside_safe_path_gives_gdb_warning_only():
    exe = scen(link="shared")
    out = gdb("break checkpoint", "run", "info defers", exe=exe, args=["basic"], load=None)
    assert 'Undefined info command: "defers"' in out
    assert "auto-loading has been declined" in out


def test_deferdb_launcher_needs_no_setup(tmp_path):
    exe = scen(link="static")
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("LIBDEFER_GDB_DIR", None)
    r = subprocess.run([str(ROOT / "gdb" / "deferdb"), "-nx", "-batch", "-ex", "break checkpoint",
                        "-ex", "run", "-ex", "info defers", "-ex", "bt", str(exe), "basic"],
                       capture_output=True, text=True, timeout=120, env=env,
                       stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    assert len(defers_of(out)) == 6, out
    assert "declined" not in out and "Traceback" not in out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = tmp_path_factory.mktemp("dest")
    prefix = "/opt/libdefer-test"
    r = subprocess.run(["make", "-C", str(ROOT), "install-gdb", "install-libdefer",
                        "DESTDIR=%s" % dest, "PREFIX=%s" % prefix],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return dest, prefix


def test_make_install_puts_everything_in_place(installed):
    dest, prefix = installed
    root = dest / prefix.lstrip("/")
    assert (root / "bin" / "deferdb").stat().st_mode & 0o111
    assert (root / "share/libdefer/gdb/libdefer-gdb.py").is_file()
    assert (root / "share/libdefer/gdb/libdefer_gdb/records.py").is_file()
    script = root / ("share/gdb/auto-load%s/lib/libdefer.so.1-gdb.py" % prefix)
    assert "%s/share/libdefer/gdb" % prefix in script.read_text()


def test_installed_deferdb_finds_installed_package(installed, tmp_path):
    dest, prefix = installed
    root = dest / prefix.lstrip("/")
    exe = scen(link="static")
    # Move the source tree's package out of the way for this process by
    # pointing deferdb at nothing but its install location.
    env = dict(os.environ, HOME=str(tmp_path))
    r = subprocess.run([str(root / "bin" / "deferdb"), "-nx", "-batch", "-ex",
                        "python import libdefer_gdb; print('PKG', libdefer_gdb.__file__)",
                        "-ex", "break checkpoint", "-ex", "run", "-ex", "info defers",
                        str(exe), "basic"], capture_output=True, text=True, timeout=120,
                       env=env, stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    assert "PKG %s" % (root / "share/libdefer/gdb/libdefer_gdb/__init__.py") in out, out
    assert len(defers_of(out)) == 6, out


def test_deferdb_opens_a_core(tmp_path):
    exe = scen()
    core = tmp_path / "t.core"
    gdb("break checkpoint", "run", "gcore %s" % core, exe=exe, args=["threads", "2", "1"])
    r = subprocess.run([str(ROOT / "gdb" / "deferdb"), str(exe), str(core), "-nx", "-batch",
                        "-ex", "info defers all"], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    assert "step_many(i=0)" in out and "release(id=-1" in out, out
