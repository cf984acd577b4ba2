"""The flame view and its screen, driven with Pilot on a fixed profile (no py-spy)."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from perftop.app import AppConfig, PerftopApp
from perftop.formats.folded import read_folded
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.system.source import FakeSource
from perftop.ui.screens.profile import ProfileScreen
from perftop.ui.screens.profile_dialogs import ThreadPicker
from perftop.ui.start import ProfileFile
from perftop.ui.widgets.flame import FlameView, box_label
from perftop.ui.widgets.top_functions import TopFunctions

DATA = Path(__file__).resolve().parent.parent / "data"


def fixed_profile() -> Profile:
    return read_folded(DATA / "pyspy-raw-threads.txt")


def ProfileApp(profile: Profile) -> PerftopApp:
    """The real app with the profile screen on top, showing a profile opened from a file."""
    config = AppConfig(delay_s=3600, start=ProfileFile(profile, "busy.py (fixture)"))
    return PerftopApp(FakeSource, config)


def flame(pilot: Pilot[None]) -> FlameView:
    return pilot.app.screen.query_one(FlameView)


def screen_text(pilot: Pilot[None]) -> str:
    widget = flame(pilot)
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


def test_box_label_truncates_with_an_ellipsis() -> None:
    assert box_label("handle_request (app.py:10)", 12) == "handle_req… "
    assert box_label("f", 4) == "f   "
    assert box_label("anything", 1) == " "


async def test_flame_draws_frames_and_moves_between_them() -> None:
    app = ProfileApp(fixed_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = screen_text(pilot)
        assert "spin (busy.py:4)" in text or "spin (busy.py" in text
        assert "Thread._bootstrap" in text
        view = flame(pilot)
        await pilot.press("down")  # the first press selects the first frame under the root
        first = view.selected
        assert first is not None and first.depth == 1
        await pilot.press("down")
        deeper = view.selected
        assert deeper is not None and deeper.parent is first
        await pilot.press("up")
        assert view.selected is first
        await pilot.press("right")
        sibling = view.selected
        assert sibling is not None and sibling is not first and sibling.depth == first.depth
        status = str(app.screen.query_one("#frame-status").render())
        assert "total" in status and "%" in status


async def test_zoom_in_and_out_keeps_the_path() -> None:
    app = ProfileApp(fixed_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = flame(pilot)
        await pilot.press("down", "down", "down")
        target = view.selected
        assert target is not None
        await pilot.press("enter")
        assert view.zoom_path == target.path()
        assert view.zoom_root is target
        # After zooming, the zoomed frame spans the whole width.
        assert view._rows[0][0].width == view.size.width
        await pilot.press("escape")
        assert view.zoom_path == target.path()[:-1]


async def test_live_merge_keeps_zoom_and_selection() -> None:
    profile = fixed_profile()
    app = ProfileApp(profile)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = flame(pilot)
        await pilot.press("down", "down", "enter", "down")
        zoom, selected = view.zoom_path, view.selected_path
        more = Profile()
        more.add_stack([Frame("<module>", "busy.py", 16), Frame("new_fn", "busy.py", 99)], 50)
        screen = app.screen
        assert isinstance(screen, ProfileScreen)
        profile.merge(more)
        screen._refresh_views(force_table=True)
        await pilot.pause()
        assert view.zoom_path == zoom and view.selected_path == selected
        assert view.selected is not None


async def test_search_highlights_and_reports_share() -> None:
    app = ProfileApp(fixed_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"spin", "enter")
        await pilot.pause()
        view = flame(pilot)
        assert view.search_ids
        names = {app.screen.profile.frame(i).name for i in view.search_ids}
        assert names == {"spin"}
        status = str(app.screen.query_one("#frame-status").render())
        assert "search 'spin'" in status and "% of samples" in status


async def test_thread_picker_narrows_to_one_thread() -> None:
    profile = fixed_profile()
    app = ProfileApp(profile)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("t")
        assert isinstance(app.screen, ThreadPicker)
        await pilot.press("down", "enter")  # the busiest thread
        await pilot.pause()
        view = flame(pilot)
        assert view.thread == profile.threads()[0]
        assert view.zoom_root.total == profile.thread_samples(view.thread)


async def test_top_table_links_to_the_flame() -> None:
    app = ProfileApp(fixed_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        top = app.screen.query_one(TopFunctions)
        assert top.row_count > 0
        await pilot.press("tab")
        assert top.has_focus
        await pilot.press("down")
        await pilot.pause()
        assert flame(pilot).highlight_id is not None


async def test_orientation_toggle_puts_the_root_at_the_bottom() -> None:
    app = ProfileApp(fixed_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = flame(pilot)
        assert view.render_line(0).text.startswith("all")
        await pilot.press("o")
        assert view.render_line(view.size.height - 1).text.startswith("all")


def test_flame_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press("down", "down")

    assert snap_compare(ProfileApp(fixed_profile()), terminal_size=(120, 40), run_before=run)


def test_flame_search_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press("slash", *"spin", "enter", "o")

    assert snap_compare(ProfileApp(fixed_profile()), terminal_size=(120, 40), run_before=run)
