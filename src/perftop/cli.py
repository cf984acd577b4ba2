"""Command line: `perftop` and its subcommands. Errors become one line and a non-zero exit.

Only argparse and the standard library are imported at module level so that `--help` and
`--version` answer instantly; Textual is imported when a screen is actually needed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from perftop import __version__

EXAMPLES = """\
examples:
  perftop                      the live dashboard, refreshed every second
  perftop -d 5                 refresh every 0.5 s (tenths of a second, as htop)
  perftop -d 2s                refresh every 2 s
  perftop --sort MEM% --tree   start sorted by memory, as a process tree
  perftop --filter python      start with the table filtered

  perftop --pid 4242           attach the profiler to PID 4242 and open its live flame view
  perftop --pid 4242 -r 250 --nonblocking
  perftop run -- python app.py launch a command and profile it from its first line

keys: F1 help, / filter, F3 search, F5 tree, F6 sort, F7/F8 nice, F9 or k kill,
      i details, Enter/p profile, c CPU% per core / per machine, q quit;
      Ctrl+P lists every action.
"""


class CliError(Exception):
    """A problem with what the user asked for; printed as one line, exit code 2."""


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        default=1.0,
        metavar="DELAY",
        help="refresh interval in tenths of a second (as htop), or seconds with an 's' suffix",
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
    return parser


def _profiler_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("profiling (py-spy)")
    group.add_argument(
        "-p", "--pid", type=int, help="attach to this process and show its flame view"
    )
    group.add_argument(
        "-r", "--rate", type=int, default=100, help="samples per second (default 100)"
    )
    group.add_argument(
        "--nonblocking", action="store_true", help="do not pause the target to sample"
    )
    group.add_argument("--gil", action="store_true", help="only sample the thread holding the GIL")
    group.add_argument("--idle", action="store_true", help="include idle (waiting) threads")
    group.add_argument("--native", action="store_true", help="include native C/C++ frames")
    group.add_argument("--subprocesses", action="store_true", help="also profile child processes")


def _profiler_options(args: argparse.Namespace) -> object:
    from perftop.profiling.backend import ProfilerError, ProfilerOptions

    try:
        return ProfilerOptions(
            rate_hz=args.rate,
            nonblocking=args.nonblocking,
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


def _view_options(args: argparse.Namespace) -> object:
    from perftop.system.processes import SortKey, ViewOptions, default_reverse

    options = ViewOptions(
        tree=args.tree, filter_text=args.filter, cpu_per_core=not args.machine_cpu
    )
    if args.sort:
        wanted = args.sort.upper().rstrip("%")
        for key in SortKey:
            if wanted in (key.name, key.value.upper().rstrip("%").rstrip("/S")):
                options.sort_key = key
                options.reverse = default_reverse(key)
                break
        else:
            names = ", ".join(k.value for k in SortKey)
            raise CliError(f"unknown sort column {args.sort!r}; choose one of: {names}")
    return options


def run_app(args: argparse.Namespace) -> int:
    from perftop import children
    from perftop.app import AppConfig, PerftopApp
    from perftop.profiling.backend import ProfilerError, ProfilerOptions
    from perftop.system.processes import ViewOptions
    from perftop.system.source import FakeSource, LiveSource, SystemSource

    view = _view_options(args)
    profiler = _profiler_options(args)
    assert isinstance(view, ViewOptions) and isinstance(profiler, ProfilerOptions)
    config = AppConfig(delay_s=args.delay, view=view, profiler=profiler)
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
            with contextlib.suppress(OSError):
                driver.stop_application_mode()

    children.install_signal_handlers(restore_terminal)
    try:
        app.run()
    finally:
        children.terminate_all(final=True)
    return app.return_code or 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run_app(args)
    except CliError as exc:
        print(f"perftop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
