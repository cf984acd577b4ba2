"""The rewind history: every tick kept exactly, bounded memory, lookups by time, the cursor."""

from __future__ import annotations

import dataclasses
import gc
import tracemalloc

import pytest

from perftop.system.fake import EPOCH, FakeProcessCollector, FakeSystemSampler
from perftop.system.processes import SortKey, ViewOptions, build_view
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.system.timeline import Cursor, Timeline

Tick = tuple[SystemSample, ProcessSnapshot]


class Churn:
    """The fake machine plus short-lived processes: a new PID every tick, each living 5 ticks."""

    def __init__(self) -> None:
        self.system, self.procs, self.tick = FakeSystemSampler(), FakeProcessCollector(), 0

    def next(self) -> Tick:
        sample, snap = self.system.sample(), self.procs.sample()
        template = snap.rows[1513]
        for pid in range(100_000 + max(self.tick - 4, 0), 100_000 + self.tick + 1):
            snap.rows[pid] = dataclasses.replace(
                template, pid=pid, start_time=float(pid), cmdline=f"job {pid}", cpu_percent=1.0
            )
        self.tick += 1
        return sample, snap


def _fill(timeline: Timeline, n: int, source: Churn | None = None) -> list[Tick]:
    source = source or Churn()
    ticks = [source.next() for _ in range(n)]
    for sample, snap in ticks:
        timeline.append(sample, snap)
    return ticks


def test_every_tick_reads_back_exactly() -> None:
    timeline = Timeline(capacity=100, keyframe_every=7)
    ticks = _fill(timeline, 50)
    assert len(timeline) == 50 and timeline.dropped == 0
    for i, (sample, snap) in enumerate(ticks):
        assert timeline.sample_at(i) == sample
        assert timeline.processes_at(i) == snap
    assert timeline.timestamps() == [s.timestamp for s, _ in ticks]
    assert (timeline.first, timeline.last) == (EPOCH, EPOCH + 49)
    assert timeline.processes_at(-1) == ticks[-1][1]


def test_the_oldest_groups_go_whole_and_the_newest_capacity_stays() -> None:
    timeline, source = Timeline(capacity=100, keyframe_every=30), Churn()
    ticks = _fill(timeline, 1_000, source)
    # Keyframes at 0, 30, ..., 990: the newest 100 ticks need groups 900..999.
    assert len(timeline) == 100 and timeline.dropped == 900
    for _ in range(30):
        ticks += _fill(timeline, 1, source)
        assert 100 <= len(timeline) < 130
    assert timeline.first == EPOCH + timeline.dropped
    # A moment long past the first eviction still shows its processes as they were.
    for i in (0, 1, 29, 30, 57):
        assert timeline.processes_at(i) == ticks[timeline.dropped + i][1]


def test_capacity_below_the_keyframe_interval_still_bounds() -> None:
    timeline = Timeline(capacity=5, keyframe_every=60)
    assert timeline.keyframe_every == 5
    _fill(timeline, 100)
    assert 5 <= len(timeline) < 10
    with pytest.raises(ValueError):
        Timeline(capacity=0)


@pytest.mark.slow  # thousands of ticks: out of the fast loop
def test_a_day_of_churn_keeps_memory_and_identities_flat() -> None:
    """Memory after 25 capacities equals memory after 8: nothing grows with time."""
    timeline, source = Timeline(capacity=120, keyframe_every=20), Churn()
    _fill(timeline, 600, source)
    gc.collect()
    tracemalloc.start()
    try:
        _fill(timeline, 400, source)
        gc.collect()
        early = tracemalloc.get_traced_memory()[0]
        _fill(timeline, 2_000, source)
        gc.collect()
        late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert late - early < 0.05 * timeline.nbytes() + 16_384
    # 30 steady processes plus ~5 live jobs per tick over at most 140 kept ticks.
    assert timeline.identity_count <= 30 + 140 + 5
    assert len(timeline.processes_at(0).rows) == 35


def test_index_at_is_the_tick_at_or_before_and_clamps() -> None:
    timeline = Timeline(capacity=10, keyframe_every=4)
    _fill(timeline, 10)
    assert timeline.index_at(EPOCH + 3) == 3
    assert timeline.index_at(EPOCH + 3.99) == 3
    assert timeline.index_at(EPOCH - 100) == 0
    assert timeline.index_at(EPOCH + 1e6) == 9
    with pytest.raises(IndexError):
        timeline.sample_at(10)
    with pytest.raises(IndexError):
        Timeline().index_at(0.0)


