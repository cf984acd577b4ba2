"""The TUI: `perftop`, `perftop --pid`, `perftop run`, `perftop view`, `perftop diff`.

Everything that can be refused is refused here before the screen takes the terminal, in
this order: the arguments (the run mode is already checked), the target or the files named,
then the terminal itself; only then is the `--record` file created, so a refusal never
leaves a file behind. Textual is imported only once a screen is certain.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from perftop.cli_args import CliError
from perftop.commands.first_tick import EarlySession, FirstTick
from perftop.runmode import Dashboard, DiffFiles, RecordTo, ViewFile

if TYPE_CHECKING:
    from perftop.app import AppConfig
    from perftop.config import Config
    from perftop.formats.recording import RecordingWriter
    from perftop.formats.snapshot import Snapshot
    from perftop.model.profile import Profile
    from perftop.profiling.backend import ProfilerOptions
    from perftop.profiling.memory import MemoryLaunch
    from perftop.system.processes import ViewOptions
    from perftop.ui.start import AppStart

__all__ = ["run_tui"]


def run_tui(
    mode: Dashboard | ViewFile | DiffFiles,
    *,
    view: ViewOptions,
    profiler: ProfilerOptions,
    settings: Config,
    settings_path: Path | None,
    notices: list[str],
    delay_s: float | None,
) -> int:
    if "ssl" not in sys.modules:
        # asyncio imports ssl for TLS transports the TUI never opens; keeping it out spares
        # OpenSSL's libraries, 4 MB of the resident budget (README, "How light it is").
        # asyncio, Textual and everything the TUI imports cope with ssl being unavailable.
        sys.modules["ssl"] = None  # type: ignore[assignment]
    start = _prepare(mode, profiler)
    if isinstance(mode, Dashboard) and mode.record is not None:
        _check_record_path(mode.record.path)
    tracker: MemoryLaunch | None = None
    if isinstance(mode, Dashboard) and mode.launch is not None:
        _needs_terminal()  # before the command is started: it would be left running
        start, tracker = _launch(mode.launch, mode.log, profiler)
    # Textual draws on stderr's terminal; checked after the arguments so their errors come first.
    _needs_terminal()
    first = None
    if isinstance(mode, Dashboard) and not mode.demo:
        from perftop.system.processes import figures_shown  # imported with the CLI's config

        first = FirstTick(figures_shown(view, detail=False))  # read beside the imports below
    # The profiler of `perftop --pid` (or `perftop run`) attached beside the imports too; not
    # the memory tracker, which the app attaches with gdb off its UI thread.
    early = None
    attach = getattr(start, "attach", None) if isinstance(mode, Dashboard) else None
    if attach is not None and tracker is None and profiler.backend != "memory":
        early = EarlySession(attach, profiler, getattr(start, "title", ""))
    recorder = None
    if isinstance(mode, Dashboard) and mode.record is not None:
        from perftop.ui.start import LiveStart

        assert isinstance(start, LiveStart)
        recorder = _open_recorder(mode.record)
        start = LiveStart(start.attach, start.title, recorder)
    try:
        config = _app_config(start, view, profiler, settings, settings_path, notices, delay_s)
        config.memory_launch = tracker
        if early is not None:
            config.early_session = early.take
        return _run(config, mode, first)
    finally:
        for closable in (recorder, getattr(start, "reader", None), tracker):
            if closable is not None:
                with contextlib.suppress(Exception):
                    closable.close()


def _needs_terminal() -> None:
    if not sys.stderr.isatty() and not os.environ.get("PERFTOP_ALLOW_NO_TTY"):
        raise CliError("needs a terminal: run it in an interactive shell")


def _prepare(mode: Dashboard | ViewFile | DiffFiles, profiler: ProfilerOptions) -> AppStart:
    """The mode with its files opened and its target checked; CliError for what is wrong."""
    from perftop.ui.start import DiffOfFiles, LiveStart

    if isinstance(mode, ViewFile):
        return _open_file(mode.path)
    if isinstance(mode, DiffFiles):
        title = f"{os.path.basename(mode.base)} → {os.path.basename(mode.new)}"
        base, new = _read_profile(mode.base), _read_profile(mode.new)
        if mode.by_function:  # `diff` reads two ByFunction profiles as their lines matched so
            from perftop.model.reshape import by_function

            base, new = by_function(base), by_function(new)
        return DiffOfFiles(base, new, title)
    if mode.attach is not None:
        return LiveStart(mode.attach, check_target(mode.attach, profiler))
    return LiveStart()


def check_target(pid: int, options: ProfilerOptions) -> str:
    """Fail before the TUI starts: a one-line error beats a screen with an error on it."""
    from perftop.profiling.backend import ProfilerError
    from perftop.profiling.backends import check_target as check

    try:
        return check(pid, options)
    except ProfilerError as exc:
        raise CliError(exc.message) from None


def _launch(
    argv: tuple[str, ...], log: str | None, profiler: ProfilerOptions
) -> tuple[AppStart, MemoryLaunch | None]:
    """Start the command; with `--memory`, with the memory tracker set up in it before its
    first line (no debugger needed), which the app's first memory session takes."""
    from perftop.profiling.backend import ProfilerError
    from perftop.profiling.launch import launch
    from perftop.ui.start import LiveStart

    tracker = None
    try:
        env = None
        if profiler.backend == "memory":
            from perftop.profiling.memory import MemoryLaunch

            tracker = MemoryLaunch(batch_s=profiler.batch_s)
            env = tracker.environment()
        target = launch(list(argv), log, env=env)
    except ProfilerError as exc:
        if tracker is not None:
            tracker.close()
        raise CliError(exc.message) from None
    except OSError as exc:  # the tracker's socket or folder
        if tracker is not None:
            tracker.close()
        raise CliError(f"cannot set up the memory tracker: {exc.strerror or exc}") from None
    return LiveStart(target.pid, " ".join(argv)), tracker


