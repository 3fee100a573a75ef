# SPDX-License-Identifier: MIT
"""classify.py BUILD/fuzz REGRESSIONS - sort the fuzzers' crashing inputs.

Each artifact is replayed by its harness; the first stack frame outside
the sanitizer runtime and libc says whose bug it is.  Inputs that crash
inside libdwarf are kept as regressions/libdwarf-<target>-<hash> (the tool
must survive them); any other crash is kept as regressions/<target>-<hash>
and fails `make fuzz`.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys

d, reg = sys.argv[1], sys.argv[2]
env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1")
frame = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (\S+) \(?([^)\s]*)")
ours = known = 0
seen = {}
PER_PLACE = 2   # inputs kept per crash location
for name in sorted(os.listdir(os.path.join(d, "art"))):
    target = name.split("-", 1)[0]
    path = os.path.join(d, "art", name)
    if name.split("-", 1)[1].startswith(("timeout", "oom", "slow")):
        kind = "hang"
    else:
        kind = "crash"
    # core64: fuzz-core over the aarch64 seed's qemu core (run.sh).
    exe = os.path.join(d, "seed-aarch64" if target == "core64" else "seed-static")
    r = subprocess.run([os.path.join(d, "fuzz-" + target.replace("64", "")), path],
                       capture_output=True, text=True, env=dict(env, FUZZ_EXE=exe), timeout=120)
    where = None
    for line in r.stderr.splitlines():
        m = frame.match(line)
        if not m:
            continue
        func, obj = m.groups()
        if ("__interceptor" in func or func.startswith(("__asan", "__ubsan", "__sanitizer"))
                or "libc.so" in obj or "libc.so" in line or func in ("raise", "abort")):
            continue
        where = "libdwarf" if "libdwarf" in line else func
        place = line.split(" in ", 1)[1].split(" (BuildId")[0]
        break
    else:
        place = None
    if r.returncode == 0:
        where = "libdwarf" if kind == "hang" else "flaky"
    digest = hashlib.sha1(open(path, "rb").read()).hexdigest()[:16]
    key = (target, where, place)
    seen[key] = seen.get(key, 0) + 1
    if seen[key] > PER_PLACE:
        if where != "libdwarf":
            ours += 1
        continue
    if where == "libdwarf":
        dest = os.path.join(reg, "libdwarf-%s-%s" % (target, digest))
        known += 1
        # A few samples of libdwarf's bugs are enough: do not grow the
        # directory on every run.
        if sum(f.startswith("libdwarf-%s-" % target) for f in os.listdir(reg)) >= 4:
            continue
    else:
        dest = os.path.join(reg, "%s-%s" % (target, digest))
        ours += 1
        print("fuzz: %s in our code (%s): %s" % (kind, where, dest))
        print("\n".join(r.stderr.splitlines()[:30]))
    shutil.copyfile(path, dest)
print("fuzz: %d input(s) crash inside libdwarf 20210528 (kept as regressions), %d elsewhere"
      % (known, ours))
sys.exit(1 if ours else 0)
