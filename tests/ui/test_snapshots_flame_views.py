"""Pinned pictures of the flame view's views and the diff matched another way, at 80x24 and
120x40: the gunicorn-shaped server of tests/data with its waits hidden and its processes side
by side, the process picker, the diff by function re-rooted at the worker, and the profiler
settings under NO_COLOR. Regenerate after an intended change with
`pytest tests/ui/test_snapshots_flame_views.py --snapshot-update`, and look at what changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from perftop.formats.folded import read_folded
from perftop.model.frames import Frame
from perftop.model.reshape import by_function
from perftop.profiling.backend import ProfilerOptions
from perftop.ui.screens.diff import DiffScreen
from perftop.ui.screens.profile_dialogs import ProcessPicker, ProfilerSettings
from perftop.ui.start import DiffOfFiles, ProfileFile
from perftop.ui.widgets.flame import FlameView
from perftop.ui.widgets.footer import FittingFooter
from tests.ui.files_helpers import offline_app
from tests.ui.helpers import until

DATA = Path(__file__).resolve().parent.parent / "data"
RUN = Frame("SyncWorker.run", "gunicorn/workers/sync.py")


def gunicorn_app():  # type: ignore[no-untyped-def]
    profile = read_folded(DATA / "pyspy-raw-gunicorn.txt")
    return offline_app(start=ProfileFile(profile, "gunicorn (py-spy --idle --subprocesses)"))


def diff_app():  # type: ignore[no-untyped-def]
    base = by_function(read_folded(DATA / "pyspy-raw-gunicorn.txt"))
    new = by_function(read_folded(DATA / "pyspy-raw-gunicorn-reloaded.txt"))
    return offline_app(start=DiffOfFiles(base, new, "before → reloaded"))


def footer_fits(pilot: Pilot[None]) -> bool:
    """The footer drawn with the screen's keys: a picture taken before they are read would
    differ (ui/widgets/footer.py)."""
    return bool(pilot.app.screen.query_one(FittingFooter).shown())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_idle_hidden_processes_side_by_side(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await pilot.press("i", "P")
        pilot.app.clear_notifications()  # the toast would cover the tables
        await pilot.pause()

    assert snap_compare(gunicorn_app(), terminal_size=size, run_before=run)


def test_process_picker(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await pilot.press("i")
        pilot.app.clear_notifications()  # before the dialog: under it, the toast would stay
        await pilot.press("p")
        await until(pilot, lambda: isinstance(pilot.app.screen, ProcessPicker), "the picker")

    assert snap_compare(gunicorn_app(), terminal_size=(120, 40), run_before=run)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_diff_by_function_re_rooted(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: isinstance(pilot.app.screen, DiffScreen), "the diff")
        screen = pilot.app.screen
        assert isinstance(screen, DiffScreen)
        run_id = screen.profile.id_of(RUN)
        assert run_id is not None
        (node,) = screen.profile.nodes_of(run_id)[:1]
        screen.query_one(FlameView).select(node)
        await pilot.press("R")
        pilot.app.clear_notifications()
        await until(pilot, lambda: footer_fits(pilot), "the footer fitted to its new keys")

    assert snap_compare(diff_app(), terminal_size=size, run_before=run)


def test_profiler_settings_without_colour(
    snap_compare,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # read when the app is made

    async def run(pilot: Pilot[None]) -> None:
        await pilot.app.push_screen(ProfilerSettings(ProfilerOptions(idle=True, gil=True)))
        await pilot.pause()

    assert snap_compare(gunicorn_app(), terminal_size=(120, 40), run_before=run)
