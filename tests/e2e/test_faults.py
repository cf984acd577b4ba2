"""Faults under a live profile, with the real perftop in tmux and real py-spy (issue 7).

The profiled process exits, is SIGSTOPped, or churns threads; py-spy is killed under perftop;
the disk is full or read-only when exporting; the terminal shrinks to 40x12 and back; and every
exit path (q, Ctrl-C, SIGTERM, SIGHUP) leaves no py-spy behind and gives the terminal back.
Each must end in a message and no lost samples, never in a traceback.

perftop runs under a shell in the pane (see `shell_command`), so the pane outlives it: what it
printed on the way out (a traceback) stays on screen, and `stty` and tmux's own record of the
terminal modes show whether the terminal was restored.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
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

from tests.e2e.test_tmux import TARGET, Tmux, pyspy_of, wait_gone

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

EXITED = "perftop exited with"
# tmux's record of the modes a program set: alternate screen, cursor shown, mouse reporting.
MODES = (
    "alternate_on",
    "cursor_flag",
    "mouse_any_flag",
    "mouse_sgr_flag",
    "mouse_all_flag",
    "mouse_button_flag",
    "mouse_standard_flag",
)
RESTORED = {"alternate_on": "0", "cursor_flag": "1"} | {m: "0" for m in MODES[2:]}


def until_sized(width: int = 120, height: int = 40) -> str:
    """Shell code that waits (up to 5 s) for the pane to have its size before going on.

    tmux may size a new pane after its command has started; a program that reads its size
    before installing its SIGWINCH handler would then draw at the old size for good. It also
    unsets COLUMNS and LINES: pytest-xdist exports 80 and 24 to its workers, and perftop (through
    Textual's use of shutil.get_terminal_size) would take them over the real size.
    """
    return (
        "unset COLUMNS LINES; "
        f'for _ in $(seq 50); do [ "$(stty size)" = "{height} {width}" ] && break; '
        "sleep 0.1; done; "
    )


def shell_command(
    tmp_path: Path,
    *args: str,
    cwd: Path | None = None,
    prefix: str = "",
    size: tuple[int, int] = (120, 40),
    program: tuple[str, ...] = ("-m", "perftop"),
) -> str:
    """A pane command running perftop under bash, which then records the terminal state."""
    perftop = " ".join(shlex.quote(a) for a in [sys.executable, *program, *args])
    script = (
        f"cd {shlex.quote(str(cwd or tmp_path))}; "
        f"{until_sized(*size)}"
        f"stty -a > {tmp_path}/stty.before; "
        f"{prefix}{perftop}; "
        f'echo "{EXITED} $?"; '
        f"stty -a > {tmp_path}/stty.after; "
        "exec sleep 3600"
    )
    return "bash -c " + shlex.quote(script)


def modes(tmux: Tmux) -> dict[str, str]:
    fmt = " ".join(f"#{{{m}}}" for m in MODES)
    out = subprocess.run(
        ["tmux", "display-message", "-p", "-t", tmux.name, fmt],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return dict(zip(MODES, out, strict=True))


def stty_settings(path: Path) -> str:
    """`stty -a` without the size, on one line: its line breaks follow the terminal's width."""
    return " ".join(re.sub(r"rows \d+; columns \d+;", "", path.read_text()).split())


def perftop_pid(tmux: Tmux) -> int:
    """perftop under the pane's shell (setpriv and runuser exec it: the same process)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for proc in psutil.Process(tmux.pane_pid()).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "perftop" in proc.cmdline():
                    return proc.pid
        time.sleep(0.1)
    raise AssertionError("perftop did not start")


def head(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


def samples(screen: str) -> int:
    found = re.search(r"samples ([\d,]+)", head(screen))
    return int(found.group(1).replace(",", "")) if found else -1


def flat(screen: str) -> str:
    """The screen without blanks and borders: toasts wrap their text over several lines."""
    return re.sub(r"[\s▌▐│]+", "", screen)


def no_traceback(tmux: Tmux) -> None:
    screen = tmux.screen()
    assert "Traceback" not in screen and "Error:" not in screen, screen


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux()
    yield session
    session.kill()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    (tmp_path / "e2e_target.py").write_text(TARGET)
    # A short command line: the profile's head line then has room for its sample count.
    proc = subprocess.Popen([sys.executable, "e2e_target.py"], cwd=tmp_path)
    yield proc
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGCONT)
    proc.kill()
    proc.wait()


def attach(tmux: Tmux, tmp_path: Path, pid: int, cwd: Path | None = None) -> int:
    """perftop attached to `pid`; returns the sample count once the flame is up."""
    tmux.start(shell_command(tmp_path, "--pid", str(pid), cwd=cwd))
    screen = tmux.wait_for(lambda s: "perftop_e2e_hot_function" in s and samples(s) > 0, 30)
    return samples(screen)


def grows(tmux: Tmux, than: int, timeout: float = 15.0) -> int:
    """Wait until the live profile holds more than `than` samples; the new count."""
    screen = tmux.wait_for(lambda s: samples(s) > than and " LIVE " in head(s), timeout)
    return samples(screen)


# --- exit paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        "quit",
        "ctrl-c",
        "SIGTERM",
        "SIGHUP",
    ],
)
def test_every_exit_path_ends_pyspy_and_restores_the_terminal(
    tmux: Tmux, tmp_path: Path, target: subprocess.Popen[bytes], how: str
) -> None:
    attach(tmux, tmp_path, target.pid)
    assert modes(tmux)["alternate_on"] == "1"
    assert pyspy_of(target.pid)
    pid = perftop_pid(tmux)
    if how == "quit":
        tmux.keys("F10")
    elif how == "ctrl-c":
        tmux.keys("C-c")
    else:
        os.kill(pid, getattr(signal, how))
    tmux.wait_for(lambda s: EXITED in s, timeout=15)
    wait_gone(target.pid)
    assert target.poll() is None, "the target itself is left alone"
    no_traceback(tmux)
    time.sleep(0.3)  # the shell's `stty -a` after perftop
    before, after = (stty_settings(tmp_path / f"stty.{when}") for when in ("before", "after"))
    assert after == before, "terminal settings (stty) restored"
    assert modes(tmux) == RESTORED, "normal screen, cursor shown, mouse reporting off"


# A signal that lands while the main thread holds the lock of Textual's output queue (it does,
# for a moment, every time it queues a frame). The hang-up handler used to queue the codes that
# give the terminal back through that same queue: it waited on itself, and perftop hung for
# ever, orphaned, after the SSH session dropped. Made certain here by sending the signal from
# inside the lock.
MID_FRAME = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from textual.drivers import _writer_thread

    original = _writer_thread.WriterThread.write
    writes = 0

    def write(self, text):
        global writes
        writes += 1
        if writes == 30 and threading.current_thread() is threading.main_thread():
            with self._queue.mutex:  # as Queue.put holds it
                os.kill(os.getpid(), signal.SIGHUP)
                time.sleep(0.3)  # the handler runs in here
        original(self, text)

    _writer_thread.WriterThread.write = write
    from perftop.cli import main

    sys.exit(main(sys.argv[1:]))
    """
)


