"""The py-spy driver under conditions of the machine around it: a process with more than 1024
descriptors open (a busy box's process table keeps hundreds of /proc files open), a fault
perftop did not foresee inside the driver thread, and thread keys that must not change when
`--subprocesses` is turned on or off mid-session. Real py-spy, real Python targets.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from perftop.model.profile import Profile
from perftop.profiling import pyspy
from perftop.profiling.backend import Batch, ProfilerFailed, ProfilerMissing, ProfilerOptions
from perftop.profiling.pyspy import PySpyBackend, find_pyspy
from perftop.profiling.pyspy_cli import read_raw

HOT = "perftop_driver_hot_loop"
TARGET = textwrap.dedent(
    f"""
    def {HOT}():
        x = 0
        while True:
            x += 1
    print("ready", flush=True)
    {HOT}()
    """
)

try:
    find_pyspy()
    HAVE_PYSPY = True
except ProfilerMissing:
    HAVE_PYSPY = False
needs_pyspy = pytest.mark.skipif(not HAVE_PYSPY, reason="py-spy is not installed")


@pytest.fixture
def target(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    script = tmp_path / "perftop_driver_target.py"
    script.write_text(TARGET)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    yield proc
    proc.kill()
    proc.wait()


def pyspy_children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() == "py-spy" and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def hot(batch: Batch) -> bool:
    return any(f.name == HOT for f in batch.profile.frames)


def batches_until_hot(backend: PySpyBackend, seconds: float) -> list[Batch]:
    got: list[Batch] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = backend.next_batch(0.2)
        if batch is not None:
            got.append(batch)
            if hot(batch):
                return got
    raise AssertionError(f"no batch with {HOT} within {seconds} s: {got}")


@pytest.fixture
def high_descriptors() -> Iterator[None]:
    """Every descriptor below 1100 taken: whatever is opened next is numbered past select()'s
    FD_SETSIZE (1024). The soft limit is raised for the test where it is lower, then restored."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1400
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below {want}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    held: list[int] = []
    try:
        while True:
            fd = os.open(os.devnull, os.O_RDONLY)
            held.append(fd)
            if fd >= 1100:
                break
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.slow  # a real py-spy on a real target
@needs_pyspy
def test_live_sampling_works_with_descriptors_past_1024(
    target: subprocess.Popen[bytes], high_descriptors: None
) -> None:
    probe = os.open(os.devnull, os.O_RDONLY)
    os.close(probe)
    assert probe >= 1024  # py-spy's output pipe will be numbered past select()'s reach
    backend = PySpyBackend()
    backend.start(target.pid, ProfilerOptions(batch_s=0.3))
    try:
        batches = batches_until_hot(backend, 10.0)
        assert sum(b.samples for b in batches) > 0
        assert backend.coverage > 0
    finally:
        backend.stop()
    assert pyspy_children() == []


