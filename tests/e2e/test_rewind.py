"""The real `perftop --record` in tmux: pause and rewind live, SIGKILL it mid-recording, then
replay the file with `perftop view` and step through it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perftop.formats.recording import RecordingReader
from tests.e2e.test_tmux import Tmux, perftop_command

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux()
    yield session
    session.kill()


def banner(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


def press_until(tmux: Tmux, key: str, done: str, timeout: float = 3.0) -> str:
    """Press `key` until the banner says `done`: a key sent before the bindings are live
    is lost on a loaded machine."""
    for _ in range(5):
        tmux.keys(key)
        try:
            return tmux.wait_for(lambda s: done in banner(s), timeout=timeout)
        except AssertionError:
            continue
    raise AssertionError(f"{key!r} never gave {done!r}:\n{tmux.screen()}")


def test_record_pause_rewind_then_sigkill_and_replay(tmux: Tmux, tmp_path: Path) -> None:
    path = tmp_path / "box.rec"
    tmux.start(perftop_command("--record", str(path), "-d", "2"))  # a tick every 0.2 s
    tmux.wait_for(lambda s: "PID USER" in s and "Mem" in s)
    time.sleep(3)

    # Live: pause, step back, jump to the oldest, back to live.
    screen = press_until(tmux, "Space", "paused at")
    assert re.search(r"paused at \d\d:\d\d:\d\d", banner(screen))
    for _ in range(5):
        tmux.keys("[")
    screen = tmux.wait_for(lambda s: re.search(r"before live", banner(s)) is not None)
    tmux.keys("{")
    time.sleep(0.5)
    tmux.keys("Space")
    tmux.wait_for(lambda s: "paused at" not in banner(s) and "PID USER" in s)

    # A dropped session, a crash, an OOM kill: SIGKILL leaves no chance to close the file.
    time.sleep(1)
    os.kill(tmux.pane_pid(), signal.SIGKILL)
    tmux.kill()
    with RecordingReader(path) as reader:
        recorded = len(reader)
    assert recorded >= 15, "a tick every 0.2 s for 4+ s"

    replay = Tmux()
    try:
        replay.start(perftop_command("view", str(path)))
        screen = replay.wait_for(lambda s: "recording of" in banner(s))
        assert f"1/{recorded}" in banner(screen)
        assert "PID USER" in screen and "Mem" in screen
        for _ in range(3):
            replay.keys("]")
        replay.wait_for(lambda s: f"4/{recorded}" in banner(s))
        replay.keys("k")  # read-only: no signal menu, a reason instead
        replay.wait_for(lambda s: "not the live" in s)
        replay.keys("q")
        replay.wait_for(lambda s: "recording of" not in s, timeout=10)
    finally:
        replay.kill()
