"""F2's settings form on its own: edits reach the Config it returns; bad values are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Select, SelectionList, Static, Switch

from perftop.app import AppConfig, PerftopApp
from perftop.config import Config, load_config
from perftop.system.processes import SortKey
from perftop.system.source import FakeSource
from perftop.ui.screens.setup import KeyAction, SetupScreen
from perftop.ui.widgets.process_table import ProcessTable
from tests.ui.helpers import ticks

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


async def test_the_profiler_and_dwarf_are_chosen_and_checked_together() -> None:
    app = _Host(Config())
    async with app.run_test(size=(100, 50)) as pilot:
        screen = app.screen
        screen.query_one("#profiler", Select).value = "py-spy"
        screen.query_one("#dwarf", Switch).value = True
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(screen.query_one("#setup-error", Static).render())
        assert "DWARF unwinding is perf's" in error and app.result == "unset"
        screen.query_one("#profiler", Select).value = "perf"
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert isinstance(app.result, Config)
    assert (app.result.profiler, app.result.dwarf) == ("perf", True)


async def test_f2_applies_and_saves_settings_and_remaps_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600, settings=Config(), settings_path=path))
    async with app.run_test(size=(120, 50)) as pilot:
        await ticks(pilot)
        await pilot.press("f2")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SetupScreen)
        form.query_one("#tree", Switch).value = True
        form.query_one("#profiler", Select).value = "perf"
        form.query_one("#key-dashboard--toggle_tree", Input).value = "z"
        columns = form.query_one("#columns", SelectionList)
        for hidden in (SortKey.STATE, SortKey.THREADS, SortKey.START):
            columns.deselect(hidden)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.config.view.tree is True
        assert app.config.profiler.backend == "perf", "the next profile samples with perf"
        header = app.screen.query_one(ProcessTable).render_line(0).text.split()
        assert "S" not in header and "THR" not in header and "START" not in header
        assert header[0] == "PID" and header[-1] == "COMMAND", "the others keep their order"
        # The remapped key works at once; the old one no longer does.
        await pilot.press("z")
        assert app.config.view.tree is False
        await pilot.press("t")
        assert app.config.view.tree is False
    saved, problems = load_config(path)
    assert problems == []
    assert saved.tree is True and saved.keys == {"dashboard.toggle_tree": "z"}
    assert SortKey.THREADS not in saved.columns


async def test_config_problems_and_unknown_theme_or_action_are_shown_not_fatal() -> None:
    settings = Config(
        theme="no-such-theme", keys={"dashboard.nope": "z", "dashboard.app_quit": "f10"}
    )
    config = AppConfig(delay_s=3600, settings=settings, notices=["c.toml:3: [display] x: bad"])
    app = PerftopApp(FakeSource, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        shown = [n.message for n in app._notifications]
        assert "c.toml:3: [display] x: bad" in shown
        assert any("no theme 'no-such-theme'" in m for m in shown)
        assert any("[keys] dashboard.nope: no such action" in m for m in shown)
        assert app.theme == "textual-dark"
        await pilot.press("q")  # app.quit moved to f10 only: q no longer quits
        await pilot.pause()
        assert app.is_running


async def test_high_contrast_theme_from_the_config() -> None:
    config = AppConfig(delay_s=3600, settings=Config(theme="perftop-high-contrast"))
    app = PerftopApp(FakeSource, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        assert app.theme == "perftop-high-contrast"
        assert app.current_theme.background == "#000000"