def test_a_hang_up_mid_frame_still_ends_perftop_and_restores_the_terminal(
    tmux: Tmux, tmp_path: Path
) -> None:
    (tmp_path / "mid_frame.py").write_text(MID_FRAME)
    tmux.start(shell_command(tmp_path, "-d", "1", program=("mid_frame.py",)))
    try:
        screen = tmux.wait_for(lambda s: EXITED in s, timeout=20)
    finally:  # a hung perftop would outlive the pane: end it here, not for good
        for proc in psutil.Process(tmux.pane_pid()).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "mid_frame.py" in proc.cmdline():
                    proc.kill()
    assert f"{EXITED} {128 + signal.SIGHUP}" in screen, "ended by the hang-up, not stuck"
    no_traceback(tmux)
    time.sleep(0.3)  # the shell's `stty -a` after perftop
    before, after = (stty_settings(tmp_path / f"stty.{when}") for when in ("before", "after"))
    assert after == before, "terminal settings (stty) restored"
    assert modes(tmux) == RESTORED, "normal screen, cursor shown, mouse reporting off"


# --- the profiled process ----------------------------------------------------------------------


def test_target_exit_keeps_the_profile_and_it_exports(
    tmux: Tmux, tmp_path: Path, target: subprocess.Popen[bytes]
) -> None:
    attach(tmux, tmp_path, target.pid)
    before = grows(tmux, 150)
    target.kill()
    target.wait()
    screen = tmux.wait_for(lambda s: " ENDED " in head(s), timeout=15)
    assert samples(screen) >= before, "no sample lost when the target exits"
    assert "perftop_e2e_leaf" in screen
    assert "theprofileiskept" in flat(screen), "a message says the target exited"
    tmux.keys("e")
    time.sleep(0.5)
    tmux.keys("Enter")  # the first format: speedscope
    tmux.wait_for(lambda s: "saved to" in s, timeout=10)
    (exported,) = tmp_path.glob(f"perftop-{target.pid}-*.speedscope.json")
    assert "perftop_e2e_leaf" in exported.read_text()
    tmux.keys("F10")
    tmux.wait_for(lambda s: EXITED in s)
    no_traceback(tmux)


