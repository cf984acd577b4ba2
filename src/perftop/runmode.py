"""What perftop was asked to do, decided once from the command line as one typed value.

`run_mode(args)` turns argparse's namespace into exactly one of the modes below, refusing
with one line (CliError, exit 2) a flag that does nothing in the mode chosen, so that
`perftop --record box.rec diff A B` says so instead of recording and ignoring the diff. The
commands (`perftop.commands`) then match on the mode; nothing else inspects the namespace.

The standard library only: `--help` and argument errors must stay instant. The modes are
NamedTuples, not frozen dataclasses: as immutable, and a tenth of the cost to define, on every
start-up (3.5 ms for these nine; bench/bench_startup.py).
"""

from __future__ import annotations

import argparse
from typing import Literal, NamedTuple

from perftop.cli_args import PYSPY_FLAGS, CliError

__all__ = [
    "CheckDiff",
    "Dashboard",
    "DiffFiles",
    "PushTo",
    "RecordProfile",
    "RecordTo",
    "RunMode",
    "Serve",
    "TakeSnapshot",
    "ViewFile",
    "run_mode",
]


class RecordTo(NamedTuple):
    """`--record FILE [--record-limit L]`: every tick of the live machine also goes there."""

    path: str
    max_bytes: int | None
    max_age_s: float | None


class Dashboard(NamedTuple):
    """The live machine (or `--demo`'s fake one), optionally profiling one process from the
    start: attached to a running PID (`--pid`), or launched (`perftop run -- CMD`)."""

    demo: bool = False
    record: RecordTo | None = None
    attach: int | None = None
    launch: tuple[str, ...] | None = None
    log: str | None = None  # where a launched command's output goes


class ViewFile(NamedTuple):
    """`perftop view FILE`: a profile, a snapshot or a recording, told apart by content."""

    path: str


class DiffFiles(NamedTuple):
    base: str
    new: str
    by_function: bool = False  # frames matched by function, lines ignored


class CheckDiff(NamedTuple):
    """`perftop diff --check BASE NEW`: the significant regressions, printed; no TUI."""

    base: str
    new: str
    threshold_points: float
    output: Literal["text", "json", "markdown"]


class RecordProfile(NamedTuple):
    """`perftop record PID`: a profile to a file, without the TUI; `perftop record --all`
    (`pid` None): every CPU of the machine."""

    pid: int | None
    output: str | None
    duration_s: float | None


class TakeSnapshot(NamedTuple):
    output: str | None
    duration_s: float
    redact: bool
    demo: bool


class PushTo(NamedTuple):
    """`perftop serve --push URL --app NAME ...`: profiles sent to a Pyroscope server."""

    url: str
    app: str
    targets: tuple[str, ...]
    labels: tuple[str, ...] = ()
    every_s: float = 15.0  # commands/serve_push.py's DEFAULT_EVERY_S (a test holds them equal)
    format: Literal["pprof", "folded"] = "pprof"


class Serve(NamedTuple):
    listen: str
    top: int
    push: PushTo | None = None


RunMode = Dashboard | ViewFile | DiffFiles | CheckDiff | RecordProfile | TakeSnapshot | Serve

# Flags of the main parser, by the modes they mean something in. A flag given where it
# means nothing is refused rather than silently dropped.
_TUI = ("dashboard", "run", "view", "diff")
_PROFILING = ("dashboard", "run", "record")
_SAMPLING = (*_PROFILING, "serve")  # serve samples CPU for its profiles: no --memory
_FLAG_MODES: dict[str, tuple[str, tuple[str, ...]]] = {
    # attribute: (how the user spelt it, where it applies)
    "record": ("--record", ("dashboard", "run")),
    "record_limit": ("--record-limit", ("dashboard", "run")),
    "demo": ("--demo", ("dashboard", "snapshot")),
    "pid": ("--pid", ("dashboard", "record")),
    "delay": ("-d/--delay", ("dashboard", "run", "view")),
    "sort": ("--sort", _TUI),
    "tree": ("--tree", _TUI),
    "filter": ("--filter", _TUI),
    "machine_cpu": ("--machine-cpu", _TUI),
    "kernel_threads": ("--kernel-threads", _TUI),
    "profiler": ("--profiler", _SAMPLING),
    "memory": ("--memory", _PROFILING),
    "rate": ("--rate", _SAMPLING),
    "dwarf": ("--dwarf", _SAMPLING),
    "nonblocking": ("--nonblocking", _SAMPLING),
    "gil": ("--gil", _SAMPLING),
    "idle": ("--idle", _SAMPLING),
    "native": ("--native", _SAMPLING),
    "subprocesses": ("--subprocesses", _SAMPLING),
    "threshold": ("--threshold", ("check",)),
    # The check tests functions already, whatever the lines: the flag is the TUI's.
    "by_function": ("--by-function", ("diff",)),
    "json": ("--json", ("check",)),
    "markdown": ("--markdown", ("check",)),
}
_WHAT = {
    "run": "perftop run",
    "view": "perftop view",
    "diff": "perftop diff",
    "check": "perftop diff --check",
    "record": "perftop record",
    "snapshot": "perftop snapshot",
    "serve": "perftop serve",
}


def _given(args: argparse.Namespace, name: str) -> bool:
    value = getattr(args, name, None)
    return value not in (None, False, "")


