"""Which profiler samples, as the screens show and choose it: the settings dialog picking perf
and DWARF, the head line, the flame's kinds and its Python→native marker, the whole-machine
key, and thread dumps that fail. Backends are hand-fed (tests/hand_backend.py): no real perf."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select, Static

from perftop.app import AppConfig, PerftopApp
from perftop.model.frames import Frame, FrameKind
from perftop.model.profile import Profile
from perftop.profiling.backend import ProfilerBackend, ProfilerError, ProfilerOptions, ThreadStack
from perftop.profiling.session import ProfileSession, SessionState
from perftop.system.source import FakeSource
from perftop.ui.screens.dashboard import DashboardScreen
from perftop.ui.screens.help import HelpScreen, bindings_table, screen_actions
from perftop.ui.screens.profile import ProfileScreen, legend, sampling_text
from perftop.ui.screens.profile_dialogs import (
    PYSPY_FLAGS,
    ProfilerSettings,
    ThreadDump,
    dwarf_cost,
)
from perftop.ui.start import ProfileFile, SnapshotFile
from perftop.ui.widgets.flame import INTO_NATIVE, KIND_COLOURS, KIND_NAMES, FlameView
from tests.hand_backend import HandBackend
from tests.ui.files_helpers import fake_snapshot, offline_app
from tests.ui.helpers import make_app, ticks, until


def head(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#profile-head", Static).render())


def chooser_of(
    made: list[str], backend: HandBackend
) -> Callable[[ProfilerOptions], tuple[str, Callable[[], ProfilerBackend]]]:
    """What new_session's chooser does (auto: py-spy here), handing out the hand backend."""

    def choose(options: ProfilerOptions) -> tuple[str, Callable[[], ProfilerBackend]]:
        name = "py-spy" if options.backend == "auto" else options.backend
        made.append(name)
        return name, lambda: backend

    return choose


async def live(
    pilot: Pilot[None], session: ProfileSession, title: str = "PID 4242 app"
) -> ProfileScreen:
    screen = ProfileScreen(session, title=title, can_snapshot=True)
    await pilot.app.push_screen(screen)
    await until(pilot, lambda: session.state is SessionState.LIVE, "the session live")
    return screen


# --- the head line ----------------------------------------------------------------------------


def test_the_sampling_text_names_the_profiler_and_how_it_unwinds() -> None:
    assert sampling_text("py-spy", ProfilerOptions()) == "py-spy 100 Hz"
    assert sampling_text("py-spy", ProfilerOptions(gil=True, idle=True)) == "py-spy 100 Hz gil idle"
    perf = ProfilerOptions(rate_hz=99, backend="perf", gil=True)
    assert sampling_text("perf", perf) == "perf 99 Hz frame pointers", (
        "py-spy's flags are not perf's"
    )
    assert sampling_text("perf", ProfilerOptions(dwarf=True)) == "perf 100 Hz dwarf"


async def test_the_head_line_says_which_profiler_samples() -> None:
    backend = HandBackend()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        options = ProfilerOptions(rate_hz=99, backend="perf")
        session = ProfileSession(4242, options, lambda: backend, command="postgres", source="perf")
        screen = await live(pilot, session)
        backend.feed(5)
        await until(pilot, lambda: screen.profile.total_samples == 5, "the batch")
        assert "perf 99 Hz frame pointers" in head(pilot)
        screen.stop()


async def test_the_head_line_says_how_often_a_stretched_flame_refreshes() -> None:
    backend = HandBackend()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        options = ProfilerOptions(subprocesses=True)
        session = ProfileSession(
            4242, options, lambda: backend, command="gunicorn", source="py-spy"
        )
        screen = await live(pilot, session)
        backend.feed(5)
        await until(pilot, lambda: screen.profile.total_samples == 5, "the batch")
        assert "py-spy 100 Hz subprocesses  coverage" in head(pilot)  # as asked: not said
        backend.refresh = 2.4  # py-spy's starts for a pool: batches stretched
        backend.feed(5)
        await until(pilot, lambda: screen.profile.total_samples == 10, "the second batch")
        assert "py-spy 100 Hz subprocesses every 2.4 s  coverage" in head(pilot)
        screen.stop()


# --- the settings dialog ------------------------------------------------------------------


