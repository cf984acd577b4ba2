"""The profiling session's state machine and bookkeeping, without Textual or py-spy."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from perftop.profiling.backend import NotPython, ProfilerBackend, ProfilerFailed, ProfilerOptions
from perftop.profiling.session import ProfileSession, SessionState
from tests.hand_backend import HandBackend


def session(backend: HandBackend, rate: int = 100) -> ProfileSession:
    clock = itertools.count(0.0, 0.5)  # each reading half a second later
    return ProfileSession(
        4242,
        ProfilerOptions(rate_hz=rate),
        lambda: backend,
        command="python app.py",
        clock=lambda: float(next(clock)),
    )


def test_live_batches_merge_and_carry_the_targets_metadata() -> None:
    backend = HandBackend()
    s = session(backend, rate=250)
    s.start()
    assert s.state is SessionState.LIVE
    backend.feed(250, metadata={"source": "py-spy", "rate_hz": "250"})
    batch = s.next_batch(1.0)
    assert batch is not None
    assert s.absorb(batch).warnings == []
    assert s.profile.total_samples == 250
    exported = s.profile_for_export()
    assert exported.metadata["rate_hz"] == "250"
    assert exported.metadata["command"] == "python app.py"
    assert exported.metadata["pid"] == "4242"
    assert float(exported.metadata["duration_s"]) == pytest.approx(1.0), "the batch's window"
    assert exported.total_samples == 250 and exported is not s.profile


def test_reset_forgets_samples_but_keeps_what_describes_the_target() -> None:
    backend = HandBackend()
    s = session(backend)
    s.start()
    backend.feed(10)
    s.absorb(s.next_batch(1.0))  # type: ignore[arg-type]
    s.reset()
    assert s.profile.total_samples == 0
    assert {k: s.profile.metadata[k] for k in ("pid", "command", "source", "rate_hz")} == {
        "pid": "4242",
        "command": "python app.py",
        "source": "py-spy",
        "rate_hz": "100",
    }
    backend.feed(3)
    s.absorb(s.next_batch(1.0))  # type: ignore[arg-type]
    assert s.profile_for_export().total_samples == 3
    assert float(s.profile_for_export().metadata["duration_s"]) == pytest.approx(1.0)


def test_stopped_target_then_continued_then_exited() -> None:
    backend = HandBackend()
    s = session(backend)
    s.start()
    backend.feed(0, stopped=True, warnings=["PID 4242 is stopped (SIGSTOP): kill -CONT 4242"])
    news = s.absorb(s.next_batch(1.0))  # type: ignore[arg-type]
    assert s.state is SessionState.STOPPED and "kill -CONT" in (s.stopped_reason or "")
    assert news.warnings
    backend.feed(5)
    s.absorb(s.next_batch(1.0))  # type: ignore[arg-type]
    assert s.state is SessionState.LIVE and s.stopped_reason is None
    backend.feed(2, exited=True)
    assert s.absorb(s.next_batch(1.0)).exited  # type: ignore[arg-type]
    assert s.state is SessionState.ENDED and s.profile.ended
    assert s.profile.total_samples == 7, "what was collected is kept"
    assert not s.pumping


def test_pause_and_resume_detach_and_reattach() -> None:
    backend = HandBackend()
    s = session(backend)
    s.start()
    s.toggle_pause()
    assert s.state is SessionState.PAUSED and backend.paused
    s.toggle_pause()
    assert s.state is SessionState.LIVE and not backend.paused


def test_a_refused_attach_fails_with_the_advice() -> None:
    s = session(HandBackend(refuse=NotPython("PID 4242 (bash) is not a Python process")))
    s.start()
    assert s.state is SessionState.FAILED
    assert s.error == "PID 4242 (bash) is not a Python process"


def test_an_unexpected_backend_error_ends_the_session_visibly() -> None:
    backend = HandBackend()
    s = session(backend)
    s.start()
    backend.feed(4)
    backend.raise_next(ValueError("filedescriptor out of range in select()"))
    s.absorb(s.next_batch(1.0))  # type: ignore[arg-type]
    with pytest.raises(ProfilerFailed, match="ValueError: filedescriptor out of range") as got:
        s.next_batch(1.0)
    s.fail(got.value)
    assert s.state is SessionState.FAILED and "filedescriptor" in (s.error or "")
    assert s.profile.total_samples == 4, "the profile is kept"


def test_restart_with_new_options_keeps_the_samples_and_the_rate_follows() -> None:
    backends = [HandBackend(), HandBackend()]
    made = iter(backends)
    s = ProfileSession(4242, ProfilerOptions(rate_hz=100), lambda: next(made), command="x")
    s.start()
    backends[0].feed(6)
    s.absorb(s.next_batch(1.0))  # type: ignore[arg-type]
    s.restart(ProfilerOptions(rate_hz=250, subprocesses=True))
    assert s.backend is backends[1] and backends[1].started[0].subprocesses
    assert s.state is SessionState.LIVE
    assert s.profile.total_samples == 6 and s.metadata["rate_hz"] == "250"


def test_restart_switches_backend_and_forgets_how_the_old_one_unwound() -> None:
    made: list[str] = []

    def chooser(options: ProfilerOptions) -> tuple[str, Callable[[], ProfilerBackend]]:
        name = "perf" if options.backend == "perf" else "py-spy"
        made.append(name)
        return name, HandBackend

    s = ProfileSession(
        4242, ProfilerOptions(backend="perf"), HandBackend, source="perf", chooser=chooser
    )
    s.start()
    s.metadata["unwinding"] = "frame pointers"  # what perf's batches say
    s.restart(ProfilerOptions(backend="py-spy"))
    assert made == ["py-spy"] and s.metadata["source"] == "py-spy"
    assert "unwinding" not in s.metadata


def test_stop_then_drain_takes_the_last_cut_short_batch() -> None:
    backend = HandBackend()
    s = session(backend)
    s.start()
    backend.feed(3)
    s.stop()
    assert s.state is SessionState.ENDED
    s.drain()
    assert s.profile.total_samples == 3
    assert not s.profile.ended, "stopped by the user: the target did not exit"
