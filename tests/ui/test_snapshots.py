"""Pinned pictures of the screens, from the deterministic fake machine.

Regenerate after an intended change with `pytest tests/ui/test_snapshots.py --snapshot-update`
and look at the report before committing.
"""

from __future__ import annotations

from textual.pilot import Pilot

from perftop.system.source import FakeSource
from tests.ui.helpers import make_app, ticks


async def _warm(pilot: Pilot[None]) -> None:
    await ticks(pilot, 40)  # enough history for the graphs to have a shape


def test_dashboard_120x40(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_warm)


def test_dashboard_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_warm)


def test_dashboard_with_gpus_120x40(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_app(lambda: FakeSource(gpus=2))
    assert snap_compare(app, terminal_size=(120, 40), run_before=_warm)


def test_dashboard_with_gpus_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_app(lambda: FakeSource(gpus=2))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_warm)


def test_dashboard_with_gpus_120x50_graphs(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_app(lambda: FakeSource(gpus=2))
    assert snap_compare(app, terminal_size=(120, 50), run_before=_warm)


def test_dashboard_tree_filtered(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await _warm(pilot)
        await pilot.press("f5", "slash", *"sshd", "enter")

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run)


def test_signal_menu(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await _warm(pilot)
        await pilot.press("k")

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run)
