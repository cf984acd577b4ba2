"""The terminal resized to 40x12 (and smaller) and back, on every screen (issue 7).

Driven with Pilot on the fake machine. Sampling goes on while small; back at full size the
layout is what it was and nothing the user had (history, selection, filter, sort, zoom,
open panes and dialogs) is lost.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widget import Widget

from perftop.app import AppConfig, PerftopApp
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.system.processes import SortKey, ViewOptions
from perftop.system.source import FakeSource
from perftop.ui.screens.dialogs import SignalMenu, SortMenu
from perftop.ui.screens.help import HelpScreen
from perftop.ui.screens.profile import ProfileScreen
from perftop.ui.start import ProfileFile
from perftop.ui.widgets.flame import FlameView
from tests.ui.helpers import make_app, table, ticks

FULL = (120, 40)
SMALL = [(40, 12), (20, 6), (1, 1)]


def render_all(pilot: Pilot[None]) -> None:
    """Draw every visible widget's lines: what a real terminal would be sent."""
    for widget in pilot.app.screen.query(Widget):
        if widget.display and widget.size.area:
            for y in range(widget.size.height):
                widget.render_line(y)


def layout(pilot: Pilot[None]) -> dict[str, tuple[int, int, int, int]]:
    """Where each widget with an id sits: the layout to come back to."""
    return {
        f"#{w.id}": tuple(w.region)  # type: ignore[misc]
        for w in pilot.app.screen.query(Widget)
        if w.id and w.display
    }


async def resize(pilot: Pilot[None], size: tuple[int, int]) -> None:
    await pilot.resize_terminal(*size)
    await pilot.pause()
    await pilot.pause()
    assert pilot.app.screen.size == size


@pytest.mark.parametrize("small", SMALL)
async def test_dashboard_shrinks_keeps_sampling_and_comes_back(small: tuple[int, int]) -> None:
    app = make_app(view=ViewOptions(sort_key=SortKey.MEM, reverse=True))
    async with app.run_test(size=FULL) as pilot:
        await ticks(pilot, 3)
        await pilot.press("down", "down")
        chosen = table(pilot).current_pid
        before = layout(pilot)
        history = len(app.history)

        await resize(pilot, small)
        await ticks(pilot, 2)  # sampling goes on while small
        render_all(pilot)
        await pilot.press("down", "up")  # keys still work
        assert table(pilot).current_pid == chosen

        await resize(pilot, FULL)
        await ticks(pilot)
        render_all(pilot)
        assert len(app.history) == history + 3, "no tick lost"
        assert table(pilot).current_pid == chosen, "the selection survives"
        assert app.dashboard.options.sort_key is SortKey.MEM
        assert layout(pilot) == before, "the full-size layout comes back"


async def test_filter_and_detail_pane_survive_a_resize() -> None:
    app = make_app()
    async with app.run_test(size=FULL) as pilot:
        await ticks(pilot, 2)
        await pilot.press("slash", *"postg", "enter")
        await pilot.press("i")
        await ticks(pilot)
        shown = {v.row.pid for v in table(pilot).rows}
        await resize(pilot, (40, 12))
        await ticks(pilot)
        render_all(pilot)
        await resize(pilot, FULL)
        await ticks(pilot)
        assert app.dashboard.options.filter_text == "postg"
        assert {v.row.pid for v in table(pilot).rows} == shown
        assert app.screen.query_one("#detail").display


@pytest.mark.parametrize("key, dialog", [("f1", HelpScreen), ("f6", SortMenu), ("k", SignalMenu)])
async def test_dialogs_survive_a_resize(key: str, dialog: type) -> None:
    app = make_app()
    async with app.run_test(size=FULL) as pilot:
        await ticks(pilot, 2)
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, dialog)
        for size in [*SMALL, FULL]:
            await resize(pilot, size)
            render_all(pilot)
        assert isinstance(app.screen, dialog)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard


def profile() -> Profile:
    p = Profile()
    for i in range(40):
        stack = [Frame("main", "app.py", 1), Frame(f"work_{i % 7}", "app.py", 10 + i % 7)]
        stack += [Frame(f"leaf_{i}", "lib.py", i)] * (1 + i % 3)
        p.add_stack(stack, 1 + i, thread=f"thread-{i % 2}")
    return p


@pytest.mark.parametrize("small", SMALL)
async def test_flame_view_keeps_zoom_and_selection_through_a_resize(small: tuple[int, int]) -> None:
    config = AppConfig(delay_s=3600, start=ProfileFile(profile(), "app.py"))
    app = PerftopApp(FakeSource, config)
    async with app.run_test(size=FULL) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ProfileScreen)
        view = app.screen.query_one(FlameView)
        await pilot.press("down", "down", "enter", "down")
        zoom, selected = view.zoom_path, view.selected_path
        before = layout(pilot)
        await resize(pilot, small)
        render_all(pilot)
        await resize(pilot, FULL)
        render_all(pilot)
        assert (view.zoom_path, view.selected_path) == (zoom, selected)
        assert layout(pilot) == before
        assert view.render_line(0).text.strip(), "the flame is drawn again"


@pytest.mark.parametrize(("size", "bottom"), [((120, 40), 12), ((80, 24), 7), ((40, 12), 0)])
async def test_a_small_terminal_gives_the_flame_the_rows(
    size: tuple[int, int], bottom: int
) -> None:
    config = AppConfig(delay_s=3600, start=ProfileFile(profile(), "app.py"))
    app = PerftopApp(FakeSource, config)
    async with app.run_test(size=(100, 30)) as pilot:  # compact first: each size is a change
        await pilot.pause()
        await resize(pilot, size)
        table_rows = app.screen.query_one("#profile-bottom")
        shown = table_rows.size.height if table_rows.display else 0
        assert shown == bottom
        flame = app.screen.query_one(FlameView)
        assert flame.size.height >= 5, "the flame keeps room for a few levels"
        assert flame.render_line(0).text.strip()
