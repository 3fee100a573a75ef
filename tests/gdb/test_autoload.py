# SPDX-License-Identifier: MIT
"""Auto-loading (.debug_gdb_scripts), the deferdb launcher, and what each of
them trusts: nothing that a debugged program or a core carries runs, and
the extension is imported only from where its owner put it."""
import os
import re
import subprocess

import pytest

from gdbtest import BUILD, GDB_DIR, ROOT, compile_program, defers_of, gdb, scen

DEFERDB = ROOT / "gdb" / "deferdb"


def _script_entries(path, tmp):
    """The .debug_gdb_scripts entries of an ELF file: [(type, text)]."""
    dump = tmp / "section"
    subprocess.run(["objcopy", "--dump-section", ".debug_gdb_scripts=%s" % dump,
                    str(path), str(tmp / "copy")], check=True, capture_output=True)
    data, out = dump.read_bytes(), []
    while data:
        kind, rest = data[0], data[1:]
        text, _, data = rest.partition(b"\0")
        out.append((kind, text.decode()))
    return out


def _deferdb(*argv, env=None, timeout=120):
    e = dict(os.environ)
    e.pop("LIBDEFER_GDB_DIR", None)
    e.update(env or {})
    r = subprocess.run([str(DEFERDB), *map(str, argv)], capture_output=True, text=True,
                       timeout=timeout, env=e, stdin=subprocess.DEVNULL)
    return r.stdout + r.stderr


def test_the_autoload_entry_names_a_script_file_and_holds_no_code(tmp_path):
    for lib in (BUILD / "libdefer.so.1", scen(link="static")):
        assert _script_entries(lib, tmp_path) == [(1, str(GDB_DIR / "libdefer-gdb.py"))], lib


def test_autoload_from_shared_libdefer_trusting_only_the_extension_directory():
    exe = scen(link="shared")
    out = gdb("break checkpoint", "run", "info defers", exe=exe, args=["basic"], load="autoload")
    assert len(defers_of(out)) == 6, out
    assert "declined" not in out and "warning" not in out.lower(), out


def test_autoload_from_static_program_trusting_only_the_extension_directory():
    """Needs the runtime to reference __defer_gdb_autoload so that the linker
    keeps gdb_autoload.o (and its section) in static links."""
    exe = scen(link="static")
    out = gdb("break checkpoint", "run", "info defers", exe=exe, args=["basic"], load="autoload")
    assert len(defers_of(out)) == 6, out
    assert "declined" not in out, out


def test_trusting_the_programs_directory_no_longer_loads_anything(tmp_path):
    """The advice docs/gdb.md used to give (trust the program's directory)
    now trusts nothing of libdefer's: the entry is checked against the script
    file, which lives elsewhere."""
    exe = scen(link="static")
    out = gdb("info defers", exe=exe, load=None, pre=["add-auto-load-safe-path %s" % exe.parent])
    assert 'Undefined info command: "defers"' in out
    assert "auto-loading has been declined" in out


def test_autoload_declined_outside_safe_path_gives_gdb_warning_only():
    exe = scen(link="shared")
    out = gdb("break checkpoint", "run", "info defers", exe=exe, args=["basic"], load=None)
    assert 'Undefined info command: "defers"' in out
    assert "auto-loading has been declined" in out


def test_deferdb_launcher_needs_no_setup(tmp_path):
    exe = scen(link="static")
    out = _deferdb("-nx", "-batch", "-ex", "break checkpoint", "-ex", "run", "-ex", "info defers",
                   "-ex", "bt", exe, "basic", env={"HOME": str(tmp_path)})
    assert len(defers_of(out)) == 6, out
    assert "declined" not in out and "Traceback" not in out


def _safe_path(out):
    m = re.search(r'auto-load files is "?([^"\n]*?)"?\.$', out, re.M)
    assert m, out
    return m.group(1).split(":")