async def test_settings_pick_perf_with_dwarf_and_the_session_restarts_on_it() -> None:
    backend = HandBackend()
    made: list[str] = []
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await ticks(pilot)
        session = ProfileSession(
            4242,
            ProfilerOptions(gil=True),
            lambda: backend,
            source="py-spy",
            chooser=chooser_of(made, backend),
        )
        await live(pilot, session)
        assert "py-spy 100 Hz gil" in head(pilot)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ProfilerSettings), "the settings")
        dialog = app.screen
        assert "8 KB" in str(dialog.query_one("#dwarf-cost", Static).render())
        dialog.query_one("#profiler", Select).value = "perf"
        await pilot.pause()
        # perf ignores py-spy's flags: greyed out, their values kept for py-spy.
        assert all(dialog.query_one(f"#{flag}", Checkbox).disabled for flag in PYSPY_FLAGS)
        dialog.query_one("#dwarf", Checkbox).value = True
        dialog.query_one("#rate", Input).value = "99"
        await pilot.pause()
        assert "at 99 Hz" in str(dialog.query_one("#dwarf-cost", Static).render())
        await pilot.click("#apply")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the dialog closed")
        await until(pilot, lambda: len(backend.started) == 2, "the restart")
        restarted = backend.started[-1]
        assert (restarted.backend, restarted.dwarf, restarted.rate_hz) == ("perf", True, 99)
        assert made == ["perf"] and session.metadata["source"] == "perf"
        await until(pilot, lambda: "perf 99 Hz dwarf" in head(pilot), "the head line")
        assert "gil" not in head(pilot)
        session.stop()


async def test_settings_refuse_dwarf_for_py_spy_by_leaving_it_off() -> None:
    """DWARF is perf's: with py-spy chosen it is greyed out and never applied."""
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600))
    results: list[ProfilerOptions | None] = []
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(ProfilerSettings(ProfilerOptions(dwarf=True)), results.append)
        dialog = app.screen
        dialog.query_one("#profiler", Select).value = "py-spy"
        await pilot.pause()
        assert dialog.query_one("#dwarf", Checkbox).disabled
        await pilot.click("#apply")
        await until(pilot, lambda: bool(results), "the dialog's answer")
    (chosen,) = results
    assert chosen is not None and (chosen.backend, chosen.dwarf) == ("py-spy", False)


async def test_settings_of_the_whole_machine_offer_no_profiler_nor_py_spy_flags() -> None:
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600))
    results: list[ProfilerOptions | None] = []
    async with app.run_test(size=(100, 40)) as pilot:
        dialog = ProfilerSettings(ProfilerOptions(backend="perf"), machine=True)
        await app.push_screen(dialog, results.append)
        assert not dialog.query("#profiler") and not dialog.query("#gil")
        assert "perf (every CPU)" in str(dialog.query_one("#profiler-fixed", Static).render())
        dialog.query_one("#dwarf", Checkbox).value = True
        await pilot.click("#apply")
        await until(pilot, lambda: bool(results), "the dialog's answer")
    (chosen,) = results
    assert chosen is not None and (chosen.backend, chosen.dwarf) == ("perf", True)


def test_the_dialog_and_the_command_line_agree_on_py_spy_s_flags() -> None:
    from perftop import cli_args

    assert cli_args.PYSPY_FLAGS == PYSPY_FLAGS == ProfilerSettings.FLAGS


def test_dwarf_cost_follows_the_rate() -> None:
    assert "~0.8 MB/s per busy thread at 100 Hz" in dwarf_cost(100)
    assert "~8.2 MB/s per busy thread at 1000 Hz" in dwarf_cost(1000)


# --- the flame: kinds and the way into native code -----------------------------------------


def test_the_legend_names_kernel_and_jit_in_colours_of_their_own() -> None:
    text = legend()
    assert " kernel " in text and " JIT " in text and INTO_NATIVE in text
    kinds = [FrameKind.KERNEL, FrameKind.JIT]
    assert all(kind in KIND_NAMES for kind in kinds)
    colours = [shade for pair in KIND_COLOURS.values() for shade in pair]
    assert len(set(colours)) == len(colours), "every kind and shade is its own colour"


