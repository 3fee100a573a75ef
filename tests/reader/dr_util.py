# SPDX-License-Identifier: MIT
"""Helpers for the dwarf-reader / defer-inspect tests.

Programs come from progs/ and are built with conftest.compile_program (the
same runtime build every test directory uses).  Cores are made with gdb's
generate-core-file so the tests do not depend on the system's core_pattern.
gdb output is read through the libdefer gdb extension (gdb/libdefer-gdb.py)
and parsed here, so that dump can be compared with `info defers all` entry
by entry.
"""
import json
import os
import re
import struct
import subprocess
import time
from pathlib import Path

import pytest

import conftest

ROOT = conftest.ROOT
BUILD = conftest.BUILD
PROGS = Path(__file__).resolve().parent / "progs"
TOOL = BUILD / "defer-inspect"
TOOL_ASAN = BUILD / "defer-inspect-asan"
GDB_EXT = ROOT / "gdb" / "libdefer-gdb.py"
OUT = BUILD / "tests" / "reader"


def require_tools():
    """The tool and its sanitizer build (not part of `make all`: make test
    and make test-reader build it)."""
    conftest.built(TOOL)
    conftest.built(TOOL_ASAN)


def prog(name, cc="gcc", opt="-O0", link="static", extra=(), arch=None):
    return conftest.compile_program(PROGS / name, cc=cc, opt=opt, link=link, extra=list(extra),
                                    arch=arch)


def inspect(*args, tool=TOOL, env=None, timeout=60, cwd=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=e, cwd=cwd)


def inspect_json(*args, **kw):
    r = inspect(*args, "--json", **kw)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


class Running:
    """A program started in the background, waited for until it prints ready."""

    def __init__(self, exe, *args, ready="ready", env=None):
        e = dict(os.environ)
        e.pop("DEFER_TRACEBACK", None)
        if env:
            e.update(env)
        self.p = subprocess.Popen([str(exe), *map(str, args)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=e)
        line = self.p.stdout.readline()
        assert ready in line, (line, self.p.stderr.read() if self.p.poll() is not None else "")
        self.pid = self.p.pid

    def state(self):
        return Path("/proc/%d/stat" % self.pid).read_text().rsplit(")", 1)[1].split()[0]

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def gcore(pid, path):
    """A core of a running process, by gdb (the process keeps running)."""
    if os.path.exists(path):
        os.unlink(path)
    r = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid), "-ex",
                        "generate-core-file %s" % path], capture_output=True, text=True,
                       timeout=120)
    assert os.path.exists(path), r.stdout + r.stderr
    return path


def qemu_core(exe, cwd, args=(), env=None):
    """Run exe under qemu until it aborts; the guest core qemu writes
    (the kernel's core of qemu itself, if any, is removed)."""
    subprocess.run(["sh", "-c", 'ulimit -c unlimited; exec "$@"', "sh", *conftest.QEMU, str(exe),
                    *args], cwd=cwd, capture_output=True, timeout=120,
                   env=dict(os.environ, **(env or {})))
    cores = sorted(p for p in os.listdir(cwd) if p.startswith("qemu_") and p.endswith(".core"))
    for p in os.listdir(cwd):
        if p == "core" or p.startswith("core."):
            os.unlink(os.path.join(cwd, p))
    if not cores:
        pytest.fail("qemu wrote no core in %s" % cwd)
    return os.path.join(cwd, cores[0])


