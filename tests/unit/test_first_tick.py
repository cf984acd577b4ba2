"""The first tick read beside the TUI's imports (commands/first_tick.py): once, then the
sampler's own; an error is the sampler's to meet, not lost."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from perftop.commands.first_tick import EarlySession, FirstTick
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.session import SessionState
from perftop.system import source as source_module
from perftop.system.processes import SortKey, ViewOptions, figures_shown
from perftop.system.samples import ProcessSnapshot, SystemSample
from tests.unit.test_pyspy import needs_pyspy, pyspy_children, start_target
from tests.waiting import wait_until


def test_the_first_tick_is_taken_once_from_the_source_it_came_from() -> None:
    first = FirstTick()
    source = first.source()
    tick = first.take()
    assert tick is not None
    sample, snapshot = tick
    assert snapshot.rows and sample.core_count >= 1
    assert first.take() is None, "the next ticks are the sampler's own"
    assert first.source() is source
    assert os.getpid() in snapshot.rows


def test_the_first_tick_measures_only_what_the_first_screen_shows() -> None:
    # Default columns: no NET/s, no WAIT%: neither is read, and NET's sampler is not made.
    first = FirstTick(figures_shown(ViewOptions(), detail=False))
    tick = first.take()
    assert tick is not None
    _, snapshot = tick
    me = snapshot.rows[os.getpid()]
    assert me.net_rx_bytes_per_s is None and me.wait_percent is None
    assert snapshot.net_at is None
    extras = first.source()._extras  # type: ignore[attr-defined]
    assert extras.net is None and extras.net_snapshot is None
    # Shown later (the NET column turned on): measured from the next tick on.
    first.source().want(**figures_shown(ViewOptions(sort_key=SortKey.NET), False)._asdict())
    later = first.source().sample_processes()
    assert extras.net is not None and later.net_at is not None


def test_the_tick_is_read_in_a_child_and_the_sources_own_read_waits_for_the_first_frame() -> None:
    first = FirstTick()
    taken: list[tuple[SystemSample, ProcessSnapshot]] = []

    def child_done() -> bool:
        tick = first.take(wait=False)
        if tick is not None:
            taken.append(tick)
        return bool(taken)

    wait_until(child_done, 30, "the child's tick")
    sample, snapshot = taken[0]
    assert os.getpid() in snapshot.rows and sample.core_count >= 1
    assert first.take(wait=False) is None, "taken once"
    assert not first._done.is_set(), "the source's own read waits until the frame is drawn"
    first.opened()
    source = first.source()  # its first read done: the next tick's rates are over a tick
    assert first._done.is_set()
    assert os.getpid() in source.sample_processes().rows
    assert first.take() is None


def test_without_a_fork_the_thread_reads_the_first_tick() -> None:
    first = FirstTick(fork=False)
    tick = first.take()
    assert tick is not None and os.getpid() in tick[1].rows
    assert first.take() is None
    assert first.source() is first.source()


def test_a_child_that_cannot_read_the_tick_leaves_it_to_the_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The child dies (here: its source cannot be made; in life, a kill) and says nothing:
    # the thread reads the tick itself, at once, not waiting for a first frame.
    real = source_module.LiveSource
    parent = os.getpid()

    def in_the_parent_only() -> source_module.LiveSource:
        if os.getpid() != parent:
            raise PermissionError("no /proc in the child")
        return real()

    monkeypatch.setattr(source_module, "LiveSource", in_the_parent_only)
    first = FirstTick()
    tick = first.take()
    assert tick is not None and parent in tick[1].rows


def test_a_first_tick_not_told_what_is_shown_measures_everything() -> None:
    first = FirstTick()  # `perftop serve`'s source, and a test's, are never told
    tick = first.take()
    assert tick is not None
    assert tick[1].net_at is not None


def test_a_source_that_cannot_be_made_raises_where_it_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> None:
        raise PermissionError("no /proc")

    monkeypatch.setattr(source_module, "LiveSource", broken)
    first = FirstTick()
    assert first.take() is None
    with pytest.raises(PermissionError, match="no /proc"):
        first.source()


@needs_pyspy
def test_the_early_profiler_is_taken_live_once_and_never_left_running(tmp_path: Path) -> None:
    target = start_target(tmp_path)
    try:
        _taken_live_once(target)
    finally:
        target.kill()
        target.wait()


def _taken_live_once(target: subprocess.Popen[bytes]) -> None:
    early = EarlySession(target.pid, ProfilerOptions(rate_hz=100), "target")
    session = early.take(target.pid)
    assert session is not None and session.state is SessionState.LIVE
    try:
        batch = None
        deadline = time.monotonic() + 20
        while batch is None and time.monotonic() < deadline:
            batch = session.next_batch(1.0)
        assert batch is not None and batch.samples > 0
    finally:
        session.stop()
    assert early.take(target.pid) is None, "taken once"
    other = EarlySession(target.pid, ProfilerOptions(rate_hz=100), "target")
    assert other.take(target.pid + 1) is None  # asked for another PID: stopped, not kept
    wait_until(lambda: not pyspy_children(), 20, "py-spy ended")


def test_an_early_profiler_that_cannot_attach_is_failed_for_the_screen_to_say() -> None:
    early = EarlySession(2**22 + 7, ProfilerOptions(), "gone")  # above the kernel's PID limit
    session = early.take(2**22 + 7)
    assert session is None or session.state is SessionState.FAILED