def _refuse_strays(args: argparse.Namespace, command: str) -> None:
    for name, (flag, modes) in _FLAG_MODES.items():
        if command not in modes and _given(args, name):
            if modes == ("check",):
                raise CliError(f"{flag} goes with perftop diff --check")
            where = _WHAT.get(command, "the dashboard")
            raise CliError(f"{flag} does not go with {where}")
    if command in ("dashboard", "run") and args.record_limit and not args.record:
        raise CliError("--record-limit limits a --record FILE; give one")
    if command == "serve" and getattr(args, "profiler", None) == "memory":
        raise CliError("perftop serve serves CPU profiles: --profiler memory does not go with it")
    if command in _SAMPLING:
        _refuse_other_profilers(args)


def _refuse_other_profilers(args: argparse.Namespace) -> None:
    """A flag of one profiler where the other one is sure to sample. With `auto` the
    target decides, later: py-spy's flags and --dwarf both stand, each for its own."""
    machine = bool(getattr(args, "all_cpus", False))
    chosen = getattr(args, "profiler", None)
    if _given(args, "memory") or chosen == "memory":
        _refuse_with_memory(args, machine, chosen)
        return
    if machine and chosen == "py-spy":
        raise CliError("--all samples every CPU with perf: --profiler py-spy does not go with it")
    if machine or chosen == "perf":
        with_what = "--all" if machine else "--profiler perf"
        for name in PYSPY_FLAGS:
            if _given(args, name):
                raise CliError(f"--{name} is py-spy's: it does not go with {with_what}")
    if chosen == "py-spy" and _given(args, "dwarf"):
        raise CliError("--dwarf is perf's: it does not go with --profiler py-spy")


def _refuse_with_memory(args: argparse.Namespace, machine: bool, chosen: str | None) -> None:
    """The memory tracker samples nothing: every flag of how to sample means nothing to it."""
    memory = "--memory" if _given(args, "memory") else "--profiler memory"
    if chosen not in (None, "memory"):
        raise CliError(f"--memory tracks memory: it does not go with --profiler {chosen}")
    if machine:
        raise CliError(f"{memory} tracks one Python process: it does not go with --all")
    if _given(args, "dwarf"):
        raise CliError(f"--dwarf is perf's: it does not go with {memory}")
    for name in PYSPY_FLAGS:
        if _given(args, name):
            raise CliError(f"--{name} is py-spy's: it does not go with {memory}")
    if _given(args, "rate"):
        raise CliError(f"--rate is a sampling rate: {memory} sees every allocation")


def run_mode(args: argparse.Namespace) -> RunMode:
    """The one mode the command line asks for; CliError (one line) for what cannot be."""
    command = args.command or "dashboard"
    if command == "diff" and args.check:
        command = "check"  # no TUI: the TUI's flags mean nothing to it
    elif command == "diff" and args.threshold is not None:  # 0 too, which _given misses
        raise CliError("--threshold goes with perftop diff --check")
    _refuse_strays(args, command)
    if command == "view":
        return ViewFile(args.file)
    if command == "check":
        output: Literal["text", "json", "markdown"] = (
            "json" if args.json else "markdown" if args.markdown else "text"
        )
        threshold = 5.0 if args.threshold is None else args.threshold
        return CheckDiff(args.base, args.new, threshold, output)
    if command == "diff":
        return DiffFiles(args.base, args.new, args.by_function)
    if command == "serve":
        return Serve(args.listen, args.top, _push(args))
    if command == "snapshot":
        return TakeSnapshot(args.output, args.duration, args.redact, args.demo)
    if command == "record":
        return RecordProfile(_record_pid(args), args.output, args.duration)
    record = None
    if args.record:
        max_bytes, max_age = args.record_limit if args.record_limit else (None, None)
        record = RecordTo(args.record, max_bytes, max_age)
    if command == "run":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else list(args.argv)
        if not argv:
            raise CliError(
                "nothing to run: give a command after --, e.g. perftop run -- python app.py"
            )
        return Dashboard(record=record, launch=tuple(argv), log=args.log)
    if args.demo and args.pid is not None:
        raise CliError("--demo shows a fake machine; --pid profiles a real process")
    return Dashboard(demo=args.demo, record=record, attach=args.pid)


def _record_pid(args: argparse.Namespace) -> int | None:
    """The PID to record, or None for every CPU (`--all`)."""
    pid: int | None = args.target_pid
    given: int | None = getattr(args, "pid", None)
    if pid is not None and given is not None and pid != given:
        raise CliError(f"two PIDs given ({pid} and --pid {given}); record one process at a time")
    pid = pid if pid is not None else given
    if args.all_cpus:
        if pid is not None:
            raise CliError(f"--all records every CPU: give it no PID ({pid} given)")
        return None
    if pid is None:
        raise CliError(
            "record which process? give its PID (perftop record 4242), or --all for every CPU"
        )
    return pid


def _push(args: argparse.Namespace) -> PushTo | None:
    """`--push` and the flags that only mean something with it."""
    given = {
        "--app": args.app,
        "--label": args.label,
        "--target": args.target,
        "--push-every": args.push_every,
        "--push-format": args.push_format,
    }
    if args.push is None:
        for flag, value in given.items():
            if value is not None:
                raise CliError(f"{flag} goes with --push URL")
        return None
    if not args.app:
        raise CliError("--push needs --app NAME: the application Pyroscope files profiles under")
    if not args.target:
        raise CliError("--push needs a --target: PID, name:NAME or cgroup:PATH")
    return PushTo(
        args.push,
        args.app,
        tuple(args.target),
        tuple(args.label or ()),
        args.push_every or PushTo.every_s,
        "folded" if args.push_format == "folded" else "pprof",
    )