def vaddr_to_offset(data, addr):
    """Where the byte at run-time address addr is in a core's bytes."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _, p_off, p_va, _, p_fsz, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == 1 and p_va <= addr < p_va + p_fsz:
            return p_off + addr - p_va
    raise KeyError(hex(addr))


def core_at(exe, args, breakpoint, path, env=None):
    """Run exe under gdb to `breakpoint` and dump a core there."""
    if os.path.exists(path):
        os.unlink(path)
    cmd = ["gdb", "-batch", "-nx"]
    for k, v in (env or {}).items():
        cmd += ["-ex", "set environment %s=%s" % (k, v)]
    cmd += ["-ex", "break %s" % breakpoint, "-ex", "run " + " ".join(map(str, args)),
            "-ex", "generate-core-file %s" % path, "-ex", "kill", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert os.path.exists(path), r.stdout + r.stderr
    return path


def gdb_batch(exe, commands, core=None, pid=None, timeout=300):
    cmd = ["gdb", "-batch", "-nx", "-iex", "set auto-load safe-path /",
           "-iex", "source %s" % GDB_EXT]
    for c in commands:
        cmd += ["-ex", c]
    if pid:
        cmd += ["-p", str(pid)]
    else:
        cmd += [str(exe)]
        if core:
            cmd += [str(core)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.stdout + r.stderr


def split_args(text):
    """'a=1, b=0x1 "x, y"' -> ['a=1', 'b=0x1 "x, y"'], respecting quotes."""
    out, cur, quote, esc = [], "", None, False
    for ch in text:
        if esc:
            cur += ch
            esc = False
            continue
        if ch == "\\":
            cur += ch
            esc = True
            continue
        if quote:
            cur += ch
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
            cur += ch
            continue
        if ch == "," and not quote:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


CALL = re.compile(r"^  defer (\d+): (.*)  \[(.*)\]$")
SITE = re.compile(r"^\s+deferred by (\S+) at (\S+?):(\d+)")
THREAD = re.compile(r"^Thread .*\(LWP (\d+)\)")


def parse_call(text):
    """'fn(a=1, 2)' -> (fn, [(name or None, value), ...])."""
    i = text.index("(")
    assert text.endswith(")"), text
    args = []
    for a in split_args(text[i + 1:-1]):
        m = re.match(r"^([A-Za-z_]\w*)=(.*)$", a)
        args.append((m.group(1), m.group(2)) if m else (None, a))
    return text[:i], args


def parse_info_defers(out):
    """gdb's `info defers all` -> {lwp: [entry, ...]} (entry: dict)."""
    threads, cur, last = {}, None, None
    for line in out.splitlines():
        m = THREAD.match(line)
        if m:
            cur = threads.setdefault(int(m.group(1)), [])
            continue
        m = CALL.match(line)
        if m and cur is not None:
            fn, args = parse_call(m.group(2))
            last = {"index": int(m.group(1)), "function": fn, "args": args, "state": m.group(3)}
            cur.append(last)
            continue
        m = SITE.match(line)
        if m and last is not None:
            last["site"] = (m.group(1), os.path.basename(m.group(2)), int(m.group(3)))
            last = None
    return threads


def norm_func(name):
    """free, __GI___libc_free, __libc_free: one function under glibc's aliases."""
    return re.sub(r"^(?:_|GI_|libc_|IO_)+", "", name or "")


def same_value(a, b):
    """Values as the two tools print them: compare numbers numerically
    (gdb adds a char's glyph, a pointer's symbol), strings literally."""
    ta, tb = a.split(" ", 1), b.split(" ", 1)
    try:
        if ta[0].startswith("0x") or tb[0].startswith("0x"):
            ok = int(ta[0], 16) == int(tb[0], 16)
        elif ta[0] in ("true", "false") or tb[0] in ("true", "false"):
            ok = ta[0] == tb[0]
        else:
            ok = float(ta[0]) == float(tb[0])
    except ValueError:
        return a == b
    if ok and len(ta) > 1 and len(tb) > 1 and ta[1].startswith('"') and tb[1].startswith('"'):
        ok = ta[1] == tb[1]
    return ok


def defer_state(d, panics):
    if not d["started"]:
        return "pending"
    if not d["panic"]:
        return "running"
    p = panics[d["panic"] - 1]
    return "run by defer_goexit" if p["goexit"] else "run by panic %d" % d["panic"]


def compare_with_gdb(dump, gdb_threads):
    """Entry-by-entry comparison; returns a list of differences."""
    diffs = []
    ours = {t["tid"]: t for t in dump["threads"] if t["status"] != "dead"}
    for tid, t in ours.items():
        if not t["defers"]:
            continue
        g = gdb_threads.get(tid)
        if g is None:
            diffs.append("thread %d missing in gdb" % tid)
            continue
        if len(g) != len(t["defers"]):
            diffs.append("thread %d: %d entries, gdb %d" % (tid, len(t["defers"]), len(g)))
        for d, e in zip(t["defers"], g):
            where = "thread %d defer %d" % (tid, d["index"])
            if norm_func(d["function"]["function"]) != norm_func(e["function"]):
                diffs.append("%s: function %s, gdb %s" % (where, d["function"]["function"], e["function"]))
            if len(d["args"]) != len(e["args"]):
                diffs.append("%s: %d args, gdb %d" % (where, len(d["args"]), len(e["args"])))
            for a, b in zip(d["args"], e["args"]):
                if (a["name"] and b[0] and a["name"] != b[0]) or not same_value(a["value"], b[1]):
                    diffs.append("%s: arg %s=%s, gdb %s=%s" % (where, a["name"], a["value"], b[0], b[1]))
            site = d["site"]
            if (site["function"], os.path.basename(site["file"] or ""), site["line"]) != e.get("site"):
                diffs.append("%s: site %s, gdb %s" % (where, site, e.get("site")))
            if defer_state(d, t["panics"]) != e["state"]:
                diffs.append("%s: state %s, gdb %s" % (where, defer_state(d, t["panics"]), e["state"]))
    for tid, g in gdb_threads.items():
        if g and (tid not in ours or not ours[tid]["defers"]):
            diffs.append("gdb shows thread %d, dump does not" % tid)
    return diffs


def median_time(fn, n=5):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]
