"""The flame screen of a memory session (`--memory`, `m` on a row), fed by hand: the head line
names the tracker, the live bytes and the target's slowdown (never samples nor Hz), the top
table and the status line show sizes, `m` marks and `g` shows what grew since, `m` on a row
opens the memory view of that process (not in read-only views), and the settings offer it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.profiling.backend import Batch, ProfilerBackend, ProfilerOptions
from perftop.profiling.session import ProfileSession, SessionState
from perftop.ui.memory_text import SLOWDOWN
from perftop.ui.screens.dashboard import DashboardScreen
from perftop.ui.screens.help import screen_actions
from perftop.ui.screens.memory_view import MemoryView
from perftop.ui.screens.profile import ProfileScreen
from perftop.ui.screens.profile_dialogs import PROFILER_LABELS, ProfilerSettings
from perftop.ui.start import ProfileFile, SnapshotFile
from perftop.ui.widgets.flame import FlameView
from perftop.ui.widgets.top_functions import TopFunctions
from tests.hand_backend import HandBackend
from tests.ui.files_helpers import fake_snapshot, offline_app
from tests.ui.helpers import make_app, table, ticks, until

MAIN = Frame("main", "/srv/app.py", 1)
LEAK = Frame("leak", "/srv/app.py", 10)
CACHE = Frame("cache", "/srv/app.py", 20)
MiB = 1 << 20


class MemoryHand(HandBackend):
    """A memory backend fed by hand: each batch the whole of what is live, in bytes."""

    mode = "memray"

    def feed_bytes(self, leak: int, cache: int = MiB, *, exited: bool = False) -> None:
        profile = Profile({"unit": "bytes"})
        profile.add_stack([MAIN, LEAK], leak, "MainThread")
        profile.add_stack([MAIN, CACHE], cache, "MainThread")
        batch = Batch(profile, 1.0, profile.total_samples, 0, exited, replaces=True)
        self.items.put(batch)


def memory_session(backend: HandBackend) -> ProfileSession:
    options = ProfilerOptions(backend="memory")
    return ProfileSession(4242, options, lambda: backend, command="app.py", source="memory")


def head(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#profile-head", Static).render())


def status(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#frame-status", Static).render())


async def opened(pilot: Pilot[None], session: ProfileSession) -> ProfileScreen:
    screen = ProfileScreen(session, title="PID 4242 app.py", can_snapshot=True)
    await pilot.app.push_screen(screen)
    await until(pilot, lambda: session.state is SessionState.LIVE, "the session live")
    return screen


def offered(pilot: Pilot[None]) -> set[str]:
    return {b.binding.action for b in pilot.app.screen.active_bindings.values() if b.enabled}


async def test_the_head_line_names_the_tracker_the_live_bytes_and_the_slowdown() -> None:
    backend = MemoryHand()
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await opened(pilot, memory_session(backend))
        backend.feed_bytes(3 * MiB)
        await until(pilot, lambda: screen.profile.total_samples == 4 * MiB, "the batch")
        await until(pilot, lambda: "live 4.0 MiB" in head(pilot), "the head line")
        line = head(pilot)
        assert "memray" in line and f"target up to ~{SLOWDOWN['memray']:.1f}x slower" in line
        assert "view: live since attach" in line
        assert "samples" not in line and "Hz" not in line and "coverage" not in line
        assert screen.query_one(FlameView).border_title == "live bytes since attach"
        screen.stop()


async def test_sizes_in_the_top_table_and_the_status_line() -> None:
    backend = MemoryHand()
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await opened(pilot, memory_session(backend))
        backend.feed_bytes(3 * MiB)
        await until(pilot, lambda: screen.profile.total_samples == 4 * MiB, "the batch")
        top = screen.query_one(TopFunctions)
        screen._refresh_views(force_table=True)
        await pilot.pause()
        rows = {str(top.get_row_at(i)[4]): top.get_row_at(i) for i in range(top.row_count)}
        assert rows["leak"][2] == "3.0 MiB" and rows["leak"][3] == "3.0 MiB"
        assert rows["main"][3] == "4.0 MiB"
        screen.query_one(FlameView).focus()
        await pilot.press("down")  # selects the first frame below the root
        await until(pilot, lambda: "self " in status(pilot), "a frame selected")
        assert "total 4.0 MiB (100.0%)" in status(pilot)
        screen.search_text = "leak"
        screen._run_search()
        screen._refresh_frame_status(screen.query_one(FlameView).selected)
        assert "75.0% of bytes" in status(pilot)
        screen.stop()


async def test_mark_then_g_shows_what_grew_since_and_back() -> None:
    backend = MemoryHand()
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        session = memory_session(backend)
        screen = await opened(pilot, session)
        backend.feed_bytes(1 * MiB)
        await until(pilot, lambda: screen.profile.total_samples == 2 * MiB, "the first batch")
        await pilot.press("m")
        assert session.marked is not None
        backend.feed_bytes(4 * MiB)  # the leak grew by 3 MiB, the cache stayed
        await until(pilot, lambda: session.profile.total_samples == 5 * MiB, "the second")
        await pilot.press("g")
        await until(pilot, lambda: "grown since mark" in head(pilot), "the growth view")
        assert screen.profile.total_samples == 3 * MiB
        assert "+3.0 MiB" in head(pilot) and "live 5.0 MiB" in head(pilot)
        flame = screen.query_one(FlameView)
        assert flame.profile is screen.profile and flame.border_title == "grown since mark"
        top = screen.query_one(TopFunctions)
        assert [s.frame.name for s in top.stats if s.self_samples] == ["leak"]
        # Frame ids are the live profile's: a zoom survives the next batch and the toggle.
        leak_id = session.profile.intern(LEAK)
        main_id = session.profile.intern(MAIN)
        flame.zoom_path = (main_id, leak_id)
        backend.feed_bytes(6 * MiB)
        await until(pilot, lambda: screen.profile.total_samples == 5 * MiB, "the next batch")
        assert flame.zoom_root.frame_id == leak_id and flame.zoom_root.total == 5 * MiB
        exported = screen.profile_for_export()
        assert exported.total_samples == 5 * MiB
        assert exported.metadata["view"] == "grown since mark"
        await pilot.press("g")
        await until(pilot, lambda: "live since attach" in head(pilot), "back to live")
        assert screen.profile is session.profile and screen.profile.total_samples == 7 * MiB
        assert flame.zoom_root.frame_id == leak_id
        screen.stop()


async def test_g_without_a_mark_marks_now() -> None:
    backend = MemoryHand()
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        session = memory_session(backend)
        screen = await opened(pilot, session)
        backend.feed_bytes(MiB)
        await until(pilot, lambda: screen.profile.total_samples == 2 * MiB, "the batch")
        await pilot.press("g")
        await until(pilot, lambda: "grown since mark" in head(pilot), "the growth view")
        assert session.marked is not None and screen.profile.total_samples == 0
        assert "+0 B" in head(pilot)
        screen.stop()


async def test_memory_keys_only_for_memory_and_cpu_keys_not_for_it() -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await opened(pilot, memory_session(MemoryHand()))
        keys = offered(pilot)
        assert {"mark", "toggle_growth", "search", "threads", "export"} <= keys
        assert "dump" not in keys and "reset" not in keys
        actions = {e.action: e.keys for e in screen_actions(screen)}
        assert actions["mark"] == ["m"] and actions["toggle_growth"] == ["g"]
        screen.stop()
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")
        backend = HandBackend()
        cpu = ProfileSession(4242, ProfilerOptions(), lambda: backend, source="py-spy")
        screen = await opened(pilot, cpu)
        keys = offered(pilot)
        assert "mark" not in keys and "toggle_growth" not in keys and "dump" in keys
        await pilot.press("m")  # neither a mark nor the dashboard's memory key
        await pilot.pause()
        assert app.screen is screen and cpu.marked is None
        screen.stop()


# The backend's last word when the target exits is a snapshot of nothing (replaces=True, an
# empty profile): absorbing it as a snapshot would wipe what the target held when it went.
async def test_the_target_exiting_keeps_the_bytes_and_ends() -> None:
    backend = MemoryHand()
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        session = memory_session(backend)
        screen = await opened(pilot, session)
        backend.feed_bytes(2 * MiB)
        await until(pilot, lambda: screen.profile.total_samples == 3 * MiB, "the batch")
        backend.items.put(Batch(Profile({"unit": "bytes"}), 0.5, 0, 0, True, replaces=True))
        await until(pilot, lambda: session.state is SessionState.ENDED, "the end")
        assert " ENDED " in head(pilot)
        assert screen.profile.total_samples == 3 * MiB, "what it held when it exited"
        assert "live 3.0 MiB" in head(pilot)
        screen.stop()


# --- from the dashboard: `m` on a row ------------------------------------------------------


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[ProfileSession]:
    """`new_session`, on a hand backend: what the app asked for is in the session's options."""
    from perftop.profiling import backends

    made: list[ProfileSession] = []

    def fake(pid: int, options: ProfilerOptions, **kwargs: object) -> ProfileSession:
        backend = MemoryHand()
        session = ProfileSession(pid, options, lambda: backend, source=options.backend)
        made.append(session)
        return session

    monkeypatch.setattr(backends, "new_session", fake)
    # The fake machine's PIDs are not real processes: the check before attaching passes them.
    monkeypatch.setattr(backends, "check_target", lambda pid, options, backend=None: "")
    return made


