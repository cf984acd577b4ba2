"""The real `perftop record`, as a user runs it, against a real Python process and real py-spy.

A duration, a Ctrl-C (SIGINT) with no duration, a SIGTERM, and a target that exits while it is
recorded: each time the file is written with the target's own function in it, and no py-spy
is left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.e2e]

HOT = "perftop_record_e2e_hot"
TARGET = textwrap.dedent(
    f"""
    import sys, time

    def {HOT}(until):
        while until is None or time.monotonic() < until:
            sum(i * i for i in range(5000))

    life = float(sys.argv[1]) if len(sys.argv) > 1 else None
    {HOT}(time.monotonic() + life if life else None)
    """
)


def pyspy_available() -> bool:
    exe = Path(sys.executable).with_name("py-spy")
    return exe.exists() or shutil.which("py-spy") is not None


if not pyspy_available():
    pytestmark.append(pytest.mark.skip(reason="py-spy is not installed"))


def start_target(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    script = tmp_path / "record_target.py"
    script.write_text(TARGET)
    proc = subprocess.Popen([sys.executable, str(script), *args])
    time.sleep(0.3)  # let the interpreter get to the loop: py-spy needs it set up
    return proc


@pytest.fixture
def target(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_target(tmp_path)
    yield proc
    proc.kill()
    proc.wait()


def perftop_record(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PERFTOP_ALLOW_NO_TTY"}
    return subprocess.Popen(
        [sys.executable, "-m", "perftop", "record", *args],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def pyspy_of(pid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "py-spy" and str(pid) in cmdline:
            found.append(proc)
    return found


def wait_for_pyspy(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pyspy_of(pid):
        assert time.monotonic() < deadline, "py-spy never attached"
        time.sleep(0.05)


def test_record_for_a_duration(tmp_path: Path, target: subprocess.Popen[bytes]) -> None:
    started = time.monotonic()
    proc = perftop_record(tmp_path, str(target.pid), "-d", "2", "-o", "out.folded")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert 2.0 <= time.monotonic() - started < 15
    text = (tmp_path / "out.folded").read_text()
    assert HOT in text
    assert "wrote out.folded (folded)" in out
    samples = int(out.split(": ")[1].split(" samples")[0])
    assert samples >= 50  # ~2 s at 100 Hz
    assert sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()) == samples
    assert err == ""  # no terminal: no progress bar, no noise
    assert not pyspy_of(target.pid)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_early_and_still_writes(
    tmp_path: Path, target: subprocess.Popen[bytes], sig: signal.Signals
) -> None:
    proc = perftop_record(tmp_path, str(target.pid), "-o", "out.speedscope.json")
    wait_for_pyspy(target.pid)
    time.sleep(1.5)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    name = "Ctrl-C" if sig == signal.SIGINT else "SIGTERM"
    assert f"stopped by {name}" in err
    text = (tmp_path / "out.speedscope.json").read_text()
    assert HOT in text and "speedscope" in text
    assert int(out.split(": ")[1].split(" samples")[0]) > 50
    assert not pyspy_of(target.pid), "py-spy outlived perftop record"
    assert target.poll() is None, "the target keeps running"


def test_target_exit_mid_recording(tmp_path: Path) -> None:
    short = start_target(tmp_path, "1.5")
    try:
        proc = perftop_record(tmp_path, str(short.pid), "-d", "30", "-o", "short.txt")
        out, err = proc.communicate(timeout=30)
    finally:
        short.kill()
        short.wait()
    assert proc.returncode == 0, err
    assert f"PID {short.pid} exited" in err
    assert HOT in (tmp_path / "short.txt").read_text()
    assert "wrote short.txt" in out
    assert not pyspy_of(short.pid)


def test_default_name_and_bad_targets(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        proc = perftop_record(tmp_path, str(sleeper.pid), "-d", "1")
        out, err = proc.communicate(timeout=30)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert proc.returncode == 2
    assert out == ""
    assert err.startswith("perftop: ") and "not a Python process" in err
    assert len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []

    short = start_target(tmp_path, "5")
    try:
        proc = perftop_record(tmp_path, str(short.pid), "-d", "1")
        _, err = proc.communicate(timeout=30)
    finally:
        short.kill()
        short.wait()
    assert proc.returncode == 0, err
    (written,) = tmp_path.glob(f"perftop-{short.pid}-*.speedscope.json")
    assert HOT in written.read_text()
