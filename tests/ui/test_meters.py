"""The meter panels: what they draw, and how little of it a tick repaints."""

from __future__ import annotations

import dataclasses

from textual.geometry import Region

from perftop.ui.widgets.meters import BOLD, CpuPanel, Lines, SystemPanel
from tests.ui.helpers import make_app, ticks


def test_lines_split_on_newlines_and_merge_runs_of_one_style() -> None:
    lines = Lines()
    lines.append("a")
    lines.append("b\nc\n")
    lines.append("")
    lines.append("\nd")
    lines.append("e", BOLD)
    assert lines.lines == [[("ab", None)], [("c", None)], [], [("d", None), ("e", BOLD)]]


async def test_a_tick_repaints_only_what_changed() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 5)
        cpu = app.screen.query_one("#cpu", CpuPanel)
        top = app.screen.query_one("#topbar", SystemPanel)
        sample = app.dashboard.sample
        assert sample is not None
        painted: list[Region] = []

        def record(*regions: Region, **_kw: object) -> CpuPanel:
            painted.extend(regions)
            return cpu

        cpu.refresh = record  # type: ignore[method-assign]
        # The same numbers again: only the graphs' cells where the new samples land change.
        app.history.append(sample)
        cpu.show(sample, app.history)
        cores = CpuPanel.core_rows(len(sample.cpu.per_core_percent), cpu.size.width)
        graph_lines = [r for r in painted if r.y < len(cpu._shown) - cores]
        assert graph_lines and all(r.width == 1 for r in graph_lines), painted
        # A line of per-core sparklines changes at each sparkline's newest cell.
        assert all(r.x > 0 for r in painted), painted
        # A new total moves the figure and the bar, which sit left of the line's end.
        painted.clear()
        busier = dataclasses.replace(
            sample, cpu=dataclasses.replace(sample.cpu, total_percent=99.9)
        )
        app.history.append(busier)
        cpu.show(busier, app.history)
        first = painted[0]
        assert first.y == 0 and first.right < cpu.size.width
        # The top bar's clock counts minutes: a second later it has nothing to repaint.
        later = dataclasses.replace(sample, uptime_s=sample.uptime_s + 1)
        before = list(top._shown)
        top.show(later, app.history)
        assert top._shown == before
