"""perftop stopped from outside (`kill -STOP`) and continued (`kill -CONT`), then ended.

Before perftop/terminal.py, Textual's driver started application mode a second time on the
SIGCONT: `q` then left the terminal raw (no ICANON, ECHO or ISIG), and Ctrl-C could leave a
blank screen and a process waiting for ever on a second input thread. Each case here runs
perftop in a real terminal (tmux), stops and continues it, ends it, and reads the terminal's
modes with `stty` once it is gone.

Self-contained on purpose (its own small tmux helper) while the shared e2e helpers move.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux terminal driver"),
]

REPO = Path(__file__).resolve().parents[2]
PERFTOP = [sys.executable, "-m", "perftop", "--demo"]
# The local modes a shell needs back: line editing, echo, and Ctrl-C as a signal.
MODES = ("icanon", "echo", "isig", "iexten")


def wait_until(
    check: Callable[[], object], what: str, pane: Pane | None = None, timeout: float = 20.0
) -> object:
    """Poll `check` until it returns something true; fail naming `what` (and showing the
    pane) after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            screen = pane.screen() if pane is not None else ""
            raise AssertionError(f"timed out waiting for {what}\n{screen}")
        time.sleep(0.05)


class Pane:
    """One tmux server of the test's own, one window, one pane."""

    def __init__(self, command: str) -> None:
        self.socket = f"perftop-stopcont-{uuid.uuid4().hex[:8]}"
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", command)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def shell_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "#{pane_pid}").strip())

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def perftop_in(pane: Pane) -> psutil.Process:
    """The perftop process under the pane's shell, once its dashboard is drawn."""
    wait_until(lambda: "PID USER" in pane.screen(), "the dashboard")
    shell = psutil.Process(pane.shell_pid())
    found = wait_until(
        lambda: [p for p in shell.children(recursive=True) if "perftop" in " ".join(p.cmdline())],
        "the perftop process",
    )
    assert isinstance(found, list)
    return found[0]


def stop_and_continue(proc: psutil.Process) -> None:
    os.kill(proc.pid, signal.SIGSTOP)
    wait_until(lambda: proc.status() == psutil.STATUS_STOPPED, "perftop stopped")
    os.kill(proc.pid, signal.SIGCONT)


def lflags(stty: str) -> dict[str, bool]:
    words = stty.replace(";", " ").split()
    return {mode: mode in words for mode in MODES if mode in words or f"-{mode}" in words}


@pytest.fixture
def env() -> Iterator[str]:
    """The environment perftop runs in: this checkout on the path, a config of its own."""
    yield f"env PYTHONPATH={shlex.quote(str(REPO / 'src'))} TERM=xterm-256color"


@pytest.mark.parametrize("key", ["q", "C-c"])
def test_ended_after_a_stop_from_outside_it_gives_the_terminal_back(
    key: str, env: str, tmp_path: Path
) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    # No job control (bash -c): the stop goes unnoticed by the shell, as under a supervisor,
    # a debugger, or a `kill -STOP` from another terminal.
    script = (
        f"stty -a > {before}; {env} {shlex.join(PERFTOP)}; "
        f"echo ended $?; stty -a > {after}; exec sleep 600"
    )
    pane = Pane(f"bash -c {shlex.quote(script)}")
    try:
        proc = perftop_in(pane)
        stop_and_continue(proc)
        # Continued, it draws again and still takes keys (F1 opens the help).
        pane.keys("F1")
        wait_until(lambda: "inside of one Python process" in pane.screen(), "the help screen")
        pane.keys("Escape")
        wait_until(lambda: "inside of one" not in pane.screen(), "the help closed")
        pane.keys(key)
        wait_until(lambda: not proc.is_running() or proc.status() == "zombie", "perftop to end")
        wait_until(lambda: after.exists() and after.read_text(), "stty after perftop")
        assert lflags(after.read_text()) == lflags(before.read_text()), after.read_text()
        assert all(lflags(before.read_text()).values())
    finally:
        pane.kill()


def test_a_stopped_job_continued_in_the_background_resumes_on_fg(env: str) -> None:
    # An interactive shell takes the terminal back when its job stops; continued from outside,
    # perftop is then a background job and must wait (SIGTTOU) until `fg`, then draw again.
    pane = Pane("bash --norc --noprofile -i")
    try:
        wait_until(lambda: "$" in pane.screen() or "#" in pane.screen(), "the shell's prompt")
        pane.keys(f"cd {shlex.quote(str(REPO))} && {env} {shlex.join(PERFTOP)}", "Enter")
        proc = perftop_in(pane)
        stop_and_continue(proc)
        wait_until(lambda: "Stopped" in pane.screen(), "the shell reporting the stopped job")
        wait_until(lambda: proc.status() == psutil.STATUS_STOPPED, "perftop waiting for fg")
        pane.keys("clear; fg", "Enter")
        wait_until(
            lambda: (
                all(part in pane.screen() for part in ("╭─ cpu", "PID USER", "f10 Quit"))
                and "Stopped" not in pane.screen()
            ),
            "the dashboard drawn again after fg",
            pane,
        )
        pane.keys("q")
        wait_until(lambda: not proc.is_running() or proc.status() == "zombie", "perftop to end")
        pane.keys("clear; stty -a", "Enter")
        stty = wait_until(lambda: "speed" in pane.screen() and pane.screen(), "stty's output")
        assert isinstance(stty, str)
        assert all(lflags(stty).values()), stty
    finally:
        pane.kill()