def test_deferdb_trusts_exactly_the_extension_entry_script(tmp_path):
    exe = scen(link="static")
    plain = _safe_path(gdb("show auto-load safe-path", load=None))
    out = _deferdb("-nx", "-batch", "-ex", "show auto-load safe-path", exe,
                   env={"HOME": str(tmp_path)})
    assert _safe_path(out) == plain + [str(GDB_DIR / "libdefer-gdb.py")], out


def _entry_naming(tmp_path, script):
    """A program whose .debug_gdb_scripts entry names `script`."""
    src = tmp_path / "names.c"
    src.write_text('__asm__(".pushsection \\".debug_gdb_scripts\\", \\"MS\\",@progbits,1\\n'
                   '.byte 1\\n.asciz \\"%s\\"\\n.popsection\\n");\n'
                   "int main(void) { return 0; }\n" % script)
    exe = tmp_path / "names"
    subprocess.run(["gcc", "-g", str(src), "-o", str(exe)], check=True)
    return exe


def test_deferdb_does_not_run_other_files_of_the_extensions_directory(tmp_path):
    """gdb/ also holds bench.py: a program naming it must not start it."""
    exe = _entry_naming(tmp_path, GDB_DIR / "bench.py")
    out = _deferdb("-nx", "-batch", "-ex", "info auto-load python-scripts", exe,
                   env={"HOME": str(tmp_path)})
    assert "declined" in out, out
    assert re.search(r"^No\s+%s" % re.escape(str(GDB_DIR / "bench.py")), out, re.M), out


def test_deferdb_through_a_symlink_uses_the_real_gdb_directory(tmp_path):
    (tmp_path / "libdefer-gdb.py").write_text("open(%r, 'w').write('ran')\n" %
                                              str(tmp_path / "marker"))
    link = tmp_path / "deferdb"
    link.symlink_to(DEFERDB)
    r = subprocess.run([str(link), "-nx", "-batch", "-ex", "show auto-load safe-path"],
                       capture_output=True, text=True, timeout=60,
                       env={k: v for k, v in os.environ.items() if k != "LIBDEFER_GDB_DIR"})
    assert not (tmp_path / "marker").exists(), r.stdout + r.stderr
    assert _safe_path(r.stdout + r.stderr)[-1] == str(GDB_DIR / "libdefer-gdb.py")


@pytest.mark.parametrize("argv", [["-q", "PROG", "basic"], ["-ex", "echo", "PROG", "basic"],
                                  ["-ex", "echo", "-iex", "set width 0", "PROG", "basic"]])
def test_deferdb_finds_the_program_after_options_with_values(tmp_path, argv):
    """`deferdb -q PROG ARG` runs PROG with ARG: ARG is neither a core nor a
    pid, and an option's value is never taken for the program."""
    exe = scen(link="static")
    argv = [str(exe) if a == "PROG" else a for a in argv]
    out = _deferdb("-nx", "-batch", "-ex", "show args", *argv, env={"HOME": str(tmp_path)})
    assert 'Argument list to give program being debugged when it is started is "basic".' in out, out


# A program that carries an inline Python script (type 4) of its own, as an
# attacker's binary would: the script drops a marker file.
EVIL = r'''
#include <defer.h>
__asm__(".pushsection \".debug_gdb_scripts\", \"MS\",@progbits,1\n"
        ".byte 4\n"
        ".ascii \"gdb.inlined-script.evil\\n\"\n"
        ".ascii \"open('MARKER', 'w').write('ran')\\n\"\n"
        ".byte 0\n"
        ".popsection\n");
static void nothing(int x) { (void)x; }
int main(void)
{
	defer_frame;
	defer(nothing, 1);
	__builtin_trap();
}
'''


def _evil_program(tmp_path, dirname):
    marker = tmp_path / "marker"
    d = tmp_path / dirname
    d.mkdir()
    exe = compile_program(EVIL.replace("MARKER", str(marker)), name="evil")
    prog = d / "evil"
    prog.write_bytes(exe.read_bytes())
    prog.chmod(0o755)
    return prog, marker


