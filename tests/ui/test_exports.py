"""Saving what is on screen: snapshots, profile exports and SVG pictures, and their failures."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from textual.pilot import Pilot

from perftop.app import AppConfig, PerftopApp
from perftop.exports import export_path, export_stem
from perftop.formats.detect import read_any
from perftop.formats.snapshot import SNAPSHOT_SUFFIX, read_snapshot
from perftop.model.profile import Profile
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.session import ProfileSession, SessionState
from perftop.system.fake import EPOCH
from perftop.system.source import FakeSource
from perftop.ui.screens.profile import ProfileScreen
from perftop.ui.screens.profile_dialogs import ExportMenu, profile_export_choices
from perftop.ui.start import ProfileFile, SnapshotFile
from tests.hand_backend import HandBackend
from tests.ui.files_helpers import base_profile, fake_snapshot, offline_app
from tests.ui.helpers import ticks


def live_app(export_dir: Path) -> PerftopApp:
    return PerftopApp(FakeSource, AppConfig(delay_s=3600, export_dir=export_dir))


async def settle(pilot: Pilot[None]) -> None:
    """Let background writes (child processes, perftop/ui/writes.py) finish and their toasts
    arrive."""
    await pilot.pause()
    app = pilot.app
    assert isinstance(app, PerftopApp)
    for _ in range(2000):  # a condition, bounded: 20 s of a loaded machine
        if not app.writes:
            break
        await pilot.pause(0.01)
    else:
        raise AssertionError(f"writes still running: {[w.path for w in app.writes]}")
    await pilot.pause()


def notes(pilot: Pilot[None]) -> list[str]:
    return [n.message for n in pilot.app._notifications]


def errors(pilot: Pilot[None]) -> list[str]:
    return [n.message for n in pilot.app._notifications if n.severity == "error"]


def written(directory: Path, suffix: str) -> Path:
    files = [p for p in directory.iterdir() if p.name.endswith(suffix)]
    assert len(files) == 1, files
    return files[0]


# --- names -----------------------------------------------------------------------------------


def test_export_names_say_what_and_when_and_never_overwrite(tmp_path: Path) -> None:
    assert export_stem(4242, "PID 4242 python app.py") == "4242"
    assert export_stem(None, "/tmp/run.speedscope.json") == "run"
    assert export_stem(None, "busy.py (fixture)") == "busy"
    assert export_stem(None, "") == "profile"
    first = export_path(tmp_path, "4242", ".folded", EPOCH)
    assert first.parent == tmp_path
    assert first.name.startswith("perftop-4242-2026010") and first.name.endswith(".folded")
    first.write_text("x")
    second = export_path(tmp_path, "4242", ".folded", EPOCH)
    assert second != first and second.name.endswith("-2.folded")


# --- snapshots -------------------------------------------------------------------------------


async def test_snapshot_key_saves_history_processes_and_says_where(tmp_path: Path) -> None:
    app = live_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        shown, ticks_seen = app.dashboard.snapshot, len(app.history)
        assert shown is not None
        await pilot.press("x")
        await settle(pilot)
        path = written(tmp_path, SNAPSHOT_SUFFIX)
        assert any(str(path) in m for m in notes(pilot)), notes(pilot)
        assert path.stat().st_mode & 0o777 == 0o600
    saved = read_snapshot(path)
    assert set(saved.processes.rows) == set(shown.rows)
    assert len(saved.history) == ticks_seen and saved.sample is not None
    assert saved.profile is None


async def test_snapshot_from_the_profile_screen_carries_its_profile(tmp_path: Path) -> None:
    app = live_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        screen = ProfileScreen(base_profile(), title="PID 4242 app.py", can_snapshot=True)
        app.push_screen(screen)
        await pilot.pause()
        await pilot.press("x")
        await settle(pilot)
        first = written(tmp_path, SNAPSHOT_SUFFIX)
        # The export menu offers the same, as its last entry.
        await pilot.press("e")
        menu = app.screen
        assert isinstance(menu, ExportMenu)
        await pilot.press(*["down"] * (len(menu.choices) - 1), "enter")
        await settle(pilot)
    snapshots = sorted(p for p in tmp_path.iterdir() if p.suffix == SNAPSHOT_SUFFIX)
    assert len(snapshots) == 2 and first in snapshots
    for path in snapshots:
        saved = read_snapshot(path)
        assert saved.profile is not None and saved.profile.total_samples == 100
        assert saved.profile_title == "PID 4242 app.py"
        assert saved.processes.rows


async def test_palette_lists_the_saving_actions(tmp_path: Path) -> None:
    app = live_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Save snapshot" in titles and "Save screen as SVG" in titles
        assert "Screenshot" not in titles  # Textual's own, which writes to ~/Downloads


# --- profile exports -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "index", range(5), ids=["speedscope", "folded", "html", "pyisession", "pprof"]
)
async def test_each_profile_format_writes_a_readable_file(tmp_path: Path, index: int) -> None:
    choice = profile_export_choices()[index]
    profile = base_profile()
    app = offline_app(tmp_path, start=ProfileFile(profile, "before.folded"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("e")
        assert isinstance(app.screen, ExportMenu)
        # An opened profile file has no machine behind it: no snapshot entry.
        assert len(app.screen.choices) == len(profile_export_choices()) == 5
        await pilot.press(*["down"] * index, "enter")
        await settle(pilot)
        path = written(tmp_path, choice.suffix)
        assert path.name.startswith("perftop-before-")
        assert any(f"{choice.label} saved to {path}" in m for m in notes(pilot)), notes(pilot)
    if choice.suffix == ".html":
        assert "pyinstrument" in path.read_text()
    else:
        back = read_any(path)
        assert isinstance(back, Profile) and back.total_samples == profile.total_samples


async def test_exporting_a_live_profile_keeps_sampling(tmp_path: Path) -> None:
    app = live_app(tmp_path)
    backend = HandBackend()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        session = ProfileSession(4242, ProfilerOptions(), lambda: backend)
        screen = ProfileScreen(session, can_snapshot=True)
        app.push_screen(screen)
        backend.feed(10)
        for _ in range(100):
            await pilot.pause(0.02)
            if screen.profile.total_samples == 10:
                break
        await pilot.press("e", "down", "enter")  # folded
        backend.feed(5)
        await settle(pilot)
        for _ in range(100):
            await pilot.pause(0.02)
            if screen.profile.total_samples == 15:
                break
        assert screen.profile.total_samples == 15 and screen.state is SessionState.LIVE
        screen.stop()
    path = written(tmp_path, ".folded")
    assert path.name.startswith("perftop-4242-")
    back = read_any(path)
    assert isinstance(back, Profile) and back.total_samples == 10


# --- pictures --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ctrl+s", "f12"])
async def test_screen_saved_as_svg(tmp_path: Path, key: str) -> None:
    app = live_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        await pilot.press(key)
        await settle(pilot)
        path = written(tmp_path, ".svg")
        assert path.name.startswith("perftop-dashboard-")
        assert any(str(path) in m for m in notes(pilot))
    text = path.read_text()
    assert text.startswith("<svg") and "python3" in text.replace("&#160;", " ")


async def test_a_dialog_can_be_pictured_too(tmp_path: Path) -> None:
    app = live_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        await pilot.press("f1", "f12")
        await settle(pilot)
        assert written(tmp_path, ".svg").name.startswith("perftop-help-")


# --- failures --------------------------------------------------------------------------------


async def test_unwritable_directory_is_a_toast_and_nothing_is_lost(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    app = live_app(missing)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        rows = dict(app.dashboard.snapshot.rows) if app.dashboard.snapshot else {}
        seen = len(app.history)
        await pilot.press("x", "ctrl+s")
        await settle(pilot)
        failures = errors(pilot)
        assert len(failures) == 2, notes(pilot)
        assert all(f"could not write {missing}/perftop-" in m for m in failures)
        assert all("No such file or directory" in m for m in failures)
        assert app.is_running and len(app.history) == seen
        await ticks(pilot)  # sampling goes on
        assert len(app.history) == seen + 1 and app.dashboard.snapshot is not None
        assert set(app.dashboard.snapshot.rows) == set(rows)
        # Point it somewhere writable and the same data saves.
        app.config.export_dir = tmp_path
        await pilot.press("x")
        await settle(pilot)
    assert len(read_snapshot(written(tmp_path, SNAPSHOT_SUFFIX)).history) == seen + 1


async def test_disk_full_during_export_is_a_toast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(_profile: Profile, _path: object) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("perftop.formats.export.write_profile", full)
    app = offline_app(tmp_path, start=ProfileFile(base_profile(), "before.folded"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("e", "enter")
        await settle(pilot)
        assert any("No space left on device" in m for m in errors(pilot)), notes(pilot)
        assert app.is_running and isinstance(app.screen, ProfileScreen)
        assert app.screen.profile.total_samples == 100
    assert not list(tmp_path.iterdir())


async def test_a_snapshot_viewer_saves_a_copy(tmp_path: Path) -> None:
    original = fake_snapshot()
    app = offline_app(tmp_path, start=SnapshotFile(original))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("x")
        await settle(pilot)
    copy = read_snapshot(written(tmp_path, SNAPSHOT_SUFFIX))
    assert copy.created == original.created and copy.hostname == original.hostname
    assert set(copy.processes.rows) == set(original.processes.rows)