async def test_m_on_a_row_opens_the_memory_flame_of_that_process(
    sessions: list[ProfileSession],
) -> None:
    app = make_app()
    app.config.profiler = ProfilerOptions(backend="perf", dwarf=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await ticks(pilot)
        current = table(pilot).current
        assert current is not None
        entries = {e.action: e.keys for e in screen_actions(app.screen)}
        assert entries["memory_profile"] == ["m"], "in help and the palette"
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the flame screen")
        (session,) = sessions
        assert session.pid == current.row.pid
        assert session.options.backend == "memory" and not session.options.dwarf
        assert app.config.profiler.backend == "perf", "the settings' profiler is left as it was"
        screen = app.screen
        assert isinstance(screen, ProfileScreen) and screen.tracks_memory
        await until(pilot, lambda: "view: live since attach" in head(pilot), "the head line")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")
        assert session.state is SessionState.ENDED


async def test_m_on_a_process_that_is_not_python_says_so_on_the_table() -> None:
    app = make_app()  # the fake machine's PIDs: no such process here
    async with app.run_test(size=(140, 40)) as pilot:
        await ticks(pilot)
        await pilot.press("m")
        await until(pilot, lambda: bool(app._notifications), "a toast")
        (toast,) = list(app._notifications)
        assert toast.severity == "error" and "PID" in toast.message
        assert isinstance(app.screen, DashboardScreen)


async def test_a_snapshot_offers_no_memory_profile(sessions: list[ProfileSession]) -> None:
    app = offline_app(start=SnapshotFile(fake_snapshot()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "memory_profile" not in offered(pilot)
        assert "memory_profile" not in {e.action for e in screen_actions(app.screen)}
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and sessions == []


# --- the settings dialog ------------------------------------------------------------------


async def test_the_settings_offer_memory_and_switching_starts_afresh() -> None:
    backend = MemoryHand()
    made: list[str] = []

    def chooser(options: ProfilerOptions) -> tuple[str, Callable[[], ProfilerBackend]]:
        made.append(options.backend)
        return options.backend, lambda: backend

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        session = ProfileSession(
            4242,
            ProfilerOptions(),
            lambda: backend,
            source="py-spy",
            chooser=chooser,
        )
        screen = await opened(pilot, session)
        backend.feed(50)  # CPU samples
        await until(pilot, lambda: screen.profile.total_samples == 50, "the CPU samples")
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ProfilerSettings), "the settings")
        dialog = app.screen
        assert PROFILER_LABELS["memory"] == "memory (live bytes)"
        dialog.query_one("#profiler", Select).value = "memory"
        await pilot.pause()
        assert dialog.query_one("#rate", Input).disabled, "a tracker has no rate"
        await pilot.click("#apply")
        await until(pilot, lambda: made == ["memory"], "the restart on memory")
        await until(pilot, lambda: session.state is SessionState.LIVE, "live again")
        assert screen.tracks_memory and screen.profile.total_samples == 0, "samples forgotten"
        backend.feed_bytes(MiB)
        await until(pilot, lambda: "live 2.0 MiB" in head(pilot), "bytes on the head line")
        screen.stop()


async def test_a_memory_profile_from_a_file_shows_sizes() -> None:
    """`perftop view live.speedscope.json`: the file says its counts are bytes."""
    profile = Profile({"unit": "bytes"})
    profile.add_stack([MAIN, LEAK], 3 * MiB)
    app = offline_app(start=ProfileFile(profile, "live.speedscope.json"))
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the flame")
        assert "live bytes 3.0 MiB" in head(pilot) and "samples" not in head(pilot)
        top = app.screen.query_one(TopFunctions)
        await until(pilot, lambda: top.row_count > 0, "the top table")
        assert {str(top.get_row_at(i)[3]) for i in range(top.row_count)} == {"3.0 MiB"}
        assert "mark" not in offered(pilot), "no session: nothing to mark"


@pytest.mark.parametrize(
    ("launched", "said"),
    [(True, "starting (the program's tracker)"), (False, "attaching (gdb injects the tracker)")],
)
def test_before_its_tracker_says_hello_the_head_says_how_it_comes(
    launched: bool, said: str
) -> None:
    class NotYet(MemoryHand):
        mode = ""  # no tracker has said which it is yet

    backend = NotYet()
    backend.launched = launched  # type: ignore[attr-defined]  # MemoryBackend's, for `perftop run`
    session = memory_session(backend)
    session.start()
    try:
        assert str(MemoryView(session).head(session.profile)).strip().startswith(said)
    finally:
        session.stop()