def coverage(screen: str) -> int:
    found = re.search(r"coverage (\d+)%", head(screen))
    return int(found.group(1)) if found else -1


def test_sigstopped_target_keeps_the_profile_and_releases_it(
    tmux: Tmux, tmp_path: Path, target: subprocess.Popen[bytes]
) -> None:
    attach(tmux, tmp_path, target.pid)
    before = grows(tmux, 100)
    os.kill(target.pid, signal.SIGSTOP)
    screen = tmux.wait_for(lambda s: " LIVE " not in head(s), timeout=20)
    assert samples(screen) >= before, "the samples taken before the stop are kept"
    assert re.search(r"stopped|suspend", screen, re.IGNORECASE), "a message says what happened"
    wait_gone(target.pid)  # py-spy lets go of the stopped process
    status = Path(f"/proc/{target.pid}/status").read_text()
    assert "TracerPid:\t0" in status, "the target is not left under ptrace"
    os.kill(target.pid, signal.SIGCONT)
    time.sleep(0.3)
    # Running again (perftop's py-spy, back on it, may hold it for a sample: t, not T).
    assert psutil.Process(target.pid).status() != psutil.STATUS_STOPPED
    tmux.keys("F10")
    tmux.wait_for(lambda s: EXITED in s)
    no_traceback(tmux)


def test_sampling_resumes_when_a_stopped_target_continues(
    tmux: Tmux, tmp_path: Path, target: subprocess.Popen[bytes]
) -> None:
    attach(tmux, tmp_path, target.pid)
    os.kill(target.pid, signal.SIGSTOP)
    screen = tmux.wait_for(lambda s: " STOPPED " in head(s), timeout=10)
    assert f"kill -CONT {target.pid}" in screen, "the message says how to continue"
    wait_gone(target.pid)  # nothing stays attached while it is stopped
    stopped_at = samples(tmux.screen())
    os.kill(target.pid, signal.SIGCONT)
    screen = tmux.wait_for(lambda s: samples(s) > stopped_at and " LIVE " in head(s), timeout=10)
    assert "kill -CONT" not in head(screen), "the stopped message is gone once samples come"
    assert pyspy_of(target.pid), "a py-spy samples it again"


THREAD_CHURN = textwrap.dedent(
    """
    import threading, time

    def perftop_e2e_short_thread():
        sum(i * i for i in range(20000))

    def perftop_e2e_spawner():
        while True:
            threads = [threading.Thread(target=perftop_e2e_short_thread) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

    threading.Thread(target=perftop_e2e_spawner, daemon=True).start()

    def perftop_e2e_hot_function():
        while True:
            sum(i for i in range(10000))
            time.sleep(0.001)

    perftop_e2e_hot_function()
    """
)


def test_target_that_spawns_and_ends_threads(tmux: Tmux, tmp_path: Path) -> None:
    (tmp_path / "e2e_threads.py").write_text(THREAD_CHURN)
    proc = subprocess.Popen([sys.executable, "e2e_threads.py"], cwd=tmp_path)
    try:
        first = attach(tmux, tmp_path, proc.pid)
        count = first
        for _ in range(3):  # three more batches, while threads come and go by the hundred
            count = grows(tmux, count)
        screen = tmux.wait_for(lambda s: "perftop_e2e_short_thread" in s)
        assert " LIVE " in head(screen)
        tmux.keys("t")  # the thread picker lists what was seen, ended threads included
        screen = tmux.wait_for(lambda s: "%" in s and "all threads" in s.lower(), timeout=10)
        tmux.keys("Escape")
        tmux.keys("F10")
        tmux.wait_for(lambda s: EXITED in s)
        wait_gone(proc.pid)
        no_traceback(tmux)
    finally:
        proc.kill()
        proc.wait()


# --- py-spy killed under perftop ---------------------------------------------------------------


def kill_pyspy(pid: int) -> list[int]:
    killed = []
    for proc in pyspy_of(pid):
        with contextlib.suppress(psutil.Error):
            proc.kill()
            killed.append(proc.pid)
    assert killed, "a py-spy was running"
    return killed


def test_killed_pyspy_is_replaced_and_no_sample_is_lost(
    tmux: Tmux, tmp_path: Path, target: subprocess.Popen[bytes]
) -> None:
    attach(tmux, tmp_path, target.pid)
    count = grows(tmux, 100)
    for _ in range(2):
        killed = kill_pyspy(target.pid)
        count = grows(tmux, count)
        assert {p.pid for p in pyspy_of(target.pid)} - set(killed), "a new py-spy samples"
    tmux.keys("F10")
    tmux.wait_for(lambda s: EXITED in s)
    wait_gone(target.pid)
    no_traceback(tmux)


