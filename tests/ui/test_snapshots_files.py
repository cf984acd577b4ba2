"""Pinned pictures of the screens that show files: a saved snapshot and a diff of two profiles.

Built from deterministic data (the fake machine; hand-made profiles). Regenerate after an
intended change with `pytest tests/ui/test_snapshots_files.py --snapshot-update`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from perftop.ui.start import DiffOfFiles, SnapshotFile
from tests.ui.files_helpers import base_profile, fake_snapshot, new_profile, offline_app


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The snapshot marker shows local time: the same picture in every time zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_snapshot_viewer_120x40(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = offline_app(start=SnapshotFile(fake_snapshot(profile=new_profile())))
    assert snap_compare(app, terminal_size=(120, 40))


def test_diff_120x40(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await pilot.press("down", "down", "down")  # main → handle → render, the biggest growth

    app = offline_app(start=DiffOfFiles(base_profile(), new_profile(), "a → b"))
    assert snap_compare(app, terminal_size=(120, 40), run_before=run)


def test_export_menu(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await pilot.press("v", "e")

    app = offline_app(start=SnapshotFile(fake_snapshot(profile=new_profile())))
    assert snap_compare(app, terminal_size=(120, 40), run_before=run)
