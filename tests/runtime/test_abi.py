# SPDX-License-Identifier: MIT
"""The debugger-visible ABI: well-known symbols, SDT probes, the offsets
table, and make install with pkg-config."""
import re
import subprocess

import pytest

from conftest import ROOT, build_dir, built, compile_program, on_host, run

SYMBOLS = ["deferproc", "deferreturn", "gopanic", "gorecover", "allgs", "fatalpanic",
           "_defer_debug_offsets"]
PROBES = ["defer", "deferreturn", "run", "panic", "recover", "resume", "fatal"]


@pytest.mark.parametrize("lib", ["libdefer.a", "libdefer.so.1"])
def test_well_known_symbols_are_exported(lib):
    out = subprocess.run(["nm", "-D" if lib.endswith(".1") else "-g", "--defined-only",
                          build_dir() / lib], capture_output=True, text=True, check=True).stdout
    names = set(re.findall(r" [TDBR] (\S+)$", out, re.M))
    assert set(SYMBOLS) <= names


@pytest.mark.parametrize("lib", ["libdefer.a", "libdefer.so.1"])
def test_sdt_probes_are_in_the_notes(lib):
    out = subprocess.run(["readelf", "-n", build_dir() / lib], capture_output=True, text=True,
                         check=True).stdout
    found = set(re.findall(r"Provider: libdefer\s+Name: (\w+)", out))
    assert set(PROBES) <= found


OFFSETS_CHECK = r"""
#include <stddef.h>
#include <stdio.h>
#include <defer.h>
int main(void)
{
	const struct defer_debug_offsets *o = &_defer_debug_offsets;
	int ok = o->magic == DEFER_DEBUG_MAGIC && o->version == DEFER_ABI_VERSION &&
		o->allgs == (uint64_t)(uintptr_t)&allgs &&
		o->d.size == sizeof(struct _defer) && o->d.link == offsetof(struct _defer, link) &&
		o->d.fn == offsetof(struct _defer, fn) && o->d.sp == offsetof(struct _defer, sp) &&
		o->d.iregs == offsetof(struct _defer, iregs) &&
		o->d.fregs == offsetof(struct _defer, fregs) &&
		o->p.msg == offsetof(struct _panic, msg) && o->g.tid == offsetof(struct g, tid) &&
		o->g.defer == offsetof(struct g, _defer);
	printf("%s sizeof(struct _defer)=%u\n", ok ? "agree" : "DISAGREE", o->d.size);
	return !ok;
}
"""


@pytest.mark.parametrize("link", ["static", "shared"])
def test_debug_offsets_table_matches_the_headers(link):
    exe = compile_program(OFFSETS_CHECK, link=link, name="offsets")
    r = run(exe)
    assert r.returncode == 0 and r.stdout.startswith("agree")


def test_make_install_honours_prefix_and_destdir_and_pkg_config_works(tmp_path):
    on_host("make install is the host build's (ARCH=aarch64 installs nothing)")
    dest = tmp_path / "root"
    subprocess.run(["make", "-s", "install", "PREFIX=/opt/ld", f"DESTDIR={dest}"], cwd=ROOT,
                   check=True, capture_output=True)
    prefix = dest / "opt" / "ld"
    so = prefix / "lib" / "libdefer.so.1"
    assert (prefix / "include" / "defer.h").exists() and (prefix / "lib" / "libdefer.a").exists()
    soname = subprocess.run(["readelf", "-d", so], capture_output=True, text=True).stdout
    assert "Library soname: [libdefer.so.1]" in soname
    pc = prefix / "lib" / "pkgconfig" / "libdefer.pc"
    assert "prefix=/opt/ld" in pc.read_text()
    # Build a program the way a user would, against the staged tree.
    env = {"PKG_CONFIG_PATH": str(pc.parent), "PKG_CONFIG_SYSROOT_DIR": str(dest),
           "PATH": "/usr/bin:/bin"}
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libdefer"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    src = tmp_path / "p.c"
    src.write_text('#include <defer.h>\n#include <stdio.h>\n'
                   'int main(void){defer_frame; defer(puts, "deferred"); puts("body");}\n')
    subprocess.run(["cc", str(src), "-o", str(tmp_path / "p"), *flags,
                    f"-Wl,-rpath,{prefix}/lib"], check=True)
    assert run(tmp_path / "p").stdout == "body\ndeferred\n"


def test_no_heap_allocation_per_defer_and_big_chains_work():
    exe = built(build_dir() / "bench" / "defer_bench")
    r = run(exe, "200000")
    assert r.returncode == 0, r.stdout
    assert "| heap allocations in 1,000,000 steady-state defers | 0 |" in r.stdout
    assert "1000000 ran" in r.stdout and "10000 ran" in r.stdout


POOL_REUSE = r"""
#include <stdint.h>
#include <stdio.h>
#include <defer.h>
static void nothing(int x) { (void)x; }
static void catcher(void) { recover(); }
/* The panic runs both pool records (started, _panic set), then the mark's
 * own one, which recovers. */
static void ran_by_a_panic(void)
{
	defer_frame;
	defer(catcher);
	defer(nothing, 1);
	defer(nothing, 2);
	panic("x");
}
/* The same two pool records, taken again and pending. */
static void reuse(void)
{
	defer_frame;
	defer(nothing, 0);
	defer(nothing, 3);
	defer(nothing, 4);
	int heap = 0, stale = 0;
	for (struct _defer *d = __defer_tls.g->_defer; d && d->heap; d = d->link) {
		heap++;
		stale += d->_panic != NULL;
	}
	printf("pool records %d, with a _panic %d\n", heap, stale);
}
int main(void)
{
	ran_by_a_panic();
	reuse();
	return 0;
}
"""


@pytest.mark.parametrize("link", ["static", "shared"])
def test_pool_records_a_panic_ran_come_back_with_no_panic(link):
    """docs/abi.md: every pool record's _panic is 0 until it starts, so a
    reader that ignored `started` would still see no stale panic."""
    r = run(compile_program(POOL_REUSE, link=link, name="poolreuse"))
    assert r.returncode == 0, r.stdout
    assert "pool records 2, with a _panic 0" in r.stdout, r.stdout