def test_a_clock_stepped_back_does_not_break_lookups() -> None:
    timeline = Timeline(capacity=10)
    system, procs = FakeSystemSampler(), FakeProcessCollector()
    stamps = [100.0, 101.0, 102.0, 50.0, 51.0, 103.0]  # NTP moved the clock back, then on
    for t in stamps:
        timeline.append(dataclasses.replace(system.sample(), timestamp=t), procs.sample())
    assert timeline.timestamps() == stamps
    assert timeline.index_at(102.5) == 4  # the ticks at 50 and 51 count as "still at 102"
    assert timeline.index_at(103.0) == 5
    assert timeline.index_at(101.5) == 1


def test_a_past_table_sorts_and_filters_through_the_same_view() -> None:
    timeline = Timeline()
    ticks = _fill(timeline, 30)
    options = ViewOptions(sort_key=SortKey.RSS, reverse=True, filter_text="python3")
    then = [v.row for v in build_view(timeline.processes_at(3), options)]
    assert then == [v.row for v in build_view(ticks[3][1], options)]
    assert [r.pid for r in then] == [2301, 2302, 2420]
    assert then[0].rss_bytes < timeline.processes_at(29).rows[2301].rss_bytes  # the leak grew


# -- the cursor ----------------------------------------------------------------------------


def test_cursor_starts_live_and_steps_from_the_newest_tick() -> None:
    timeline = Timeline()
    cursor = Cursor(timeline)
    cursor.step(-1)  # nothing recorded yet: still live
    assert cursor.is_live and cursor.index is None and cursor.behind is None
    assert cursor.label() == "live"
    _fill(timeline, 10)
    cursor.step(-1)
    assert not cursor.is_live and cursor.index == 8 and cursor.behind == 1
    assert cursor.time == EPOCH + 8 and cursor.label() == "paused at 00:00:08"
    cursor.step(-100)
    assert cursor.index == 0
    cursor.step(+100)
    assert cursor.index == 9 and not cursor.is_live  # the end does not resume live
    cursor.live()
    assert cursor.is_live
    cursor.pause()
    assert cursor.index == 9


def test_paused_cursor_stays_on_its_moment_while_ticks_arrive_and_drop() -> None:
    timeline = Timeline(capacity=20, keyframe_every=5)
    source = Churn()
    _fill(timeline, 20, source)
    cursor = Cursor(timeline)
    cursor.jump_to(EPOCH + 12)
    assert cursor.index == 12
    _fill(timeline, 7, source)  # drops the first group (ticks 0-4)
    assert timeline.dropped == 5 and cursor.index == 7 and cursor.time == EPOCH + 12
    _fill(timeline, 40, source)  # the paused moment itself is dropped: clamp to the oldest
    assert cursor.index == 0 and cursor.time == timeline.first


def test_jumps_move_by_time_and_cross_gaps() -> None:
    timeline = Timeline()
    system, procs = FakeSystemSampler(), FakeProcessCollector()
    stamps = [float(t) for t in range(0, 600)] + [5_000.0, 5_001.0]  # a suspend, then two more
    for t in stamps:
        timeline.append(dataclasses.replace(system.sample(), timestamp=t), procs.sample())
    cursor = Cursor(timeline)
    cursor.jump_seconds(-120)  # from live: two minutes before the newest tick
    assert cursor.time == 599.0  # nothing in 4881..5001 but the gap: the one before it
    cursor.jump_seconds(-120)
    assert cursor.time == 479.0
    cursor.jump_seconds(+60.5)
    assert cursor.time == 539.0
    cursor.jump_seconds(+3_600)
    assert cursor.time == 599.0  # the tick at or before 539 + 3600
    cursor.jump_seconds(+3_600)
    assert cursor.time == 5_000.0  # no tick before the target moves: the next one, past the gap
    cursor.jump_to(-1.0)
    assert cursor.time == 0.0
    cursor.jump_seconds(-60)  # already the oldest: stays
    assert cursor.index == 0


