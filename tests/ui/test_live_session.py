"""The live flame view drives one ProfileSession: what it exports and resets is the session's,
and what the dashboard does to a process goes to the machine it shows."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from perftop.app import AppConfig, PerftopApp
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.session import ProfileSession, SessionState
from perftop.system.source import FakeSource
from perftop.ui.screens.profile import ProfileScreen
from perftop.ui.screens.profile_dialogs import ExportMenu
from tests.hand_backend import HandBackend
from tests.ui.helpers import make_app, table, ticks


async def wait_for(pilot: Pilot[None], condition: object, what: str) -> None:
    for _ in range(400):
        if callable(condition) and condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def export_as(pilot: Pilot[None], suffix: str) -> None:
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExportMenu), "the export menu")
    options = pilot.app.screen.query_one(OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(suffix)
    await pilot.press("enter")
    await pilot.pause()
    writes = [w for w in pilot.app.workers if w.group == "export"]
    if writes:
        await pilot.app.workers.wait_for_complete(writes)
    await pilot.pause()


async def live_screen(pilot: Pilot[None], backend: HandBackend, rate: int) -> ProfileScreen:
    session = ProfileSession(
        4242, ProfilerOptions(rate_hz=rate), lambda: backend, command="python3 app.py"
    )
    screen = ProfileScreen(session, title="PID 4242 python3 app.py", can_snapshot=True)
    await pilot.app.push_screen(screen)
    return screen


async def test_a_live_export_keeps_the_sampling_rate(tmp_path: Path) -> None:
    """250 samples at 250 Hz are one second, in the flame's export as in `perftop record`."""
    from pyinstrument.session import Session

    app = PerftopApp(FakeSource, AppConfig(delay_s=3600, export_dir=tmp_path))
    backend = HandBackend()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        screen = await live_screen(pilot, backend, rate=250)
        backend.feed(250, metadata={"source": "py-spy", "rate_hz": "250"})
        await wait_for(pilot, lambda: screen.profile.total_samples == 250, "the batch")
        await export_as(pilot, ".pyisession")
        screen.stop()
    (path,) = tmp_path.glob("*.pyisession")
    loaded = Session.load(str(path))
    assert loaded.duration == pytest.approx(1.0, rel=0.01)


async def test_a_session_started_before_the_app_is_pumped_not_started_again() -> None:
    """`perftop --pid` starts its profiler beside the app's imports (commands/first_tick.py):
    the flame view takes the session as it is, attached once, and shows its batches."""
    backend = HandBackend()
    session = ProfileSession(4242, ProfilerOptions(), lambda: backend, command="python3 app.py")
    session.start()
    assert session.state is SessionState.LIVE and len(backend.started) == 1
    config = AppConfig(delay_s=3600, early_session=lambda pid: session if pid == 4242 else None)
    app = PerftopApp(FakeSource, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        app.open_profile(4242, "python3 app.py")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen), "the flame view")
        screen = app.screen
        assert isinstance(screen, ProfileScreen) and screen.session is session
        backend.feed(100)
        await wait_for(pilot, lambda: screen.profile.total_samples == 100, "the batch")
        assert len(backend.started) == 1, "attached once, before the app"
        assert app.config.early_session is None, "taken once"
        screen.stop()


async def test_reset_keeps_the_command_and_source(tmp_path: Path) -> None:
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600, export_dir=tmp_path))
    backend = HandBackend()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        screen = await live_screen(pilot, backend, rate=100)
        backend.feed(30)
        await wait_for(pilot, lambda: screen.profile.total_samples == 30, "the batch")
        await pilot.press("r")
        await pilot.pause()
        assert screen.profile.total_samples == 0
        kept = screen.profile_for_export().metadata
        assert (kept["command"], kept["source"], kept["pid"]) == (
            "python3 app.py",
            "py-spy",
            "4242",
        )
        assert screen.state is SessionState.LIVE
        screen.stop()


@pytest.fixture
def no_real_effects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any signal or renice of a real process fails the test, and is recorded."""
    touched: list[str] = []

    def refuse(name: str) -> object:
        def call(*args: object, **kwargs: object) -> None:
            touched.append(f"{name}{args}")
            raise AssertionError(f"{name} touched a real process: {args}")

        return call

    monkeypatch.setattr("os.kill", refuse("os.kill"))
    monkeypatch.setattr("psutil.Process.nice", refuse("psutil.Process.nice"))
    return touched


async def test_the_fake_machine_acts_only_on_itself(no_real_effects: list[str]) -> None:
    """In --demo, F8 on the fake PID 1 renices the fake PID 1, and F9 ends a fake process;
    nothing real is signalled or reniced."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        view = table(pilot)
        assert view.move_to_pid(1)
        await pilot.pause()
        assert view.current is not None and view.current.row.pid == 1
        await pilot.press("f8")
        await ticks(pilot)
        source = app.source()
        assert isinstance(source, FakeSource)
        assert source.processes.nice[1] == 1
        assert app.dashboard.snapshot is not None
        assert app.dashboard.snapshot.rows[1].nice == 1, "the table shows the fake's new nice"

        assert view.move_to_pid(2301)
        await pilot.pause()
        await pilot.press("f9")
        await pilot.pause()
        await pilot.press("enter")  # SIGTERM, preselected
        await pilot.pause()
        await pilot.press("enter")  # confirmed
        await ticks(pilot)
        assert (2301, signal.SIGTERM) in source.processes.signals
        assert 2301 not in app.dashboard.snapshot.rows, "the fake process ended"
    assert no_real_effects == []
