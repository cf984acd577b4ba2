"""The GPUs on the dashboard (issue 20), from the fake machine's GPUs (a fake NVML read through
the real GpuReader): the panel, its folded line, the columns, a refusing driver, rewind."""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen
from textual.widget import Widget

from perftop.system import fake_nvml
from perftop.system.processes import DEFAULT_COLUMNS, SortKey, ViewOptions
from perftop.system.source import FakeSource
from perftop.ui.screens.dashboard import DashboardScreen
from perftop.ui.widgets.compact_meters import CompactMeters
from perftop.ui.widgets.gpu_panel import GpuPanel
from perftop.ui.widgets.meters import Panel
from tests.ui.helpers import make_app, pids, table, ticks, until


def shown(app: App[None], selector: str) -> bool:
    """On screen; a part the dashboard mounts only when first shown may not be there at all."""
    found = app.screen.query(selector)
    return any(w.display and w.size.height for w in found if isinstance(w, Widget))


def lines_of(panel: Panel) -> list[str]:
    return ["".join(t for t, _ in line) for line in panel._shown]


def with_gpus() -> FakeSource:
    return FakeSource(gpus=2)


async def test_the_panel_shows_each_gpu_with_its_graphs_where_there_is_room() -> None:
    app = make_app(with_gpus)
    async with app.run_test(size=(120, 50)) as pilot:
        await ticks(pilot, 4)
        assert shown(app, "#gpu")
        sample = app.dashboard.sample
        assert sample is not None
        lines = lines_of(app.screen.query_one("#gpu", GpuPanel))
        assert len(lines) == 6, lines  # a line of meters and two graph rows a GPU
        for i, g in enumerate(sample.gpus):
            line = lines[3 * i]
            assert line.startswith(f"{i} A100-SXM4-80GB"), line
            assert f"GPU {g.util_percent:3.0f}%" in line and "/80G" in line
            assert f"{g.temperature_c:3.0f}°C" in line and f"{g.power_w:.0f}/400W" in line
            assert "1410/1593MHz" in line
        assert any(c in lines[1] + lines[2] for c in "⣀⣤⣶⣿"), "GPU 0's history under it"
        assert table(pilot).size.height - 1 >= DashboardScreen.TABLE_ROWS


async def test_at_120x40_the_graphs_give_way_and_at_80x24_the_gpus_fold_into_a_line() -> None:
    app = make_app(with_gpus)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        assert shown(app, "#gpu") and not shown(app, "#compact")
        assert len(lines_of(app.screen.query_one("#gpu", GpuPanel))) == 2  # no graph rows
        assert table(pilot).size.height - 1 >= DashboardScreen.TABLE_ROWS

        await pilot.resize_terminal(80, 24)
        await ticks(pilot)
        assert not shown(app, "#gpu") and shown(app, "#compact")
        line = lines_of(app.screen.query_one("#compact", CompactMeters))[-1]
        assert line.startswith("GPU0") and " GPU1 " in line and "°C" in line, line
        assert table(pilot).size.height - 1 >= DashboardScreen.TABLE_ROWS

        await pilot.resize_terminal(120, 50)
        await ticks(pilot)
        assert shown(app, "#gpu") and not shown(app, "#compact")


async def test_no_gpus_no_panel() -> None:
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await ticks(pilot, 2)
        assert not shown(app, "#gpu")
        assert not app.screen.query("#gpu"), "a panel mounted for no GPU"
        await pilot.resize_terminal(80, 24)  # folded: no GPU line in the compact meters either
        await ticks(pilot)
        assert shown(app, "#compact")
        assert "GPU" not in " ".join(lines_of(app.screen.query_one("#compact", CompactMeters)))


def refusing_at(tick: int) -> FakeSource:
    """Two GPUs whose driver refuses every call from `tick` on (permissions taken away)."""
    return FakeSource(nvml=lambda at: fake_nvml.FakeNvml(2, at, fail_after=tick))


async def test_a_driver_that_refuses_is_said_once_and_the_rest_goes_on() -> None:
    app = make_app(lambda: refusing_at(3))
    async with app.run_test(size=(120, 50)) as pilot:
        await ticks(pilot, 2)
        assert shown(app, "#gpu")
        await ticks(pilot, 4)
        await until(pilot, lambda: not shown(app, "#gpu"), "the panel hidden")
        said = [n.message for n in app._notifications if "GPUs not shown" in n.message]
        assert len(said) == 1 and "Insufficient Permissions" in said[0]
        assert shown(app, "#cpu") and len(pids(pilot)) > 20


