"""The dashboard driven with Pilot on the deterministic fake machine."""

from __future__ import annotations

from perftop.system.processes import SortKey
from perftop.ui.screens.dialogs import SortMenu
from perftop.ui.screens.help import HelpScreen
from perftop.ui.widgets.process_table import ProcessTable, column_at
from tests.ui.helpers import make_app, pids, table, ticks


async def test_first_screen_shows_meters_and_processes() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        rows = table(pilot).rows
        assert len(rows) > 20
        cpu = [v.cpu_display for v in rows]
        assert cpu == sorted(cpu, reverse=True), "default sort is CPU% descending"
        assert rows[0].row.name == "python3"
        assert app.screen.query_one("#temps").display


async def test_sort_menu_and_header_click_and_invert() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        await pilot.press("f6")
        assert isinstance(app.screen, SortMenu)
        # Down from CPU% to MEM% and choose it.
        await pilot.press("down", "enter")
        await pilot.pause()
        mem = [v.row.mem_percent for v in table(pilot).rows]
        assert mem == sorted(mem, reverse=True)

        # Click the PID title: ascending PIDs.
        x = next(x for x in range(120) if column_at(x) is SortKey.PID)
        await pilot.click(ProcessTable, offset=(x, 0))
        await pilot.pause()
        assert pids(pilot) == sorted(pids(pilot))
        # Clicking it again inverts.
        await pilot.click(ProcessTable, offset=(x, 0))
        await pilot.pause()
        assert pids(pilot) == sorted(pids(pilot), reverse=True)
        await pilot.press("I")
        assert pids(pilot) == sorted(pids(pilot))


async def test_filter_is_incremental_and_escape_clears() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        everything = len(table(pilot).rows)
        await pilot.press("slash", *"postg")
        await pilot.pause()
        names = {v.row.name for v in table(pilot).rows}
        assert names == {"postgres"}
        await pilot.press("enter")  # keep the filter, back to the table
        assert table(pilot).has_focus
        await ticks(pilot)
        assert {v.row.name for v in table(pilot).rows} == {"postgres"}, "filter survives ticks"
        await pilot.press("escape")
        await pilot.pause()
        assert len(table(pilot).rows) == everything


async def test_search_moves_the_cursor_without_filtering() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        everything = len(table(pilot).rows)
        await pilot.press("f3", *"nginx", "enter")
        await pilot.pause()
        assert len(table(pilot).rows) == everything
        current = table(pilot).current
        assert current is not None and current.row.name == "nginx"
        first = current.row.pid
        await pilot.press("n")
        second = table(pilot).current
        assert second is not None and second.row.name == "nginx" and second.row.pid != first


async def test_tree_view_nests_children_under_parents() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        await pilot.press("f5")
        rows = table(pilot).rows
        order = [v.row.pid for v in rows]
        depth = {v.row.pid: v.depth for v in rows}
        assert order.index(900) < order.index(905), "postgres workers follow their parent"
        assert depth[905] == depth[900] + 1
        assert any(v.tree_prefix.strip() for v in rows)
        await pilot.press("t")
        assert all(v.depth == 0 for v in table(pilot).rows)


async def test_cpu_percent_convention_toggle() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        top = table(pilot).rows[0]
        per_core = top.cpu_display
        await pilot.press("c")
        machine = table(pilot).rows[0].cpu_display
        cores = app.dashboard.snapshot.core_count if app.dashboard.snapshot else 1
        assert cores > 1
        assert abs(machine - per_core / cores) < 0.01


async def test_cursor_stays_on_the_same_process_across_ticks() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        await pilot.press("down", "down", "down")
        pid = table(pilot).current_pid
        await ticks(pilot, 3)
        assert table(pilot).current_pid == pid


async def test_help_lists_the_keys() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_lists_every_dashboard_action() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for wanted in ("Tree", "Sort", "Kill", "Filter", "Profile", "Nice +", "Info"):
            assert wanted in titles


async def test_small_terminal_still_shows_processes() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ticks(pilot, 2)
        assert table(pilot).size.height >= 6
