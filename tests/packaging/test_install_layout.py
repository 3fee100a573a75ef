# SPDX-License-Identifier: MIT
"""make install as the issue's new user runs it (PREFIX=/usr/local, live,
in the overlay namespace of pkgtest.py): the real-name library and its
links in the loader's cache, a -static link through pkg-config --static,
the man pages found by man and rendering without warnings; make uninstall
takes the library out of the cache again."""
import os
import re

import pytest

from pkgtest import PROG, ROOT, in_namespace, written

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces")

SCRIPT = r'''
make -s -C "$ROOT" install PREFIX=/usr/local > /dev/null
cd "$T"
ls -l /usr/local/lib/libdefer.so* > links.txt
ldconfig -p | grep libdefer > cache.txt || true
cat > prog.c <<'PROG'
%(prog)s
PROG
cc -o shared prog.c $(pkg-config --cflags --libs libdefer)
cc -static -o static prog.c $(pkg-config --static --cflags --libs libdefer)
pkg-config --static --libs libdefer > static-libs.txt
readelf -l static > static.phdrs
./shared > shared.out
./static > static.out
for page in "3 defer" "1 deferdb" "1 defer-inspect"; do
	readlink -f "$(man --warnings -w $page)" >> man.paths  # /usr/local/man is a link
	MANWIDTH=80 man --warnings $page > "man-${page#* }.txt" 2>> man.err
done
make -s -C "$ROOT" uninstall PREFIX=/usr/local > /dev/null
ldconfig -p | grep libdefer > cache-after.txt || true
'''


def test_make_install_links_statically_through_pkg_config_and_installs_man_pages(tmp_path):
    in_namespace(tmp_path, SCRIPT % {"prog": PROG})
    links = (tmp_path / "links.txt").read_text()
    assert re.search(r"libdefer\.so -> libdefer\.so\.1\n", links), links
    assert re.search(r"libdefer\.so\.1 -> libdefer\.so\.1\.\d+\.\d+\n", links), links
    assert re.search(r"-rw-r--r-- .* /usr/local/lib/libdefer\.so\.1\.\d+\.\d+\n", links), links
    # ldconfig ran: the loader's cache knows the soname.
    assert "libdefer.so.1 (libc6,x86-64) => /usr/local/lib/libdefer.so.1" in \
        (tmp_path / "cache.txt").read_text()
    assert "-lgcc_s" not in (tmp_path / "static-libs.txt").read_text()
    assert "INTERP" not in (tmp_path / "static.phdrs").read_text()
    for kind in ("shared", "static"):
        out = (tmp_path / (kind + ".out")).read_text()
        assert "recovered: request 7 failed" in out and "status 500" in out, out
    assert (tmp_path / "man.paths").read_text().split() == [
        "/usr/local/share/man/man3/defer.3", "/usr/local/share/man/man1/deferdb.1",
        "/usr/local/share/man/man1/defer-inspect.1"]
    assert (tmp_path / "man.err").read_text() == ""
    assert (tmp_path / "cache-after.txt").read_text() == ""
    assert written(tmp_path, "/usr") == []


def page(tmp_path, name):
    return (tmp_path / ("man-%s.txt" % name)).read_text()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    t = tmp_path_factory.mktemp("man")
    in_namespace(t, r'''
make -s -C "$ROOT" install-man PREFIX=/usr/local > /dev/null
cd "$T"
for page in "3 defer" "1 deferdb" "1 defer-inspect"; do
	MANWIDTH=200 man $page > "man-${page#* }.txt"
done
''')
    return {n: page(t, n) for n in ("defer", "deferdb", "defer-inspect")}


def test_defer_3_documents_the_whole_api_the_example_and_the_limits(pages):
    text = pages["defer"]
    header = (ROOT / "libdefer/include/defer.h").read_text()
    for name in ("defer_frame", "defer(fn", "defer_result(var)", "panic(fmt", "panic_value(",
                 "recover()", "defer_goexit()", "defer_version()", "LIBDEFER_VERSION_MAJOR",
                 "DEFER_TRACEBACK=crash", "-DDEFER_NO_OPEN_CODE", "soname"):
        assert name in text, name
    # Every function the header exports to users is in the page.
    for fn in ("defer_goexit", "defer_version", "recover"):
        assert fn in header
    assert "EXAMPLES" in text and "defer(fclose, f);" in text
    assert "BUGS" in text and "longjmp" in text and "x86-64" in text


def test_defer_inspect_1_documents_every_command_option_and_exit_code(pages):
    text = pages["defer-inspect"]
    main = (ROOT / "dwarf-reader/tool/main.c").read_text()
    options = re.findall(r'\{ "([a-z-]+)", (?:no|required)_argument', main)
    assert len(options) >= 10, options
    for opt in options:
        assert "--" + opt in text, opt
    for cmd in ("layout", "sites", "dump --core", "dump --pid"):
        assert cmd in text, cmd
    codes = re.findall(r"DR_E\w+ = (\d+),", (ROOT / "dwarf-reader/include/dreader.h").read_text())
    status = text[text.index("EXIT STATUS"):text.index("ENVIRONMENT")]
    for code in ["0"] + codes:
        assert re.search(r"^\s+%s\s+\S" % code, status, re.M), (code, status)


def test_deferdb_1_documents_its_options_and_the_extension_commands(pages):
    text = pages["deferdb"]
    for word in ("--tui", "--version", "-p pid", "LIBDEFER_GDB_DIR", "info defers", "info panics",
                 "catch panic", "defer step", "show defer version",
                 "/etc/gdb/gdbinit.d/libdefer.gdb"):
        assert word in text, word


def test_readme_install_section_names_every_file_install_writes_but_the_extension(tmp_path):
    import subprocess
    subprocess.run(["make", "-s", "-C", str(ROOT), "install-files", "DESTDIR=%s" % tmp_path,
                    "PREFIX=/usr/local"], check=True, capture_output=True)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Install"):readme.index("## In 30 seconds")]
    files = [p for p in tmp_path.rglob("*") if not p.is_dir() and "share/libdefer" not in str(p)]
    assert len(files) >= 13
    for p in files:
        name = p.name if "/man/" not in str(p) else "%s(%s)" % (p.stem, p.suffix[1:])
        assert name in section, name
    assert "make uninstall" in section and "apt-get purge" in section
