"""The Textual app: screens, the sampling loop and the command palette. It wires; it does not
compute: collectors live in `perftop.system`, views in `perftop.ui`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen
from textual.theme import Theme

from perftop.config import Config
from perftop.exports import describe_error, export_path
from perftop.formats.errors import FormatError
from perftop.profiling.backend import ProfilerOptions
from perftop.system.growth import GrowthModel
from perftop.system.history import SystemHistory
from perftop.system.processes import Figures, ViewOptions
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.system.source import SystemSource
from perftop.system.timeline import TickSource, Timeline
from perftop.ui.fmt import printable
from perftop.ui.guarded_app import GuardedApp
from perftop.ui.keys import Remappable, remappable, with_ids
from perftop.ui.screens.dashboard import DashboardScreen
from perftop.ui.screens.help import screen_actions
from perftop.ui.screens.process_actions import MEMORY_BINDING, MemoryProfileRequested
from perftop.ui.start import (
    AppStart,
    DiffOfFiles,
    LiveStart,
    ProfileFile,
    RecordingFile,
    SnapshotFile,
)
from perftop.ui.themes import THEMES
from perftop.ui.tick_thread import TickThread

if TYPE_CHECKING:
    from perftop.formats.recording import RecordingWriter
    from perftop.formats.snapshot import Snapshot
    from perftop.profiling.backend import ProfilerBackend
    from perftop.profiling.memory import MemoryLaunch
    from perftop.profiling.session import ProfileSession
    from perftop.ui.screens.profile import ProfileScreen


class FirstTick(Protocol):
    """The machine's first tick, read while the app was starting (commands/first_tick.py)."""

    def take(self, wait: bool = True) -> tuple[SystemSample, ProcessSnapshot] | None: ...

    def opened(self) -> None:
        """The first frame is drawn: what waited for it (the source's own first read) may go."""

    @property
    def wanted(self) -> Figures | None:
        """The dear figures its source was made to measure (None: all of them)."""


@dataclass
class AppConfig:
    """Everything the CLI (or a test) decides before the app starts."""

    delay_s: float = 1.0
    history_len: int = 3600
    view: ViewOptions = field(default_factory=ViewOptions)
    profiler: ProfilerOptions = field(default_factory=ProfilerOptions)
    start: AppStart = field(default_factory=LiveStart)  # what is shown: live, or a file
    export_dir: Path | None = None  # where exports and screenshots go; None: the current directory
    settings: Config = field(default_factory=Config)  # the config file, as F2 edits it
    settings_path: Path | None = None  # None: the XDG place
    notices: list[str] = field(default_factory=list)  # config problems, shown once started
    # `perftop run --memory`: the tracker set up in the launched program before it started,
    # taken by the first memory session on it (later ones inject as for any process).
    memory_launch: MemoryLaunch | None = None
    first_tick: FirstTick | None = None
    # `perftop --pid`'s profiler, started while the app was starting (commands/first_tick.py):
    # the PID → its session, or None for one the flame view starts itself.
    early_session: Callable[[int], ProfileSession | None] | None = None

    @property
    def offline(self) -> bool:
        """Showing a file: the live machine is never sampled."""
        return not isinstance(self.start, LiveStart)

    @property
    def start_pid(self) -> int | None:
        """The process profiled from the start (`--pid`, `perftop run`), if any."""
        return self.start.attach if isinstance(self.start, LiveStart) else None

    @property
    def recorder(self) -> RecordingWriter | None:
        return self.start.recorder if isinstance(self.start, LiveStart) else None


class Sampled(Message):
    """One tick of data from the sampler thread; a burst collapses into the newest."""

    def __init__(self, sample: SystemSample, snapshot: ProcessSnapshot) -> None:
        super().__init__()
        self.sample = sample
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Sampled)


