"""htop's columns picked in F2 show in the table, in the registry's places, with the fake
machine's figures as htop writes them."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import SelectionList

from perftop.app import AppConfig, PerftopApp
from perftop.config import Config, load_config
from perftop.system.processes import SortKey
from perftop.system.source import FakeSource
from perftop.system.tty import tty_name
from perftop.ui.screens.setup import SetupScreen
from perftop.ui.widgets.htop_cells import cpu_time_label
from perftop.ui.widgets.process_table import ProcessTable
from tests.ui.helpers import ticks, until


async def test_f2_adds_time_plus_shr_and_tty_to_the_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600, settings=Config(), settings_path=path))
    async with app.run_test(size=(140, 50)) as pilot:
        await ticks(pilot, 2)
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), "the setup form")
        columns = app.screen.query_one("#columns", SelectionList)
        for key in (SortKey.TIME, SortKey.SHR, SortKey.TTY):
            columns.select(key)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SetupScreen), "the form closed")
        table = app.screen.query_one(ProcessTable)
        header = table.render_line(0).text.split()
        assert header[header.index("RSS") :][:4] == ["RSS", "SHR", "TIME+", "THR"]
        assert header[header.index("START") + 1] == "TTY", "each where the registry puts it"
        app.config.view.sort_key, app.config.view.reverse = SortKey.TIME, True
        app.dashboard.view_changed()
        await pilot.pause()
        top = table.rows[0].row
        line = table.render_line(1).text
        assert line.split()[0] == str(top.pid)
        assert top.cpu_time_s is not None and cpu_time_label(top.cpu_time_s) in line.split()
        assert top.tty_nr is not None and tty_name(top.tty_nr) in line.split()
        times = [v.row.cpu_time_s or 0.0 for v in table.rows]
        assert times == sorted(times, reverse=True), "sorted by TIME+, biggest first"
    saved, problems = load_config(path)
    assert problems == [] and {SortKey.TIME, SortKey.SHR, SortKey.TTY} <= set(saved.columns)
