"""The command line's grammar: `perftop` and its subcommands, their flags and examples.

argparse and the standard library only, so that `--help` and `--version` answer instantly;
`cli` turns what is parsed here into the app or a headless command. Value parsers (delays,
durations, size or age limits) raise argparse's own error, so a bad value gets argparse's
one line; `_Parser` makes that line look like every other perftop error.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from perftop import __version__
from perftop.limits import MAX_DELAY_S, MIN_DELAY_S

# profiling/backend.py's BACKEND_CHOICES (a test holds them equal): importing it here would
# load the profiler for `--help`.
PROFILERS = ("auto", "py-spy", "perf", "memory")
# py-spy's own sampling flags: they mean nothing to perf.
PYSPY_FLAGS = ("nonblocking", "gil", "idle", "native", "subprocesses")

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
                               (py-spy for a Python process, perf for anything else)
  perftop --pid 4242 -r 250 --nonblocking
  perftop --pid $(pidof -s postgres)
                               profile native code with perf (--dwarf where it was built
                               without frame pointers)
  perftop run -- python app.py launch a command and profile it from its first line

  perftop --pid 4242 --memory  which code holds the bytes of Python process 4242: a live
                               flame of what it allocated since the attach and still holds
                               (memray, or tracemalloc where memray cannot load; needs gdb)
  perftop run --memory -- python app.py
                               the same from the program's first line (no gdb needed)

  perftop record 4242 -d 30 -o app.speedscope.json
                               profile PID 4242 for 30 s without the TUI; Ctrl-C stops and
                               saves; the extension picks the format (.speedscope.json,
                               .folded, .txt, .html, .pyisession, .pb.gz for pprof)
  perftop record --all -d 10 -o box.folded
                               every CPU for 10 s with perf, each process its own root
  perftop record --memory 4242 -d 60 -o live.folded
                               the bytes PID 4242 holds after 60 s, by stack (folded counts
                               are bytes; speedscope says so)
  perftop snapshot --redact    save 5 s of the machine and its processes to a .perftop file
  perftop view app.speedscope.json
                               reopen a saved profile or snapshot
  perftop diff before.folded after.folded
  perftop diff --by-function before.folded after.folded
                               compare two profiles: what grew, what shrank
  perftop diff --check main.pb.gz change.pb.gz --threshold 2% --markdown
                               for CI: the functions that grew beyond sampling noise;
                               exit 1 if one grew by 2 points of the samples or more
  perftop serve --top 20       serve metrics to Prometheus on 127.0.0.1:9464/metrics, and
                               profiles at /debug/pprof/profile?seconds=10&name=postgres
                               (or pid=PID) for go tool pprof, Parca or Pyroscope
  perftop serve --push http://pyroscope:4040 --app shop --label env=prod --target name:gunicorn
                               also push a profile of the oldest gunicorn every 15 s

keys: F1 help, / filter, F3 search, F5 tree, F6 sort, F7/F8 nice, F9 or k kill,
      i details, Enter/p profile, m memory profile, W profile the whole machine,
      c CPU% per core / per machine, q quit;
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
    if not MIN_DELAY_S <= seconds <= MAX_DELAY_S:
        raise argparse.ArgumentTypeError(
            f"delay {text!r} out of range: {MIN_DELAY_S:g} s to {MAX_DELAY_S / 3600:g} hour"
        )
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


def parse_threshold(text: str) -> float:
    """`--threshold`: points of a profile's samples, as `5%`, `5` or `0.5%`."""
    try:
        points = float(text.strip().removesuffix("%"))
    except ValueError:
        points = -1.0
    if not 0 <= points <= 100:
        raise argparse.ArgumentTypeError(
            f"invalid threshold {text!r}: points of the samples from 0 to 100, e.g. 5%"
        )
    return points


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
    # perftop run --memory -- python app.py; the command is the target, so no --pid.
    _profiler_arguments(run, subcommand=True, pid=False)
    _file_commands(commands)
    return parser