@pytest.mark.parametrize("dirname", ["plain", "with:colon", "with space"])
def test_deferdb_never_runs_a_script_the_program_carries(tmp_path, dirname):
    prog, marker = _evil_program(tmp_path, dirname)
    env = {"HOME": str(tmp_path)}
    out = _deferdb("-batch", "-ex", "quit", prog, env=env)
    assert not marker.exists(), out
    assert "declined" in out, out       # plain gdb's treatment: declined, said so
    core = tmp_path / "evil.core"
    gdb("run", "gcore %s" % core, exe=prog, load=None, pre=["set auto-load python-scripts off"])
    assert core.exists()
    out = _deferdb(prog, core, "-batch", "-ex", "info defers", env=env)
    assert not marker.exists(), out
    assert "nothing(x=1)" in out, out


def test_deferdb_finds_no_extension_beside_a_copied_launcher(tmp_path):
    """A copy of deferdb in a directory others can write to must not import a
    package planted in its parent (../share/libdefer/gdb)."""
    (tmp_path / "bin").mkdir()
    planted = tmp_path / "share" / "libdefer" / "gdb"
    (planted / "libdefer_gdb").mkdir(parents=True)
    marker = tmp_path / "marker"
    (planted / "libdefer-gdb.py").write_text("open(%r, 'w').write('ran')\n" % str(marker))
    (planted / "libdefer_gdb" / "__init__.py").write_text(
        "open(%r, 'w').write('ran')\n" % str(marker))
    copy = tmp_path / "bin" / "deferdb"
    copy.write_text(DEFERDB.read_text())
    copy.chmod(0o755)
    r = subprocess.run([str(copy), "-nx", "-batch", "-ex", "quit"], capture_output=True,
                       text=True, timeout=60, env={k: v for k, v in os.environ.items()
                                                   if k != "LIBDEFER_GDB_DIR"})
    assert not marker.exists(), r.stdout + r.stderr
    assert "cannot find libdefer-gdb.py" in r.stderr


def test_deferdb_opens_a_core(tmp_path):
    exe = scen()
    core = tmp_path / "t.core"
    gdb("break checkpoint", "run", "gcore %s" % core, exe=exe, args=["threads", "2", "1"])
    out = _deferdb(exe, core, "-nx", "-batch", "-ex", "info defers all")
    assert "step_many(i=0)" in out and "release(id=-1" in out, out


def test_the_entry_script_imports_only_its_own_package(tmp_path):
    """A libdefer_gdb earlier on sys.path (or in the current directory) is
    not what the entry script imports."""
    planted = tmp_path / "libdefer_gdb"
    planted.mkdir()
    marker = tmp_path / "marker"
    (planted / "__init__.py").write_text("open(%r, 'w').write('ran')\n" % str(marker))
    out = gdb("python import libdefer_gdb; print('PKG', libdefer_gdb.__file__)",
              load=None, pre=["python import sys; sys.path.insert(0, %r)" % str(tmp_path),
                              "source %s" % (GDB_DIR / "libdefer-gdb.py")])
    assert not marker.exists(), out
    assert "PKG %s" % (GDB_DIR / "libdefer_gdb" / "__init__.py") in out, out


@pytest.mark.parametrize("dirname", ["with:colon", "glob*"])
def test_deferdb_trusts_nothing_it_cannot_name_exactly_and_still_loads(tmp_path, dirname):
    """gdb splits the safe-path at ':' and matches entries as patterns: an
    extension under such a path is loaded (by -ix) but nothing is trusted."""
    import shutil
    copy = tmp_path / dirname / "gdb"
    shutil.copytree(GDB_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    plain = _safe_path(gdb("show auto-load safe-path", load=None))
    r = subprocess.run([str(copy / "deferdb"), "-nx", "-batch", "-ex", "show auto-load safe-path",
                        "-ex", "python import libdefer_gdb; print('PKG', libdefer_gdb.__file__)"],
                       capture_output=True, text=True, timeout=60,
                       env={k: v for k, v in os.environ.items() if k != "LIBDEFER_GDB_DIR"})
    out = r.stdout + r.stderr
    assert _safe_path(out) == plain, out
    assert "PKG %s" % (copy / "libdefer_gdb" / "__init__.py") in out, out
