"""Driving the app in tests: build it on the fake machine and step its sampler by hand."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from perftop.app import AppConfig, PerftopApp
from perftop.system.processes import ViewOptions
from perftop.system.source import FakeSource, SystemSource
from perftop.ui.widgets.process_table import ProcessTable


def make_app(
    source: Callable[[], SystemSource] = FakeSource, view: ViewOptions | None = None
) -> PerftopApp:
    # A long delay: the tests step the sampler themselves, so nothing moves between keys.
    return PerftopApp(source, AppConfig(delay_s=3600, view=view or ViewOptions()))


async def ticks(pilot: Pilot[None], n: int = 1) -> None:
    """Run `n` sampling ticks to completion."""
    app = pilot.app
    assert isinstance(app, PerftopApp)
    for _ in range(n):
        before = len(app.history.timestamps())
        if before or app.dashboard.snapshot is not None:
            app.sample_now()
        for _ in range(400):
            await pilot.pause(0.005)
            if len(app.history.timestamps()) > before:
                break
        else:
            raise AssertionError("the sampler produced no tick")
    await pilot.pause()


def table(pilot: Pilot[None]) -> ProcessTable:
    return pilot.app.screen.query_one(ProcessTable)


def pids(pilot: Pilot[None]) -> list[int]:
    return [v.row.pid for v in table(pilot).rows]
