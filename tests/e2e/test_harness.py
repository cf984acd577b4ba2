"""The harness's own promise: a wait that times out says what it waited for, the command, the
pane's state, the last screen, what perftop wrote outside the full screen, and its log."""

from __future__ import annotations

import re

import pytest

from tests.e2e.harness import Tmux, needs_tmux, perftop_command, wait_until

pytestmark = [needs_tmux]


def test_a_timed_out_wait_reports_an_exit_and_its_last_words(tmux: Tmux) -> None:
    tmux.start(perftop_command("--pid", "999999"))  # refused: one line, exit 2
    # A loaded box may take longer than the wait below to get there: wait for the exit first.
    wait_until(lambda: tmux.display("#{pane_dead}") == "1", "perftop to exit")
    with pytest.raises(AssertionError) as failed:
        tmux.wait_for(lambda s: "never on any screen" in s, timeout=3)
    report = str(failed.value)
    assert "timed out after 3 s waiting for: " in report and "never on any screen" in report
    assert f"command: {tmux.command}" in report
    # tmux marks the pane dead when its terminal closes and has the status once it reaps the
    # process; tmux 3.3a on a busy box was seen not to have it 20 s later.
    assert re.search(r"pane: exited with status (2|\(not reaped yet\))\n", report), report
    assert "--- the last screen ---" in report
    assert "perftop: no process with PID 999999" in report  # its stderr, kept by the pane


def test_a_timed_out_wait_reports_the_screen_and_the_log(tmux: Tmux) -> None:
    tmux.start(perftop_command())
    tmux.wait_for(lambda s: "PID USER" in s)
    tmux.keys("F1")
    with pytest.raises(AssertionError) as failed:
        tmux.wait_for(lambda s: False, timeout=2, what="a screen that never comes")
    report = str(failed.value)
    assert "waiting for: a screen that never comes" in report
    assert "pane: still running" in report
    screen = report.split("--- the last screen ---", 1)[1]
    assert "PID USER" in screen or "Help" in screen
    log = report.split("--- perftop's log", 1)[1]
    assert "Key(key='f1'" in log, "the keys perftop was sent are in its log"
    assert "Update(" not in log, "each tick's routine is left out"
    tmux.keys("F10")
