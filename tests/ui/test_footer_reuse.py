"""Closing a dialog does not rebuild the footer when its keys are the same (issue 16: a
dialog's close cost several ticks' CPU, most of it the footer composed again)."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from perftop.ui.screens.dialogs import SortMenu
from perftop.ui.widgets.footer import FittingFooter
from tests.ui.helpers import make_app, ticks, until


async def test_a_dialog_round_trip_keeps_the_footer_and_a_new_key_rebuilds_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        footer = app.dashboard.query_one(FittingFooter)
        keys = list(footer.query(FooterKey))
        assert keys
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, SortMenu), "the sort menu")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "the dashboard again")
        await pilot.pause()
        assert list(footer.query(FooterKey)) == keys, "the same keys, not composed again"
        # A key remapped: the footer must show it, so it is composed again.
        app.set_keymap({"dashboard.filter": "ctrl+g"})
        await until(
            pilot,
            lambda: any("^g" in str(k.render()) for k in footer.query(FooterKey)),
            "the footer with the new key",
        )