async def test_gpu_columns_show_the_users_and_sort_them_first() -> None:
    columns = (*DEFAULT_COLUMNS[:-1], SortKey.GPU, SortKey.GPU_MEM, SortKey.COMMAND)
    view = ViewOptions(columns=columns, sort_key=SortKey.GPU_MEM, reverse=True)
    app = make_app(with_gpus, view)
    async with app.run_test(size=(140, 40)) as pilot:
        await ticks(pilot, 2)
        assert pids(pilot)[:2] == [2301, 2302]
        header = table(pilot).render_line(0).text
        assert "GPU%" in header and "GPU MEM" in header
        row = table(pilot).render_line(1).text
        assert " 18G " in row, row
        quiet = table(pilot).render_line(5).text
        assert "18G" not in quiet and "6.0G" not in quiet


async def test_gpu_use_is_read_only_while_a_column_or_the_detail_pane_shows_it() -> None:
    sources: list[FakeSource] = []

    def source() -> FakeSource:
        sources.append(FakeSource(gpus=2))
        return sources[-1]

    app = make_app(source)
    async with app.run_test(size=(140, 40)) as pilot:
        await ticks(pilot, 2)
        assert sources[0].wanted_gpu is False, "the default columns show none"
        assert app.dashboard.snapshot is not None
        assert app.dashboard.snapshot.rows[2301].gpu_indices == ()
        await pilot.press("i")  # the detail pane names a process's GPUs
        await ticks(pilot)
        assert sources[0].wanted_gpu is True
        await ticks(pilot)  # the first tick sampled since it was asked for
        assert app.dashboard.snapshot.rows[2301].gpu_indices == (0,)


async def test_a_paused_moment_shows_its_gpus() -> None:
    app = make_app(with_gpus)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 6)
        await pilot.press("space")  # pause on the newest moment
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        moment = app.dashboard.sample
        assert moment is not None and moment.gpus
        line = lines_of(app.screen.query_one("#gpu", GpuPanel))[0]
        assert f"GPU {moment.gpus[0].util_percent:3.0f}%" in line
        assert moment.timestamp < app.history.timestamps().latest()


async def test_a_card_that_gives_few_figures_reads_dashes() -> None:
    lacks = frozenset({"utilization", "temperature", "power", "power_limit", "clock"})
    app = make_app(lambda: FakeSource(nvml=lambda at: fake_nvml.FakeNvml(1, at, unsupported=lacks)))
    async with app.run_test(size=(120, 50)) as pilot:
        await ticks(pilot, 2)
        (line, *_) = lines_of(app.screen.query_one("#gpu", GpuPanel))
        assert "GPU    - ▕" in line and "MEM 512M/80G" in line, line
        assert line.split("▏")[-1].split() == ["-", "-", "-/-MHz"], line


async def test_many_gpus_fold_into_a_strip_and_the_panel_drops_its_graphs() -> None:
    users = {2301: fake_nvml.FakeGpuUser(3, 90.0, 40 << 30)}
    app = make_app(lambda: FakeSource(nvml=lambda at: fake_nvml.FakeNvml(8, at, users=users)))
    async with app.run_test(size=(80, 24)) as pilot:
        await ticks(pilot, 2)
        line = lines_of(app.screen.query_one("#compact", CompactMeters))[-1]
        assert line.startswith("GPU ") and " 8 GPUs " in line and "/640G" in line, line
        assert line[4:12][3] != " ", "GPU 3, the busy one, reads as a full cell"
        await pilot.resize_terminal(120, 45)  # room for a line a GPU, none for graphs
        await ticks(pilot)
        assert shown(app, "#gpu")
        assert len(lines_of(app.screen.query_one("#gpu", GpuPanel))) == 8
        assert table(pilot).size.height - 1 >= DashboardScreen.TABLE_ROWS


async def test_a_refusal_while_the_dashboard_is_covered_or_paused_is_said_once() -> None:
    app = make_app(lambda: refusing_at(3))
    async with app.run_test(size=(120, 50)) as pilot:
        await ticks(pilot, 2)
        await pilot.press("space")  # paused: the panels redraw the moment every tick
        await app.push_screen(Screen())  # and covered, as by a flame view
        await ticks(pilot, 4)
        app.pop_screen()
        await ticks(pilot, 2)
        said = [n.message for n in app._notifications if "GPUs not shown" in n.message]
        assert len(said) == 1, said
