"""Command line: `perftop` and its subcommands. Errors become one line and a non-zero exit.

The grammar (flags, subcommands, value parsers) is `cli_args`; what it asks for is decided
once, as a typed run mode (`runmode`); each mode's command lives in `perftop.commands`. Only
argparse and the standard library are imported at module level so that `--help` and
`--version` answer instantly; Textual is imported when a screen is actually needed.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from perftop.cli_args import CliError, build_parser
from perftop.runmode import (
    CheckDiff,
    Dashboard,
    DiffFiles,
    RecordProfile,
    Serve,
    TakeSnapshot,
    ViewFile,
    run_mode,
)

if TYPE_CHECKING:  # for annotations only: importing these at run time would slow --help
    from perftop.config import Config


def _profiler_options(args: argparse.Namespace, *, machine: bool = False) -> object:
    """The profiler's options: the flags over the config. `machine` (`record --all`): perf's,
    whatever the config names (runmode has refused a --profiler py-spy with it)."""
    from perftop.profiling.backend import ProfilerError, ProfilerOptions

    settings: Config = args.settings
    chosen = "memory" if args.memory else args.profiler or settings.profiler
    backend = "perf" if machine else chosen
    # The config's DWARF is for when perf samples: a --profiler py-spy (or --memory) given
    # here outranks it.
    dwarf = args.dwarf or (settings.dwarf and backend not in ("py-spy", "memory"))
    try:
        return ProfilerOptions(
            rate_hz=args.rate if args.rate is not None else settings.rate_hz,
            nonblocking=args.nonblocking or settings.nonblocking,
            gil=args.gil,
            idle=args.idle,
            native=args.native,
            subprocesses=args.subprocesses,
            backend=backend,
            dwarf=dwarf,
        )
    except ProfilerError as exc:
        raise CliError(exc.message) from None


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
    """The table's view: the settings (as F2 would apply them), then the flags over them."""
    from perftop.config import apply_view_settings, sort_key_named
    from perftop.system.processes import SortKey, ViewOptions, default_reverse

    settings: Config = args.settings
    options = ViewOptions(filter_text=args.filter, show_kernel_threads=args.kernel_threads)
    apply_view_settings(settings, options)
    options.tree = options.tree or args.tree
    options.cpu_per_core = options.cpu_per_core and not args.machine_cpu
    if args.sort:
        key = sort_key_named(args.sort)
        if key is None:
            names = ", ".join(k.value for k in SortKey)
            raise CliError(f"unknown sort column {args.sort!r}; choose one of: {names}")
        options.sort_key = key
        options.reverse = default_reverse(key)
    return options


def _record_command(args: argparse.Namespace, mode: RecordProfile) -> int:
    from perftop.commands.common import UsageError
    from perftop.commands.record import default_record_path, record
    from perftop.profiling.backend import ProfilerOptions

    options = _profiler_options(args, machine=mode.pid is None)
    assert isinstance(options, ProfilerOptions)
    path = mode.output or default_record_path(mode.pid)
    try:
        return record(mode.pid, options, path, mode.duration_s)
    except UsageError as exc:
        raise CliError(str(exc)) from None


def _snapshot_command(mode: TakeSnapshot) -> int:
    from perftop.commands.common import UsageError
    from perftop.commands.snapshot import check_snapshot_output, default_snapshot_path, snapshot
    from perftop.system.source import LiveSource, SystemSource, demo_source

    path = mode.output or default_snapshot_path(mode.redact)
    try:
        check_snapshot_output(path)  # before the source is built: fail at once
        source: SystemSource = demo_source() if mode.demo else LiveSource()
        return snapshot(path, mode.duration_s, redact=mode.redact, source=source)
    except UsageError as exc:
        raise CliError(str(exc)) from None


def _serve_command(args: argparse.Namespace, mode: Serve) -> int:
    import dataclasses

    from perftop.commands import serve
    from perftop.commands.serve_pprof import TargetError, parse_target
    from perftop.commands.serve_push import PushConfig, PushError, parse_label
    from perftop.profiling.backend import ProfilerOptions

    options = _profiler_options(args)
    assert isinstance(options, ProfilerOptions)
    if options.backend == "memory":  # the config's: serve's profiles are of CPU
        options = dataclasses.replace(options, backend="auto")
    try:
        push = None
        if mode.push is not None:
            p = mode.push
            push = PushConfig(
                p.url,
                p.app,
                tuple(parse_target(t) for t in p.targets),
                tuple(parse_label(label) for label in p.labels),
                p.every_s,
                p.format,
            )
        return serve.serve(serve.parse_listen(mode.listen), mode.top, options=options, push=push)
    except (serve.ServeError, PushError) as exc:
        raise CliError(str(exc)) from None
    except TargetError as exc:
        raise CliError(f"--target: {exc.message}") from None


def _check_command(mode: CheckDiff) -> int:
    from perftop.commands.common import UsageError
    from perftop.commands.diff_check import check_diff

    try:
        return check_diff(mode.base, mode.new, mode.threshold_points, mode.output)
    except UsageError as exc:
        raise CliError(str(exc)) from None


def _tui_command(args: argparse.Namespace, mode: Dashboard | ViewFile | DiffFiles) -> int:
    from perftop.commands.tui import run_tui
    from perftop.profiling.backend import ProfilerOptions
    from perftop.system.processes import ViewOptions

    view = _view_options(args)
    profiler = _profiler_options(args)
    assert isinstance(view, ViewOptions) and isinstance(profiler, ProfilerOptions)
    return run_tui(
        mode,
        view=view,
        profiler=profiler,
        settings=args.settings,
        settings_path=args.settings_path,
        notices=args.config_problems,
        delay_s=args.delay,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _load_settings(args)
    try:
        mode = run_mode(args)
        if isinstance(mode, RecordProfile | TakeSnapshot | Serve | CheckDiff):
            for problem in args.config_problems:  # no TUI to show them: stderr, then go on
                print(f"perftop: {problem} (default used)", file=sys.stderr)
        if isinstance(mode, RecordProfile):
            return _record_command(args, mode)
        if isinstance(mode, TakeSnapshot):
            return _snapshot_command(mode)
        if isinstance(mode, Serve):
            return _serve_command(args, mode)
        if isinstance(mode, CheckDiff):
            return _check_command(mode)
        # Importing Textual and the screens makes ~70k objects that live as long as perftop,
        # and the collector would walk them again and again while they are made (10-20 ms of
        # the 0.35 s first-screen budget). The TUI collects nothing until they exist, then
        # freezes them out of every later collection, which keeps each tick's short too.
        gc.disable()
        try:
            return _tui_command(args, mode)
        finally:
            gc.enable()
    except CliError as exc:
        print(f"perftop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
