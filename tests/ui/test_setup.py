"""F2's settings form on its own: edits reach the Config it returns; bad values are refused."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Input, SelectionList, Static, Switch

from perftop.config import Config
from perftop.system.processes import SortKey
from perftop.ui.screens.setup import KeyAction, SetupScreen

ACTIONS = [KeyAction("dashboard.tree", "Tree", "f5,t"), KeyAction("app.quit", "Quit", "q,f10")]


class _Host(App[None]):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.result: Config | str | None = "unset"

    def on_mount(self) -> None:
        themes = ["textual-dark", "perftop-mono"]
        self.push_screen(SetupScreen(self.config, themes, ACTIONS), self._done)

    def _done(self, result: Config | None) -> None:
        self.result = result


async def test_saving_returns_the_edited_config() -> None:
    original = Config()
    app = _Host(original)
    async with app.run_test(size=(100, 50)) as pilot:
        screen = app.screen
        screen.query_one("#refresh", Input).value = "2.5"
        screen.query_one("#tree", Switch).value = True
        columns = screen.query_one("#columns", SelectionList)
        columns.deselect(SortKey.STATE)
        screen.query_one("#key-dashboard--tree", Input).value = "t"
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert isinstance(app.result, Config)
    assert app.result.delay_s == 2.5 and app.result.tree is True
    assert SortKey.STATE not in app.result.columns and SortKey.PID in app.result.columns
    assert app.result.keys == {"dashboard.tree": "t"}  # unchanged keys are not written
    assert original.delay_s == 1.0  # the caller's config is untouched until it applies


async def test_a_bad_value_is_explained_and_nothing_is_returned() -> None:
    app = _Host(Config())
    async with app.run_test(size=(100, 50)) as pilot:
        app.screen.query_one("#rate", Input).value = "999999"
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(app.screen.query_one("#setup-error", Static).render())
        assert "rate" in error and "out of range" in error
        assert app.result == "unset"
        await pilot.press("escape")
        await pilot.pause()
    assert app.result is None
