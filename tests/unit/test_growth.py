"""The growth model: bucketed RSS history, the fitted trend, the leak-suspect rule, time to
exhaustion, replay from ticks, and what it costs in memory."""

from __future__ import annotations

import math
import random
import tracemalloc
from collections.abc import Callable

import pytest

from perftop.system.cgroup_memory import CgroupMemory
from perftop.system.fake import LEAKER, SAWTOOTH, FakeProcessCollector, FakeSystemSampler
from perftop.system.growth import (
    COARSE_STEP_S,
    STEP_S,
    GrowthModel,
    ReplayGrowth,
    parse_window,
    window_label,
)
from perftop.system.memprobe import MemoryProbe
from perftop.system.processes import SortKey, ViewOptions, build_view
from perftop.system.samples import ProcessRow, ProcessSnapshot
from perftop.system.timeline import Timeline
from perftop.system.trend import Growth, fit_line, time_to_exhaustion

MIB = 1024 * 1024
T0 = 1_767_225_600.0
START = T0 - 3600.0


def row(pid: int, rss: int, start: float = START) -> ProcessRow:
    return ProcessRow(pid, 1, "p", "u", "S", 0.0, 0.0, rss, 1, None, None, start, "p")


def feed(
    model: GrowthModel,
    rss_at: Callable[[float], float],
    seconds: float,
    *,
    pid: int = 42,
    start: float = START,
    every: float = 1.0,
    t0: float = T0,
) -> float:
    """Feed one process's RSS, one tick every `every` s for `seconds`; the last tick's time."""
    t = t0
    for i in range(int(seconds / every)):
        t = t0 + i * every
        model.feed(ProcessSnapshot(t, {pid: row(pid, int(rss_at(t - T0)), start)}))
    return t


def noise(seed: int, amplitude: float) -> Callable[[float], float]:
    rng = random.Random(seed)
    table = [rng.uniform(-amplitude, amplitude) for _ in range(10_000)]
    return lambda t: table[int(t) % len(table)]


def test_a_steady_leak_is_flagged() -> None:
    model = GrowthModel(300.0)
    jitter = noise(1, 256 * 1024)  # the allocator's ups and downs, a quarter MiB
    feed(model, lambda t: 200 * MIB + 40_000 * t + jitter(t), 330)
    g = model.growth(42, START)
    assert g is not None and g.suspect, g
    assert g.bytes_per_min == pytest.approx(40_000 * 60, rel=0.05)
    assert g.r2 > 0.95 and "steady" in g.reason
    assert [pid for pid, _s, _g in model.suspects()] == [42]


@pytest.mark.parametrize("period_s", [20.0, 60.0, 170.0])
def test_a_sawtooth_is_not_flagged(period_s: float) -> None:
    """Allocates 40 MiB over `period_s`, frees it, again: at any window phase."""
    for phase in (0.0, period_s / 3, period_s / 2):
        model = GrowthModel(300.0)
        feed(
            model, lambda t, p=phase: 300 * MIB + 40 * MIB * (((t + p) % period_s) / period_s), 400
        )
        g = model.growth(42, START)
        assert g is not None and not g.suspect, (period_s, phase, g)


def test_a_slow_sawtooth_whose_rising_edge_fills_the_window_is_not_flagged() -> None:
    """Rising for 6 of every 7 minutes: the 5-minute window can hold only the rise, which fits
    a line perfectly. What gives it away is the memory it gave back before."""
    model = GrowthModel(300.0)
    period = 420.0
    last = feed(model, lambda t: 100 * MIB + 60 * MIB * min((t % period) / 360, 1.0), 780)
    g = model.growth(42, START)
    assert g is not None and not g.suspect
    assert g.r2 > 0.9, "the window alone would have said leak"
    assert "gives memory back" in g.reason, (last, g)


def test_a_sawtooth_on_a_rising_floor_shows_its_growth_but_is_not_marked() -> None:
    model = GrowthModel(300.0)
    feed(model, lambda t: 100 * MIB + 20_000 * t + 30 * MIB * ((t % 45) / 45), 400)
    g = model.growth(42, START)
    assert g is not None and g.bytes_per_min > 0 and not g.suspect


def test_flat_and_jittering_are_not_flagged() -> None:
    model = GrowthModel(300.0)
    feed(model, lambda t: 50 * MIB, 400)
    g = model.growth(42, START)
    assert g is not None and g.bytes_per_min == 0.0 and not g.suspect
    jitter = noise(2, 2 * MIB)
    model = GrowthModel(300.0)
    feed(model, lambda t: 50 * MIB + jitter(t), 400)
    g = model.growth(42, START)
    assert g is not None and not g.suspect


