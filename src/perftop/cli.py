"""Command line: `perftop` and its subcommands. Errors become one line and a non-zero exit.

Only argparse and the standard library are imported at module level so that `--help` and
`--version` answer instantly; Textual is imported when a screen is actually needed.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from perftop import __version__

if TYPE_CHECKING:  # for annotations only: importing these at run time would slow --help
    from perftop.app import AppConfig
    from perftop.config import Config
    from perftop.formats.recording import RecordingWriter
    from perftop.formats.snapshot import Snapshot
    from perftop.profiling.model import Profile

EXAMPLES = """\
examples:
  perftop                      the live dashboard, refreshed every second
  perftop -d 5                 refresh every 0.5 s (tenths of a second, as htop)
  perftop -d 2s                refresh every 2 s
  perftop --sort MEM% --tree   start sorted by memory, as a process tree
  perftop --filter python      start with the table filtered
  perftop --record box.rec     also write every tick to box.rec (bounded to 256M by default);
                               `perftop view box.rec` replays it
  perftop --record box.rec --record-limit 2h
                               keep only the last two hours in it (or a size: 50M, 1G)

  perftop --pid 4242           attach the profiler to PID 4242 and open its live flame view
  perftop --pid 4242 -r 250 --nonblocking
  perftop run -- python app.py launch a command and profile it from its first line

  perftop record 4242 -d 30 -o app.speedscope.json
                               profile PID 4242 for 30 s without the TUI; Ctrl-C stops and
                               saves; the extension picks the format (.speedscope.json,
                               .folded, .txt, .html, .pyisession)
  perftop snapshot --redact    save 5 s of the machine and its processes to a .perftop file
  perftop view app.speedscope.json
                               reopen a saved profile or snapshot
  perftop diff before.folded after.folded
                               compare two profiles: what grew, what shrank
  perftop serve --top 20       serve metrics to Prometheus on 127.0.0.1:9464/metrics

keys: F1 help, / filter, F3 search, F5 tree, F6 sort, F7/F8 nice, F9 or k kill,
      i details, Enter/p profile, c CPU% per core / per machine, q quit;
      space pause / live, [ ] step a tick, { } a minute, @ go to a time;
      Ctrl+P lists every action.
"""


class CliError(Exception):
    """A problem with what the user asked for; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line like every other perftop error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"perftop: {message} (see {self.prog} --help)\n")


def parse_delay(text: str) -> float:
    """htop's -d takes tenths of a second; '2s' or '0.5s' is accepted as seconds."""
    try:
        seconds = float(text[:-1]) if text.endswith("s") else int(text) / 10
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid delay {text!r}: use tenths of a second (10) or seconds (1s)"
        ) from None
    if not 0.1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"delay {text!r} out of range: 0.1 s to 1 hour")
    return seconds


