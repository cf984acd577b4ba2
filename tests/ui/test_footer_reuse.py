"""The key bar (ui/widgets/footer.py): one widget whose keys are read again only when the
screen's bindings change, that keeps its line through a dialog's round trip, and whose keys
press what they show when clicked."""

from __future__ import annotations

from perftop.ui.screens.dialogs import SortMenu
from perftop.ui.screens.help import HelpScreen
from perftop.ui.widgets.footer import FittingFooter
from tests.ui.helpers import make_app, ticks, until


async def test_a_dialog_round_trip_keeps_the_footer_and_a_new_key_redraws_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        footer = app.dashboard.query_one(FittingFooter)
        assert not footer.children, "one widget, not a widget a key"
        entries = footer._entries
        line = footer.render().plain
        assert entries is not None and "f10 Quit" in line
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, SortMenu), "the sort menu")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "the dashboard again")
        await pilot.pause()
        assert footer._entries is entries, "the same keys, not read again"
        assert footer.render().plain == line
        # A key remapped: the footer must show it, so it is read again.
        app.set_keymap({"dashboard.filter": "ctrl+g"})
        await until(pilot, lambda: "^g Filter" in footer.render().plain, "the new key shown")


async def test_clicking_a_key_presses_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        footer = app.dashboard.query_one(FittingFooter)
        line = footer.render().plain
        await pilot.click(FittingFooter, offset=(line.index("Help"), 0))
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help, as F1 opens it")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "the dashboard again")
        gap = line.index("Quit") + len("Quit ") + 1  # the blank before the palette key
        await pilot.click(FittingFooter, offset=(gap, 0))
        await pilot.pause()
        assert app.screen is app.dashboard, "a blank presses nothing"
