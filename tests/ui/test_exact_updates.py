"""Partial updates resend only the cells that changed (ui/exact_updates.py), and the table
and meters ask for no more than those (issue 16: bytes to the terminal)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from perftop.ui import exact_updates
from perftop.ui.screens.profile import ProfileScreen
from perftop.ui.widgets.flame import FlameView
from perftop.ui.widgets.line_diff import repaint_spans, scrolled
from perftop.ui.widgets.meters import CpuPanel
from perftop.ui.widgets.process_table import changed_spans
from perftop.ui.widgets.top_functions import TopFunctions
from tests.ui.helpers import make_app, table, ticks, until
from tests.ui.test_flame import ProfileApp, fixed_profile

RED = Style(color="red")


def rendered(line: str, x: int, spans: list[tuple[int, int, int]]) -> str:
    """What one line's update sends: a widget at column `x` showing `line`."""
    console = Console(file=io.StringIO(), color_system="standard", width=80)
    strip = Strip([Segment(line[:4], RED), Segment(line[4:])])
    update = ChopsUpdate([{x: strip}], spans, [[x + len(line)]])
    return update.render_segments(console)


def test_an_update_starts_at_its_first_changed_cell() -> None:
    assert exact_updates.install(), "this Textual's ChopsUpdate is the one it was written for"
    out = rendered("abcdefghijklmnop", 10, [(0, 18, 20)])
    assert out == "\x1b[1;19Hij", repr(out)  # columns 18-19 only (1-based 19), not from 10
    # A span over the styled start keeps its style.
    out = rendered("abcdefghijklmnop", 10, [(0, 12, 15)])
    assert out.startswith("\x1b[1;13H") and "cd" in out and "\x1b[31m" in out, repr(out)
    assert "ab" not in out
    # Two spans on one line: two short writes, not the line twice.
    out = rendered("abcdefghijklmnop", 0, [(0, 1, 2), (0, 14, 16)])
    assert out.count("\x1b[") == 4 and "b" in out and out.endswith("op"), repr(out)


def test_a_wide_character_keeps_the_update_at_the_widget_edge() -> None:
    exact_updates.install()
    out = rendered("ab漢字efgh", 10, [(0, 17, 18)])
    assert out.startswith("\x1b[1;11H"), repr(out)  # from the edge: no half a character


def test_changed_spans_are_the_runs_that_differ() -> None:
    old = "  12345 root      S    0.0   0.0   1.1M    3     0B/s     0B/s 05:13 line_io_tool"
    new = "  12345 root      S    1.0   0.0   1.1M    3     0B/s     0B/s 05:13 line_io_tool"
    assert changed_spans(old, new) == [(23, 24)]
    both = old.replace("12345", "12346").replace("0.0   0.0", "1.0   0.0")
    assert changed_spans(old, both) == [(6, 7), (23, 24)], "far apart: two writes"
    assert changed_spans(old, both, gap=20) == [(6, 24)], "near: one write"
    assert changed_spans(old, old) == [(0, 1)]


def spy(widget: Widget) -> list[tuple[Region, ...]]:
    """Every refresh asked of `widget` from now on: its regions (() for the whole widget)."""
    calls: list[tuple[Region, ...]] = []
    original = widget.refresh

    def record(*regions: Region, **kwargs: object) -> Widget:
        if not (regions == () and getattr(widget, "_quiet", False)):  # held back: not sent
            calls.append(regions)
        return original(*regions, **kwargs)  # type: ignore[arg-type]

    widget.refresh = record  # type: ignore[method-assign]
    return calls


async def test_a_dashboard_under_a_flame_view_draws_nothing_until_it_shows_again() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        cpu = app.dashboard.query_one("#cpu", CpuPanel)
        rows = table(pilot)
        screen = ProfileScreen(fixed_profile(), title="busy.py")
        await app.push_screen(screen)
        await pilot.pause()
        painted, listed = spy(cpu), spy(rows)
        before = len(app.history)
        await ticks(pilot, 2)
        assert painted == [] and listed == [], "Textual would resend it through the flame view"
        assert len(app.history) == before + 2, "the ticks are kept all the same"
        app.pop_screen()
        await until(
            pilot, lambda: painted and app.dashboard._pending is None, "the newest tick drawn"
        )


async def test_a_live_flame_and_its_table_repaint_only_what_changed() -> None:
    app = ProfileApp(fixed_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(FlameView)
        top = app.screen.query_one(TopFunctions)
        screen = app.screen
        assert isinstance(screen, ProfileScreen)
        painted, listed = spy(view), spy(top)
        screen._refresh_views(force_table=True)  # a batch that changed nothing
        assert () not in painted and all(not r for r in painted), painted
        assert () not in listed, "no whole-table repaint for the same figures"
        # One more sample of the hottest stack: a few cells of the flame and the table change.
        # (the hottest stack, so that the order stays)
        ids, _, thread = max(view.profile.stacks(), key=lambda stack: stack[1])
        view.profile.add_stack([view.profile.frame(i) for i in ids], 1, thread)
        painted.clear()
        listed.clear()
        screen._refresh_views(force_table=True)
        assert painted and () not in painted, "the flame's changed runs, not the whole view"
        assert listed and () not in listed, "the table's changed cells, not the whole table"


def test_a_line_repaints_whole_when_new_or_restyled_else_only_what_changed() -> None:
    line = ("  12.0  python", "")
    assert repaint_spans(line, line) == []
    assert repaint_spans(None, line) == [(0, 14)]
    assert repaint_spans(("  12.0  python", "cursor"), line) == [(0, 14)], (
        "its style is every cell's"
    )
    assert repaint_spans(("  13.5  python", ""), line) == [(3, 6)], "the digits that changed"


def test_the_cursor_stays_on_a_row_and_the_list_scrolls_just_enough() -> None:
    assert scrolled(5, 0, 20, 10) == (5, 0)
    assert scrolled(12, 0, 20, 10) == (12, 3), "scrolled down to show it at the bottom"
    assert scrolled(2, 5, 20, 10) == (2, 2), "scrolled up to show it at the top"
    assert scrolled(40, 0, 20, 10) == (19, 10), "kept on the last row"
    assert scrolled(-3, 0, 20, 10) == (0, 0)
    assert scrolled(0, 8, 12, 10) == (0, 0)
    assert scrolled(3, 0, 0, 10) == (0, 0), "no rows"
