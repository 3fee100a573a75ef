# SPDX-License-Identifier: MIT
"""The `defers` TUI window, rendered in a real terminal (tmux) and read back
with capture-pane."""
import os
import re
import shlex
import shutil
import subprocess
import time

import pytest

from gdbtest import ENTRY, step_prog

ROOT = ENTRY.parent.parent
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Term:
    """gdb in a detached tmux session on a private server socket."""

    def __init__(self, argv, width=160, height=50):
        self.sock = "libdefer-tui-%d-%d" % (os.getpid(), id(self))
        env = "TERM=xterm LIBDEFER_GDB_DIR= DEFER_TRACEBACK= "
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height),
                  env + " ".join(shlex.quote(a) for a in argv))

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True,
                              text=True, timeout=30).stdout

    def screen(self):
        return self.tmux("capture-pane", "-p")

    def type(self, line):
        self.tmux("send-keys", "-l", line)
        self.tmux("send-keys", "Enter")

    def wait_for(self, text, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            s = self.screen()
            if text in s:
                return s
            time.sleep(0.2)
        raise AssertionError("%r never appeared on the screen:\n%s" % (text, self.screen()))

    def close(self):
        self.tmux("kill-server")


@pytest.fixture
def term():
    opened = []

    def start(argv, **kw):
        t = Term(argv, **kw)
        opened.append(t)
        return t
    yield start
    for t in opened:
        t.close()


def _window(screen):
    """The lines of the defers window: between its top border, the first line
    after the source window's bottom border, and the next border."""
    lines = screen.splitlines()
    start = next(i for i, l in enumerate(lines) if "Thread " in l and "deferred calls" in l)
    end = next(i for i in range(start, len(lines))
               if lines[i].startswith(("mq", "└", "+-", "lq", "┌")))
    return "\n".join(l.strip("x│| ") for l in lines[start:end])


def test_window_shows_pending_calls_and_panics_and_refreshes_on_each_stop(term):
    exe = step_prog()
    t = term(["gdb", "-nx", "-q", "-iex", "set confirm off", "-iex", "source %s" % ENTRY,
              "-ex", "break seen_middle", "-ex", "tui layout defers", "--args", str(exe),
              "panic"])
    t.wait_for("No process")
    t.type("run")
    s = t.wait_for("seen_middle(n=2)")
    w = _window(s)
    assert "defer 1: seen_middle(n=2)  [run by panic 1]" in w, s
    assert "defer 2: recover_it(status=0x" in w and "[pending]" in w, s
    assert 'panic 1: "bottom failed: 42"  [running]' in w, s
    t.type("defer step")
    s = t.wait_for("In: recover_it")
    w = _window(s)
    # seen_middle ran and is gone; recover_it is now the panic's call.
    assert "seen_middle(n=2)" not in w, s
    assert "defer 1: recover_it(status=0x" in w and "[run by panic 1]" in w, s
    t.type("defer step")
    s = t.wait_for("recovered panic")
    assert '"bottom failed: 42"  [recovered]' in _window(s), s
    t.type("defer step")
    s = t.wait_for("resumes here")
    w = _window(s)
    assert "In: top" in s and "No deferred calls pending." in w and "No panic." in w, s


@pytest.mark.parametrize("where", ["first", "after options"])
def test_deferdb_tui_opens_the_layout(term, where):
    exe = step_prog()
    deferdb = str(ROOT / "gdb" / "deferdb")
    argv = ([deferdb, "--tui", str(exe), "normal"] if where == "first" else
            [deferdb, "-nx", "-q", "--tui", str(exe), "normal"])
    t = term(argv)
    t.wait_for("No process")
    # The source window is there too, titled with the file; gdb may draw it
    # after the status line (it reads the symbols first).
    s = t.wait_for("step-")
    assert ".c" in s, s
    t.type("break here")
    t.type("run")
    s = t.wait_for("third_call(id=7)")
    w = _window(s)
    assert w.index("third_call(id=7)") < w.index("second_call(id=7)") < \
        w.index("first_call(id=7)"), s


def test_window_for_a_thread_that_never_deferred(term):
    exe = step_prog()
    t = term(["gdb", "-nx", "-q", "-iex", "set confirm off", "-iex", "source %s" % ENTRY,
              "-ex", "break here", "-ex", "tui layout defers", "--args", str(exe), "never"])
    t.wait_for("No process")
    t.type("run")
    s = t.wait_for("never deferred a call")
    assert "Traceback" not in s and "Python Exception" not in s


@pytest.mark.parametrize("width,height", [(80, 24), (120, 40)])
def test_window_keeps_its_border_and_title_and_wraps_long_lines(term, width, height):
    exe = step_prog()
    t = term(["gdb", "-nx", "-q", "-iex", "set confirm off", "-iex", "source %s" % ENTRY,
              "-ex", "break seen_middle", "-ex", "tui layout defers", "--args", str(exe),
              "panic"], width=width, height=height)
    t.wait_for("No process")
    t.type("run")
    s = t.wait_for("seen_middle(n=2)")
    lines = s.splitlines()
    assert all(len(l) <= width for l in lines), s
    top = next(l for l in lines if "defers" in l and l.startswith(("lq", "┌")))
    assert top.rstrip().endswith(("k", "┐")), s      # the title sits in an intact border
    w = _window(s).splitlines()
    # Every row of the window is boxed: nothing ran over the border.
    boxed = [l for l in lines[lines.index(top) + 1:] if not l.startswith(("lq", "┌"))][:len(w)]
    assert all(l.startswith(("x", "│")) and l.rstrip().endswith(("x", "│")) for l in boxed), s
    if width >= 120:
        # the whole site line fits, up to its frame number
        assert re.search(r"deferred by middle at \S+:\d+, frame #\d+$", _window(s), re.M), s
        return
    assert "more lines: scroll" in _window(s), s
    t.type("focus defers")
    for _ in range(6):
        t.tmux("send-keys", "Down")
    s = t.wait_for("frame #")                         # wrapped continuation, scrolled to
    assert "frame #" in _window_text(s), s


def test_window_scroll_resets_when_another_thread_is_selected(term):
    exe = step_prog()
    t = term(["gdb", "-nx", "-q", "-iex", "set confirm off", "-iex", "source %s" % ENTRY,
              "-ex", "break here", "-ex", "tui layout defers", "--args", str(exe),
              "threads"], width=80, height=24)
    t.wait_for("No process")
    t.type("run")
    t.wait_for("deferred calls, newest first")
    t.type("focus defers")
    for _ in range(8):
        t.tmux("send-keys", "Down")
    time.sleep(1)
    assert "deferred calls, newest first" not in _window_text(t.screen())
    t.type("focus cmd")
    t.type("thread 1")
    s = t.wait_for("Thread 1 (LWP")
    assert "deferred calls, newest first" in _window_text(s), s


def _window_text(screen):
    lines = screen.splitlines()
    top = next(i for i, l in enumerate(lines) if "defers" in l and l.startswith(("lq", "┌")))
    end = next(i for i in range(top + 1, len(lines)) if lines[i].startswith(("lq", "┌", "mq")))
    return "\n".join(lines[top + 1:end])