def native_profile() -> Profile:
    profile = Profile()
    main = Frame("main", "/srv/app/app.py", 1)
    into_c = Frame("PyObject_Call", "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0")
    deeper = Frame("memcpy", "/usr/lib/x86_64-linux-gnu/libc.so.6")
    syscall = Frame("do_syscall_64", "[kernel.kallsyms]")
    jitted = Frame("LazyCompile:*handler", "/tmp/perf-4242.map")
    # A C program's own function (the own-code kind, as a binary is) calling libc: not Python.
    c_main = Frame("handle_request", "/srv/blockd")
    c_lib = Frame("strlen", "/usr/lib/x86_64-linux-gnu/libc.so.6")
    profile.add_stack([main, into_c, deeper, syscall], 60)
    profile.add_stack([main, jitted], 40)
    profile.add_stack([c_main, c_lib], 30)
    return profile


async def test_native_frames_called_from_python_are_marked() -> None:
    profile = native_profile()
    kinds = {frame.name: frame.kind for frame in profile.frames}
    assert (
        kinds["do_syscall_64"] is FrameKind.KERNEL
        and kinds["LazyCompile:*handler"] is FrameKind.JIT
    )
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600, start=ProfileFile(profile, "app")))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(FlameView)
        text = "\n".join(view.render_line(y).text for y in range(view.size.height))
        assert f"{INTO_NATIVE}PyObject_Call" in text, "Python → C: marked"
        assert f"{INTO_NATIVE}memcpy" not in text and "memcpy" in text, "C → C: not marked"
        assert f"{INTO_NATIVE}do_syscall_64" not in text and "do_syscall_64" in text
        assert f"{INTO_NATIVE}strlen" not in text and "strlen" in text, "a binary's own: not"
        subtitle = str(app.screen.query_one("#flame").border_subtitle)
        assert "kernel" in subtitle and "JIT" in subtitle


# --- the whole machine from the dashboard --------------------------------------------------


@pytest.fixture
def machine_sessions(monkeypatch: pytest.MonkeyPatch) -> list[ProfileSession]:
    """`new_machine_session`, on a hand backend instead of perf on every CPU."""
    from perftop.profiling import backends

    made: list[ProfileSession] = []

    def fake(options: ProfilerOptions) -> ProfileSession:
        backend = HandBackend()
        session = ProfileSession(0, options, lambda: backend, command="all CPUs", source="perf")
        made.append(session)
        return session

    monkeypatch.setattr(backends, "new_machine_session", fake)
    return made


async def test_w_profiles_the_whole_machine(machine_sessions: list[ProfileSession]) -> None:
    app = make_app()
    app.config.profiler = ProfilerOptions(dwarf=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        await pilot.press("W")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the flame screen")
        screen = app.screen
        assert isinstance(screen, ProfileScreen)
        (session,) = machine_sessions
        assert screen.session is session and screen.machine
        assert screen.title_text == "all CPUs"
        assert session.options is app.config.profiler
        await until(pilot, lambda: "perf 100 Hz dwarf" in head(pilot), "the head line")
        assert "all CPUs" in head(pilot)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")
        assert session.state is SessionState.ENDED


async def test_the_whole_machine_key_is_in_help_and_the_palette() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        entries = {e.action: e for e in screen_actions(app.screen)}
        assert entries["profile_machine"].keys == ["W"]
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Profile whole machine" in titles
        keys, actions = (list(column.cells) for column in bindings_table(app.screen).columns)
        assert ("W", "Profile whole machine") in zip(keys, actions, strict=True)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")


async def test_a_snapshot_offers_no_whole_machine_profile(
    machine_sessions: list[ProfileSession],
) -> None:
    app = offline_app(start=SnapshotFile(fake_snapshot()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        offered = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "profile_machine" not in offered
        assert "profile_machine" not in {e.action for e in screen_actions(app.screen)}
        await pilot.press("W")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and machine_sessions == []


# --- thread dumps -----------------------------------------------------------------------------


class NothingRan(HandBackend):
    def dump_threads(self, with_locals: bool = False) -> list[ThreadStack]:
        raise ProfilerError("no thread ran in the last 2 s: perf sees a thread only on a CPU")


async def test_a_thread_dump_that_fails_is_a_message_in_the_dialog() -> None:
    backend = NothingRan()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        session = ProfileSession(4242, ProfilerOptions(), lambda: backend, source="perf")
        await live(pilot, session)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ThreadDump), "the dump")
        dump = app.screen
        assert isinstance(dump, ThreadDump)
        body = dump.query_one("#dump-body", Static)
        await until(pilot, lambda: "no thread ran" in str(body.render()), "the refusal shown")
        assert not dump.can_show_locals, "perf reads no local variables"
        assert "l locals" not in str(dump.query_one(".dialog-title", Static).render())
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "back")
        session.stop()
