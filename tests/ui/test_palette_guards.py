"""The two crashes random keys found in Textual 8.2.8's command palette, replayed exactly
(perftop/ui/guarded_app.py): keys queued together, as a fast typist or a paste sends them."""

from __future__ import annotations

from textual import events
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from tests.ui.helpers import make_app, ticks


def burst(pilot: Pilot[None], *keys: str) -> None:
    """Queue `keys` at once: none is handled before the last is sent."""
    driver = pilot.app._driver
    assert driver is not None
    for key in keys:
        event = events.Key(key, None)
        event.set_sender(pilot.app)
        driver.send_message(event)


async def test_page_down_right_after_the_palette_opens_pages_once_the_list_is_laid_out() -> None:
    # Was KeyError: 0 in OptionList._move_page: the list had options but no size yet.
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ticks(pilot)
        burst(pilot, "ctrl+p", "pagedown")
        await pilot.pause()
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        commands = palette.query_one(CommandList)
        assert commands.option_count > 1
        assert commands.highlighted is not None and commands.highlighted > 0


async def test_keys_queued_behind_quit_open_nothing() -> None:
    # Was NoMatches 'CommandList' (and a menu's 'OptionList'): the screen a key opened after
    # the quit was mounted empty, as Textual mounts nothing once exiting.
    for keys in (("ctrl+c", "ctrl+p"), ("f10", "f6"), ("q", "f9")):
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await ticks(pilot)
            burst(pilot, *keys)
            await pilot.pause()
        assert app.return_code == 0, keys


async def test_a_second_enter_behind_the_one_that_closes_a_menu_leaves_the_screen_under_it() -> (
    None
):
    # Was a blank screen: the menu, dismissed twice, popped the dashboard too (and a command
    # chosen in the palette then ran on the dashboard taken apart: NoMatches '#temps').
    for opener in ("f6", "ctrl+p"):
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await ticks(pilot)
            await pilot.press(opener)
            assert app.screen is not app.dashboard
            burst(pilot, "enter", "enter")
            await pilot.pause()
            await pilot.pause()
            assert app.screen is app.dashboard, opener
            assert app.dashboard.query("#temps"), opener
