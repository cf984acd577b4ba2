"""The dashboard driven with Pilot on the deterministic fake machine."""

from __future__ import annotations

import itertools
from pathlib import Path

from textual import events
from textual.binding import Binding
from textual.pilot import Pilot

from perftop import cli, cli_args
from perftop.system.processes import SortKey, ViewOptions
from perftop.ui.screens.dialogs import SortMenu
from perftop.ui.screens.help import HelpScreen
from perftop.ui.widgets.footer import (
    BarEntry,
    FittingFooter,
    bar_entries,
    entries_to_hide,
    entry_pieces,
)
from perftop.ui.widgets.process_table import (
    MIN_REST,
    ProcessTable,
    column_at,
    format_line,
    layout,
)
from tests.ui.helpers import make_app, pids, table, ticks, until


def assert_reads_sorted(descending: list[float]) -> None:
    """Sorted as the column reads (to a tenth): rows that read the same may be in any order."""
    for a, b in itertools.pairwise(descending):
        assert round(a, 1) >= round(b, 1), (a, b)


async def test_first_screen_shows_meters_and_processes() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        rows = table(pilot).rows
        assert len(rows) > 20
        assert_reads_sorted([v.cpu_display for v in rows])  # CPU% descending
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


# --- visible columns ([processes] columns, F2) ------------------------------------------------


def test_layout_gives_the_command_column_the_spare_width_wherever_it_is() -> None:
    keys = (SortKey.CPU, SortKey.COMMAND, SortKey.PID)
    placed = layout(keys, 40)
    assert [(p.column.key, p.left, p.width) for p in placed] == [
        (SortKey.CPU, 0, 6),
        (SortKey.COMMAND, 7, 25),  # 40 - 6 - 7 - 2 blanks
        (SortKey.PID, 33, 7),
    ]
    line = format_line(["12.5", "python3 app.py", "4242"], 40, placed)
    assert line == "  12.5 " + "python3 app.py".ljust(25) + " " + "4242".rjust(7)
    assert [column_at(x, placed) for x in (0, 6, 7, 32, 33, 39, 200)] == [
        SortKey.CPU, SortKey.CPU, SortKey.COMMAND, SortKey.COMMAND, SortKey.PID, SortKey.PID,
        SortKey.PID,
    ]  # fmt: skip
    # Too narrow: the command keeps its title's width and the line is cut at the edge.
    assert [p.width for p in layout(keys, 10)] == [6, MIN_REST, 7]
    assert len(format_line(["1", "c", "2"], 10, layout(keys, 10))) == 10


def header(pilot: Pilot[None]) -> str:
    return table(pilot).render_line(0).text


async def click_title(pilot: Pilot[None], title: str) -> None:
    x = header(pilot).index(title)
    await pilot.click(ProcessTable, offset=(x, 0))
    await pilot.pause()


async def test_columns_show_in_the_order_set_and_header_clicks_follow_them() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        app.dashboard.options.columns = (SortKey.CPU, SortKey.COMMAND, SortKey.USER, SortKey.PID)
        app.dashboard.view_changed()
        await pilot.pause()
        assert header(pilot).split() == ["CPU%▼", "COMMAND", "USER", "PID"]
        assert len(header(pilot).rstrip()) == 120, "COMMAND takes the width the others leave"
        assert table(pilot).render_line(1).text.rstrip().endswith(str(pids(pilot)[0]))
        await click_title(pilot, "PID")
        assert app.dashboard.options.sort_key is SortKey.PID
        assert pids(pilot) == sorted(pids(pilot))
        assert header(pilot).split()[-1] == "PID▲"
        await click_title(pilot, "USER")
        assert app.dashboard.options.sort_key is SortKey.USER
        await click_title(pilot, "COMMAND")
        assert app.dashboard.options.sort_key is SortKey.COMMAND
        await ticks(pilot)
        assert header(pilot).split() == ["CPU%", "COMMAND▲", "USER", "PID"], "kept across ticks"


async def test_sorting_by_a_hidden_column_still_sorts() -> None:
    app = make_app(view=ViewOptions(columns=(SortKey.PID, SortKey.COMMAND)))
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        assert header(pilot).split() == ["PID", "COMMAND"]
        await pilot.press("f6", "down", "enter")  # the sort menu: CPU% -> MEM%
        await pilot.pause()
        assert app.dashboard.options.sort_key is SortKey.MEM
        mem = [v.row.mem_percent for v in table(pilot).rows]
        assert mem == sorted(mem, reverse=True)
        assert header(pilot).split() == ["PID", "COMMAND"], "no arrow: MEM% is not shown"


async def test_columns_from_the_config_file_reach_the_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[processes]\ncolumns = ["pid", "command", "CPU%", "rss"]\nsort = "RSS"\n')
    args = cli_args.build_parser().parse_args(["--config", str(path), "--demo"])
    cli._load_settings(args)
    assert args.config_problems == []
    view = cli._view_options(args)
    assert isinstance(view, ViewOptions)
    app = make_app(view=view)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        assert header(pilot).split() == ["PID", "COMMAND", "CPU%", "RSS▼"]
        rss = [v.row.rss_bytes for v in table(pilot).rows]
        assert rss == sorted(rss, reverse=True)


