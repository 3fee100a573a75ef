# SPDX-License-Identifier: MIT
# Run inside gdb (tests/reliability/test_single_step.py): single-step every
# instruction of deferproc, deferreturn and gopanic, and of stepped.c's
# frames(), whose first defer is open-coded (defer.h), and at each one run
# `info defers` and `info panics`, which must never raise a Python error.
import gdb

RUNTIME = {"deferproc", "deferreturn", "gopanic", "frames"}
stepped = {name: 0 for name in RUNTIME}
problems = []


def where():
    try:
        return gdb.execute("info symbol $pc", to_string=True).split()[0]
    except gdb.error:
        return "?"


def check():
    for cmd in ("info defers", "info panics"):
        try:
            out = gdb.execute(cmd, to_string=True)
        except gdb.error as e:
            out = "gdb.error: %s" % e
        if "Traceback" in out or "Python Exception" in out or "Error occurred in Python" in out:
            problems.append("%s at %s: %s" % (cmd, gdb.execute("x/i $pc", to_string=True).strip(), out))


for name in RUNTIME:
    gdb.Breakpoint(name, internal=True)
gdb.execute("run", to_string=True)
while gdb.selected_inferior().pid:
    name = where()
    if name in RUNTIME:
        stepped[name] += 1
        check()
        gdb.execute("nexti", to_string=True)   # over calls: into libc, or a deferred call
    else:
        gdb.execute("continue", to_string=True)
print("STEPPED", " ".join("%s=%d" % kv for kv in sorted(stepped.items())))
print("PROBLEMS", len(problems))
for p in problems[:5]:
    print(p)