def _app_config(
    start: AppStart,
    view: ViewOptions,
    profiler: ProfilerOptions,
    settings: Config,
    settings_path: Path | None,
    notices: list[str],
    delay_s: float | None,
) -> AppConfig:
    from perftop.app import AppConfig

    config = AppConfig(
        delay_s=delay_s if delay_s is not None else settings.delay_s,
        history_len=settings.history_len,
        view=view,
        profiler=profiler,
        start=start,
        settings=settings,
        settings_path=settings_path,
        notices=list(notices),
    )
    if settings.export_dir:
        config.export_dir = Path(settings.export_dir).expanduser()
    return config


def _run(config: AppConfig, mode: Dashboard | ViewFile | DiffFiles, first: FirstTick | None) -> int:
    from perftop import children
    from perftop.app import PerftopApp
    from perftop.system.source import LiveSource, SystemSource, demo_source

    demo = isinstance(mode, Dashboard) and mode.demo
    source: Callable[[], SystemSource] = demo_source if demo else LiveSource
    if first is not None:
        source, config.first_tick = first.source, first
    app = PerftopApp(source, config)

    def give_back_terminal() -> None:
        driver = app._driver
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.stop_application_mode()
                # stop_application_mode only queues its escape codes for Textual's writer
                # thread; close() waits for that thread, so they reach the terminal before
                # the re-raised signal ends the process.
                driver.close()

    def restore_terminal(signum: int) -> bool:
        # SIGTERM / SIGHUP: children are already ended; give the terminal back before dying.
        # Not from the handler while the app runs: the handler interrupts the event loop's
        # thread, which may be holding the writer queue's lock mid-frame, and queueing the
        # escape codes would then wait on itself for ever (perftop hung on SIGHUP, orphaned).
        # The loop does it on its next turn; call_soon_threadsafe takes no lock.
        loop = app._loop
        if loop is None or loop.is_closed():
            give_back_terminal()  # no loop, nothing painting: safe here
            return False

        def finish() -> None:
            give_back_terminal()
            children.exit_by_signal(signum)

        loop.call_soon_threadsafe(finish)
        return True

    children.install_signal_handlers(restore_terminal)
    # Textual sizes the screen with shutil.get_terminal_size(), which prefers COLUMNS/LINES
    # when exported (pytest-xdist, some shells): perftop would draw at that size and ignore
    # resizes. The terminal itself is the truth.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    gc.freeze()  # see cli.main: what start-up made lives as long as perftop
    gc.enable()
    try:
        app.run()
    finally:
        children.terminate_all(final=True)
    return app.return_code or 0


def _check_record_path(path: str) -> None:
    """Refuse a `--record` path that could only fail or harm, reading but creating nothing:
    a symlink (as root it could point anywhere), a missing directory, a file that is not a
    recording (continuing one is allowed; overwriting another program's file is not)."""
    from perftop.formats.recording import is_sqlite

    if os.path.islink(path):
        raise CliError(f"{path}: is a symbolic link; --record writes only a file of its own")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CliError(f"{path}: directory {directory} does not exist")
    if not os.path.lexists(path):
        return
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None
    if not is_sqlite(head):
        raise CliError(f"{path}: not a perftop recording: --record continues only recordings")


def _open_recorder(record: RecordTo) -> RecordingWriter:
    """The `--record` file, opened (or continued) before the TUI: its problems are one line."""
    from perftop.formats.errors import FormatError
    from perftop.formats.recording import DEFAULT_MAX_BYTES, RecordingWriter

    max_bytes = record.max_bytes
    if max_bytes is None and record.max_age_s is None:
        max_bytes = DEFAULT_MAX_BYTES
    try:
        return RecordingWriter(record.path, max_bytes=max_bytes, max_age_s=record.max_age_s)
    except FormatError as exc:
        raise CliError(f"{exc}: --record continues only perftop recordings") from None
    except OSError as exc:
        raise CliError(f"{record.path}: {exc.strerror or exc}") from None


def _read(path: str) -> Profile | Snapshot:
    """A profile or snapshot, read in full before the TUI starts: a bad file is one line."""
    from perftop.formats.detect import read_any
    from perftop.formats.errors import FormatError

    try:
        return read_any(path)
    except FormatError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # in case a reader lets one through: still one line
        raise CliError(f"{path}: {exc.strerror or exc}") from None


def _open_file(path: str) -> AppStart:
    from perftop.formats.errors import FormatError
    from perftop.formats.recording import RecordingReader, is_sqlite
    from perftop.formats.snapshot import Snapshot
    from perftop.ui.start import ProfileFile, RecordingFile, SnapshotFile

    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError:
        head = b""  # _read says what is wrong with it
    if is_sqlite(head):  # a recording, or a reader's one-line reason why it is not
        try:
            reader = RecordingReader(path)
        except FormatError as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror or exc}") from None
        if not len(reader):
            reader.close()
            raise CliError(f"{path}: the recording holds no ticks yet")
        return RecordingFile(reader)
    opened = _read(path)
    if isinstance(opened, Snapshot):
        return SnapshotFile(opened)
    return ProfileFile(opened, os.path.basename(path))


def _read_profile(path: str) -> Profile:
    """One side of a diff: a profile, or the profile a snapshot carries."""
    from perftop.formats.snapshot import Snapshot

    opened = _read(path)
    if isinstance(opened, Snapshot):
        if opened.profile is None:
            raise CliError(f"{path}: this snapshot holds no profile to compare")
        return opened.profile
    return opened
