"""GROWTH and leak suspects on the dashboard, from the fake machine: its app (2301) leaks inside
a 1 GiB cgroup, its postgres backend (2210) saws. A one-minute window, so ~65 ticks suffice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, SelectionList, Static

from perftop.app import AppConfig, PerftopApp
from perftop.config import Config, load_config
from perftop.system.fake import LEAKER, SAWTOOTH
from perftop.system.processes import DEFAULT_COLUMNS, SortKey, ViewOptions
from perftop.system.source import FakeSource, LiveSource
from perftop.ui.screens.setup import SetupScreen
from perftop.ui.widgets.compact_meters import CompactMeters
from perftop.ui.widgets.meters import MemoryPanel, Panel
from perftop.ui.widgets.process_table import LEAK_MARK, ProcessTable
from tests.ui.helpers import make_app, table, ticks, until

WITH_GROWTH = (*DEFAULT_COLUMNS[:6], SortKey.GROWTH, *DEFAULT_COLUMNS[6:])
FILLED = 66  # ticks: a one-minute window covered, in 5-second buckets


def growth_app(columns: tuple[SortKey, ...] = WITH_GROWTH) -> PerftopApp:
    return make_app(view=ViewOptions(columns=columns, growth_window_s=60.0))


def line_of(pilot: Pilot[None], pid: int) -> str:
    t = table(pilot)
    for y in range(1, t.size.height):
        text = t.render_line(y).text
        if text.split()[:1] == [str(pid)]:
            return text
    raise AssertionError(f"PID {pid} not on screen")


def cell(pilot: Pilot[None], pid: int, key: SortKey) -> str:
    t = table(pilot)
    placed = next(p for p in t._layout(t.size.width) if p.column.key is key)
    return line_of(pilot, pid)[placed.left : placed.left + placed.width].strip()


def memory_lines(app: PerftopApp) -> list[str]:
    """The memory panel's lines, or at small sizes the folded meters' that show it."""
    panel: Panel = app.dashboard.query_one("#mem", MemoryPanel)
    if not panel.size.height:
        panel = app.dashboard.query_one("#compact", CompactMeters)
    return [panel.render_line(y).text for y in range(panel.size.height)]


def detail_text(app: PerftopApp) -> str:
    return str(app.dashboard.query_one("#detail-body", Static).render())


async def test_growth_is_blank_until_the_window_has_history_then_marks_the_leaker() -> None:
    app = growth_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 10)
        assert cell(pilot, LEAKER, SortKey.GROWTH) == "", "10 s of a 1-minute window: blank"
        await ticks(pilot, FILLED - 10)
        assert cell(pilot, LEAKER, SortKey.GROWTH) == f"+6.0M/m{LEAK_MARK}"
        assert cell(pilot, LEAKER, SortKey.RSS).endswith(LEAK_MARK)
        saw_growth = cell(pilot, SAWTOOTH, SortKey.GROWTH)
        assert saw_growth.endswith("/m") and LEAK_MARK not in line_of(pilot, SAWTOOTH)
        assert cell(pilot, 2302, SortKey.GROWTH) == "0/m", "an idle process grows nothing"
        assert cell(pilot, 13, SortKey.GROWTH) == "", "a kernel thread has no memory to follow"
        # The mark is coloured: a segment of its own, in another style than the line's.
        t = table(pilot)
        y = 1 + next(i for i, v in enumerate(t.rows) if v.row.pid == LEAKER) - t.top
        segments = list(t.render_line(y))
        marks = [seg for seg in segments if seg.text == LEAK_MARK]
        assert len(marks) == 2 and all(m.style != segments[0].style for m in marks)


async def test_growth_sorts_with_the_other_columns() -> None:
    app = growth_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, FILLED)
        for _ in range(3):  # CPU% → MEM% → RSS → GROWTH
            await pilot.press("greater_than_sign")
        assert app.dashboard.options.sort_key is SortKey.GROWTH
        assert table(pilot).render_line(0).text.split()[6] == "GROWTH▼"
        rows = table(pilot).rows
        assert rows[0].row.pid == LEAKER, "the fastest growing first"
        figures = [v.growth.bytes_per_min for v in rows if v.growth is not None]
        assert figures == sorted(figures, reverse=True)
        blanks = [i for i, v in enumerate(rows) if v.growth is None]
        assert blanks and min(blanks) == len(figures), "no history (kernel threads) last"
        await pilot.press("I")  # ascending: the blanks, then the slowest, the leaker last
        rows = table(pilot).rows
        assert rows[-1].row.pid == LEAKER and rows[0].growth is None


async def test_a_hidden_growth_column_still_marks_rss_and_sorts() -> None:
    app = growth_app(DEFAULT_COLUMNS)
    async with app.run_test(size=(80, 24)) as pilot:
        await ticks(pilot, FILLED)
        assert "GROWTH" not in table(pilot).render_line(0).text
        assert cell(pilot, LEAKER, SortKey.RSS).endswith(LEAK_MARK)
        await pilot.press("f6")
        await pilot.pause()
        await pilot.press("down", "down", "down", "enter")  # CPU% → MEM% → RSS → GROWTH
        await pilot.pause()
        assert app.dashboard.options.sort_key is SortKey.GROWTH
        assert table(pilot).rows[0].row.pid == LEAKER
        assert "▼" not in table(pilot).render_line(0).text, "sorted by a column not shown"


async def test_the_dashboard_warns_of_the_leaker_running_out_within_the_hour() -> None:
    app = growth_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 20)
        assert not any("out of memory" in line for line in memory_lines(app))
        await ticks(pilot, FILLED - 20)
        await until(
            pilot,
            lambda: any("⚠ 2301 python3: out of memory in ~" in x for x in memory_lines(app)),
            "the memory panel's warning",
        )
        (line,) = [x for x in memory_lines(app) if "⚠" in x]
        assert "(cgroup 1.0G)" in line, "the probe read the leaker's cgroup"
        await pilot.press("space")  # paused: the panel shows a past moment, no warning
        assert not any("⚠" in x for x in memory_lines(app))
        await pilot.press("space")
        await ticks(pilot)
        assert any("⚠" in x for x in memory_lines(app))


@pytest.mark.parametrize("size", [(80, 24), (80, 34)])  # folded meters, and the panels
async def test_the_warning_fits_an_80_column_dashboard(size: tuple[int, int]) -> None:
    app = growth_app(DEFAULT_COLUMNS)
    async with app.run_test(size=size) as pilot:
        await ticks(pilot, FILLED)
        await until(
            pilot, lambda: any("⚠ 2301 python3" in x for x in memory_lines(app)), "the warning"
        )
        (line,) = [x for x in memory_lines(app) if "⚠" in x]
        assert "out of memory in ~" in line or "OOM in ~" in line


async def test_the_detail_pane_draws_memory_over_time_and_the_forecast() -> None:
    app = growth_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, FILLED)
        assert table(pilot).move_to_pid(LEAKER)
        await pilot.press("i")
        await until(pilot, lambda: "LEAK SUSPECT" in detail_text(app), "the leaker's detail")
        text = detail_text(app)
        assert "growth    +6.0M/min over 1m" in text
        assert "out of memory in ~" in text and "(cgroup limit 1.0G)" in text
        assert "kinds     anon " in text and " USS " in text and " PSS " in text
        assert any("\u2800" < ch <= "\u28ff" for ch in text), "the braille graph"
        assert "last 6" in text or "last 7" in text or "last 65 s" in text

        assert table(pilot).move_to_pid(SAWTOOTH)
        await until(pilot, lambda: "no leak:" in detail_text(app), "the sawtooth's detail")
        text = detail_text(app)
        assert "LEAK SUSPECT" not in text and "runs out" not in text
        assert "unreadable: another user's process" in text, "postgres's maps are not alice's"

        assert table(pilot).move_to_pid(1)
        await until(pilot, lambda: detail_text(app).startswith("1 systemd"), "PID 1's detail")
        assert "unreadable: another user's process" in detail_text(app)


async def test_rewind_shows_what_was_known_at_that_moment() -> None:
    app = growth_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, FILLED + 10)
        await pilot.press("space")
        assert cell(pilot, LEAKER, SortKey.GROWTH) == f"+6.0M/m{LEAK_MARK}", "the newest moment"
        await pilot.press("left_curly_bracket")  # a minute back: 16 s in, too early to tell
        assert cell(pilot, LEAKER, SortKey.GROWTH) == "", "too early for the window: blank"
        await pilot.press(*"]" * 50)  # stepping on, the replay model is fed as it goes
        assert cell(pilot, LEAKER, SortKey.GROWTH) == f"+6.0M/m{LEAK_MARK}"
        await pilot.press("space")
        assert cell(pilot, LEAKER, SortKey.GROWTH) == f"+6.0M/m{LEAK_MARK}", "live again"


async def test_f2_sets_the_window_and_adds_the_column_after_rss(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    config = AppConfig(delay_s=3600, settings=Config(), settings_path=path)
    app = PerftopApp(FakeSource, config)
    async with app.run_test(size=(120, 50)) as pilot:
        await ticks(pilot)
        await pilot.press("f2")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SetupScreen)
        assert form.query_one("#growth_window", Input).value == "5m"
        form.query_one("#growth_window", Input).value = "2m"
        form.query_one("#columns", SelectionList).select(SortKey.GROWTH)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.config.view.growth_window_s == 120.0
        header = app.screen.query_one(ProcessTable).render_line(0).text.split()
        assert header[header.index("RSS") + 1] == "GROWTH"
        await ticks(pilot)
        assert app.growth.window_s == 120.0
    saved, problems = load_config(path)
    assert problems == [] and saved.growth_window_s == 120.0
    assert 'growth_window = "2m"' in path.read_text()


async def test_f2_refuses_a_bad_window() -> None:
    config = AppConfig(delay_s=3600, settings=Config(), settings_path=Path("/nonexistent/x"))
    app = PerftopApp(FakeSource, config)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        app.screen.query_one("#growth_window", Input).value = "3 days"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SetupScreen)
        error = str(app.screen.query_one("#setup-error", Static).render())
        assert error.startswith("GROWTH window: ")


async def test_a_live_process_detail_reads_its_memory_kinds() -> None:
    """The live source: this test's own process, its smaps_rollup read for the pane."""
    app = make_app(LiveSource, ViewOptions(filter_text=str(os.getpid())))
    async with app.run_test(size=(140, 40)) as pilot:
        await ticks(pilot, 2)
        assert table(pilot).move_to_pid(os.getpid())
        await pilot.press("i")
        await until(pilot, lambda: "kinds     " in detail_text(app), "the memory kinds")
        text = detail_text(app)
        assert "kinds     anon " in text or "unreadable" in text
        assert "growth    not enough history yet for the 5m window" in text
