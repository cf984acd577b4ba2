"""Driving the app in tests: build it on the fake machine and step its sampler by hand."""

from __future__ import annotations

import asyncio
import time
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
    """Run `n` sampling ticks to completion, then let the screen catch up.

    Between ticks it yields to the event loop (the tick is delivered and shown as in the app)
    but does not force a repaint, as `pilot.pause` would: the screen repaints at its own pace,
    and once more at the end. A tick waited for is a condition, not a time: 20 s on a loaded
    machine is far more than one needs.
    """
    app = pilot.app
    assert isinstance(app, PerftopApp)
    for _ in range(n):
        before = len(app.history.timestamps())
        if before or app.dashboard.snapshot is not None:
            app.sample_now()
        deadline = time.monotonic() + 20
        while len(app.history.timestamps()) <= before:
            if time.monotonic() > deadline:
                raise AssertionError(f"the sampler produced no tick after {before}")
            await asyncio.sleep(0.002)
    await pilot.pause()


def table(pilot: Pilot[None]) -> ProcessTable:
    return pilot.app.screen.query_one(ProcessTable)


def pids(pilot: Pilot[None]) -> list[int]:
    return [v.row.pid for v in table(pilot).rows]


async def until(
    pilot: Pilot[None], condition: Callable[[], object], what: str, timeout: float = 20.0
) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` s saying `what`.
    For what comes at the app's own pace (a timer, a worker, a layout): a condition, not a
    sleep, so a loaded machine is only slower, never wrong."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await pilot.pause(0.01)