def test_one_step_up_is_not_a_leak() -> None:
    """A cache filled at once, half-way through the window: a step fits a line at R² 0.75 at
    best."""
    model = GrowthModel(300.0)
    feed(model, lambda t: 80 * MIB + (40 * MIB if t > 200 else 0), 360)
    g = model.growth(42, START)
    assert g is not None and g.r2 <= 0.76 and not g.suspect


def test_growth_that_stopped_is_not_sustained() -> None:
    """Grew for the first 60 % of the window, then nothing: fits at R² 0.9, but the second
    half does not grow."""
    model = GrowthModel(300.0)
    feed(model, lambda t: 80 * MIB + 40 * MIB * min(max(t - 60, 0) / 180, 1), 360)
    g = model.growth(42, START)
    assert g is not None and g.r2 > 0.85 and not g.suspect
    assert "part of the window" in g.reason


def test_too_little_growth_to_matter_is_not_flagged() -> None:
    model = GrowthModel(300.0)
    feed(model, lambda t: 4096 * MIB + 1000 * t, 330)  # 300 KB in 5 min of a 4 GiB process
    g = model.growth(42, START)
    assert g is not None and g.r2 > 0.9 and not g.suspect and "too little" in g.reason


def test_too_short_a_history_shows_nothing_then_growth_then_a_verdict() -> None:
    model = GrowthModel(300.0)

    def leak(t: float) -> float:
        return 100 * MIB + 100_000 * t

    feed(model, leak, 120)
    assert model.growth(42, START) is None, "under half the window: blank"
    assert model.suspects() == []
    feed(model, leak, 100, t0=T0 + 120)
    g = model.growth(42, START)
    assert g is not None and not g.suspect and "history covers" in g.reason
    feed(model, leak, 100, t0=T0 + 220)
    g = model.growth(42, START)
    assert g is not None and g.suspect


def test_a_reused_pid_starts_afresh_and_gone_processes_are_forgotten() -> None:
    model = GrowthModel(300.0)
    feed(model, lambda t: 100 * MIB + 100_000 * t, 330)
    assert model.growth(42, START) is not None and model.suspects()
    later = START + 5000.0  # the same PID, another process
    model.feed(ProcessSnapshot(T0 + 331, {42: row(42, 500 * MIB, later)}))
    assert model.growth(42, START) is None and model.growth(42, later) is None
    assert model.suspects() == []
    assert model.lookup(row(42, 1, START)) is None, "the old process's row reads nothing"
    model.feed(ProcessSnapshot(T0 + 332, {7: row(7, MIB)}))
    assert len(model) == 1, "PID 42 exited: its history went with it"


def test_kernel_threads_have_no_history() -> None:
    model = GrowthModel()
    model.feed(ProcessSnapshot(T0, {2: row(2, 0), 3: row(3, 4096 * 3)}))
    assert len(model) == 1


def test_windows_past_ten_minutes_read_the_coarse_points() -> None:
    model = GrowthModel(1800.0)
    feed(model, lambda t: 100 * MIB + 20_000 * t, 1900, every=STEP_S)
    g = model.growth(42, START)
    assert g is not None and g.suspect and g.window_s == 1800.0
    assert g.bytes_per_min == pytest.approx(20_000 * 60, rel=0.05)
    model.window_s = 300.0  # changing the window refits at once
    g = model.growth(42, START)
    assert g is not None and g.window_s == 300.0


def test_series_spans_the_hour_from_both_tiers() -> None:
    model = GrowthModel()
    feed(model, lambda t: 100 * MIB + 10_000 * t, 3600, every=STEP_S)
    values, span = model.series(42, START, 80)
    assert len(values) == 80
    assert values == sorted(values), "a leak only grows"
    assert 3400 <= span <= 3600
    assert values[-1] == pytest.approx(100 * MIB + 10_000 * 3595, rel=0.01)
    assert model.series(43, START, 80) == ([], 0.0)


def test_a_gap_in_the_ticks_is_skipped_not_read_as_zero() -> None:
    model = GrowthModel(300.0)
    leak = lambda t: 100 * MIB + 50_000 * t  # noqa: E731
    feed(model, leak, 150)
    feed(model, leak, 180, t0=T0 + 180)  # 30 s without a tick (a suspended laptop)
    g = model.growth(42, START)
    assert g is not None and g.bytes_per_min == pytest.approx(50_000 * 60, rel=0.05)


def test_fit_line_is_exact_on_integers() -> None:
    slope, r2 = fit_line([10**9 + 3 * i for i in range(50)])
    assert slope == 3.0 and r2 == 1.0
    assert fit_line([5, 5, 5, 5]) == (0.0, 0.0)
    slope, r2 = fit_line([1, 2, 3], [0, 2, 4])
    assert slope == 0.5 and r2 == 1.0


