"""The real `perftop --record` in tmux: pause and rewind live, SIGKILL it mid-recording, then
replay the file with `perftop view` and step through it.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
from pathlib import Path

from perftop.formats.errors import FormatError
from perftop.formats.recording import RecordingReader
from tests.e2e.harness import Tmux, head, needs_tmux, perftop_command, press_until, wait_until

pytestmark = [needs_tmux]

TICKS = 15  # recorded before the test pauses: enough to step back through


def recorded(path: Path) -> int:
    """Ticks committed to the recording so far (0 before it exists). A WAL reader never
    blocks the writer (src/perftop/formats/recording.py)."""
    if not path.exists():
        return 0
    try:
        with RecordingReader(path) as reader:
            return len(reader)
    except (OSError, sqlite3.Error, FormatError):
        return 0  # created but not yet set up


def test_record_pause_rewind_then_sigkill_and_replay(tmux: Tmux, tmp_path: Path) -> None:
    path = tmp_path / "box.rec"
    tmux.start(perftop_command("--record", str(path), "-d", "2"))  # a tick every 0.2 s
    tmux.wait_for(lambda s: "PID USER" in s and "Mem" in s)
    wait_until(lambda: recorded(path) >= TICKS, f"{TICKS} ticks in {path}", 60, tmux.report)

    # Live: pause, step back, jump to the oldest, back to live.
    screen = press_until(tmux, "Space", lambda s: "paused at" in head(s), "the paused banner")
    assert re.search(r"paused at \d\d:\d\d:\d\d", head(screen))
    for _ in range(5):
        tmux.keys("[")
    stepped = head(tmux.wait_for(lambda s: "before live" in head(s)))
    tmux.keys("{")
    tmux.wait_for(
        lambda s: "before live" in head(s) and head(s) != stepped, what="the oldest tick shown"
    )
    tmux.keys("Space")
    tmux.wait_for(lambda s: "paused at" not in head(s) and "PID USER" in s)

    # A dropped session, a crash, an OOM kill: SIGKILL leaves no chance to close the file.
    os.kill(tmux.pane_pid(), signal.SIGKILL)
    tmux.kill()
    count = recorded(path)
    assert count >= TICKS, "every tick committed before the kill is kept"

    replay = Tmux()
    try:
        replay.start(perftop_command("view", str(path)))
        screen = replay.wait_for(lambda s: "recording of" in head(s))
        assert f"1/{count}" in head(screen)
        assert "PID USER" in screen and "Mem" in screen
        for _ in range(3):
            replay.keys("]")
        replay.wait_for(lambda s: f"4/{count}" in head(s))
        # Read-only: k offers no signal menu. A step after it shows that k was handled.
        replay.keys("k", "]")
        screen = replay.wait_for(lambda s: f"5/{count}" in head(s))
        assert "Send signal" not in screen
        assert "Kill" not in screen.splitlines()[-1], "the footer offers no kill"
        replay.keys("q")
        replay.wait_for(lambda s: "recording of" not in s, timeout=10)
    finally:
        replay.kill()
