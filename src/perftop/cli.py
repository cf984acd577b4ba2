"""Command line: `perftop` and its subcommands. Errors become one line and a non-zero exit.

Only argparse and the standard library are imported at module level so that `--help` and
`--version` answer instantly; Textual is imported when a screen is actually needed. The
grammar (flags, subcommands, value parsers) is `cli_args`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from perftop.cli_args import CliError, build_parser

if TYPE_CHECKING:  # for annotations only: importing these at run time would slow --help
    from perftop.app import AppConfig
    from perftop.config import Config
    from perftop.formats.recording import RecordingWriter
    from perftop.formats.snapshot import Snapshot
    from perftop.model.profile import Profile


def _profiler_options(args: argparse.Namespace) -> object:
    from perftop.profiling.backend import ProfilerError, ProfilerOptions

    settings: Config = args.settings
    try:
        return ProfilerOptions(
            rate_hz=args.rate if args.rate is not None else settings.rate_hz,
            nonblocking=args.nonblocking or settings.nonblocking,
            gil=args.gil,
            idle=args.idle,
            native=args.native,
            subprocesses=args.subprocesses,
        )
    except ProfilerError as exc:
        raise CliError(exc.message) from None


_CHECK_ATTEMPTS = 3


def _check_target(pid: int, options: object) -> str:
    """Fail before the TUI starts: a one-line error beats a screen with an error on it."""
    import psutil

    from perftop.profiling.backend import ProfilerError, ProfilerFailed, ProfilerOptions
    from perftop.profiling.pyspy_cli import dump_threads

    assert isinstance(options, ProfilerOptions)
    if pid <= 0 or not psutil.pid_exists(pid):
        raise CliError(f"no process with PID {pid}")
    attempts = _CHECK_ATTEMPTS
    while True:
        try:
            dump_threads(pid, options=options)
            return " ".join(psutil.Process(pid).cmdline())
        except ProfilerFailed as exc:
            # py-spy's own failures (not permission, not Python, no such PID) can be a race it
            # lost: "Failed to get stack traces" from a target starting and ending threads by
            # the hundred. The live session retries such a sample; so does this one check.
            attempts -= 1
            if not attempts:
                raise CliError(exc.message) from None
            time.sleep(0.1)
        except ProfilerError as exc:
            raise CliError(exc.message) from None
        except psutil.Error:
            return ""


def _load_settings(args: argparse.Namespace) -> None:
    """Read the config file once, into `args.settings`; its problems go to
    `args.config_problems` for the app's toast or the headless commands' stderr."""
    from pathlib import Path

    from perftop.config import load_config

    path = Path(args.config).expanduser() if args.config else None
    args.settings, problems = load_config(path)
    args.settings_path = path
    args.config_problems = [str(p) for p in problems]


def _view_options(args: argparse.Namespace) -> object:
    from perftop.config import sort_key_named
    from perftop.system.processes import SortKey, ViewOptions, default_reverse

    settings: Config = args.settings
    options = ViewOptions(
        tree=args.tree or settings.tree,
        filter_text=args.filter,
        cpu_per_core=settings.cpu_per_core and not args.machine_cpu,
        show_kernel_threads=args.kernel_threads,
        sort_key=settings.sort,
        columns=tuple(settings.columns),
        reverse=default_reverse(settings.sort) if settings.reverse is None else settings.reverse,
    )
    if args.sort:
        key = sort_key_named(args.sort)
        if key is None:
            names = ", ".join(k.value for k in SortKey)
            raise CliError(f"unknown sort column {args.sort!r}; choose one of: {names}")
        options.sort_key = key
        options.reverse = default_reverse(key)
    return options


def run_app(args: argparse.Namespace) -> int:
    if "ssl" not in sys.modules:
        # asyncio imports ssl for TLS transports the TUI never opens; keeping it out spares
        # OpenSSL's libraries, 4 MB of the 45 MB resident budget (DESIGN.md, "Budgets").
        # asyncio, Textual and everything the TUI imports cope with ssl being unavailable.
        sys.modules["ssl"] = None  # type: ignore[assignment]
    from pathlib import Path

    from perftop import children
    from perftop.app import AppConfig, PerftopApp
    from perftop.profiling.backend import ProfilerError, ProfilerOptions
    from perftop.system.processes import ViewOptions
    from perftop.system.source import FakeSource, LiveSource, SystemSource

    view = _view_options(args)
    profiler = _profiler_options(args)
    assert isinstance(view, ViewOptions) and isinstance(profiler, ProfilerOptions)
    settings: Config = args.settings
    config = AppConfig(
        delay_s=args.delay if args.delay is not None else settings.delay_s,
        history_len=settings.history_len,
        view=view,
        profiler=profiler,
        settings=settings,
        settings_path=args.settings_path,
        notices=list(args.config_problems),
    )
    if settings.export_dir:
        config.export_dir = Path(settings.export_dir).expanduser()
    if args.command == "run" and not [a for a in args.argv if a != "--"]:
        raise CliError("nothing to run: give a command after --, e.g. perftop run -- python app.py")
    if args.command == "run" and not sys.stderr.isatty():
        raise CliError("needs a terminal: run it in an interactive shell")
    if args.command == "run":
        from perftop.profiling.launch import launch

        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        try:
            target = launch(argv, args.log)
        except ProfilerError as exc:
            raise CliError(exc.message) from None
        config.profile_pid, config.profile_title = target.pid, " ".join(argv)
    elif args.command == "view":
        _open_file(args.file, config)
    if args.record is not None:
        if config.offline:
            raise CliError("--record records the live machine; it does not go with view or diff")
        config.recorder = _open_recorder(args.record, args.record_limit)
    elif args.command == "diff":
        config.diff_profiles = (_read_profile(args.base), _read_profile(args.new))
        config.profile_title = f"{os.path.basename(args.base)} → {os.path.basename(args.new)}"
    elif args.pid is not None:
        config.profile_title = _check_target(args.pid, profiler)
        config.profile_pid = args.pid
    # Textual draws on stderr's terminal; checked after the arguments so their errors come first.
    if not sys.stderr.isatty() and not os.environ.get("PERFTOP_ALLOW_NO_TTY"):
        raise CliError("needs a terminal: run it in an interactive shell")
    source: type[SystemSource] = FakeSource if args.demo else LiveSource
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
    gc.freeze()  # see main: what start-up made lives as long as perftop
    gc.enable()
    try:
        app.run()
    finally:
        children.terminate_all(final=True)
        for closable in (config.recorder, config.opened_recording):
            if closable is not None:
                with contextlib.suppress(Exception):
                    closable.close()
    return app.return_code or 0


def _open_recorder(path: str, limit: tuple[int | None, float | None] | None) -> RecordingWriter:
    """The `--record` file, opened (or continued) before the TUI: its problems are one line."""
    from perftop.formats.errors import FormatError
    from perftop.formats.recording import DEFAULT_MAX_BYTES, RecordingWriter

    max_bytes, max_age = limit if limit is not None else (DEFAULT_MAX_BYTES, None)
    try:
        return RecordingWriter(path, max_bytes=max_bytes, max_age_s=max_age)
    except FormatError as exc:
        raise CliError(f"{exc}: --record continues only perftop recordings") from None
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None


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


def _open_file(path: str, config: AppConfig) -> None:
    from perftop.formats.errors import FormatError
    from perftop.formats.recording import RecordingReader, is_sqlite
    from perftop.formats.snapshot import Snapshot

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
        config.opened_recording = reader
        return
    opened = _read(path)
    if isinstance(opened, Snapshot):
        config.opened_snapshot = opened
    else:
        config.opened_profile = opened
    config.profile_title = os.path.basename(path)


def _read_profile(path: str) -> Profile:
    """One side of a diff: a profile, or the profile a snapshot carries."""
    from perftop.formats.snapshot import Snapshot

    opened = _read(path)
    if isinstance(opened, Snapshot):
        if opened.profile is None:
            raise CliError(f"{path}: this snapshot holds no profile to compare")
        return opened.profile
    return opened


def record_command(args: argparse.Namespace) -> int:
    from perftop import headless
    from perftop.profiling.backend import ProfilerOptions

    pid = args.target_pid
    given = getattr(args, "pid", None)
    if pid is not None and given is not None and pid != given:
        raise CliError(f"two PIDs given ({pid} and --pid {given}); record one process at a time")
    pid = pid if pid is not None else given
    if pid is None:
        raise CliError("record which process? give its PID, e.g. perftop record 4242")
    options = _profiler_options(args)
    assert isinstance(options, ProfilerOptions)
    path = args.output or headless.default_record_path(pid)
    try:
        return headless.record(pid, options, path, args.duration)
    except headless.UsageError as exc:
        raise CliError(str(exc)) from None


def snapshot_command(args: argparse.Namespace) -> int:
    from perftop import headless
    from perftop.system.source import FakeSource, LiveSource, SystemSource

    path = args.output or headless.default_snapshot_path(args.redact)
    try:
        headless.check_snapshot_output(path)  # before the source is built: fail at once
        source: SystemSource = FakeSource() if args.demo else LiveSource()
        return headless.snapshot(path, args.duration, redact=args.redact, source=source)
    except headless.UsageError as exc:
        raise CliError(str(exc)) from None


def serve_command(args: argparse.Namespace) -> int:
    from perftop import serve

    try:
        return serve.serve(serve.parse_listen(args.listen), args.top)
    except serve.ServeError as exc:
        raise CliError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _load_settings(args)
    try:
        if args.command in ("record", "snapshot", "serve"):
            for problem in args.config_problems:  # no TUI to show them: stderr, then go on
                print(f"perftop: {problem} (default used)", file=sys.stderr)
        if args.command == "record":
            return record_command(args)
        if args.command == "snapshot":
            return snapshot_command(args)
        if args.command == "serve":
            return serve_command(args)
        # Importing Textual and the screens makes ~70k objects that live as long as perftop,
        # and the collector would walk them again and again while they are made (10-20 ms of
        # the 0.35 s first-screen budget). run_app collects nothing until they exist, then
        # freezes them out of every later collection, which keeps each tick's short too.
        gc.disable()
        try:
            return run_app(args)
        finally:
            gc.enable()
    except CliError as exc:
        print(f"perftop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