def test_time_to_exhaustion_takes_the_tighter_of_cgroup_and_machine() -> None:
    per_min = 3 * MIB
    ex = time_to_exhaustion(per_min, 8 * 1024 * MIB, 512 * MIB, 386 * MIB, "/app")
    assert ex is not None and ex.limit_bytes == 512 * MIB and ex.cgroup == "/app"
    assert ex.seconds == pytest.approx(126 / 3 * 60)  # 126 MiB at 3 MiB/min: 42 min
    ex = time_to_exhaustion(per_min, 60 * MIB, 512 * MIB, 386 * MIB, "/app")
    assert ex is not None and ex.limit_bytes is None, "the machine runs out first"
    assert ex.seconds == pytest.approx(20 * 60)
    # Read 10 minutes ago: 30 MiB of the headroom are gone since.
    ex = time_to_exhaustion(per_min, None, 512 * MIB, 386 * MIB, "/app", 600.0)
    assert ex is not None and ex.seconds == pytest.approx(96 / 3 * 60)
    assert time_to_exhaustion(0.0, MIB) is None and time_to_exhaustion(-5.0, MIB) is None
    assert time_to_exhaustion(per_min, None) is None
    ex = time_to_exhaustion(per_min, None, 100 * MIB, 120 * MIB)
    assert ex is not None and ex.seconds == 0.0, "over its limit already"


def test_forecasts_and_probes_of_the_suspects() -> None:
    model = GrowthModel(300.0)
    feed(model, lambda t: 400 * MIB + 3 * MIB * t / 60, 330)
    model.available_bytes = 10 * 1024 * MIB
    assert model.forecasts() == [], "10 GiB free at 3 MiB/min: days"
    due = model.due_probes()
    assert due == [(42, START)]
    assert model.due_probes() == [], "asked for: not again within 30 s"
    cgroup = CgroupMemory("/app.slice", 512 * MIB, 420 * MIB, 2)
    model.set_probe(42, START, MemoryProbe(None, True, cgroup))
    (forecast,) = model.forecasts()
    assert forecast.pid == 42 and forecast.exhaustion.limit_bytes == 512 * MIB
    assert forecast.exhaustion.seconds == pytest.approx(92 / 3 * 60, rel=0.02)
    first, last = model.probes(42, START)
    assert first is not None and last is not None and first is last


