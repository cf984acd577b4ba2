"""The real `perftop record`, as a user runs it, against a real Python process and real py-spy.

A duration, a Ctrl-C (SIGINT) with no duration, a SIGTERM, and a target that exits while it is
recorded: each time the file is written with the target's own function in it, and no py-spy
is left behind. The signal and exit cases run in tmux: the progress bar's sample count says
when py-spy has sampled the target, so the signal (or the exit) comes after samples, not
after a guess at how long that takes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import (
    Tmux,
    exited,
    flat,
    needs_tmux,
    perftop_argv,
    perftop_pid,
    progress_samples,
    shell_command,
)
from tests.e2e.targets import Target, pyspy_available, pyspy_of, start_target, wait_gone

pytestmark = [pytest.mark.skipif(not pyspy_available(), reason="py-spy is not installed")]

HOT = "perftop_record_e2e_hot"
TARGET = textwrap.dedent(
    f"""
    def {HOT}():
        while True:
            sum(i * i for i in range(5000))

    {HOT}()
    """
)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    proc = start_target(tmp_path, TARGET, name="record_target.py")
    yield proc
    proc.end()


def perftop_record(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """`perftop record` without a terminal: no progress bar."""
    env = {k: v for k, v in os.environ.items() if k != "PERFTOP_ALLOW_NO_TTY"}
    return subprocess.Popen(
        perftop_argv("record", *args),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def written_samples(text: str) -> int:
    found = re.search(r"wrote \S+ \(\w+\): (\d+) samples", text)
    assert found, text
    return int(found.group(1))


def record_in_tmux(tmux: Tmux, tmp_path: Path, pid: int, *args: str) -> None:
    """`perftop record pid args` in the pane; returns once the bar shows over 50 samples."""
    tmux.start(shell_command(tmp_path, "record", str(pid), *args))
    tmux.wait_for(lambda s: progress_samples(s) > 50, 30, what="over 50 samples on the bar")


def test_record_for_a_duration(tmp_path: Path, target: Target) -> None:
    started = time.monotonic()
    proc = perftop_record(tmp_path, str(target.pid), "-d", "2", "-o", "out.folded")
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started >= 2.0  # no upper bound: a loaded machine is slow
    assert proc.returncode == 0, err
    text = (tmp_path / "out.folded").read_text()
    assert HOT in text
    assert "wrote out.folded (folded)" in out
    samples = written_samples(out)
    assert samples >= 50  # ~2 s at 100 Hz
    assert sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()) == samples
    assert err == ""  # no terminal: no progress bar, no noise
    assert not pyspy_of(target.pid)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@needs_tmux
def test_a_signal_stops_early_and_still_writes(
    tmux: Tmux, tmp_path: Path, target: Target, sig: signal.Signals
) -> None:
    record_in_tmux(tmux, tmp_path, target.pid, "-o", "out.speedscope.json")
    os.kill(perftop_pid(tmux), sig)
    assert exited(tmux) == 0
    screen = tmux.screen()
    name = "Ctrl-C" if sig == signal.SIGINT else "SIGTERM"
    assert f"stopped by {name}" in screen, tmux.report(screen)
    text = (tmp_path / "out.speedscope.json").read_text()
    assert HOT in text and "speedscope" in text
    assert written_samples(screen) > 50
    wait_gone(target.pid)  # py-spy does not outlive perftop record
    assert target.poll() is None, "the target keeps running"


@needs_tmux
def test_target_exit_mid_recording(tmux: Tmux, tmp_path: Path, target: Target) -> None:
    record_in_tmux(tmux, tmp_path, target.pid, "-d", "120", "-o", "short.txt")
    target.end()  # it exits while it is recorded
    assert exited(tmux, timeout=30) == 0
    screen = tmux.screen()
    assert f"PID{target.pid}exited" in flat(screen), tmux.report(screen)
    assert HOT in (tmp_path / "short.txt").read_text()
    assert "wrote short.txt" in screen
    assert not pyspy_of(target.pid)


def test_default_name_and_bad_targets(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "3600"])
    try:
        # py-spy asked for by name: auto would sample `sleep` with perf.
        proc = perftop_record(tmp_path, "--profiler", "py-spy", str(sleeper.pid), "-d", "1")
        out, err = proc.communicate(timeout=60)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert proc.returncode == 2
    assert out == ""
    assert err.startswith("perftop: ") and "not a Python process" in err
    assert len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []

    work = tmp_path / "target"
    work.mkdir()
    python = start_target(work, TARGET, name="record_target.py")
    try:
        proc = perftop_record(tmp_path, str(python.pid), "-d", "1")
        _, err = proc.communicate(timeout=60)
    finally:
        python.end()
    assert proc.returncode == 0, err
    (written,) = tmp_path.glob(f"perftop-{python.pid}-*.speedscope.json")
    assert HOT in written.read_text()