# --- going to a typed moment, and the history up to a paused one --------------------------


def test_parse_moment_takes_a_clock_time_or_a_span_back() -> None:
    import time as _time

    from perftop.system.timeline import parse_moment

    newest = _time.mktime((2026, 11, 22, 14, 3, 27, 0, 0, -1))
    assert parse_moment("-90s", newest) == newest - 90
    assert parse_moment("5m ago", newest) == newest - 300
    assert parse_moment("-1h", newest) == newest - 3600
    assert parse_moment("30", newest) == newest - 30
    assert parse_moment("14:03", newest) == newest - 27
    assert parse_moment("14:00:00", newest) == newest - 207
    # Later in the day than the newest tick: the day before.
    assert parse_moment("23:59", newest) == _time.mktime((2026, 11, 21, 23, 59, 0, 0, 0, -1))
    for bad in ("", "25:00", "14:61", "1:2:3:4", "soon", "-xm", "-infs", "-nan"):
        with pytest.raises(ValueError):
            parse_moment(bad, newest)


def test_history_until_drops_the_newest_samples_and_keeps_the_time_axis() -> None:
    from perftop.system.history import SystemHistory

    sampler = FakeSystemSampler()
    history = SystemHistory(50)
    for _ in range(80):  # past capacity: the rings have wrapped
        history.append(sampler.sample())
    cut = history.until(10)
    assert len(cut) == 40
    assert cut.count == 70
    assert cut.timestamps().latest() == history.timestamps().last(11)[0]
    assert cut.series("cpu.total").values() == history.series("cpu.total").values()[:40]
    assert history.until(0).series("cpu.total").values() == history.series("cpu.total").values()
    assert len(history.until(500)) == 0


# --- a window to save with a snapshot, and read back ------------------------------------------


def _filled(n: int, keyframe_every: int = 10) -> tuple[Timeline, list[tuple[object, object]]]:
    from perftop.system.fake import FakeProcessCollector, FakeSystemSampler

    system, procs = FakeSystemSampler(), FakeProcessCollector()
    timeline = Timeline(1000, keyframe_every)
    ticks = []
    for _ in range(n):
        tick = (system.sample(), procs.sample())
        timeline.append(*tick)
        ticks.append(tick)
    return timeline, ticks


def test_a_window_starts_at_a_keyframe_and_ends_where_asked() -> None:
    timeline, ticks = _filled(95)
    window = timeline.window(35, behind=5)
    # Ends 5 before the newest; starts at the keyframe at or before 35 ticks earlier.
    assert window.timestamp(-1) == ticks[89][0].timestamp  # type: ignore[attr-defined]
    assert window.timestamp(0) == ticks[50][0].timestamp  # type: ignore[attr-defined]
    assert len(window) == 40
    for i in (0, 7, 39):
        assert window.processes_at(i) == ticks[50 + i][1]
        assert window.sample_at(i) == ticks[50 + i][0]
    timeline.append(*ticks[0])  # the original goes on; the window does not change
    assert len(window) == 40


def test_a_window_survives_plain_data_and_back() -> None:
    import json

    timeline, ticks = _filled(45)
    plain = json.loads(json.dumps(timeline.window(25).to_plain()))
    back = Timeline.from_plain(plain, max_ticks=100)
    assert len(back) == 25 and back.timestamp(0) == ticks[20][0].timestamp  # type: ignore[attr-defined]
    assert [back.processes_at(i) for i in range(25)] == [t[1] for t in ticks[20:]]
    with pytest.raises(ValueError, match="more than 10"):
        Timeline.from_plain(plain, max_ticks=10)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(keyframes=[3]),
        lambda d: d.update(identities=[]),
        lambda d: d["ticks"][4].__setitem__(3, [1, "x", [], []]),
        lambda d: d["ticks"][0][0].__setitem__(0, float("inf")),
        lambda d: d.update(ticks="nope"),
    ],
    ids=["keyframe", "identities", "delta", "time", "shape"],
)
def test_a_damaged_window_is_refused_whole(damage: object) -> None:
    timeline, _ = _filled(12)
    plain = timeline.window(12).to_plain()
    damage(plain)  # type: ignore[operator]
    with pytest.raises(ValueError):
        Timeline.from_plain(plain, max_ticks=100)
