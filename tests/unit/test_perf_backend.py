"""The perf backend against real programs: a C program compiled here, a Node program with
`--perf-basic-prof`, and the whole machine. Slow: each test runs perf for a few seconds."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from perftop.model.frames import FrameKind
from perftop.model.profile import Profile
from perftop.profiling.backend import NoSuchProcess, ProfilerOptions
from perftop.profiling.backends import choose_backend, new_machine_session, new_session
from perftop.profiling.perf import PerfBackend
from perftop.profiling.session import ProfileSession, SessionState
from tests.e2e.harness import wait_until
from tests.e2e.targets import Target
from tests.native_targets import C_FUNCTIONS, NODE_FUNCTIONS, have, perfs_on, start_c, start_node

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have("perf") or not have("gcc"), reason="needs perf and gcc"),
]

OPTIONS = ProfilerOptions(rate_hz=199, batch_s=0.3, backend="perf")


@pytest.fixture
def native(tmp_path: Path) -> Iterator[Target]:
    target = start_c(tmp_path)
    yield target
    target.end()


def pump(session: ProfileSession, until: object, what: str, timeout: float = 30.0) -> None:
    """Absorb batches until `until(session)` holds."""

    def step() -> bool:
        batch = session.next_batch(0.2)
        if batch is not None:
            session.absorb(batch)
        return bool(until(session))  # type: ignore[operator]

    wait_until(step, what, timeout)


def names_of(profile: Profile) -> set[str]:
    return {f.name for f in profile.frames}


def chain_of(profile: Profile, leaf: str) -> list[str]:
    """The heaviest stack ending in `leaf`, root first."""
    best: tuple[int, list[str]] = (0, [])
    for ids, count, _thread in profile.stacks():
        names = [profile.frame(i).name for i in ids]
        if names and names[-1] == leaf and count > best[0]:
            best = (count, names)
    return best[1]


def test_auto_picks_perf_for_native_code_and_pyspy_for_python(native: Target) -> None:
    assert choose_backend(native.pid, ProfilerOptions()) == "perf"
    assert choose_backend(os.getpid(), ProfilerOptions()) == "py-spy"
    assert choose_backend(os.getpid(), ProfilerOptions(backend="perf")) == "perf"


def test_the_c_programs_functions_in_call_order(native: Target) -> None:
    session = new_session(native.pid, ProfilerOptions(rate_hz=199, batch_s=0.3))
    assert session.metadata["source"] == "perf"  # auto, for a process that is not Python
    session.start()
    try:
        assert session.state is SessionState.LIVE, session.error
        pump(
            session,
            lambda s: set(C_FUNCTIONS) <= names_of(s.profile) and s.profile.total_samples > 50,
            "the C program's three functions in the profile",
        )
        assert perfs_on(native.pid), "perf samples while the session is live"
        chain = chain_of(session.profile, "perftop_native_leaf")
        # Outer calls middle calls leaf, under main: root first, in that order.
        assert chain[-4:] == ["main", *C_FUNCTIONS], chain
        kinds = {f.name: f.kind for f in session.profile.frames}
        assert kinds["perftop_native_leaf"] is FrameKind.OWN  # the program's own binary
        threads = session.profile.threads()
        assert threads and threads[0] == f"perftop_native ({native.pid})"
        assert 0.5 < session.coverage <= 1.0
        top = [stat.frame.name for stat in session.profile.top_functions(limit=3)]
        assert "perftop_native_leaf" in top
        dump = session.dump_threads()
        assert dump[0].thread_id == native.pid
        assert dump[0].frames[0].name == "perftop_native_leaf"  # innermost first
    finally:
        session.stop()
        session.drain()
    wait_until(lambda: not perfs_on(native.pid), "perf to end with the session")
    assert native.poll() is None, "the target is left running"


def test_dwarf_unwinds_a_binary_built_without_frame_pointers(tmp_path: Path) -> None:
    target = start_c(tmp_path, flags=("-O2", "-g", "-fomit-frame-pointer"))
    sessions = {
        dwarf: new_session(target.pid, ProfilerOptions(rate_hz=199, batch_s=0.3, dwarf=dwarf))
        for dwarf in (False, True)
    }
    try:
        for session in sessions.values():
            session.start()
            pump(session, lambda s: s.profile.total_samples > 40, "samples")
            session.stop()
            session.drain()
    finally:
        target.end()
    with_fp = chain_of(sessions[False].profile, "perftop_native_leaf")
    with_dwarf = chain_of(sessions[True].profile, "perftop_native_leaf")
    # Frame pointers lose the callers (the leaf's caller is not even on the chain); DWARF reads
    # them all back from the copied stack.
    assert "perftop_native_middle" not in with_fp, with_fp
    assert with_dwarf[-4:] == ["main", *C_FUNCTIONS], with_dwarf
    assert sessions[True].metadata["unwinding"] == "dwarf"


def test_pause_lets_go_and_resume_samples_again(native: Target) -> None:
    session = new_session(native.pid, OPTIONS)
    session.start()
    try:
        pump(session, lambda s: s.profile.total_samples > 20, "samples before the pause")
        session.toggle_pause()
        assert session.state is SessionState.PAUSED
        assert not perfs_on(native.pid), "no perf while paused"
        session.drain()
        paused_at = session.profile.total_samples
        session.toggle_pause()
        pump(
            session,
            lambda s: s.profile.total_samples > paused_at + 20,
            "new samples after resuming",
        )
    finally:
        session.stop()
        session.drain()


def test_a_target_that_exits_ends_the_session_and_keeps_the_profile(tmp_path: Path) -> None:
    target = start_c(tmp_path)
    session = new_session(target.pid, OPTIONS)
    session.start()
    try:
        pump(session, lambda s: s.profile.total_samples > 20, "samples before the exit")
        target.end()
        pump(session, lambda s: s.state is SessionState.ENDED, "the session to end")
        assert session.end_reason == "target exited"
        assert session.profile.ended
        assert "perftop_native_leaf" in names_of(session.profile)
    finally:
        session.stop()
        target.kill()
    assert not perfs_on(target.pid)


def test_a_stopped_target_reads_stopped_then_live(native: Target) -> None:
    session = new_session(native.pid, OPTIONS)
    session.start()
    try:
        pump(session, lambda s: s.profile.total_samples > 10, "samples")
        os.kill(native.pid, signal.SIGSTOP)
        pump(session, lambda s: s.state is SessionState.STOPPED, "the session to say STOPPED")
        assert session.stopped_reason is not None and "kill -CONT" in session.stopped_reason
        os.kill(native.pid, signal.SIGCONT)
        pump(session, lambda s: s.state is SessionState.LIVE, "the session to be live again")
    finally:
        os.kill(native.pid, signal.SIGCONT)
        session.stop()


def test_a_pid_that_does_not_exist_is_refused_in_one_line() -> None:
    pid = 2**22 + 17  # above pid_max's default
    backend = PerfBackend()
    with pytest.raises(NoSuchProcess, match="does not exist"):
        backend.start(pid, OPTIONS)


def test_settings_switch_the_profiler_of_a_running_session(native: Target) -> None:
    session = new_session(native.pid, ProfilerOptions(rate_hz=99, batch_s=0.3))
    session.start()
    try:
        pump(session, lambda s: s.profile.total_samples > 5, "samples with perf")
        session.restart(ProfilerOptions(rate_hz=99, batch_s=0.3, backend="py-spy"))
        assert session.metadata["source"] == "py-spy"
        # py-spy refuses a C program: the session fails with its one line, profile kept.
        assert session.state is SessionState.FAILED
        assert session.error is not None and "not a Python process" in session.error
        assert session.profile.total_samples > 5
    finally:
        session.stop()


def test_the_whole_machine_has_the_c_program_as_a_root(native: Target) -> None:
    session = new_machine_session(ProfilerOptions(rate_hz=99, batch_s=0.3))
    session.start()
    try:
        assert session.state is SessionState.LIVE, session.error
        root = f'process {native.pid}:"perftop_native"'

        def has_program(s: ProfileSession) -> bool:
            return any(
                s.profile.frame(ids[0]).name == root
                and s.profile.frame(ids[-1]).name == "perftop_native_leaf"
                for ids, _count, _thread in s.profile.stacks()
            )

        pump(session, has_program, "the C program as a root with its leaf under it")
        kinds = {f.kind for f in session.profile.frames}
        assert FrameKind.THREAD in kinds  # the process roots
    finally:
        session.stop()


@pytest.mark.skipif(not have("node") and not have("nodejs"), reason="needs Node.js")
def test_node_jit_frames_are_named_through_the_perf_map(tmp_path: Path) -> None:
    target = start_node(tmp_path)
    session = new_session(target.pid, OPTIONS)
    session.start()
    try:
        pump(
            session,
            lambda s: any(any(name in f.name for name in NODE_FUNCTIONS) for f in s.profile.frames),
            "a JavaScript function's name in the profile",
        )
        js = [f for f in session.profile.frames if "perftopJs" in f.name]
        assert all(f.kind is FrameKind.JIT for f in js), js
        assert all(f.filename == f"/tmp/perf-{target.pid}.map" for f in js)
    finally:
        session.stop()
        target.end()
        Path(f"/tmp/perf-{target.pid}.map").unlink(missing_ok=True)
