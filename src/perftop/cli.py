"""Command line: `perftop` and its subcommands. Errors become one line and a non-zero exit.

Only argparse and the standard library are imported at module level so that `--help` and
`--version` answer instantly; Textual is imported when a screen is actually needed.
"""

from __future__ import annotations

import argparse
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

keys: F1 help, / filter, F3 search, F5 tree, F6 sort, F7/F8 nice, F9 or k kill,
      i details, c CPU% per core / per machine, q quit; Ctrl+P lists every action.
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
    parser.add_argument("--sort", metavar="COLUMN", help="initial sort column, e.g. CPU%%, MEM%%, PID")
    parser.add_argument("--tree", action="store_true", help="start in tree view")
    parser.add_argument("--filter", metavar="TEXT", default="", help="start with this filter")
    parser.add_argument(
        "--machine-cpu",
        action="store_true",
        help="show CPU%% of the whole machine instead of per core (100%% = one core)",
    )
    parser.add_argument("--demo", action="store_true", help=argparse.SUPPRESS)
    return parser


def _view_options(args: argparse.Namespace) -> object:
    from perftop.system.processes import SortKey, ViewOptions

    options = ViewOptions(
        tree=args.tree, filter_text=args.filter, cpu_per_core=not args.machine_cpu
    )
    if args.sort:
        wanted = args.sort.upper().rstrip("%")
        for key in SortKey:
            if wanted in (key.name, key.value.upper().rstrip("%").rstrip("/S")):
                options.sort_key = key
                options.reverse = key not in (SortKey.PID, SortKey.USER, SortKey.COMMAND)
                break
        else:
            names = ", ".join(k.value for k in SortKey)
            raise CliError(f"unknown sort column {args.sort!r}; choose one of: {names}")
    return options


def run_dashboard(args: argparse.Namespace) -> int:
    from perftop.app import AppConfig, PerftopApp
    from perftop.system.processes import ViewOptions
    from perftop.system.source import FakeSource, LiveSource, SystemSource

    options = _view_options(args)
    assert isinstance(options, ViewOptions)
    config = AppConfig(delay_s=args.delay, view=options)
    source: type[SystemSource] = FakeSource if args.demo else LiveSource  # type: ignore[assignment]
    app = PerftopApp(source, config)
    app.run()
    return app.return_code or 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if not sys.stdout.isatty() and not os.environ.get("PERFTOP_ALLOW_NO_TTY"):
            raise CliError("perftop needs a terminal: run it in an interactive shell")
        return run_dashboard(args)
    except CliError as exc:
        print(f"perftop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
