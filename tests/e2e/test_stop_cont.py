"""perftop stopped from outside (`kill -STOP`) and continued (`kill -CONT`), or suspended with
Ctrl+Z and brought back with `fg`, then ended.

Before perftop/terminal.py, Textual's driver started application mode a second time on the
SIGCONT: `q` then left the terminal raw (no ICANON, ECHO or ISIG), and Ctrl-C could leave a
blank screen and a process waiting for ever on a second input thread. Each case here runs
perftop in a real terminal (tmux), stops and continues it, ends it, and reads the terminal's
modes with `stty` once it is gone.

The shared harness (tests/e2e/harness.py) drives tmux: a wait that times out shows the screen,
the command and perftop's log.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.e2e.harness import Tmux, needs_tmux, wait_until

pytestmark = [
    needs_tmux,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux terminal driver"),
]

REPO = Path(__file__).resolve().parents[2]
PERFTOP = [sys.executable, "-m", "perftop", "--demo"]
# The local modes a shell needs back: line editing, echo, and Ctrl-C as a signal.
MODES = ("icanon", "echo", "isig", "iexten")


def pane_with(command: str) -> Tmux:
    pane = Tmux()
    pane.start(command)
    return pane


def perftop_in(pane: Tmux) -> psutil.Process:
    """The perftop process under the pane's shell, once its dashboard is drawn."""
    pane.wait_for(lambda s: "PID USER" in s, what="the dashboard")
    shell = psutil.Process(pane.pane_pid())
    found = wait_until(
        lambda: [p for p in shell.children(recursive=True) if "perftop" in " ".join(p.cmdline())],
        "the perftop process",
        explain=pane.report,
    )
    return found[0]


def perftop_in_a_shell(env: str) -> tuple[Tmux, psutil.Process]:
    """An interactive shell (job control on) in a pane, perftop started from it and drawn."""
    pane = pane_with("bash --norc --noprofile -i")
    try:
        pane.wait_for(lambda s: "$" in s or "#" in s, what="the shell's prompt")
        pane.keys(f"cd {shlex.quote(str(REPO))} && {env} {shlex.join(PERFTOP)}", "Enter")
        return pane, perftop_in(pane)
    except BaseException:
        pane.kill()
        raise


def assert_the_shell_has_its_modes(pane: Tmux) -> None:
    """The shell's terminal as `stty` reads it now: line editing, echo, Ctrl-C as a signal."""
    pane.keys("clear; stty -a", "Enter")
    stty = pane.wait_for(lambda s: "speed" in s, what="stty's output")
    assert all(lflags(stty).values()), stty


def stop(proc: psutil.Process, pane: Tmux) -> None:
    os.kill(proc.pid, signal.SIGSTOP)
    wait_until(
        lambda: proc.status() == psutil.STATUS_STOPPED, "perftop stopped", explain=pane.report
    )


def quit_with_q(pane: Tmux, proc: psutil.Process) -> None:
    """`q` until perftop ends: one that lands while it leaves and enters application mode
    again after a SIGCONT (`fg` sends one more) can be lost with the input thread that read
    it, as F1 can below; a user would press it again."""
    for attempt in range(3):
        pane.keys("q")
        try:
            wait_until(lambda: ended(proc), "perftop to end", explain=pane.report, timeout=5)
            return
        except AssertionError:
            if attempt == 2:
                raise


def ended(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


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
    pane = pane_with(f"bash -c {shlex.quote(script)}")
    try:
        proc = perftop_in(pane)
        stop(proc, pane)
        os.kill(proc.pid, signal.SIGCONT)
        # Continued, it draws again and still takes keys (F1 opens the help). A key that lands
        # while it is leaving and entering application mode again (the first moments after
        # SIGCONT) can be lost with the input thread that read it: pressed again, as a user
        # would, it must open the help.
        for attempt in range(3):
            pane.keys("F1")
            try:
                pane.wait_for(
                    lambda s: "inside of one process" in s, what="the help screen", timeout=5
                )
                break
            except AssertionError:
                if attempt == 2:
                    raise
        pane.keys("Escape")
        pane.wait_for(lambda s: "inside of one" not in s, what="the help closed")
        pane.keys(key)
        wait_until(lambda: ended(proc), "perftop to end", explain=pane.report)
        wait_until(lambda: after.exists() and after.read_text(), "stty after perftop")
        assert lflags(after.read_text()) == lflags(before.read_text()), after.read_text()
        assert all(lflags(before.read_text()).values())
    finally:
        pane.kill()


def test_a_stopped_job_continued_in_the_background_resumes_on_fg(env: str) -> None:
    # An interactive shell takes the terminal back when its job stops; continued from outside,
    # perftop is then a background job and must wait (SIGTTOU) until `fg`, then draw again.
    pane, proc = perftop_in_a_shell(env)
    try:
        stop(proc, pane)
        # The shell must see the stop before the continue: continued first, the stop is
        # never reported (waitpid then says "continued"), and perftop stays in the foreground.
        pane.wait_for(lambda s: "Stopped" in s, what="the shell reporting the stopped job")
        os.kill(proc.pid, signal.SIGCONT)
        # A background job now: its first write to the terminal stops it again (SIGTTOU).
        wait_until(
            lambda: proc.status() == psutil.STATUS_STOPPED,
            "perftop waiting for fg",
            explain=pane.report,
        )
        pane.keys("clear; fg", "Enter")
        pane.wait_for(
            lambda s: (
                all(part in s for part in ("╭─ cpu", "PID USER", "f10 Quit")) and "Stopped" not in s
            ),
            what="the dashboard drawn again after fg",
        )
        quit_with_q(pane, proc)
        assert_the_shell_has_its_modes(pane)
    finally:
        pane.kill()


def test_ctrl_z_suspends_to_the_shell_and_fg_brings_it_back(env: str) -> None:
    # htop's habit: Ctrl+Z gives the terminal back to the shell with the job stopped, and
    # `fg` draws the dashboard again, keys and all.
    pane, proc = perftop_in_a_shell(env)
    try:
        pane.keys("C-z")
        pane.wait_for(lambda s: "Stopped" in s, what="the shell reporting the stopped job")
        assert proc.status() == psutil.STATUS_STOPPED
        assert_the_shell_has_its_modes(pane)  # while perftop waits
        pane.keys("clear; fg", "Enter")
        pane.wait_for(
            lambda s: all(part in s for part in ("╭─ cpu", "PID USER", "f10 Quit")),
            what="the dashboard drawn again after fg",
        )
        pane.keys("F1")
        pane.wait_for(lambda s: "inside of one process" in s, what="the help screen")
        pane.keys("Escape")
        pane.wait_for(lambda s: "inside of one" not in s, what="the help closed")
        pane.keys("q")
        wait_until(lambda: ended(proc), "perftop to end", explain=pane.report)
        assert_the_shell_has_its_modes(pane)
    finally:
        pane.kill()
