"""Small terminals: the meters fold into htop-like lines so the process table keeps its rows
(issue 16: 14 rows at 80x24, where the bordered panels left 8), and unfold when it grows."""

from __future__ import annotations

import dataclasses

from textual.app import App, ComposeResult
from textual.widget import Widget

from perftop.system.history import SystemHistory
from perftop.system.samples import SystemSample
from perftop.system.source import FakeSource
from perftop.ui.screens.dashboard import DashboardScreen
from perftop.ui.widgets.compact_meters import CompactMeters
from perftop.ui.widgets.meters import used_of
from tests.ui.helpers import make_app, table, ticks


def shown(app: App[None], selector: str) -> bool:
    """On screen; a part the dashboard mounts only when first shown may not be there at all."""
    found = app.screen.query(selector)
    return any(w.display and w.size.height for w in found if isinstance(w, Widget))


def text_of(widget: CompactMeters) -> list[str]:
    return ["".join(t for t, _ in line) for line in widget._shown]


async def test_at_80x24_the_meters_fold_and_the_table_keeps_its_rows() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        assert shown(app, "#cpu") and not shown(app, "#compact")
        full = {w.id: w.region for w in app.screen.query(Widget) if w.id and w.display}

        await pilot.resize_terminal(80, 24)
        await ticks(pilot)
        assert not shown(app, "#meters") and not shown(app, "#io")
        assert shown(app, "#compact")
        rows = table(pilot).size.height - 1  # less the header
        assert rows >= DashboardScreen.TABLE_ROWS, rows
        lines = text_of(app.screen.query_one("#compact", CompactMeters))
        sample = app.dashboard.sample
        assert sample is not None
        words = " ".join(lines)
        for word in ("CPU", "Mem", "Swp", "Dsk", "Net", "usr", "sys"):
            assert word in words, lines
        assert used_of(sample.memory.used_bytes, sample.memory.total_bytes) in lines[0]
        # Every core of the fake machine, each with its figure.
        for i, pct in enumerate(sample.cpu.per_core_percent):
            assert f"{i:>2} {pct:5.1f}%" in words, (i, lines)

        await pilot.resize_terminal(120, 40)
        await ticks(pilot)
        assert shown(app, "#cpu") and not shown(app, "#compact")
        back = {w.id: w.region for w in app.screen.query(Widget) if w.id and w.display}
        assert back == full, "the bordered panels come back as they were"


async def test_a_height_that_leaves_the_table_its_rows_keeps_the_panels() -> None:
    app = make_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await ticks(pilot, 2)
        assert shown(app, "#cpu") and not shown(app, "#compact")
        assert table(pilot).size.height - 1 >= DashboardScreen.TABLE_ROWS


class Meters(App[None]):
    def __init__(self, sample: SystemSample) -> None:
        super().__init__()
        self.sample = sample

    def compose(self) -> ComposeResult:
        yield CompactMeters(id="compact")

    def on_mount(self) -> None:
        self.query_one(CompactMeters).styles.height = 8


def with_cores(n: int) -> SystemSample:
    sample = FakeSource().sample_system()
    cpu = sample.cpu._replace(per_core_percent=tuple(100.0 if i % 2 else 1.0 for i in range(n)))
    return dataclasses.replace(sample, cpu=cpu, core_count=n)


async def test_many_cores_fold_into_a_strip_of_cells() -> None:
    sample = with_cores(64)
    assert CompactMeters.rows_for(sample, 80) <= 5
    assert CompactMeters.rows_for(with_cores(4), 80) == 5  # and a line for its temperature
    app = Meters(sample)
    async with app.run_test(size=(80, 10)) as pilot:
        meters = app.query_one(CompactMeters)
        history = SystemHistory()
        history.append(sample)
        meters.show(sample, history)
        await pilot.pause()
        lines = text_of(meters)
        assert len(lines) == CompactMeters.rows_for(sample, 80), lines
        strip = "".join(line[: (80 - 1) // 2] for line in lines[1:3])  # the left column
        assert strip.strip() == "▁█" * 32, lines  # each core one cell: 1 % and 100 % told apart
        assert all(len(line) <= 80 for line in lines), lines
