"""The real `perftop` in a real terminal (tmux), attached with real py-spy to a process we start.

Also checks the exit paths: no py-spy is left behind after q, Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import uuid
from pathlib import Path

import psutil
import pytest

from tests.e2e.harness import (
    Tmux,
    filter_to,
    head,
    needs_tmux,
    perftop_command,
    wait_until,
)
from tests.e2e.targets import Target, pyspy_of, start_target, wait_gone

pytestmark = [needs_tmux]


@pytest.fixture
def marked(tmp_path: Path) -> tuple[Target, str]:
    marker = f"perftop_e2e_{uuid.uuid4().hex[:8]}"  # tests side by side: one row each
    return start_target(tmp_path, args=[marker]), marker


def test_dashboard_shows_the_machine_and_finds_a_process(
    tmux: Tmux, marked: tuple[Target, str]
) -> None:
    target, marker = marked
    try:
        tmux.start(perftop_command())
        screen = tmux.wait_for(lambda s: "PID USER" in s and "CPU" in s and "Mem" in s)
        assert "memory" in screen and "network" in screen
        filter_to(tmux, marker, target.pid)
        tmux.keys("q")
        tmux.wait_for(lambda s: "PID USER" not in s, timeout=10)
    finally:
        target.end()


def test_attach_from_the_table_shows_the_named_functions(
    tmux: Tmux, marked: tuple[Target, str]
) -> None:
    target, marker = marked
    try:
        tmux.start(perftop_command())
        tmux.wait_for(lambda s: "PID USER" in s)
        filter_to(tmux, marker, target.pid)
        tmux.keys("Enter")  # profile the selected row: the only one, the target's
        screen = tmux.wait_for(
            lambda s: "LIVE" in s and "perftop_e2e_hot_function" in s and "perftop_e2e_leaf" in s
        )
        assert str(target.pid) in head(screen), "the target's profile, not another process's"
        assert "top functions" in screen
        assert pyspy_of(target.pid), "py-spy is attached while the flame view is open"
        tmux.keys("q")  # back to the dashboard: py-spy is stopped
        tmux.wait_for(lambda s: "PID USER" in s)
        wait_gone(target.pid)
        tmux.keys("F10")
    finally:
        target.end()


@pytest.mark.parametrize("how", ["quit", "ctrl-c", "SIGTERM", "SIGHUP"])
def test_no_pyspy_survives_perftop(tmux: Tmux, target: Target, how: str) -> None:
    tmux.start(perftop_command("--pid", str(target.pid)))
    tmux.wait_for(lambda s: "perftop_e2e_hot_function" in s)
    assert pyspy_of(target.pid)
    perftop_pid = tmux.pane_pid()
    if how == "quit":
        tmux.keys("F10")
    elif how == "ctrl-c":
        tmux.keys("C-c")
    else:
        os.kill(perftop_pid, getattr(signal, how))
    wait_gone(target.pid)
    assert target.poll() is None, "the target itself is left alone"

    def ended() -> bool:
        try:
            return psutil.Process(perftop_pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(ended, f"perftop (PID {perftop_pid}) to end", 15, tmux.report)


# Runs until the test creates the file named by its argument: the profile is up first.
SHORT = textwrap.dedent(
    """
    import os, sys

    def perftop_e2e_short_lived(stop):
        while not os.path.exists(stop):
            sum(range(1000))

    perftop_e2e_short_lived(sys.argv[1])
    """
)


def test_target_exit_keeps_the_profile(tmux: Tmux, tmp_path: Path) -> None:
    script, stop = tmp_path / "short.py", tmp_path / "stop"
    script.write_text(SHORT)
    tmux.start(perftop_command("run", "--", sys.executable, str(script), str(stop)))
    tmux.wait_for(lambda s: " LIVE " in head(s) and "perftop_e2e_short_lived" in s, timeout=30)
    stop.touch()
    screen = tmux.wait_for(lambda s: "ENDED" in head(s), timeout=25)
    assert "perftop_e2e_short_lived" in screen