@pytest.mark.slow  # a real py-spy on a real target
@needs_pyspy
def test_an_unforeseen_fault_in_the_driver_ends_the_session_as_profiler_failed(
    target: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = PySpyBackend()
    backend.start(target.pid, ProfilerOptions(batch_s=0.3))
    try:
        profile = Profile()
        for batch in batches_until_hot(backend, 10.0):
            profile.merge(batch.profile)

        def broken(text: str, source: str, pid: int) -> Profile:
            raise KeyError("perftop-test-fault")

        monkeypatch.setattr(pyspy, "read_raw", broken)
        deadline = time.monotonic() + 10
        with pytest.raises(ProfilerFailed) as caught:
            while time.monotonic() < deadline:
                late = backend.next_batch(0.2)
                if late is not None:
                    profile.merge(late.profile)  # what was delivered before the fault
        message = caught.value.message
        assert "KeyError" in message and "perftop-test-fault" in message
        assert "\n" not in message
        assert not backend.running
        assert backend.next_batch(0.1) is None  # raised once
        assert any(f.name == HOT for f in profile.frames)
    finally:
        backend.stop()
    assert pyspy_children() == []


# --- thread keys when --subprocesses is turned on or off mid-session ------------------------

DATA = Path(__file__).resolve().parent.parent / "data"


def test_the_targets_own_threads_keep_their_bare_names_under_subprocesses() -> None:
    # Recorded from PID 3184 with a `python -c` child, PID 3187 (tests/data/README.md).
    text = (DATA / "pyspy-raw-subprocesses-threads.txt").read_text()
    keys = set(read_raw(text, "<test>", pid=3184).threads())
    assert keys == {"MainThread", "3186", "3187 (pid 3187)"}
    plain = read_raw((DATA / "pyspy-raw-threads.txt").read_text(), "<test>", pid=1)
    assert all("(pid" not in key for key in plain.threads())


@pytest.mark.slow  # a real py-spy on a real target
@needs_pyspy
def test_turning_subprocesses_on_mid_session_lists_each_thread_once(
    target: subprocess.Popen[bytes],
) -> None:
    backend = PySpyBackend()
    profile = Profile()
    try:
        for subprocesses in (False, True, False):
            backend.start(target.pid, ProfilerOptions(batch_s=0.3, subprocesses=subprocesses))
            for batch in batches_until_hot(backend, 10.0):
                profile.merge(batch.profile)
            backend.stop()
    finally:
        backend.stop()
    # The target never imports threading, so py-spy knows its one thread by id alone.
    assert profile.threads() == [str(target.pid)]


THREADED = textwrap.dedent(
    f"""
    import threading
    def spin():
        while True:
            sum(range(1000))
    threading.Thread(target=spin, name="perftop-spin").start()
    def {HOT}():
        while True:
            sum(range(10**5))
    print("ready", flush=True)
    {HOT}()
    """
)


@pytest.mark.slow  # a real py-spy on a real target
@needs_pyspy
def test_a_session_with_subprocesses_survives_its_hand_overs(tmp_path: Path) -> None:
    # With --subprocesses, a py-spy that collides with the one it takes over from now and
    # then says "No python processes found": about a target sampled a moment before, that
    # passes, and must not end the session as "not a Python process".
    script = tmp_path / "threaded.py"
    script.write_text(THREADED)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    backend = PySpyBackend()
    try:
        backend.start(proc.pid, ProfilerOptions(batch_s=0.2, subprocesses=True))
        delivered = 0
        deadline = time.monotonic() + 60
        while backend._seq < 12:  # py-spys started: 11 hand-overs or restarts
            assert time.monotonic() < deadline, f"only {backend._seq} py-spys in 60 s"
            batch = backend.next_batch(0.2)  # raised NotPython here, within a few
            delivered += batch is not None
        assert backend.running and delivered >= 2
    finally:
        backend.stop()
        proc.kill()
        proc.wait()
    assert pyspy_children() == []


def recording() -> pyspy.Recording:
    done = subprocess.Popen(["true"])
    done.wait()
    return pyspy.Recording(popen=done, output=Path(), errors=Path())


@pytest.mark.parametrize(
    ("start_cpu_s", "length", "refresh"),
    [
        (0.010, 1.0, None),  # one process: 1 % of a core a second, as asked
        (0.120, 2.4, 2.4),  # a parent and five workers: 5 % of a core over 2.4 s
        (0.600, 5.0, 5.0),  # never longer than 5 s, whatever the start cost
    ],
)
def test_a_batch_is_stretched_until_its_pyspys_start_costs_its_share_of_a_core(
    monkeypatch: pytest.MonkeyPatch, start_cpu_s: float, length: float, refresh: float | None
) -> None:
    monkeypatch.setattr(PySpyBackend, "_start_cost", staticmethod(lambda rec: start_cpu_s))
    backend = PySpyBackend()
    backend._options = ProfilerOptions(batch_s=1.0)
    assert backend._stretched(recording()) == pytest.approx(length)
    assert backend.refresh_s == (pytest.approx(refresh) if refresh else None)


def test_the_stretch_follows_the_start_cost_smoothed_not_each_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    costs = iter([0.12, 0.04, 0.04, 0.04])
    monkeypatch.setattr(PySpyBackend, "_start_cost", staticmethod(lambda rec: next(costs)))
    backend = PySpyBackend()
    backend._options = ProfilerOptions(batch_s=1.0)
    lengths = [backend._stretched(recording()) for _ in range(4)]
    assert lengths[0] == pytest.approx(2.4)
    assert lengths[1] == pytest.approx(0.7 * 2.4 + 0.3 * 0.8)  # not 1 s at once
    assert lengths[0] > lengths[1] > lengths[2] > lengths[3] >= 1.0


def test_a_pyspys_start_cost_is_its_cpu_and_nothing_once_it_is_gone() -> None:
    rec = recording()  # reaped: no process to read
    assert PySpyBackend._start_cost(rec) == 0.0
    burn = "import time\nwhile time.process_time() < 0.3: pass\nprint('spent', flush=True)\ninput()"
    busy = subprocess.Popen(
        [sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert busy.stdout is not None and busy.stdout.readline() == b"spent\n"
        rec.popen = busy
        # Its CPU as /proc counts it, in clock ticks: a little under its own count.
        assert PySpyBackend._start_cost(rec) >= 0.25
    finally:
        busy.kill()
        busy.wait()


@pytest.mark.slow  # a real py-spy on a real target
@needs_pyspy
def test_the_chain_records_each_batch_for_as_long_as_it_was_stretched(
    target: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every py-spy "costs" a second to start: each batch after the short first one is
    # stretched to the cap, and its window says so.
    monkeypatch.setattr(PySpyBackend, "_start_cost", staticmethod(lambda rec: 1.0))
    monkeypatch.setattr(pyspy, "_MAX_STRETCH_S", 1.2)
    backend = PySpyBackend()
    backend.start(target.pid, ProfilerOptions(batch_s=0.3))
    try:
        windows: list[float] = []
        deadline = time.monotonic() + 30
        while len(windows) < 3:
            assert time.monotonic() < deadline, f"only {len(windows)} batches in 30 s"
            batch = backend.next_batch(0.2)
            if batch is not None:
                windows.append(batch.wall_s)
        assert backend.refresh_s == pytest.approx(1.2)
        # The first is the short first recording; the others last the stretched 1.2 s (a
        # hand-over stops the old py-spy once the new one has attached: a little longer).
        assert windows[0] < 0.9
        assert all(w >= 1.15 for w in windows[1:]), windows
    finally:
        backend.stop()
    assert pyspy_children() == []