def parse_seconds(text: str) -> float:
    """A duration in seconds, as `30`, `30s`, `1.5`, `2m` or `1h`."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    factor = units.get(text[-1:].lower(), 0.0)
    try:
        seconds = float(text[:-1] if factor else text) * (factor or 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}: use seconds (30, 30s) or minutes (2m)"
        ) from None
    if not 0.1 <= seconds <= 24 * 3600:
        raise argparse.ArgumentTypeError(f"duration {text!r} out of range: 0.1 s to 24 hours")
    return seconds


def parse_record_limit(text: str) -> tuple[int | None, float | None]:
    """`--record-limit`: a size (500K, 50M, 1G) or an age (90s, 30min, 2h, 7d), as
    (bytes, None) or (None, seconds). `M` is megabytes: minutes are spelt `min`."""
    raw = text.strip().lower()
    unit = raw.lstrip("0123456789.")
    try:
        number = float(raw[: len(raw) - len(unit)])
    except ValueError:
        number = -1.0
    size = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(unit.removesuffix("b"))
    age = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}.get(unit)
    if number > 0 and size is not None and number * size >= 64 * 1024:
        return int(number * size), None
    if number > 0 and age is not None and number * age >= 10:
        return None, number * age
    raise argparse.ArgumentTypeError(
        f"invalid limit {text!r}: a size of at least 64K (500K, 50M, 1G) "
        "or an age of at least 10 s (90s, 30min, 2h, 7d)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="perftop",
        description="A terminal UI for live system and process profiling.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"perftop {__version__}")
    parser.add_argument(
        "-d",
        "--delay",
        type=parse_delay,
        default=None,
        metavar="DELAY",
        help="refresh interval in tenths of a second (as htop), or seconds with an 's' suffix",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (default: $XDG_CONFIG_HOME/perftop/config.toml or "
        "~/.config/perftop/config.toml)",
    )
    parser.add_argument(
        "--sort", metavar="COLUMN", help="initial sort column, e.g. CPU%%, MEM%%, PID"
    )
    parser.add_argument("--tree", action="store_true", help="start in tree view")
    parser.add_argument("--filter", metavar="TEXT", default="", help="start with this filter")
    parser.add_argument(
        "--machine-cpu",
        action="store_true",
        help="show CPU%% of the whole machine instead of per core (100%% = one core)",
    )
    parser.add_argument(
        "--kernel-threads",
        action="store_true",
        help="list kernel threads too (hidden by default, as in htop; K toggles them)",
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="also write every tick (system and processes) to FILE, to replay with "
        "`perftop view FILE`; an existing recording is continued",
    )
    parser.add_argument(
        "--record-limit",
        type=parse_record_limit,
        metavar="LIMIT",
        help="keep the recording under a size (50M, 1G; default 256M) or an age "
        "(30min, 2h, 7d): the oldest ticks go first",
    )
    parser.add_argument("--demo", action="store_true", help=argparse.SUPPRESS)
    _profiler_arguments(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="launch a command and profile it live",
        description="Launch a command (its output goes to a log file) and profile it live.",
    )
    run.add_argument(
        "--log", metavar="FILE", help="where the command's output goes (default: discarded)"
    )
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")
    _file_commands(commands)
    return parser


def _file_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    record = commands.add_parser(
        "record",
        help="profile a process without the TUI and write the profile to a file",
        description="Profile a running Python process with py-spy and write one file. "
        "Runs for -d, or until the process exits or Ctrl-C (which still writes the file).",
    )
    record.add_argument("target_pid", nargs="?", type=int, metavar="PID", help="process to profile")
    record.add_argument(
        "-d",
        "--duration",
        type=parse_seconds,
        metavar="SECONDS",
        help="how long to record (30, 30s, 2m; default: until the process exits or Ctrl-C)",
    )
    record.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write; the extension picks the format: .speedscope.json, .folded, "
        ".txt, .html, .pyisession (default: perftop-PID-TIME.speedscope.json)",
    )
    _profiler_arguments(record, subcommand=True)

    snapshot = commands.add_parser(
        "snapshot",
        help="sample the machine and its processes briefly and write a .perftop file",
        description="Sample the system and its processes once a second for a few seconds, "
        "then write a perftop snapshot that `perftop view` reopens.",
    )
    snapshot.add_argument(
        "-d",
        "--duration",
        type=parse_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how long to sample, in ticks of 1 s (default 5)",
    )
    snapshot.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write (default: perftop-snapshot-HOST-TIME.perftop)",
    )
    snapshot.add_argument(
        "--redact",
        action="store_true",
        help="leave out host name, user names and command-line arguments",
    )

    view = commands.add_parser(
        "view",
        help="open a saved profile, snapshot or recording",
        description="Open a profile (speedscope, folded, py-spy raw, pyinstrument), a "
        "perftop snapshot, or a recording made with --record (replayed: space plays, "
        "[ ] step, { } jump a minute, @ go to a time) in the TUI.",
    )
    view.add_argument("file", metavar="FILE")
    diff = commands.add_parser(
        "diff",
        help="compare two profiles",
        description="Compare two profiles of the same program: NEW's flame graph, coloured "
        "by what grew or shrank since BASE.",
    )
    diff.add_argument("base", metavar="BASE")
    diff.add_argument("new", metavar="NEW")
    serve = commands.add_parser(
        "serve",
        help="serve system and process metrics to Prometheus, without the TUI",
        description="Serve the machine's figures and its top processes as Prometheus metrics "
        "(node_exporter naming). Binds to loopback unless --listen says otherwise.",
    )
    serve.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default="127.0.0.1:9464",
        help="where to listen (default 127.0.0.1:9464; :9464 for every interface)",
    )
    serve.add_argument(
        "--top",
        type=int,
        default=10,
        metavar="N",
        help="export the top N processes by CPU and the top N by memory (default 10)",
    )


def _profiler_arguments(parser: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    group = parser.add_argument_group("profiling (py-spy)")

    def default(value: object) -> object:
        # A subcommand's own defaults would overwrite what was given before its name
        # (`perftop --native record 42`); suppressed, the main parser's value stands.
        return argparse.SUPPRESS if subcommand else value

    group.add_argument(
        "-p",
        "--pid",
        type=int,
        default=default(None),
        help="the process to profile"
        if subcommand
        else "attach to this process and show its flame view",
    )
    group.add_argument(
        "-r",
        "--rate",
        type=int,
        default=default(None),
        help="samples per second (default 100, or the config's)",
    )
    flags = {
        "--nonblocking": "do not pause the target to sample",
        "--gil": "only sample the thread holding the GIL",
        "--idle": "include idle (waiting) threads",
        "--native": "include native C/C++ frames",
        "--subprocesses": "also profile child processes",
    }
    for flag, text in flags.items():
        group.add_argument(flag, action="store_true", default=default(False), help=text)


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


def _check_target(pid: int, options: object) -> str:
    """Fail before the TUI starts: a one-line error beats a screen with an error on it."""
    import psutil

    from perftop.profiling.backend import ProfilerError, ProfilerOptions
    from perftop.profiling.pyspy_cli import dump_threads

    assert isinstance(options, ProfilerOptions)
    if pid <= 0 or not psutil.pid_exists(pid):
        raise CliError(f"no process with PID {pid}")
    try:
        dump_threads(pid, options=options)
        return " ".join(psutil.Process(pid).cmdline())
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

    def restore_terminal(_signum: int) -> None:
        # SIGTERM / SIGHUP: children are already ended; give the terminal back before dying.
        driver = app._driver
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.stop_application_mode()
                # stop_application_mode only queues its escape codes for Textual's writer
                # thread; close() waits for that thread, so they reach the terminal before
                # the re-raised signal ends the process.
                driver.close()

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
