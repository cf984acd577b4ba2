"""perftop.children: every child ends with perftop, however perftop ends.

Real processes throughout: `sleep`, small Python helpers, and real py-spy sessions inside a
helper that is then sent SIGTERM or SIGHUP (or SIGKILL, where only the death signal is left).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from perftop import children
from perftop.children import ChildKind
from perftop.profiling.backend import ProfilerMissing
from perftop.profiling.pyspy import find_pyspy
from tests.waiting import wait_until

try:
    find_pyspy()
    HAVE_PYSPY = True
except ProfilerMissing:
    HAVE_PYSPY = False

# Exits 0 on SIGINT (what py-spy does: write its output, detach), ignores SIGTERM.
INT_ONLY = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGINT, lambda *a: sys.exit(0))\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)
STUBBORN = (
    "import signal, time\n"
    "for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


def gone(pid: int, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def wait_ready(popen: subprocess.Popen[bytes]) -> None:
    assert popen.stdout is not None
    assert popen.stdout.readline() == b"ready\n"


def test_terminate_all_kills_a_tracked_sleep() -> None:
    sleeper = children.track(subprocess.Popen(["sleep", "100"]))
    assert sleeper in children.tracked()
    children.terminate_all(timeout=1.0)
    assert sleeper.returncode == -signal.SIGTERM
    assert sleeper not in children.tracked()


def test_untracked_child_is_left_alone() -> None:
    sleeper = children.track(subprocess.Popen(["sleep", "100"]))
    children.untrack(sleeper)
    children.terminate_all(timeout=0.2)
    assert sleeper.poll() is None
    sleeper.kill()
    sleeper.wait()


@pytest.mark.slow  # a real py-spy on a real target
def test_profilers_get_sigint_and_the_stubborn_get_sigkill() -> None:
    polite = children.spawn(
        [sys.executable, "-c", INT_ONLY], kind=ChildKind.PROFILER, stdout=subprocess.PIPE
    )
    stubborn = children.spawn(
        [sys.executable, "-c", STUBBORN], kind=ChildKind.TARGET, stdout=subprocess.PIPE
    )
    wait_ready(polite)
    wait_ready(stubborn)
    started = time.monotonic()
    children.terminate_all(timeout=0.5)
    assert polite.returncode == 0  # SIGINT, not SIGTERM (ignored) nor SIGKILL
    assert stubborn.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 1.5  # signalled together, waited for together
    for popen in (polite, stubborn):
        assert popen.stdout is not None
        popen.stdout.close()


def test_kind_is_guessed_from_the_program() -> None:
    sleeper = children.track(subprocess.Popen(["sleep", "100"]))
    try:
        assert children._children[sleeper] is ChildKind.TARGET
    finally:
        children.terminate(sleeper, timeout=0.5)
    assert sleeper.returncode == -signal.SIGTERM


def test_profilers_get_their_own_session_targets_share_ours() -> None:
    profiler = children.spawn(["sleep", "100"], kind=ChildKind.PROFILER)
    target = children.spawn(["sleep", "100"], kind=ChildKind.TARGET)
    try:
        assert os.getsid(profiler.pid) == profiler.pid  # terminal signals do not reach it
        assert os.getpgid(target.pid) == os.getpgid(0)  # Ctrl-C reaches it, as under py-spy
    finally:
        children.terminate_all(timeout=0.5)


def exec_done(pid: int) -> bool:
    """Whether setpriv has set the death signal and become the program (`sleep`)."""
    return psutil.Process(pid).name() == "sleep"


def test_a_bounded_child_is_refused_as_popen_refuses(tmp_path: Path) -> None:
    """Through setpriv, a program that cannot run still fails at once, as Popen fails."""
    with pytest.raises(FileNotFoundError):
        children.spawn([str(tmp_path / "no-such-py-spy")], kind=ChildKind.PROFILER, bounded=True)
    plain = tmp_path / "py-spy"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(PermissionError):
        children.spawn([str(plain)], kind=ChildKind.PROFILER, bounded=True)
    child = children.spawn(["sleep", "100"], kind=ChildKind.PROFILER, bounded=True)
    try:
        wait_until(lambda: exec_done(child.pid), 10, "setpriv exec'ing sleep")
        assert os.getsid(child.pid) == child.pid
    finally:
        children.terminate_all(timeout=0.5)
    assert child.returncode == -signal.SIGINT


def test_spawn_refused_once_perftop_is_ending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(children, "_closing", False)  # restored after the test
    children.terminate_all(final=True)
    with pytest.raises(children.ChildrenClosed):
        children.spawn(["sleep", "100"], kind=ChildKind.TARGET)


def test_children_survive_the_thread_that_started_them() -> None:
    # PR_SET_PDEATHSIG fires when the forking *thread* exits: all forks go through one
    # long-lived thread, so a child started from a short-lived worker lives on.
    started: list[subprocess.Popen[bytes]] = []
    worker = threading.Thread(
        target=lambda: started.append(children.spawn(["sleep", "100"], kind=ChildKind.TARGET))
    )
    worker.start()
    worker.join()
    time.sleep(0.2)
    try:
        assert started[0].poll() is None
    finally:
        children.terminate_all(timeout=0.5)


HELPER_SLEEPS = """
import sys, time
from perftop import children
for kind in (children.ChildKind.TARGET, children.ChildKind.PROFILER):
    print(children.spawn(["sleep", "100"], kind=kind).pid, flush=True)
