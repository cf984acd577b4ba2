"""Faults under a live profile, with the real perftop in tmux and real py-spy (issue 7).

The profiled process exits, is SIGSTOPped, or churns threads; py-spy is killed under perftop;
the disk is full or read-only when exporting; the terminal shrinks to 40x12 and back; and every
exit path (q, Ctrl-C, SIGTERM, SIGHUP) leaves no py-spy behind and gives the terminal back.
Each must end in a message and no lost samples, never in a traceback.

perftop runs under a shell in the pane (`shell_command`, tests/e2e/harness.py), so the pane
outlives it: what it printed on the way out (a traceback) stays on screen, and `stty` and tmux's
own record of the terminal modes show whether the terminal was restored.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.e2e.harness import (
    Tmux,
    assert_terminal_restored,
    coverage,
    exited,
    export_and_wait,
    flat,
    head,
    needs_tmux,
    no_traceback,
    perftop_pid,
    samples,
    shell_command,
    wait_until,
)
from tests.e2e.targets import Target, pyspy_of, start_target, wait_gone

pytestmark = [needs_tmux]


def attach(tmux: Tmux, tmp_path: Path, pid: int, cwd: Path | None = None) -> int:
    """perftop attached to `pid`; returns the sample count once the flame is up."""
    tmux.start(shell_command(tmp_path, "--pid", str(pid), cwd=cwd))
    screen = tmux.wait_for(lambda s: "perftop_e2e_hot_function" in s and samples(s) > 0, 30)
    return samples(screen)


def grows(tmux: Tmux, than: int, timeout: float = 20.0) -> int:
    """Wait until the live profile holds more than `than` samples; the new count."""
    screen = tmux.wait_for(
        lambda s: samples(s) > than and " LIVE " in head(s),
        timeout,
        what=f"the live profile to hold more than {than} samples",
    )
    return samples(screen)


def small(screen: str, width: int = 40, height: int = 12) -> bool:
    lines = screen.splitlines()
    return len(lines) <= height and max(map(len, lines), default=0) <= width


def quit_cleanly(tmux: Tmux) -> None:
    tmux.keys("F10")
    assert exited(tmux) == 0
    no_traceback(tmux)


# --- exit paths -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["quit", "ctrl-c", "SIGTERM", "SIGHUP"])
def test_every_exit_path_ends_pyspy_and_restores_the_terminal(
    tmux: Tmux, tmp_path: Path, target: Target, how: str
) -> None:
    attach(tmux, tmp_path, target.pid)
    assert tmux.modes()["alternate_on"] == "1"
    assert pyspy_of(target.pid)
    pid = perftop_pid(tmux)
    if how == "quit":
        tmux.keys("F10")
    elif how == "ctrl-c":
        tmux.keys("C-c")
    else:
        os.kill(pid, getattr(signal, how))
    exited(tmux)
    wait_gone(target.pid)
    assert target.poll() is None, "the target itself is left alone"
    no_traceback(tmux)
    assert_terminal_restored(tmux, tmp_path)


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
        status = exited(tmux)
    finally:  # a hung perftop would outlive the pane: end it here, not for good
        for proc in psutil.Process(tmux.pane_pid()).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "mid_frame.py" in proc.cmdline():
                    proc.kill()
    assert status == 128 + signal.SIGHUP, "ended by the hang-up, not stuck"
    no_traceback(tmux)
    assert_terminal_restored(tmux, tmp_path)


# --- the profiled process ----------------------------------------------------------------------


def test_target_exit_keeps_the_profile_and_it_exports(
    tmux: Tmux, tmp_path: Path, target: Target
) -> None:
    attach(tmux, tmp_path, target.pid)
    before = grows(tmux, 150)
    target.kill()
    # The head line and the toast that says why come in that order: wait for both.
    screen = tmux.wait_for(
        lambda s: " ENDED " in head(s) and "theprofileiskept" in flat(s), timeout=20
    )
    assert samples(screen) >= before, "no sample lost when the target exits"
    assert "perftop_e2e_leaf" in screen
    export_and_wait(tmux, "savedto")  # the first format: speedscope
    (exported,) = tmp_path.glob(f"perftop-{target.pid}-*.speedscope.json")
    assert "perftop_e2e_leaf" in exported.read_text()
    quit_cleanly(tmux)


def test_sigstopped_target_keeps_the_profile_and_releases_it(
    tmux: Tmux, tmp_path: Path, target: Target
) -> None:
    attach(tmux, tmp_path, target.pid)
    before = grows(tmux, 100)
    os.kill(target.pid, signal.SIGSTOP)
    said = re.compile(r"stopped|suspend", re.IGNORECASE)  # a message says what happened
    screen = tmux.wait_for(lambda s: " LIVE " not in head(s) and said.search(s), timeout=20)
    assert samples(screen) >= before, "the samples taken before the stop are kept"
    wait_gone(target.pid)  # py-spy lets go of the stopped process
    status = Path(f"/proc/{target.pid}/status").read_text()
    assert "TracerPid:\t0" in status, "the target is not left under ptrace"
    os.kill(target.pid, signal.SIGCONT)
    # Running again (perftop's py-spy, back on it, may hold it for a sample: t, not T).
    wait_until(
        lambda: psutil.Process(target.pid).status() != psutil.STATUS_STOPPED,
        f"PID {target.pid} to run again after SIGCONT",
    )
    quit_cleanly(tmux)


def test_sampling_resumes_when_a_stopped_target_continues(
    tmux: Tmux, tmp_path: Path, target: Target
) -> None:
    attach(tmux, tmp_path, target.pid)
    os.kill(target.pid, signal.SIGSTOP)
    # The head line first, then the toast that says how to continue: wait for both.
    tmux.wait_for(
        lambda s: " STOPPED " in head(s) and f"kill-CONT{target.pid}" in flat(s), timeout=20
    )
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
    proc = start_target(tmp_path, THREAD_CHURN, name="e2e_threads.py")
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
        quit_cleanly(tmux)
        wait_gone(proc.pid)
    finally:
        proc.end()


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
    tmux: Tmux, tmp_path: Path, target: Target
) -> None:
    attach(tmux, tmp_path, target.pid)
    count = grows(tmux, 100)
    for _ in range(2):
        killed = kill_pyspy(target.pid)
        count = grows(tmux, count)
        assert {p.pid for p in pyspy_of(target.pid)} - set(killed), "a new py-spy samples"
    quit_cleanly(tmux)
    wait_gone(target.pid)


def test_killed_pyspy_is_reported(tmux: Tmux, tmp_path: Path, target: Target) -> None:
    attach(tmux, tmp_path, target.pid)
    count = grows(tmux, 100)
    # Covered time over elapsed time: above one half (py-spy keeps up, even on a loaded
    # machine), a lost batch followed by a covered one can only lower it.
    before = coverage(tmux.screen())
    assert before > 50, tmux.report()
    kill_pyspy(target.pid)
    said = re.compile(r"py-spy.{0,60}(killed|ended|died|exited|restart)", re.IGNORECASE)
    tmux.wait_for(lambda s: said.search(flat(s)) and "signal9" in flat(s), timeout=20)
    # The lost batch is uncovered time (the head line is redrawn with the next batch).
    screen = tmux.wait_for(lambda s: samples(s) > count and " LIVE " in head(s))
    assert 0 <= coverage(screen) < min(before, 100), head(screen)


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


def test_export_to_a_full_then_read_only_disk_says_why_and_loses_nothing(
    tmux: Tmux, tmp_path: Path, target: Target, small_disk: Path
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
    quit_cleanly(tmux)


def test_exported_columns_and_lines_do_not_override_the_terminal(
    tmux: Tmux, tmp_path: Path
) -> None:
    tmux.start(shell_command(tmp_path, prefix="COLUMNS=80 LINES=24 "))
    screen = tmux.wait_for(lambda s: "PID USER" in s)
    assert max(len(line) for line in screen.splitlines()) == 120, screen
    tmux.keys("F10")


# --- the terminal resized to 40x12 and back -------------------------------------------------------


def test_resize_to_40x12_and_back_under_a_live_profile(
    tmux: Tmux, tmp_path: Path, target: Target
) -> None:
    attach(tmux, tmp_path, target.pid)
    count = grows(tmux, 100)
    tmux.resize(40, 12)
    tmux.wait_for(lambda s: small(s) and "LIVE" in s, what="the live profile redrawn at 40x12")
    tmux.resize(120, 40)
    # The head line is repainted first; the flame follows within a frame or two.
    screen = tmux.wait_for(
        lambda s: (
            "top functions" in s and samples(s) > count + 100 and "perftop_e2e_hot_function" in s
        )
    )
    assert "perftop_e2e_hot_function" in screen, "the profile kept growing while small"
    tmux.resize(40, 12)
    tmux.keys("q")  # back to the dashboard, still small
    wait_gone(target.pid)
    tmux.wait_for(lambda s: small(s) and "LIVE" not in s, what="the dashboard redrawn at 40x12")
    no_traceback(tmux)
    tmux.resize(120, 40)
    tmux.wait_for(lambda s: "PID USER" in s and "memory" in s and "tasks" in s)
    quit_cleanly(tmux)