async def test_cursor_stays_on_the_top_row_until_the_user_picks_one() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        t = table(pilot)
        rows = list(t.rows)
        # A tick that turns the order upside down (sorted by PID: StableOrder lets it through).
        t.sort_key = SortKey.PID
        t.set_rows(sorted(rows, key=lambda v: v.row.pid), t.now + 1)
        assert t.cursor == 0 and t.current_pid == min(v.row.pid for v in rows)
        t.set_rows(sorted(rows, key=lambda v: -v.row.pid), t.now + 1)
        assert t.cursor == 0, "nothing picked yet: the cursor keeps to the top row"
        await pilot.press("down")
        picked = t.current_pid
        t.set_rows(sorted(rows, key=lambda v: v.row.pid), t.now + 1)
        assert t.current_pid == picked and t.cursor != 1, "once picked, it stays on the process"


def test_entries_to_hide_drops_in_order_until_the_rest_fit() -> None:
    costs = [("help", 8), ("search", 10), ("renice", 9), ("renice", 8), ("quit", 9)]
    drop = ("setup", "search", "renice")
    assert entries_to_hide(costs, 44, drop) == set()
    assert entries_to_hide(costs, 43, drop) == {"search"}  # "setup" is not shown: nothing freed
    assert entries_to_hide(costs, 34, drop) == {"search"}
    assert entries_to_hide(costs, 33, drop) == {"search", "renice"}  # the group goes whole
    assert entries_to_hide(costs, 5, drop) == {"search", "renice"}, "help and quit always stay"


def test_bar_entries_group_as_footer_does_and_draw_as_it_did() -> None:
    nice = Binding.Group("Nice -/+")
    bindings = [
        (Binding("f1", "help", "Help"), True, ""),
        (Binding("f7", "renice(-1)", "Nice -", group=nice), True, ""),
        (Binding("f8", "renice(1)", "Nice +", group=nice), False, ""),
        (Binding("k", "kill", "Kill", show=False), True, ""),
        (Binding("f9", "kill", "Kill"), True, "send a signal"),
        (Binding("ctrl+p", "command_palette", "palette", show=False), True, ""),
    ]
    entries, palette = bar_entries(bindings, lambda b: b.key)
    assert [(e.name, [k.display for k in e.keys], e.description) for e in entries] == [
        ("help", ["f1"], "Help"),
        ("renice", ["f7", "f8"], "Nice -/+"),
        ("kill", ["f9"], "Kill"),
    ]
    assert [k.enabled for k in entries[1].keys] == [True, False]
    assert entries[2].keys[0].tooltip == "send a signal"
    assert palette is not None and palette.keys[0].key == "ctrl+p"

    def line(entry: BarEntry, compact: bool) -> str:
        return "".join(text for text, _, _ in entry_pieces(entry, 0, compact))

    assert [line(e, True) for e in entries] == ["f1 Help ", " f7 f8 Nice -/+ ", "f9 Kill "]
    assert line(entries[0], False) == " f1 Help "


def footer_keys(pilot: Pilot[None]) -> list[str]:
    footer = pilot.app.screen.query_one(FittingFooter)
    return [key.display for entry in footer.shown() for key in entry.keys]


async def test_a_narrow_footer_keeps_quit_and_kill_and_grows_back() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ticks(pilot, 2)
        await until(pilot, lambda: "f10" in footer_keys(pilot), "the footer laid out")
        narrow = footer_keys(pilot)
        assert {"f1", "f9", "f10", "^p"} <= set(narrow)
        assert "f3" not in narrow and "f2" not in narrow
        line = app.screen.query_one(FittingFooter).render().plain
        assert len(line) == 80 and line.endswith("▏^p palette  "), "the palette key at the edge"
        assert "f10 Quit " in line, "no key cut at the edge or under the palette key"
        await pilot.resize_terminal(120, 40)
        # The tag key is new to a htop user: at 120 columns it shows, F2 and F3 make room.
        await until(pilot, lambda: "insert" in footer_keys(pilot), "the tag key in the footer")
        assert {"f9", "f7", "f8", "space", "f10"} <= set(footer_keys(pilot))
        await pilot.resize_terminal(170, 40)
        wide = {"f2", "f3", "f7", "f8", "space", "f10", "insert"}
        await until(pilot, lambda: wide <= set(footer_keys(pilot)), "the footer grown back")


async def test_keys_typed_right_after_enter_in_the_filter_reach_the_table() -> None:
    """A paste or a fast typist over SSH: Enter and the next key arrive together. The next
    key must act on the table, not land in the filter box still losing the focus."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        await pilot.press("slash", *"python")
        await pilot.pause()
        for key, char in (("enter", "\r"), ("i", "i")):  # queued at once, not one by one
            app.post_message(events.Key(key, char))
        # The i handled: the detail pane open, or (the bug) an "i" typed into the filter.
        await until(
            pilot,
            lambda: (
                app.dashboard.query_one("#detail").display
                or app.dashboard.options.filter_text != "python"
            ),
            "the i after Enter handled",
        )
        assert app.dashboard.options.filter_text == "python"
        assert app.dashboard.query_one("#detail").display, "i opened the detail pane"
        assert isinstance(app.focused, ProcessTable)