# Started through setpriv, with no code of perftop's between fork and exec (vfork).
bounded = children.spawn(["sleep", "100"], kind=children.ChildKind.PROFILER, bounded=True)
print(bounded.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkilled_perftop_leaves_no_child() -> None:
    helper = subprocess.Popen([sys.executable, "-c", HELPER_SLEEPS], stdout=subprocess.PIPE)
    assert helper.stdout is not None
    pids = [int(helper.stdout.readline()) for _ in range(3)]
    # The bounded one's death signal is set once setpriv runs: a perftop killed before that
    # leaves it to its own bound (a py-spy's --duration), which this test does not wait out.
    wait_until(lambda: exec_done(pids[2]), 10, "setpriv exec'ing sleep")
    helper.kill()  # no atexit, no handler: only the kernel's death signal is left
    helper.wait()
    helper.stdout.close()
    assert all(gone(pid) for pid in pids)


HELPER_PYSPY = """
import sys, time
from perftop import children
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.pyspy import PySpyBackend

children.install_signal_handlers()
children.install_signal_handlers()  # twice is harmless
backend = PySpyBackend()
backend.start(int(sys.argv[1]), ProfilerOptions(batch_s=0.3))
print("ready", flush=True)
print(backend._tmp, flush=True)
while True:
    backend.next_batch(0.5)
"""

TARGET = "import time\ndef perftop_test_spin():\n    while True: pass\nperftop_test_spin()\n"


def pyspys_on(target: int) -> set[int]:
    """Every live py-spy on the machine sampling `target`, whoever its parent is now."""
    found = set()
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        info = proc.info
        if info["name"] == "py-spy" and info["status"] != psutil.STATUS_ZOMBIE:
            found.update([proc.pid] if str(target) in (info["cmdline"] or []) else [])
    return found


@pytest.mark.slow  # a real py-spy on a real target
@pytest.mark.skipif(not HAVE_PYSPY, reason="py-spy is not installed")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_ends_every_pyspy(sig: signal.Signals) -> None:
    target = subprocess.Popen([sys.executable, "-c", TARGET])
    helper = subprocess.Popen(
        [sys.executable, "-c", HELPER_PYSPY, str(target.pid)],
        stdout=subprocess.PIPE,
        start_new_session=True,  # a hang-up of its own, not of the test's terminal
    )
    try:
        wait_ready(helper)
        assert helper.stdout is not None
        tmp = Path(helper.stdout.readline().decode().strip())
        assert tmp.is_dir()
        seen: set[int] = set()
        deadline = time.monotonic() + 0.8  # a few hand-overs: py-spys come and go
        while time.monotonic() < deadline:
            seen |= pyspys_on(target.pid)
            time.sleep(0.02)
        assert seen
        helper.send_signal(sig)
        assert helper.wait(timeout=10) == -sig  # died of the signal itself: shell says 128+sig
        seen |= pyspys_on(target.pid)
        assert all(gone(pid, within=2.0) for pid in seen)
        assert pyspys_on(target.pid) == set()  # none orphaned, by any PID
        assert target.poll() is None  # released, not harmed
        assert not tmp.exists()  # the handler ran the cleanups: py-spy's files are gone too
    finally:
        target.kill()
        target.wait()
        if helper.poll() is None:
            helper.kill()
            helper.wait()
        assert helper.stdout is not None
        helper.stdout.close()


def test_ignored_sighup_stays_ignored() -> None:
    script = (
        "import signal\n"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
        "from perftop import children\n"
        "children.install_signal_handlers()\n"
        "assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN\n"
        "assert signal.getsignal(signal.SIGTERM) is children._on_signal\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=20)


@pytest.fixture(autouse=True)
def _no_leftovers() -> Iterator[None]:
    yield
    children.terminate_all(timeout=0.5)
