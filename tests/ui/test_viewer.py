"""Opened files: a saved snapshot shown read-only, a profile, and the diff of two profiles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.style import Style
from textual.pilot import Pilot

from perftop.app import AppConfig, PerftopApp
from perftop.system.processes import ViewOptions, build_view
from perftop.system.source import FakeSource
from perftop.ui.screens.dashboard import DashboardScreen
from perftop.ui.screens.dialogs import SignalMenu
from perftop.ui.screens.diff import DiffScreen
from perftop.ui.screens.profile import ProfileScreen
from perftop.ui.start import DiffOfFiles, ProfileFile, SnapshotFile
from perftop.ui.widgets.changes import ChangesTable
from perftop.ui.widgets.flame import DIFF_UNCHANGED, FlameView
from perftop.ui.widgets.footer import FittingFooter
from tests.ui.files_helpers import (
    HOST,
    NoSource,
    base_profile,
    fake_snapshot,
    new_profile,
    offline_app,
)
from tests.ui.helpers import pids, until


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The marker shows local time: pin it so the expected text does not depend on the host."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def notes(pilot: Pilot[None]) -> list[str]:
    return [n.message for n in pilot.app._notifications]


def text_of(pilot: Pilot[None], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector).render())


# --- a snapshot ------------------------------------------------------------------------------


async def test_snapshot_shows_its_processes_and_says_it_is_a_snapshot(utc: None) -> None:
    saved = fake_snapshot()
    made = NoSource.made
    app = offline_app(start=SnapshotFile(saved))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the snapshot shown")
        expected = [v.row.pid for v in build_view(saved.processes, ViewOptions())]
        assert pids(pilot) == expected
        banner = text_of(pilot, "#snapshot-banner")
        assert f"snapshot of {HOST} at 2026-01-01 01:15:03 +0000" in banner
        assert "read-only" in banner
        # The meters draw the saved history: the graphs have 40 points, and nothing samples.
        assert len(app.history) == 40 and app.history is saved.history
        assert NoSource.made == made
        topbar = app.screen.query_one("#topbar").render_line(0).text
        assert "load" in topbar and "up 3d" in topbar  # the meters of that moment


async def test_snapshot_without_a_meter_sample_still_shows_its_table() -> None:
    saved = fake_snapshot()
    saved.sample = None
    app = offline_app(start=SnapshotFile(saved))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert sorted(pids(pilot)) == sorted(saved.processes.rows)


async def test_snapshot_sorts_filters_and_trees_like_the_live_table() -> None:
    saved = fake_snapshot()
    app = offline_app(start=SnapshotFile(saved))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"postgres", "enter")
        await pilot.pause()
        shown = [saved.processes.rows[pid].name for pid in pids(pilot)]
        assert shown and all("postgres" in name for name in shown)
        await pilot.press("escape", "f5")
        await pilot.pause()
        assert app.dashboard.options.tree
        assert len(pids(pilot)) == len(saved.processes.rows)


async def test_snapshot_offers_no_kill_renice_profile_or_details() -> None:
    """A saved moment has no process to act on: its footer, help and palette do not offer
    what would only refuse, and the keys do nothing."""
    app = offline_app(start=SnapshotFile(fake_snapshot()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(FittingFooter).render().plain
        assert "Kill" not in footer and "Profile" not in footer and "Nice" not in footer
        assert "Quit" in footer
        offered = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert not offered & {"kill", "renice(-1)", "renice(1)", "profile", "toggle_detail"}
        await pilot.press("k", "f8", "enter", "i")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and not isinstance(app.screen, SignalMenu)
        assert not app.screen.query_one("#detail").display
        await pilot.press("q")
    assert app.return_code == 0


async def test_snapshot_with_a_profile_opens_its_flame_and_comes_back() -> None:
    app = offline_app(start=SnapshotFile(fake_snapshot(profile=new_profile())))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "v: saved profile" in text_of(pilot, "#snapshot-banner")
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, ProfileScreen)
        assert app.screen.profile.total_samples == 200
        assert "python3 app.py" in text_of(pilot, "#profile-head")
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and app.is_running


async def test_saved_profile_key_is_listed_only_when_there_is_one() -> None:
    app = offline_app(start=SnapshotFile(fake_snapshot()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        actions = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "saved_profile" not in actions
        assert "save_snapshot" in actions  # a snapshot can be saved again, as a copy


async def test_an_opened_profile_is_the_base_screen_and_q_quits() -> None:
    app = offline_app(start=ProfileFile(base_profile(), "base.folded"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ProfileScreen)
        actions = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "save_snapshot" not in actions  # no machine behind a profile file
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


# --- a diff ----------------------------------------------------------------------------------


def diff_app() -> PerftopApp:
    return offline_app(start=DiffOfFiles(base_profile(), new_profile(), "a → b"))


def box_style(view: FlameView, name: str) -> Style:
    """The style of the first box whose label starts with `name`."""
    for y in range(view.size.height):
        for segment in view.render_line(y):
            if segment.text.startswith(name + " ") and segment.style is not None:
                return segment.style
    raise AssertionError(f"no box {name!r} drawn")


def rgb(style: Style) -> tuple[int, int, int]:
    assert style.bgcolor is not None
    triplet = style.bgcolor.get_truecolor()
    return triplet.red, triplet.green, triplet.blue


async def test_diff_colours_growth_red_and_shrinkage_blue() -> None:
    app = diff_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(pilot.app.screen, DiffScreen)
        view = pilot.app.screen.query_one(FlameView)
        r, g, b = rgb(box_style(view, "render"))  # 30 % → 60 %: the largest growth
        assert r > 150 and g < 60 and b < 60
        r, g, b = rgb(box_style(view, "parse"))  # 50 % → 20 %: the largest shrinkage
        assert b > 150 and r < 60
        r, g, b = rgb(box_style(view, "cache_lookup"))  # new, +20 %: red, but paler
        assert r > b and g > 60
        greys = {Style(bgcolor=grey).bgcolor for grey in DIFF_UNCHANGED}
        assert box_style(view, "handle").bgcolor in greys  # 80 % → 80 %
        head = text_of(pilot, "#profile-head")
        assert "base 100 samples → new 200 samples" in head
        assert "grew" in str(view.border_subtitle) and "shrank" in str(view.border_subtitle)


async def test_a_diff_of_memory_profiles_speaks_bytes() -> None:
    base, new = base_profile(), new_profile()
    for profile in (base, new):
        profile.metadata["unit"] = "bytes"  # what memory profiles carry, in every format
    app = offline_app(start=DiffOfFiles(base, new, "a → b"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        head = text_of(pilot, "#profile-head")
        assert "base 100 B → new 200 B live" in head and "samples" not in head


async def test_diff_status_line_shows_base_new_and_delta() -> None:
    app = diff_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # main, then its biggest child (handle), then handle's biggest child (render).
        await pilot.press("down", "down", "down")
        status = text_of(pilot, "#frame-status")
        assert status.startswith("render")
        assert "base 30.0% (30)" in status and "new 60.0% (120)" in status
        assert "+30.0 pts" in status


async def test_diff_table_lists_the_biggest_changes_and_highlights_the_flame() -> None:
    app = diff_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        changes = pilot.app.screen.query_one(ChangesTable)
        count = changes.row_count
        rows = [[str(cell).strip() for cell in changes.get_row_at(i)] for i in range(count)]
        names = [row[4] for row in rows]
        assert set(names[:2]) == {"parse", "render"} and set(names[2:]) == {"cache_lookup", "idle"}
        by_name = {row[4]: row for row in rows}
        assert by_name["idle"][:3] == ["-20.00", "20.00", "0.00"]  # gone from new: still listed
        assert by_name["render"][:3] == ["+30.00", "30.00", "60.00"]
        changes.focus()
        await pilot.press("down")
        view = pilot.app.screen.query_one(FlameView)
        assert view.highlight_id == changes.current_frame_id is not None
        # Selecting in the flame moves the table to that function.
        view.focus()
        await pilot.press("down", "down", "down")
        picked = view.selected
        assert picked is not None
        assert changes.current_frame_id == picked.frame_id


async def test_diff_search_and_quit() -> None:
    app = diff_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"render", "enter")
        assert "search 'render': 60.0% of new" in text_of(pilot, "#frame-status")
        await pilot.press("q")
        await pilot.pause()
    assert not pilot.app.is_running


async def test_a_snapshot_with_its_ticks_rewinds_like_a_recording(tmp_path: Path) -> None:
    """Opened from its file, a snapshot starts on its moment and steps back to the spike."""
    from perftop.formats.snapshot import read_snapshot, write_snapshot

    path = tmp_path / "s.perftop"
    write_snapshot(fake_snapshot(40, with_timeline=True), path)
    saved = read_snapshot(path)
    assert saved.timeline is not None and len(saved.timeline) == 40
    app = offline_app(start=SnapshotFile(saved))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        cursor = app.dashboard.cursor
        assert cursor is not None and cursor.index == 39, "opens on the moment saved"
        assert "40/40" in text_of(pilot, "#moment-banner")
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert cursor.index == 37 and "38/40" in text_of(pilot, "#moment-banner")
        rows = app.dashboard.snapshot
        assert rows is not None and rows.timestamp == saved.timeline.processes_at(37).timestamp
        offered = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "kill" not in offered, "still read-only"
        await pilot.press("q")


async def test_x_saves_the_window_of_ticks_up_to_the_moment(tmp_path: Path) -> None:
    from perftop.formats.snapshot import read_snapshot
    from tests.ui.helpers import ticks

    app = PerftopApp(FakeSource, AppConfig(delay_s=3600, export_dir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 6)
        await pilot.press("space", "left_square_bracket", "left_square_bracket")  # 2 back
        kept = len(app.timeline)
        await pilot.press("x")
        await until(pilot, lambda: bool(list(tmp_path.glob("*.perftop"))), "the snapshot file")
    (path,) = tmp_path.glob("*.perftop")  # renamed into place whole: complete once it exists
    saved = read_snapshot(path)
    assert saved.timeline is not None and len(saved.timeline) == kept - 2, "up to the moment"
    assert saved.timeline.timestamp(-1) == saved.created
