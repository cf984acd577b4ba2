"""The first tick, read beside the imports (commands/first_tick.py), is drawn in the
dashboard's first frame when it is ready by then: the panels sized for it once, not a frame
later. Not ready, the sampler's worker waits for it as before."""

from __future__ import annotations

from pathlib import Path

from perftop.app import AppConfig, PerftopApp
from perftop.formats.recording import RecordingReader, RecordingWriter
from perftop.system.processes import Figures, ViewOptions, figures_shown
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.system.source import FakeSource
from perftop.ui.start import LiveStart
from tests.ui.helpers import table, until


class ReadyTick:
    """A first tick already read (ready) or still being read (not ready)."""

    def __init__(self, tick: tuple[SystemSample, ProcessSnapshot], ready: bool) -> None:
        self.tick: tuple[SystemSample, ProcessSnapshot] | None = tick
        self.ready = ready
        self.asked: list[bool] = []
        self.opened_calls = 0
        self.wanted = None  # made to measure everything: the dashboard tells it what it shows

    def take(self, wait: bool = True) -> tuple[SystemSample, ProcessSnapshot] | None:
        self.asked.append(wait)
        if not wait and not self.ready:
            return None
        tick, self.tick = self.tick, None
        return tick

    def opened(self) -> None:
        self.opened_calls += 1


class CountedSource(FakeSource):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def sample_processes(self) -> ProcessSnapshot:
        self.reads += 1
        return super().sample_processes()


def first_tick(ready: bool) -> tuple[CountedSource, ReadyTick]:
    source = CountedSource()
    return source, ReadyTick((source.sample_system(), source.sample_processes()), ready)


async def test_a_ready_first_tick_is_in_the_first_frame_without_the_sampler() -> None:
    source, first = first_tick(ready=True)
    opening = first.tick
    assert opening is not None
    config = AppConfig(delay_s=3600, first_tick=first)
    app = PerftopApp(lambda: source, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert first.asked == [False], "asked once, without waiting"
        assert app.dashboard.sample is opening[0], "drawn as the dashboard mounted"
        assert {v.row.pid for v in table(pilot).rows} == set(opening[1].rows)
        assert len(app.history.timestamps()) == 1 and len(app.timeline) == 1
        assert source.reads == 1, "the sampler has not read the machine yet: a tick from now"
        await until(pilot, lambda: first.opened_calls == 1, "told once the first frame is drawn")


async def test_a_first_tick_still_being_read_is_waited_for_by_the_sampler() -> None:
    source, first = first_tick(ready=False)
    opening = first.tick
    assert opening is not None
    app = PerftopApp(lambda: source, AppConfig(delay_s=3600, first_tick=first))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.dashboard.sample is not None, "the first tick shown")
        assert first.asked == [False, True], "not ready at mount: the sampler waits for it"
        assert app.dashboard.sample is opening[0]


async def test_the_opening_tick_is_recorded(tmp_path: Path) -> None:
    source, first = first_tick(ready=True)
    opening = first.tick
    assert opening is not None
    path = tmp_path / "run.perftop"
    writer = RecordingWriter(path)
    config = AppConfig(delay_s=3600, first_tick=first, start=LiveStart(recorder=writer))
    app = PerftopApp(lambda: source, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.dashboard.sample is not None, "the opening tick shown")
        await app.workers.wait_for_complete()
    writer.close()
    with RecordingReader(path) as reader:
        assert len(reader) == 1
        assert reader.timestamp(0) == opening[0].timestamp


async def test_a_first_tick_made_for_what_is_shown_is_not_told_again_at_the_first_draw() -> None:
    # Telling it would wait on its source, which is made (and reads) while that frame draws.
    source, first = first_tick(ready=True)
    first.wanted = figures_shown(ViewOptions(), detail=False)  # type: ignore[assignment]
    told: list[Figures] = []
    source.want = lambda **kw: told.append(Figures(**kw))  # type: ignore[method-assign]
    app = PerftopApp(lambda: source, AppConfig(delay_s=3600, first_tick=first))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: first.opened_calls == 1, "the first frame drawn")
        assert told == []
        await pilot.press("H")  # threads as rows, read from the next tick: now it is told
        await until(pilot, lambda: bool(told) and told[-1].threads, "the threads asked for")