class SamplerFailed(Message):
    """Reading a tick raised: raised again on the UI thread, which ends the app with it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class RecordingFailed(Message):
    """`--record` could not write a tick (disk full, file gone read-only...)."""

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem


class PerftopApp(GuardedApp):
    TITLE = "perftop"
    # Ctrl-C quits, as in htop and every other monitor (Textual's default only shows a hint).
    BINDINGS = with_ids(
        "app",
        [
            Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
            # htop's habit: the shell's job control, `fg` to come back (terminal.py resumes).
            Binding("ctrl+z", "suspend_process", "Suspend to the shell", show=False),
            Binding("x", "save_snapshot", "Save snapshot", show=False),
            Binding("f2", "setup", "Setup"),
            # ctrl+s for those used to it; F12 where a terminal keeps ctrl+s for flow control.
            # Priority, so that dialogs (help, menus) can be pictured too.
            Binding("ctrl+s,f12", "save_svg", "Save screen as SVG", show=False, priority=True),
            MEMORY_BINDING,
        ],
    )
    # Absolute, because Textual resolves a relative path against each subclass's own module.
    CSS_PATH = Path(__file__).parent / "ui" / "perftop.tcss"

    def __init__(
        self,
        source_factory: Callable[[], SystemSource],
        config: AppConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.config = config = config or AppConfig()
        start = config.start
        saved = start.snapshot if isinstance(start, SnapshotFile) else None
        recording = start.reader if isinstance(start, RecordingFile) else None
        # A snapshot's history feeds the same graphs the live history does.
        self.history = saved.history if saved else SystemHistory(config.history_len)
        # Every tick, to rewind through: the live ones, or a recording's.
        self.timeline = Timeline(config.history_len)
        replay: str | None = None
        if recording is not None:
            from perftop.formats.recording import replay_history

            self.history, damaged = replay_history(recording)
            if damaged:
                config.notices.append(f"{damaged} damaged ticks in the recording were skipped")
            host = recording.sample_at(-1).hostname if len(recording) else ""
            replay = f"recording of {printable(host) or 'an unnamed host'}"
        self._source_factory = source_factory
        self._source: SystemSource | None = None
        self._source_lock = threading.Lock()  # made by the first to need it: sampler or UI
        self._record_lock = threading.Lock()  # the opening tick's and the sampler's, in order
        self._clock = clock
        self._next_tick = 0.0
        self._ticks = TickThread(self._collect, self._sampler_failed)
        self._next_timer: asyncio.TimerHandle | None = None
        self._record_failing = False  # a write to the recording failed; said once per streak
        ticks: TickSource | None = recording if recording is not None else self.timeline
        if saved is not None:
            # A snapshot with its window of ticks replays like a recording; without, it is
            # a single moment and nothing rewinds.
            ticks = saved.timeline if saved.timeline is not None and len(saved.timeline) else None
            # The snapshot banner above names the host and time; this one says what moves.
            replay = "ticks saved with it" if ticks is not None else None
        self.dashboard = DashboardScreen(
            self.history,
            config.view,
            saved,
            ticks=ticks,
            replay=replay,
            play_every=_tick_spacing(ticks) if replay is not None and ticks else config.delay_s,
        )
        if not config.offline:  # effects go where the data comes from
            self.dashboard.machine = self.source
            if config.first_tick is not None:
                # Already told: the dashboard's first draw need not wait for the source to
                # tell it again (it is being made while that frame is drawn).
                self.dashboard.told = config.first_tick.wanted
        # Every live process's memory history, for GROWTH and leak suspects (on_sampled).
        self.growth = GrowthModel(config.view.growth_window_s)
        self.dashboard.growth = self.growth
        self.dashboard.thresholds = config.settings.thresholds()
        for theme in THEMES:
            self.register_theme(theme)
        self._apply_looks(self.config.settings, self.config.notices)

    def _apply_looks(self, settings: Config, notices: list[str]) -> None:
        """Theme and keys from the settings; what cannot apply becomes a notice."""
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        else:
            notices.append(f"config: [display] theme: no theme {settings.theme!r}; default used")
        if not settings.keys:
            # Listing the actions imports every screen: not at start-up unless keys are remapped.
            self.set_keymap({})
            return
        known = {r.id for r in remappable_actions()}
        unknown = sorted(set(settings.keys) - known)
        notices += [f"config: [keys] {name}: no such action (F2 lists them)" for name in unknown]
        self.set_keymap({k: v for k, v in settings.keys.items() if k in known})

    @property
    def export_dir(self) -> Path:
        # Absolute, so that a toast gives a path that works from any directory.
        return (self.config.export_dir or Path.cwd()).absolute()

    def get_default_screen(self) -> Screen[Any]:
        """The base of the screen stack: the dashboard itself (live, a saved moment, or a
        recording), in place of a blank screen under it that cost the first frame ~5 ms of
        styling (bench/README.md, `bench_startup.py`). A file's flame or diff goes on
        Textual's blank one, as before (`has_screen_under`)."""
        if isinstance(self.config.start, DiffOfFiles | ProfileFile):
            return super().get_default_screen()
        return self.dashboard

    def on_mount(self) -> None:
        config = self.config
        for notice in config.notices:
            self.notify(notice, severity="warning", timeout=12)
        # A theme picked from the palette is remembered for F2's form and its save.
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        # Offline, the file's screen is the first over Textual's blank one, so its `q` quits.
        start = config.start
        if isinstance(start, DiffOfFiles):
            from perftop.model.diff import diff
            from perftop.ui.screens.diff import DiffScreen

            self.push_screen(DiffScreen(diff(start.base, start.new), title=start.title))
        elif isinstance(start, ProfileFile):
            from perftop.ui.screens.profile import ProfileScreen

            self.push_screen(ProfileScreen(start.profile, title=start.title))
        elif isinstance(start, LiveStart):
            self._open_live()
            if start.attach is not None:
                self.open_profile(start.attach, start.title)

    def source(self) -> SystemSource:
        """The machine the dashboard shows: sampled from the sampler thread, acted on (signals,
        renice, details) from the UI thread. Made on first use, off the first screen's path."""
        with self._source_lock:
            if self._source is None:
                self._source = self._source_factory()
            return self._source

    def open_profile(self, pid: int, title: str = "", *, memory: bool = False) -> None:
        """Attach the sampling profiler to `pid` and show its live flame view; `memory`: the
        memory tracker instead, whatever profiler the settings name."""
        from perftop.profiling.backends import new_session
        from perftop.ui.screens.profile import ProfileScreen

        options = self.config.profiler
        if memory and options.backend != "memory":
            options = dataclasses.replace(options, backend="memory", dwarf=False)
        factory = self._launched_tracker(pid) if options.backend == "memory" else None
        early, self.config.early_session = self.config.early_session, None
        session = early(pid) if early is not None and not memory else None
        if session is None:
            session = new_session(pid, options, command=title, factory=factory)
        screen = ProfileScreen(session, title=f"PID {pid} {title}".strip(), can_snapshot=True)
        self.push_screen(screen)

    def _launched_tracker(self, pid: int) -> Callable[[], ProfilerBackend] | None:
        """For the program `perftop run --memory` started: a backend taking the tracker set
        up in it, once; a restart then injects one, as for any other process."""
        launched = self.config.memory_launch
        if launched is None or pid != self.config.start_pid:
            return None
        self.config.memory_launch = None
        from perftop.profiling.memory import MemoryBackend

        made: list[bool] = []

        def factory() -> ProfilerBackend:
            first = not made
            made.append(True)
            return MemoryBackend(launch=launched if first else None)

        return factory

    def on_memory_profile_requested(self, message: MemoryProfileRequested) -> None:
        # What can be known without touching the target (Python? gdb?) is said here, on the
        # table, rather than on a flame screen opened for nothing.
        from perftop.profiling import backends
        from perftop.profiling.backend import ProfilerError

        options = dataclasses.replace(self.config.profiler, backend="memory", dwarf=False)
        try:
            backends.check_target(message.pid, options, backend="memory")
        except ProfilerError as exc:
            self._toast_error(exc.message)
            return
        self.open_profile(message.pid, message.title, memory=True)

    def action_memory_profile(self) -> None:
        if self._table_in_front():
            self.dashboard.acts.memory_profile()

    def _table_in_front(self) -> bool:
        """The dashboard is the screen shown, under any dialogs (help, the palette)."""
        from textual.screen import ModalScreen

        for screen in reversed(self.screen_stack):
            if not isinstance(screen, ModalScreen):
                return screen is self.dashboard
        return False

    def open_machine_profile(self) -> None:
        """Sample every CPU with perf (the kernel too) and show it: each process is a root."""
        from perftop.profiling.backends import new_machine_session
        from perftop.ui.screens.profile import ProfileScreen

        session = new_machine_session(self.config.profiler)
        self.push_screen(ProfileScreen(session, title="all CPUs", can_snapshot=True))

    def on_dashboard_screen_profile_requested(
        self, message: DashboardScreen.ProfileRequested
    ) -> None:
        self.open_profile(message.pid, message.title)

    def on_dashboard_screen_machine_profile_requested(self) -> None:
        self.open_machine_profile()

    # --- sampling: one thread (tick_thread.py), asked again after each tick: none overlap ----

    def _sample(self) -> None:
        self._next_tick = self._clock() + self.config.delay_s
        self._ticks.ask()

    def _sampler_failed(self, error: BaseException) -> None:
        self.post_message(SamplerFailed(error))  # from the tick thread: thread-safe

    def on_sampler_failed(self, message: SamplerFailed) -> None:
        raise message.error

    def _sample_later(self, delay_s: float) -> None:
        """The next tick in `delay_s`: an event loop timer, not a Textual one (that is a task
        and a Timer object a tick)."""
        if self._next_timer is not None:
            self._next_timer.cancel()
        self._next_timer = asyncio.get_running_loop().call_later(delay_s, self._tick_due)

    def _tick_due(self) -> None:
        self._next_timer = None
        if self.is_running:  # not while shutting down
            self._sample()

    def on_unmount(self) -> None:
        self._ticks.stop()
        if self._next_timer is not None:
            self._next_timer.cancel()

    def _open_live(self) -> None:
        """Sample the machine from now on. A first tick already read beside the imports is
        drawn by the dashboard as it mounts, so the first frame shows it laid out as it
        stays (a tick later, the panels sized for it: a second full frame, 11 KB at 120x40)."""
        first = self.config.first_tick
        opening = first.take(wait=False) if first is not None else None
        if first is not None:
            self.call_after_refresh(first.opened)
        if opening is None:
            self._sample()  # the sampler's worker waits for the tick, or reads its own
            return
        self.config.first_tick = None
        sample, snapshot = opening
        self._absorb(sample, snapshot)
        self.dashboard.open_with(sample, snapshot)
        self._next_tick = self._clock() + self.config.delay_s
        self._sample_later(self.config.delay_s)
        if self.config.recorder is not None:
            self.run_worker(
                lambda: self._record(sample, snapshot),
                thread=True,
                group="recorder",
                description="record",
            )

    def _collect(self) -> None:
        first, self.config.first_tick = self.config.first_tick, None
        tick = first.take() if first is not None else None
        if tick is not None:
            sample, snapshot = tick
        else:
            source = self.source()
            sample = source.sample_system()
            snapshot = source.sample_processes()
        self.post_message(Sampled(sample, snapshot))
        self._record(sample, snapshot)

    def _record(self, sample: SystemSample, snapshot: ProcessSnapshot) -> None:
        recorder = self.config.recorder
        if recorder is None:
            return
        with self._record_lock:  # here, off the UI thread: a commit can wait on the disk
            try:
                recorder.append(sample, snapshot)
            except (OSError, FormatError) as exc:
                problem = (
                    describe_error(exc, Path(recorder.path))
                    if isinstance(exc, OSError)
                    else str(exc)
                )
                self.post_message(RecordingFailed(problem))
            else:
                self._record_failing = False

    def on_recording_failed(self, message: RecordingFailed) -> None:
        if not self._record_failing:
            self._record_failing = True
            self._toast_error(f"recording: {message.problem}; will retry each tick")

    def on_sampled(self, message: Sampled) -> None:
        self._absorb(message.sample, message.snapshot)
        self.dashboard.show(message.sample, message.snapshot)
        self.dashboard.refresh_detail()
        self._sample_later(max(self._next_tick - self._clock(), 0.05))

    def _absorb(self, sample: SystemSample, snapshot: ProcessSnapshot) -> None:
        """A tick into the models the screens read: the rewind history, graphs, growth."""
        self.timeline.append(sample, snapshot)
        self.history.append(sample)
        self.growth.feed(snapshot, sample.memory.available_bytes)

    def sample_now(self) -> None:
        """Tests and the screenshot script drive ticks directly instead of waiting."""
        if not self.config.offline:
            self._sample()

    # --- settings: F2 edits the config file ---------------------------------------------------

    def _remember_theme(self, theme: Theme) -> None:
        self.config.settings.theme = theme.name

    def action_setup(self) -> None:
        from perftop.ui.screens.setup import KeyAction, SetupScreen

        actions = [KeyAction(r.id, r.description, r.keys) for r in remappable_actions()]
        themes = sorted(self.available_themes)
        self.push_screen(SetupScreen(self.config.settings, themes, actions), self._apply_setup)

    def _apply_setup(self, settings: Config | None) -> None:
        from perftop.config import apply_profiler_settings, apply_view_settings, save_config

        if settings is None:
            return
        config = self.config
        config.settings = settings
        notices: list[str] = []
        self._apply_looks(settings, notices)
        config.delay_s = settings.delay_s
        apply_profiler_settings(settings, config.profiler)
        if settings.export_dir:
            config.export_dir = Path(settings.export_dir).expanduser()
        apply_view_settings(settings, config.view)
        self.dashboard.thresholds = settings.thresholds()
        self.dashboard.view_changed()
        for notice in notices:
            self.notify(notice, severity="warning", timeout=12)
        try:
            path = save_config(settings, config.settings_path)
        except OSError as exc:
            self._toast_error(f"settings applied but not saved: {exc.strerror or exc}")
            return
        later = (
            " (history length applies from the next start)"
            if (settings.history_len != self.history.capacity)
            else ""
        )
        self.notify(f"settings saved to {path}{later}", title="Saved")

    # --- saving: snapshots, profile exports, screenshots -------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A profile or a diff opened from files has no machine behind it to snapshot.
        if action == "save_snapshot":
            config = self.config
            return isinstance(config.start, LiveStart | SnapshotFile | RecordingFile)
        if action == "memory_profile":
            # Only for a row of the live table: not in a snapshot, a replay, nor elsewhere.
            return self._table_in_front() and not self.dashboard.acts.read_only
        if action == "cancel_writes":
            return bool(self.writes)  # F1 lists it only while there is a file to cancel
        return True

    def _profile_screen(self) -> ProfileScreen | None:
        from perftop.ui.screens.profile import ProfileScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, ProfileScreen):
                return screen
        return None

    def current_snapshot(self) -> Snapshot | None:
        """The machine now (or the opened snapshot), with the profile on screen if there is one.

        Built on the UI thread, where the history and the profile change, from copies: the
        file is then written off the UI thread while sampling goes on.
        """
        from perftop.formats.snapshot import SNAPSHOT_TICKS, Snapshot

        shown = self._profile_screen()
        profile = shown.profile_for_export() if shown is not None else None
        title = shown.title_text if shown is not None else ""
        start = self.config.start
        if isinstance(start, SnapshotFile):
            saved = start.snapshot
            return Snapshot(
                created=saved.created,
                hostname=saved.hostname,
                history=saved.history,
                sample=saved.sample,
                processes=saved.processes,
                profile=profile or saved.profile,
                profile_title=title if profile is not None else saved.profile_title,
                redacted=saved.redacted,
                timeline=saved.timeline,
            )
        dashboard = self.dashboard
        processes = dashboard.snapshot
        if processes is None:
            return None
        sample = dashboard.sample
        # Paused or replaying, the snapshot holds the moment looked at, and the history up
        # to it; live, the newest tick and all of it.
        cursor = dashboard.cursor
        behind = (cursor.behind if cursor is not None else None) or 0
        moment = cursor.time if cursor is not None else None
        return Snapshot(
            created=moment if moment is not None else time.time(),
            hostname=(sample.hostname if sample else "") or socket.gethostname(),
            history=self.history.until(behind),
            sample=sample,
            processes=processes,
            profile=profile,
            profile_title=title,
            # Shares the timeline's compressed ticks: cheap here; encoded by the writer thread.
            timeline=self.timeline.window(SNAPSHOT_TICKS, behind),
        )

    def action_save_snapshot(self) -> None:
        from perftop.formats.snapshot import SNAPSHOT_SUFFIX, write_snapshot

        snapshot = self.current_snapshot()
        if snapshot is None:
            self.notify("nothing to save yet: the first sample is still being taken")
            return
        stem = f"snapshot-{snapshot.hostname}" if snapshot.hostname else "snapshot"
        path = self._export_target(stem, SNAPSHOT_SUFFIX)
        if path is None:
            return
        what = "snapshot with its profile" if snapshot.profile is not None else "snapshot"
        self.write_in_background(path, what, lambda: write_snapshot(snapshot, path))

    def on_profile_screen_snapshot_requested(self) -> None:
        self.action_save_snapshot()

    def on_profile_screen_export_requested(self, message: ProfileScreen.ExportRequested) -> None:
        from perftop.formats.export import write_profile

        profile = message.profile
        path = self._export_target(message.stem, message.suffix)
        if path is None:
            return
        self.write_in_background(path, message.label, lambda: write_profile(profile, path))

    def action_save_svg(self) -> None:
        from perftop.formats.atomic import write_atomic
        from perftop.ui.screens.setup import SetupScreen

        if isinstance(self.screen, SetupScreen):
            # ctrl+s is a priority binding (so dialogs can be pictured), but in the settings
            # form it means what it means in every form: save. F12 still takes the picture.
            self.screen.action_save()
            return

        name = type(self.screen).__name__.removesuffix("Screen").lower() or "screen"
        path = self._export_target(name, ".svg")
        if path is None:
            return
        svg = self.export_screenshot()  # reads the compositor: on the UI thread
        self.write_in_background(path, "screen", lambda: write_atomic(path, svg, 0o644))

    def _export_target(self, stem: str, suffix: str) -> Path | None:
        """A fresh file name in the export directory, or None (and a toast) if it can't be
        looked into: choosing the name reads the directory, which can fail like the write."""
        directory = self.export_dir
        try:
            return export_path(directory, stem, suffix)
        except OSError as exc:
            self._toast_error(describe_error(exc, directory))
            return None

    def write_in_background(self, path: Path, what: str, write: Callable[[], object]) -> None:
        """Run `write` off the UI thread, then toast where the file went, or why it did not.

        In a child process (perftop/ui/writes.py): a "writing…" toast while it takes a while,
        Ctrl+X cancels it, and quitting ends it rather than waiting for it.
        """
        self.start_write(path, what, write)

    def _toast_error(self, message: str) -> None:
        self.notify(message, severity="error", timeout=10)

    # --- command palette: every action of the screen, not only Textual's defaults ------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own Screenshot goes to ~/Downloads without saying so; ours replaces it.
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
        for entry in screen_actions(screen):
            yield SystemCommand(
                entry.description,
                f"key: {', '.join(entry.keys)}",
                _runner(self, entry.action, entry.node),
            )


def _tick_spacing(recording: TickSource) -> float:
    """A replay plays at the pace it was recorded: the mean time between its ticks."""
    n = len(recording)
    if n < 2:
        return 1.0
    spacing = (recording.timestamp(-1) - recording.timestamp(0)) / (n - 1)
    return min(max(spacing, 0.05), 10.0)


def remappable_actions() -> list[Remappable]:
    """Every action the config's [keys] table can remap, across the app's screens."""
    from perftop.ui.screens.diff import DiffScreen
    from perftop.ui.screens.profile import ProfileScreen
    from perftop.ui.widgets.flame import FlameView
    from perftop.ui.widgets.top_functions import TopFunctions

    return remappable(
        PerftopApp, DashboardScreen, ProfileScreen, FlameView, TopFunctions, DiffScreen
    )


def _runner(app: App[None], action: str, node: DOMNode) -> Callable[[], object]:
    def run() -> object:
        return app.run_action(action, node)

    return run
