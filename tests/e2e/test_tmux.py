"""The real `perftop` in a real terminal (tmux), attached with real py-spy to a process we start.

Also checks the exit paths: no py-spy is left behind after q, Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

TARGET = textwrap.dedent(
    """
    import threading, time

    def perftop_e2e_leaf(n):
        return sum(i * i for i in range(n))

    def perftop_e2e_hot_function():
        while True:
            perftop_e2e_leaf(20000)

    def perftop_e2e_side_thread():
        while True:
            sorted(str(i) for i in range(3000))
            time.sleep(0.001)

    threading.Thread(target=perftop_e2e_side_thread, name="side", daemon=True).start()
    perftop_e2e_hot_function()
    """
)


class Tmux:
    def __init__(self, width: int = 120, height: int = 40) -> None:
        self.name = f"perftop-e2e-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height

    def start(self, command: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(self.width),
                "-y",
                str(self.height),
                command,
            ],
            check=True,
            env=env,
        )

    def screen(self) -> str:
        result = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def pane_pid(self) -> int:
        out = subprocess.run(
            ["tmux", "list-panes", "-t", self.name, "-F", "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(out.split()[0])

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out; the screen was:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False, capture_output=True)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux()
    yield session
    session.kill()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    script = tmp_path / "e2e_target.py"
    script.write_text(TARGET)
    proc = subprocess.Popen([sys.executable, str(script)])
    yield proc
    proc.kill()
    proc.wait()


def perftop_command(*args: str) -> str:
    # `exec` so that the pane's process is perftop itself: signals reach it directly.
    return "exec " + " ".join([sys.executable, "-m", "perftop", *args])


def pyspy_of(pid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "py-spy" and str(pid) in cmdline:
            found.append(proc)
    return found


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pyspy_of(pid):
            return
        time.sleep(0.1)
    raise AssertionError(f"py-spy still running for {pid}: {pyspy_of(pid)}")


def _filter_focused(footer: str) -> bool:
    return "Quit" in footer and "Profile" not in footer


def test_dashboard_shows_the_machine_and_finds_a_process(
    tmux: Tmux, target: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    tmux.start(perftop_command())
    screen = tmux.wait_for(lambda s: "PID USER" in s and "CPU" in s and "Mem" in s)
    assert "memory" in screen and "network" in screen
    # On a loaded machine the first frame can precede the key bindings, and a key sent then
    # is lost (and letters typed after it would act as commands): press `/` until the filter
    # box has the focus, which the footer shows by dropping the table's keys.
    for attempt in range(5):
        tmux.keys("/")
        try:
            tmux.wait_for(lambda s: _filter_focused(s.splitlines()[-1]), timeout=3)
            break
        except AssertionError:
            if attempt == 4:
                raise
    # The target's script lives in this test's own directory: other tests' targets (run in
    # parallel) have the same file name but not the same directory.
    tmux.keys("-l", tmp_path.name)
    tmux.keys("Enter")
    screen = tmux.wait_for(lambda s: "1 shown" in s)
    assert f"{target.pid} " in screen
    tmux.keys("q")
    tmux.wait_for(lambda s: "PID USER" not in s, timeout=10)


def test_attach_from_the_table_shows_the_named_functions(
    tmux: Tmux, target: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    # This test's own directory: tests run in parallel start targets of the same name.
    tmux.start(perftop_command("--filter", tmp_path.name))
    tmux.wait_for(lambda s: f"{target.pid} " in s.split("START COMMAND")[-1].splitlines()[1])
    time.sleep(1.0)
    tmux.keys("Enter")  # profile the selected (only) row
    screen = tmux.wait_for(
        lambda s: "LIVE" in s and "perftop_e2e_hot_function" in s and "perftop_e2e_leaf" in s
    )
    assert "top functions" in screen
    assert pyspy_of(target.pid), "py-spy is attached while the flame view is open"
    tmux.keys("q")  # back to the dashboard: py-spy is stopped
    tmux.wait_for(lambda s: "PID USER" in s)
    wait_gone(target.pid)
    tmux.keys("F10")


@pytest.mark.parametrize("how", ["quit", "ctrl-c", "SIGTERM", "SIGHUP"])
def test_no_pyspy_survives_perftop(tmux: Tmux, target: subprocess.Popen[bytes], how: str) -> None:
    tmux.start(perftop_command("--pid", str(target.pid)))
    tmux.wait_for(lambda s: "perftop_e2e_hot_function" in s)
    assert pyspy_of(target.pid)
    perftop_pid = tmux.pane_pid()
    if how == "quit":
        tmux.keys("F10")
    elif how == "ctrl-c":
        tmux.keys("C-c")
    elif how == "SIGTERM":
        os.kill(perftop_pid, signal.SIGTERM)
    else:
        os.kill(perftop_pid, signal.SIGHUP)
    wait_gone(target.pid)
    assert psutil.pid_exists(target.pid), "the target itself is left alone"
    deadline = time.monotonic() + 10
    while psutil.pid_exists(perftop_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(perftop_pid) or psutil.Process(perftop_pid).status() == "zombie"


def test_target_exit_keeps_the_profile(tmux: Tmux, tmp_path: Path) -> None:
    script = tmp_path / "short.py"
    script.write_text(
        "import time\n"
        "def perftop_e2e_short_lived():\n"
        "    end = time.time() + 3\n"
        "    while time.time() < end:\n"
        "        sum(range(1000))\n"
        "perftop_e2e_short_lived()\n"
    )
    tmux.start(perftop_command("run", "--", sys.executable, str(script)))
    screen = tmux.wait_for(lambda s: "ENDED" in s, timeout=25)
    assert "perftop_e2e_short_lived" in screen
