"""A simulated day: 86,400 ticks of perftop's models, driven as fast as they go (issue 7).

Each tick does what the app does once a second: a system sample into the history, a process
snapshot (the fake machine plus short-lived processes whose PIDs wrap around) into the table's
view (sorted, tree, filtered in turn), and a one-second py-spy batch merged into the live
profile, whose top functions and search are read as the profile screen does. No sleeping.

Memory must stay flat after warm-up. The whole day is watched through the interpreter's count
of allocated blocks and RSS (cheap); the last hour runs under tracemalloc, which measures the
bytes still held that were allocated during that hour: the leak rate, extrapolated to the day.
A shorter version drives the real dashboard (its panels, table and rendering) through Pilot.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace

import psutil
import pytest

from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.system.fake import FakeProcessCollector, FakeSystemSampler
from perftop.system.history import DEFAULT_CAPACITY, SystemHistory
from perftop.system.processes import SortKey, ViewOptions, build_view
from perftop.system.samples import ProcessSnapshot

pytestmark = pytest.mark.slow  # minutes: out of the fast loop (pyproject.toml's markers)

DAY = 86_400
WARM_UP = 2 * DEFAULT_CAPACITY  # the history's rings are full, and have wrapped once
TRACED = 3_600  # the last hour, under tracemalloc
MB = 1e6
CHURN_PER_TICK = 5  # processes started (and as many ended) each second
CHURN_LIFE = 4  # ticks each one lives


class ChurningMachine:
    """The fake machine, plus processes that live a few ticks under PIDs that wrap at 32768."""

    def __init__(self) -> None:
        self.system = FakeSystemSampler()
        self.processes = FakeProcessCollector()
        self.tick = 0

    def sample(self) -> tuple[object, ProcessSnapshot]:
        sample = self.system.sample()
        snap = self.processes.sample()
        template = snap.rows[2420]
        rows = dict(snap.rows)
        for age in range(CHURN_LIFE):
            born = self.tick - age
            for k in range(CHURN_PER_TICK if born >= 0 else 0):
                pid = 3000 + (born * CHURN_PER_TICK + k) % 29_000
                rows[pid] = replace(
                    template,
                    pid=pid,
                    ppid=2301,
                    name="worker",
                    cmdline=f"worker --job {born}-{k}",
                    start_time=snap.timestamp - age,
                    cpu_percent=float((born + k) % 7),
                )
        self.tick += 1
        return sample, ProcessSnapshot(snap.timestamp, rows, snap.core_count)


def batches(n: int = 240, distinct_stacks: int = 2_000) -> list[Profile]:
    """One-second py-spy batches of a program with a bounded set of stacks, four threads."""
    rng = random.Random(7)
    funcs = [Frame(f"func_{i}", f"/srv/app/module_{i % 17}.py", 10 + i) for i in range(400)]
    stacks = [
        [funcs[0], *(funcs[rng.randrange(1, 400)] for _ in range(rng.randrange(2, 16)))]
        for _ in range(distinct_stacks)
    ]
    out = []
    for _ in range(n):
        batch = Profile({"source": "py-spy"})
        for _ in range(15):
            thread = f"thread ({0x7F00 + rng.randrange(4):#x})"
            batch.add_stack(stacks[rng.randrange(distinct_stacks)], rng.randrange(1, 8), thread)
        out.append(batch)
    return out


VIEWS = [
    ViewOptions(),
    ViewOptions(tree=True),
    ViewOptions(sort_key=SortKey.MEM, filter_text="post"),
    ViewOptions(sort_key=SortKey.COMMAND, reverse=False, filter_text="worker", tree=True),
]


def simulate(
    ticks: int, on_tick: Callable[[int], None] | None = None
) -> tuple[SystemHistory, Profile]:
    machine = ChurningMachine()
    history = SystemHistory()
    profile = Profile()
    pool = batches()
    for t in range(ticks):
        sample, snap = machine.sample()
        history.append(sample)  # type: ignore[arg-type]
        view = build_view(snap, VIEWS[(t // 60) % len(VIEWS)])  # the view changes each minute
        assert view or VIEWS[(t // 60) % len(VIEWS)].filter_text
        profile.merge(pool[t % len(pool)])
        if t % 10 == 0:  # the screen re-reads its table at most once a second, flame per batch
            profile.top_functions(limit=100)
            profile.search("module_3")
        if on_tick is not None:
            on_tick(t)
    return history, profile


def settle() -> None:
    gc.collect()
    gc.collect()


def test_a_simulated_day_keeps_memory_flat() -> None:
    started = time.perf_counter()
    process = psutil.Process()
    marks: dict[int, tuple[int, int]] = {}  # tick -> (allocated blocks, RSS)
    traced: dict[str, int] = {}

    def watch(t: int) -> None:
        hour = t + 1
        if hour >= WARM_UP and hour % 3600 == 0:
            settle()
            marks[hour] = (sys.getallocatedblocks(), process.memory_info().rss)
        if hour == DAY - TRACED - 600:
            tracemalloc.start()
        elif hour == DAY - TRACED:  # after 10 traced minutes: the hour's steady state
            settle()
            traced["start"] = tracemalloc.get_traced_memory()[0]
        elif hour == DAY:
            settle()
            traced["end"] = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()

    history, profile = simulate(DAY, watch)
    elapsed = time.perf_counter() - started

    assert len(history) == DEFAULT_CAPACITY, "the history holds its last hour, not the day"
    assert profile.total_samples > DAY * 15, "every batch was merged"
    first_blocks, first_rss = marks[WARM_UP]
    # The last mark before tracemalloc starts: from then on its own bookkeeping takes memory.
    last_blocks, last_rss = marks[max(h for h in marks if h < DAY - TRACED - 600)]
    leak_per_tick = (traced["end"] - traced["start"]) / TRACED
    figures = (
        f"{DAY} ticks in {elapsed:.1f} s; after warm-up: RSS {first_rss / MB:.1f} -> "
        f"{last_rss / MB:.1f} MB, allocated blocks {first_blocks} -> {last_blocks}; "
        f"tracemalloc over the last hour: {leak_per_tick:+.1f} B/tick "
        f"({leak_per_tick * DAY / MB:+.2f} MB a day)"
    )
    print(figures)
    assert last_rss - first_rss < 3 * MB, figures
    assert last_blocks - first_blocks < 50_000, figures  # ~3 MB at 64 bytes a block
    assert leak_per_tick * DAY < 1 * MB, figures


async def test_the_dashboard_app_keeps_memory_flat_over_many_ticks() -> None:
    """The real dashboard (panels, table, rendering) over 900 ticks after a warm-up that fills
    its history; ticks are fed the way the sampler's message handler feeds them."""
    from perftop.app import AppConfig, PerftopApp
    from perftop.system.source import FakeSource

    app = PerftopApp(FakeSource, AppConfig(delay_s=3600, history_len=240))
    machine = ChurningMachine()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()

        async def tick(n: int) -> None:
            for i in range(n):
                sample, snap = machine.sample()
                app.history.append(sample)  # type: ignore[arg-type]
                app.dashboard.show(sample, snap)  # type: ignore[arg-type]
                if i % 3 == 0:  # draw every few ticks: rendering is where the time goes
                    await pilot.pause()

        await pilot.press("i")  # the detail pane follows the selected process each tick
        await tick(480)  # twice the history
        settle()
        blocks, rss = sys.getallocatedblocks(), psutil.Process().memory_info().rss
        await tick(900)
        settle()
        grown_blocks = sys.getallocatedblocks() - blocks
        grown_rss = psutil.Process().memory_info().rss - rss
        assert len(app.history) == 240
        print(
            f"dashboard, 900 ticks after warm-up: RSS {grown_rss / MB:+.2f} MB, "
            f"allocated blocks {grown_blocks:+d}"
        )
        assert grown_rss < 2 * MB and grown_blocks < 5_000, (grown_rss, grown_blocks)