def test_the_suspects_stand_within_a_bucket_less_those_gone_or_replaced() -> None:
    """The suspects are found again only when a fine point closes (fits move only then);
    within a bucket a suspect that exits, or whose PID a new process took, is dropped."""
    model = GrowthModel(300.0)
    last = feed(model, lambda t: 400 * MIB + 3 * MIB * t / 60, 330)
    t = (last // STEP_S + 1) * STEP_S  # the first tick of a fresh bucket
    steady = {7: row(7, 100 * MIB), 8: row(8, 100 * MIB)}
    leak = 400 * MIB + 3 * MIB * (t - T0) / 60
    model.feed(ProcessSnapshot(t, {42: row(42, int(leak)), **steady}))
    assert [pid for pid, _s, _g in model.suspects()] == [42]
    model.feed(ProcessSnapshot(t + 1, {42: row(42, int(leak), start=t), **steady}))
    assert model.suspects() == [], "PID 42 is another process now: no history of its own"
    model.feed(ProcessSnapshot(t + 2, steady))
    assert model.suspects() == [] and model.due_probes() == []


def test_parse_window() -> None:
    assert parse_window("5m") == 300.0 and parse_window("90s") == 90.0
    assert parse_window("1h") == 3600.0 and parse_window(120) == 120.0
    assert parse_window(" 2M ") == 120.0
    for bad in ("5x", "", "30s", "2h", True):
        with pytest.raises(ValueError):
            parse_window(bad)  # type: ignore[arg-type]
    assert [window_label(s) for s in (300.0, 90.0, 3600.0)] == ["5m", "90s", "1h"]


def test_the_fake_machine_leaks_one_process_and_saws_another() -> None:
    processes, system = FakeProcessCollector(), FakeSystemSampler()
    model = GrowthModel(300.0)
    for _ in range(330):
        snap = processes.sample()
        model.feed(snap, system.sample().memory.available_bytes)
    assert [pid for pid, _s, _g in model.suspects()] == [LEAKER]
    saw = model.lookup(snap.rows[SAWTOOTH])
    assert saw is not None and not saw.suspect
    leak = model.lookup(snap.rows[LEAKER])
    assert leak is not None and leak.bytes_per_min == pytest.approx(6 * MIB)


def test_growth_sorts_the_table() -> None:
    model = GrowthModel(300.0)
    rows = {1: 10 * MIB, 2: 10 * MIB, 3: 10 * MIB}
    for i in range(330):
        t = T0 + i
        sizes = {1: rows[1] + 1000 * i, 2: rows[2] + 90_000 * i, 3: rows[3]}
        model.feed(ProcessSnapshot(t, {p: row(p, s) for p, s in sizes.items()}))
    model.feed(ProcessSnapshot(T0 + 330, {**{p: row(p, rows[p]) for p in rows}, 4: row(4, MIB)}))
    snap = ProcessSnapshot(T0 + 330, {p: row(p, MIB) for p in (1, 2, 3, 4)})
    view = build_view(snap, ViewOptions(sort_key=SortKey.GROWTH, reverse=True), model.lookup)
    assert [v.row.pid for v in view] == [2, 1, 3, 4], "fastest first, the new one (blank) last"
    assert view[0].growth is not None and view[3].growth is None
    tree = build_view(snap, ViewOptions(tree=True), model.lookup)
    assert {v.row.pid: v.growth is not None for v in tree} == {1: True, 2: True, 3: True, 4: False}


@pytest.mark.parametrize("tree", [False, True])
def test_a_view_asks_the_trend_of_only_the_rows_named(tree: bool) -> None:
    """Without GROWTH shown, the dashboard names the suspects: the other rows are not asked."""
    asked: list[int] = []
    trend = Growth(1000.0, 1.0, 300.0, 1.0, True, "grows")

    def lookup(r: ProcessRow) -> Growth | None:
        asked.append(r.pid)
        return trend

    snap = ProcessSnapshot(T0, {p: row(p, MIB) for p in (1, 2, 3, 4)})
    view = build_view(snap, ViewOptions(tree=tree), lookup, {2, 4})
    assert sorted(asked) == [2, 4]
    assert {v.row.pid: v.growth for v in view} == {1: None, 2: trend, 3: None, 4: trend}
    asked.clear()
    build_view(snap, ViewOptions(tree=tree), lookup)
    assert sorted(asked) == [1, 2, 3, 4], "without names, every row's"


def test_replay_knows_only_what_was_known_then() -> None:
    processes, system = FakeProcessCollector(), FakeSystemSampler()
    timeline = Timeline(3600)
    for _ in range(400):
        timeline.append(system.sample(), processes.sample())
    replay = ReplayGrowth(timeline, 300.0)
    newest = replay.at(len(timeline) - 1)
    start = timeline.processes_at(-1).rows[LEAKER].start_time
    g = newest.growth(LEAKER, start)
    assert g is not None and g.suspect
    early = replay.at(100)  # back: fed afresh from the ticks before it
    assert early.growth(LEAKER, start) is None, "100 s in, a 5-minute window knows nothing"
    mid = replay.at(320)
    g = mid.growth(LEAKER, start)
    assert g is not None and g.suspect
    assert mid.now == timeline.timestamp(320)
    onwards = replay.at(321)  # one step on: the same model, one tick more
    assert onwards is mid and onwards.now == timeline.timestamp(321)


def _model_bytes(n: int, moving: bool) -> float:
    """Bytes a process the model holds after an hour of `n` processes, one tick a bucket
    (the arrays hold the same as at one tick a second)."""
    model = GrowthModel()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(3600 // STEP_S):
            wobble = int(MIB * math.sin(i / 7)) if moving else 0
            rows = {p: row(p, 100 * MIB + p * 4096 + wobble) for p in range(1, n + 1)}
            model.feed(ProcessSnapshot(T0 + i * STEP_S, rows))
        del rows  # only the model's own memory is left
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(model) == n
    return (after - before) / n


@pytest.mark.slow  # 18 s: an hour of ticks for thousands of processes
def test_memory_stays_small() -> None:
    """The figures in growth.py's docstring: a process whose RSS moves every bucket, and an
    idle one."""
    moving, idle = _model_bytes(500, True), _model_bytes(500, False)
    assert 720 <= moving <= 1800, moving  # 180 points of 4 bytes, and the objects around them
    assert idle <= 800, idle
    assert COARSE_STEP_S % STEP_S == 0


def test_an_idle_stretch_kept_as_a_run_reads_back_the_same() -> None:
    """Idle, then leaking, then idle again for longer than the fine points reach: the points
    read back as fed however they are kept."""
    model = GrowthModel(300.0)

    def shape(t: float) -> float:
        return 100 * MIB + 50_000 * min(max(t - 300, 0), 300)

    feed(model, shape, 300)
    values, _span = model.series(42, START, 200)
    assert set(values) == {100 * MIB}
    g = model.growth(42, START)
    assert g is not None and g.bytes_per_min == 0.0
    feed(model, shape, 300, t0=T0 + 300)
    g = model.growth(42, START)
    assert g is not None and g.suspect
    feed(model, shape, 900, t0=T0 + 600)
    values, _span = model.series(42, START, 400)
    assert values == sorted(values)
    assert values[-1] == pytest.approx(100 * MIB + 50_000 * 300, abs=1024)  # KiB: rounded
    g = model.growth(42, START)
    assert g is not None and g.bytes_per_min == 0.0 and not g.suspect