def test_killed_pyspy_is_reported(
    tmux: Tmux, tmp_path: Path, target: subprocess.Popen[bytes]
) -> None:
    attach(tmux, tmp_path, target.pid)
    count = grows(tmux, 100)
    assert coverage(tmux.screen()) >= 90
    kill_pyspy(target.pid)
    said = re.compile(r"py-spy.{0,60}(killed|ended|died|exited|restart)", re.IGNORECASE)
    screen = tmux.wait_for(lambda s: bool(said.search(flat(s))), timeout=8)
    assert "signal9" in flat(screen)
    # The lost batch is uncovered time (the head line is redrawn with the next batch).
    screen = tmux.wait_for(lambda s: samples(s) > count and " LIVE " in head(s), timeout=10)
    assert 0 <= coverage(screen) < 100, head(screen)


# --- exporting to a full or read-only disk ------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs; needs root (mount)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0777", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:  # the last few bytes
                f.write(b"\0")
    return filler


def export_and_wait(tmux: Tmux, expected: str) -> str:
    tmux.keys("e")
    tmux.wait_for(lambda s: "Export the profile as" in s, timeout=10)
    tmux.keys("Enter")
    return tmux.wait_for(lambda s: expected in flat(s), timeout=15)


def test_export_to_a_full_then_read_only_disk_says_why_and_loses_nothing(
    tmux: Tmux, tmp_path: Path, target: subprocess.Popen[bytes], small_disk: Path
) -> None:
    attach(tmux, tmp_path, target.pid, cwd=small_disk)
    count = grows(tmux, 100)
    filler = fill(small_disk)
    export_and_wait(tmux, "Nospaceleftondevice")
    assert [p.name for p in small_disk.iterdir()] == ["filler"], "no partial file left"
    count = grows(tmux, count)  # still sampling

    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    export_and_wait(tmux, "Read-onlyfilesystem")
    count = grows(tmux, count)

    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    filler.unlink()
    export_and_wait(tmux, "savedto")
    (exported,) = small_disk.glob("perftop-*.speedscope.json")
    assert "perftop_e2e_leaf" in exported.read_text()
    data = json.loads(exported.read_text())
    kept = sum(sum(p["weights"]) for p in data["profiles"])
    assert kept >= count, "every sample taken through the failures is in the file"
    tmux.keys("F10")
    tmux.wait_for(lambda s: EXITED in s)
    no_traceback(tmux)


def test_exported_columns_and_lines_do_not_override_the_terminal(
    tmux: Tmux, tmp_path: Path
) -> None:
    tmux.start(shell_command(tmp_path, prefix="COLUMNS=80 LINES=24 "))
    screen = tmux.wait_for(lambda s: "PID USER" in s)
    assert max(len(line) for line in screen.splitlines()) == 120, screen
    tmux.keys("F10")


# --- the terminal resized to 40x12 and back -------------------------------------------------------


def resize(tmux: Tmux, width: int, height: int) -> None:
    subprocess.run(
        ["tmux", "resize-window", "-t", tmux.name, "-x", str(width), "-y", str(height)],
        check=True,
    )


def test_resize_to_40x12_and_back_under_a_live_profile(
    tmux: Tmux, tmp_path: Path, target: subprocess.Popen[bytes]
) -> None:
    attach(tmux, tmp_path, target.pid)
    count = grows(tmux, 100)
    resize(tmux, 40, 12)
    time.sleep(2.0)  # two batches while small
    screen = tmux.screen()
    assert len(screen.splitlines()) <= 12 and "LIVE" in screen, screen
    resize(tmux, 120, 40)
    # The head line is repainted first; the flame follows within a frame or two.
    screen = tmux.wait_for(
        lambda s: (
            "top functions" in s and samples(s) > count + 100 and "perftop_e2e_hot_function" in s
        )
    )
    assert "perftop_e2e_hot_function" in screen, "the profile kept growing while small"
    resize(tmux, 40, 12)
    tmux.keys("q")  # back to the dashboard, still small
    wait_gone(target.pid)
    time.sleep(1.5)
    no_traceback(tmux)
    resize(tmux, 120, 40)
    screen = tmux.wait_for(lambda s: "PID USER" in s and "memory" in s and "tasks" in s)
    tmux.keys("F10")
    tmux.wait_for(lambda s: EXITED in s)
    no_traceback(tmux)
