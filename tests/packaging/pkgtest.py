# SPDX-License-Identifier: MIT
"""Helpers for the packaging tests: a private mount namespace whose /usr,
/etc, /opt and /var are overlays over the machine's, as in
tests/gdb/test_install.py, so that an install (make install, or apt-get
install of the built .debs with dpkg's database in /var) is real for every
command run inside and nothing of it reaches the machine.  The overlays'
upper layers show exactly what the commands left behind."""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BUILD = ROOT / "build"

PREAMBLE = r'''
set -eu
for d in %s; do
	mkdir -p "$T/ov$d/u" "$T/ov$d/w" "$d"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$T/ov$d/u,workdir=$T/ov$d/w" "$d"
done
'''

# A program that uses the whole contract a user links against: the
# header's version and the library's, a deferred call with arguments, a
# recovered panic, and a function to break on while calls are pending.
PROG = r'''
#include <stdio.h>
#include <string.h>
#include <defer.h>

static int closed;

static void note(const char *what, int n)
{
	printf("ran %s %d\n", what, n);
	closed++;
}

static void to_status(int *status)
{
	const struct _panic *p = recover();
	if (p) {
		printf("recovered: %s\n", p->msg);
		*status = 500;
	}
}

__attribute__((noinline)) void checkpoint(void)
{
	__asm__ volatile("" ::: "memory");
}

static int handle(int i)
{
	int status = 200;
	defer_frame;
	defer_result(status);
	defer(note, "first", i);
	defer(to_status, &status);
	checkpoint();
	if (i == 7)
		panic("request %d failed", i);
	return status;
}

int main(void)
{
	printf("header %s library %s\n", LIBDEFER_VERSION, defer_version());
	printf("status %d\n", handle(7));
	printf("closed %d\n", closed);
	return strcmp(LIBDEFER_VERSION, defer_version()) != 0;
}
'''


def in_namespace(tmp_path, script, tops=("/usr", "/etc", "/opt"), timeout=600, env=None):
    """Run `script` (sh) in the namespace; $T is tmp_path.  Returns its
    output; a failing script fails the test with that output."""
    e = dict(os.environ, T=str(tmp_path), ROOT=str(ROOT), HOME=str(tmp_path / "home"))
    e.update(env or {})
    (tmp_path / "home").mkdir(exist_ok=True)
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        PREAMBLE % " ".join(tops) + script], capture_output=True, text=True,
                       timeout=timeout, env=e)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


def written(tmp_path, top):
    """Files and links (not directories) left below `top` by the commands."""
    upper = tmp_path / ("ov" + top) / "u"
    return sorted(str(p.relative_to(upper)) for p in upper.rglob("*")
                  if p.is_symlink() or not p.is_dir())
