"""The meter panels: what they draw, and how little of it a tick repaints."""

from __future__ import annotations

import dataclasses

from textual.geometry import Region

from perftop.app import PerftopApp
from perftop.system.samples import Level, NetSample, SystemSample
from perftop.system.source import FakeSource
from perftop.ui.fmt import human_rate
from perftop.ui.widgets.meters import BOLD, CpuPanel, IoPanel, Lines, SystemPanel
from tests.ui.helpers import make_app, ticks

BLANK = "\u2800"  # an empty braille cell: a graph row with no dots


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
        busier = dataclasses.replace(sample, cpu=sample.cpu._replace(total_percent=99.9))
        app.history.append(busier)
        cpu.show(busier, app.history)
        first = painted[0]
        assert first.y == 0 and first.right < cpu.size.width
        # The top bar's clock counts minutes: a second later it has nothing to repaint.
        later = dataclasses.replace(sample, uptime_s=sample.uptime_s + 1)
        before = list(top._shown)
        top.show(later, app.history)
        assert top._shown == before


def _net(name: str, rate: float) -> NetSample:
    return NetSample(name, rate, rate, rate / 1000, rate / 1000, 0, 0)


class _Interfaces(FakeSource):
    """The fake machine with the network interfaces a test gives it."""

    def __init__(self, *nets: NetSample) -> None:
        super().__init__()
        self.nets = nets

    def sample_system(self) -> SystemSample:
        return dataclasses.replace(super().sample_system(), nets=self.nets)


def _net_panel_text(app: PerftopApp) -> list[str]:
    panel = app.screen.query_one("#net", IoPanel)
    return ["".join(text for text, _ in line) for line in panel._shown]


async def test_loopback_is_in_neither_the_rows_the_total_nor_the_graph() -> None:
    # 24 MB/s over loopback, nothing on the wire: the total said 24M/s under rows of 0 B/s
    # above a flat graph.
    nets = (_net("eth0", 0.0), _net("docker0", 0.0), _net("lo", 24e6))
    app = make_app(lambda: _Interfaces(*nets))
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        lines = _net_panel_text(app)
        assert not any(line.startswith("lo ") for line in lines), lines
        (total,) = [line for line in lines if line.startswith("total")]
        assert total.split()[1:3] == [human_rate(0.0)] * 2, lines
        graph = lines[-2:]
        assert all(set(row.strip()) <= {BLANK} for row in graph), lines


async def test_the_total_is_the_sum_of_the_interfaces_and_the_graph_shows_it() -> None:
    nets = (_net("eth0", 3e6), _net("lo", 24e6))
    app = make_app(lambda: _Interfaces(*nets))
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        lines = _net_panel_text(app)
        (total,) = [line for line in lines if line.startswith("total")]
        assert total.split()[1:3] == [human_rate(3e6)] * 2, lines
        assert any(set(row.strip()) - {BLANK} for row in lines[-2:]), lines
        assert "more" not in total


async def test_interfaces_without_a_row_are_counted_as_more() -> None:
    nets = tuple(_net(f"eth{i}", 1e6 * (i + 1)) for i in range(5))
    app = make_app(lambda: _Interfaces(*nets))
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        lines = _net_panel_text(app)
        rows = [line for line in lines if line.startswith("eth")]
        (total,) = [line for line in lines if line.startswith("total")]
        # The total still counts all five; the ones with no row say so.
        assert total.split()[1] == human_rate(15e6), lines
        assert total.rstrip().endswith(f"+{5 - len(rows)} more"), lines
        assert 0 < len(rows) < 5
        # Compact (a short terminal): no rows at all, every interface in "+N more".
        await pilot.resize_terminal(120, 24)
        await ticks(pilot, 1)
        lines = _net_panel_text(app)
        assert not [line for line in lines if line.startswith("eth")]
        assert lines[1].rstrip().endswith("+5 more"), lines


async def test_the_meters_colour_by_the_configs_thresholds() -> None:
    """A memory meter at ~30 % is crit when the config says crit starts at 10 %."""
    from perftop.config import loads_config
    from perftop.system.levels import levels_of
    from perftop.system.samples import Level
    from perftop.ui.widgets.meters import MemoryPanel

    app = make_app()
    config, _ = loads_config("[thresholds]\nmemory = [5, 10]\n")
    app.dashboard.thresholds = config.thresholds()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        sample = app.dashboard.sample
        assert sample is not None
        assert levels_of(sample, app.dashboard.thresholds).memory is Level.CRIT
        mem = app.screen.query_one("#mem", MemoryPanel)
        assert mem.levels.memory is Level.CRIT
        crit = mem.level_style(Level.CRIT)
        first_line = mem._shown[0]
        assert any(style == crit for _text, style in first_line), first_line


async def test_a_theme_change_recolours_the_panels_kept_styles() -> None:
    """The panels keep their styles between ticks (Textual's own cache goes at each refresh):
    a new theme must still reach them, the level colours and the panel's own."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        panel = app.screen.query_one(CpuPanel)
        for theme in ("nord", "textual-light", "dracula"):
            app.theme = theme
            await ticks(pilot)
            kept = (panel.level_style(Level.OK), panel.label_style, panel._base)
            assert kept == (
                panel.get_component_rich_style("meter--ok"),
                panel.get_component_rich_style("meter--label"),
                panel.rich_style,
            ), theme
