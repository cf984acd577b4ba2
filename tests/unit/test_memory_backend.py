"""The memory backend: function names read from source, the model's snapshot and growth
arithmetic (fast), and real attaches to real Python processes with gdb (slow): memray on a
target of perftop's Python, tracemalloc on another version, a launched program, detaching."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from perftop.model.frames import Frame
from perftop.model.profile import Profile, growth_between
from perftop.profiling.backend import Batch, NotPython, ProfilerOptions
from perftop.profiling.backends import new_session
from perftop.profiling.launch import launch
from perftop.profiling.memory import MemoryBackend, MemoryLaunch, function_at
from perftop.profiling.memory_payload import payload
from perftop.profiling.session import ProfileSession, SessionState
from tests.e2e.harness import wait_until
from tests.gdb_calls import needs_gdb_calls

LEAKER = textwrap.dedent(
    """
    import sys, time
    kept = []

    class Cache:
        def remember(self):
            kept.append(bytearray(100_000))

    def steady():
        scratch = [bytearray(50_000) for _ in range(4)]
        return len(scratch)

    cache = Cache()
    print("ready", flush=True)  # the interpreter is up: a debugger may call into it now
    while True:
        cache.remember()
        steady()
        time.sleep(0.02)
        if sys.stdin.closed:
            break
    """
)
OTHER_PYTHONS = sorted(
    p
    for p in Path("/root/.pyenv/versions").glob("3.1[2-9]*/bin/python3")
    if not str(p).startswith(sys.base_prefix)
)


def test_function_names_come_from_the_source(tmp_path: Path) -> None:
    source = tmp_path / "app.py"
    source.write_text(LEAKER)
    lines = LEAKER.splitlines()
    remember = next(i for i, line in enumerate(lines, 1) if "kept.append" in line)
    steady = next(i for i, line in enumerate(lines, 1) if "bytearray(50_000)" in line)
    top = next(i for i, line in enumerate(lines, 1) if "cache = Cache()" in line)
    assert function_at(str(source), remember) == "remember"
    assert function_at(str(source), steady) == "steady"
    assert function_at(str(source), top) == "<module>"
    assert function_at(str(tmp_path / "gone.py"), 3) == "<gone.py:3>"
    # Read under another root: a container's files seen through /proc/PID/root.
    assert function_at("/app.py", remember, root=str(tmp_path)) == "remember"


def test_a_snapshot_batch_replaces_and_growth_is_since_the_mark() -> None:
    leak, steady = Frame("remember", "/a.py", 5), Frame("steady", "/a.py", 9)

    def snapshot(leaked: int, held: int) -> Batch:
        profile = Profile()
        profile.add_stack([leak], leaked)
        profile.add_stack([steady], held)
        return Batch(profile, 1.0, 2, 0, False, replaces=True)

    from tests.hand_backend import HandBackend

    session = ProfileSession(1, ProfilerOptions(backend="memory"), HandBackend, source="memory")
    session.absorb(snapshot(100, 50))
    session.mark()
    session.absorb(snapshot(300, 40))
    assert session.profile.total_samples == 340, "the state now, not a sum of snapshots"
    grown = session.grown_since_mark()
    assert grown is not None
    assert {grown.frame(ids[-1]).name: count for ids, count, _ in grown.stacks()} == {
        "remember": 200
    }, "only what grew; what shrank is not growth"
    assert growth_between(Profile(), session.profile).total_samples == 340


def test_the_payload_is_python_with_its_settings() -> None:
    source = payload(1234, memray_dir="", memray_port=5678, python=(3, 11), interval=0.5)
    compile(source, "<payload>", "exec")
    assert '"port": 1234' in source and '"interval": 0.5' in source


def started(python: str, script: Path) -> subprocess.Popen[bytes]:
    """`script` under `python`, once its interpreter runs the script's loop: gdb calling into
    an interpreter still starting up (a loaded box makes that long) would fail."""
    proc = subprocess.Popen([python, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n", f"{script} died before its loop"
    return proc


@pytest.fixture
def leaker(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    script = tmp_path / "leaker.py"
    script.write_text(LEAKER)
    proc = started(sys.executable, script)
    yield proc
    proc.kill()
    proc.wait()


def pump_until(session: ProfileSession, what: str, predicate: object) -> None:
    def step() -> bool:
        batch = session.next_batch(0.3)
        if batch is not None:
            session.absorb(batch)
        return bool(predicate(session))  # type: ignore[operator]

    wait_until(step, what, 60)


def top_name(session: ProfileSession) -> str:
    top = session.profile.top_functions(limit=1)
    return top[0].frame.name if top else ""


@pytest.mark.slow
@needs_gdb_calls
def test_memray_attaches_to_a_running_python_and_detaches(
    leaker: subprocess.Popen[bytes],
) -> None:
    for attach in (1, 2):  # a second attach works: the first left the target as it was
        session = new_session(leaker.pid, ProfilerOptions(backend="memory", batch_s=0.5))
        session.start()
        try:
            assert session.state is SessionState.LIVE, session.error
            assert session.metadata["source"] == "memory"
            backend = session.backend
            assert isinstance(backend, MemoryBackend) and backend.mode == "memray", attach
            pump_until(
                session,
                "the leaking method on top of the live bytes",
                lambda s: top_name(s) == "remember" and s.profile.total_samples > 500_000,
            )
            assert session.profile.metadata["unit"] == "bytes"
        finally:
            session.stop()
        assert leaker.poll() is None, "the target runs on after the detach"
    threads = Path(f"/proc/{leaker.pid}/status").read_text()
    wait_until(
        lambda: "Threads:\t1\n" in Path(f"/proc/{leaker.pid}/status").read_text(),
        f"the tracker's thread to end in the target ({threads!r})",
        20,
    )


@pytest.mark.slow
@needs_gdb_calls
@pytest.mark.skipif(not OTHER_PYTHONS, reason="needs a second Python version")
def test_tracemalloc_where_memray_cannot_load(tmp_path: Path) -> None:
    script = tmp_path / "leaker.py"
    script.write_text(LEAKER)
    proc = started(str(OTHER_PYTHONS[0]), script)
    try:
        session = new_session(proc.pid, ProfilerOptions(backend="memory", batch_s=0.5))
        session.start()
        try:
            assert session.state is SessionState.LIVE, session.error
            backend = session.backend
            assert isinstance(backend, MemoryBackend) and backend.mode == "tracemalloc"
            assert "memray is for Python" in backend.why_not_memray
            pump_until(
                session,
                "the leaking method, named from the source, on top",
                lambda s: top_name(s) == "remember",
            )
        finally:
            session.stop()
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_a_launched_program_is_tracked_from_its_start_without_a_debugger(
    tmp_path: Path,
) -> None:
    script = tmp_path / "leaker.py"
    script.write_text(LEAKER)
    hook = MemoryLaunch(batch_s=0.5)
    proc = launch([sys.executable, str(script)], str(tmp_path / "log"), env=hook.environment())
    try:
        session = new_session(
            proc.pid,
            ProfilerOptions(backend="memory", batch_s=0.5),
            factory=lambda: MemoryBackend(launch=hook),
        )
        session.start()
        try:
            assert session.state is SessionState.LIVE, session.error
            pump_until(session, "the leak on top", lambda s: top_name(s) == "remember")
            assert isinstance(session.backend, MemoryBackend)
            mode = session.backend.mode
            # The tracker's own thread (its socket, its select) is not the program's bytes.
            pump_until(session, "a few more batches", lambda s: s.profile.total_samples > 10**6)
            mine = sorted({f.name for f in session.profile.frames if f.name == "_perftop_memory"})
            assert mine == [], f"{mode}: the tracker's own frames in the profile"
        finally:
            session.stop()
        assert not hook.folder.exists(), "the hook's folder is gone once it has run"
        assert "sitecustomize" not in (tmp_path / "log").read_text()
    finally:
        proc.kill()
        proc.wait()


def test_not_python_is_said_before_any_injection() -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(NotPython, match="not a Python process"):
            MemoryBackend().start(sleeper.pid, ProfilerOptions(backend="memory"))
    finally:
        sleeper.kill()
        sleeper.wait()