def _file_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    record = commands.add_parser(
        "record",
        help="profile a process without the TUI and write the profile to a file",
        description="Profile a running process and write one file: py-spy for a Python "
        "process, perf for anything else (--profiler picks), or with --all every CPU with "
        "perf. Runs for -d, or until the process exits or Ctrl-C (which still writes the file).",
    )
    record.add_argument("target_pid", nargs="?", type=int, metavar="PID", help="process to profile")
    record.add_argument(
        "-a",
        "--all",
        dest="all_cpus",
        action="store_true",
        help="the whole machine instead of one process: every CPU, kernel included, with "
        "perf; each process is a root of the profile",
    )
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
        ".txt, .html, .pyisession, .pb.gz or .pprof (default: perftop-PID-TIME.speedscope.json, "
        "perftop-all-TIME... with --all)",
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
    diff.add_argument(
        "--by-function",
        action="store_true",
        help="match frames by function (name and file), not by line: an edit that moved "
        "lines still lines up (f in the diff toggles it)",
    )
    check = diff.add_argument_group("checking, for CI (no TUI)")
    check.add_argument(
        "--check",
        action="store_true",
        help="print the functions whose share of samples grew beyond sampling noise "
        "(two-proportion z-test, Holm-corrected); exit 1 if one grew by at least "
        "--threshold, 0 if none did, 2 if a file cannot be read",
    )
    check.add_argument(
        "--threshold",
        type=parse_threshold,
        metavar="POINTS",
        help="how much a function's share must grow to fail the check, in points of the "
        "samples (10%% → 15%% is 5%%; default 5%%)",
    )
    formats = check.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print the result as JSON")
    formats.add_argument(
        "--markdown", action="store_true", help="print the result as a Markdown table"
    )
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
    push = serve.add_argument_group(
        "pushing profiles to Pyroscope",
        "Profiles are also served at /debug/pprof/profile?seconds=N&pid=PID (or name=NAME, "
        "cgroup=PATH), for Parca, Pyroscope's scrapers and `go tool pprof URL`.",
    )
    push.add_argument(
        "--push",
        metavar="URL",
        help="send profiles of the --target processes to this Pyroscope server's ingest API "
        "(e.g. http://pyroscope:4040) every --push-every",
    )
    push.add_argument(
        "--app", metavar="NAME", help="the application name Pyroscope files them under"
    )
    push.add_argument(
        "--label",
        action="append",
        metavar="KEY=VALUE",
        help="a label of every pushed profile (again for more: --label env=prod --label dc=a)",
    )
    push.add_argument(
        "--target",
        action="append",
        metavar="WHICH",
        help="a process to push profiles of: PID, name:NAME (the oldest of that name) or "
        "cgroup:PATH (the oldest in it); again for more",
    )
    push.add_argument(
        "--push-every",
        type=parse_seconds,
        metavar="SECONDS",
        help="the length of each profile pushed (default 15s)",
    )
    push.add_argument(
        "--push-format",
        choices=("pprof", "folded"),
        help="what to send: pprof (default) or folded stacks",
    )
    _profiler_arguments(serve, subcommand=True, pid=False, memory=False)


def _profiler_arguments(
    parser: argparse.ArgumentParser,
    *,
    subcommand: bool = False,
    pid: bool = True,
    memory: bool = True,
) -> None:
    group = parser.add_argument_group("profiling")

    def default(value: object) -> object:
        # A subcommand's own defaults would overwrite what was given before its name
        # (`perftop --native record 42`); suppressed, the main parser's value stands.
        return argparse.SUPPRESS if subcommand else value

    if pid:
        _pid_argument(group, subcommand, default)
    group.add_argument(
        "--profiler",
        choices=PROFILERS,
        default=default(None),
        help="which profiler samples: auto (py-spy for a Python process, perf for the rest), "
        "py-spy, perf, or memory (as --memory) (default auto, or the config's)",
    )
    if memory:  # serve's profiles are of CPU
        group.add_argument(
            "--memory",
            action="store_true",
            default=default(False),
            help="a Python process's memory instead of its CPU: which code holds the bytes "
            "allocated since the attach (memray, or the standard library's tracemalloc where "
            "memray cannot load; attaching needs gdb)",
        )
    group.add_argument(
        "-r",
        "--rate",
        type=int,
        default=default(None),
        help="samples per second (default 100, or the config's)",
    )
    group.add_argument(
        "--dwarf",
        action="store_true",
        default=default(False),
        help="perf: unwind stacks with DWARF, for code built without frame pointers (copies "
        "8 KB of stack per sample: more overhead and bigger output)",
    )
    flags = {
        "--nonblocking": "py-spy: do not pause the target to sample",
        "--gil": "py-spy: only sample the thread holding the GIL",
        "--idle": "py-spy: include idle (waiting) threads",
        "--native": "py-spy: include native C/C++ frames",
        "--subprocesses": "py-spy: also profile child processes",
    }
    for flag, text in flags.items():
        group.add_argument(flag, action="store_true", default=default(False), help=text)


def _pid_argument(
    group: argparse._ArgumentGroup, subcommand: bool, default: Callable[[object], object]
) -> None:
    group.add_argument(
        "-p",
        "--pid",
        type=int,
        default=default(None),
        help="the process to profile"
        if subcommand
        else "attach to this process and show its flame view",
    )
