"""`perftop snapshot`: sample the machine and its processes for a few seconds and write a
perftop snapshot that `perftop view` reopens. A signal ends the sampling early; the ticks so
far are kept. The source is the same `SystemSource` the dashboard reads (`--demo`: the fake).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from perftop.commands.common import (
    Progress,
    StopSignals,
    UsageError,
    check_writable,
    note,
    plural,
    say,
    stamp,
)

if TYPE_CHECKING:
    from perftop.system.source import SystemSource

__all__ = ["check_snapshot_output", "default_snapshot_path", "snapshot"]


def default_snapshot_path(redact: bool = False, now: float | None = None) -> str:
    # A redacted snapshot leaves the host name out of its file name too: the name travels
    # with the file wherever it is shared.
    if redact:
        return f"perftop-snapshot-{stamp(now)}.perftop"
    host = "".join(c if c.isalnum() or c in "-_." else "_" for c in socket.gethostname())
    return f"perftop-snapshot-{host or 'host'}-{stamp(now)}.perftop"


def check_snapshot_output(path: str) -> None:
    """UsageError if `path` names a profile format (a snapshot is not one) or is not writable."""
    from perftop.formats.errors import FormatError
    from perftop.formats.export import PROFILE_FORMATS, profile_format_for

    with contextlib.suppress(FormatError):
        fmt = profile_format_for(path)
        exts = ", ".join(ext for ext, name in PROFILE_FORMATS.items() if name == fmt)
        raise UsageError(
            f"{path}: {exts} is a profile format; a snapshot is written as .perftop "
            "(profiles come from perftop record)"
        )
    check_writable(path)


def snapshot(
    path: str,
    duration_s: float = 5.0,
    *,
    redact: bool = False,
    source: SystemSource | None = None,
    tick_s: float = 1.0,
    progress: bool | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Sample the machine and its processes every `tick_s` for `duration_s`, then write a
    perftop snapshot to `path`. A signal ends the sampling early; the ticks so far are kept.
    Raises UsageError (nothing sampled) if `path` is refused. Returns the exit code."""
    from perftop.formats.errors import FormatError
    from perftop.formats.snapshot import SNAPSHOT_TICKS, Snapshot, write_snapshot
    from perftop.system.history import SystemHistory
    from perftop.system.timeline import Timeline

    out = out or sys.stdout
    err = err or sys.stderr
    check_snapshot_output(path)
    if source is None:
        from perftop.system.source import LiveSource

        source = LiveSource()
    history = SystemHistory()
    timeline = Timeline(SNAPSHOT_TICKS)  # every tick, so `perftop view` can step through them
    ticks = max(1, round(duration_s / tick_s))
    enabled = sys.stderr.isatty() if progress is None else progress
    started = time.monotonic()
    with StopSignals() as stop:
        # A first reading only sets the baseline: rates are deltas between two ticks.
        sample, processes = source.sample_system(), source.sample_processes()
        taken = 0
        with Progress("Sampling the system", ticks * tick_s, enabled) as bar:
            for taken in _ticks(ticks, tick_s, started, stop.event):
                sample, processes = source.sample_system(), source.sample_processes()
                history.append(sample)
                timeline.append(sample, processes)
                bar.update(taken * tick_s, f"{len(processes.rows)} processes")
        elapsed = time.monotonic() - started
        if stop.requested:
            note(err, f"stopped by {stop.name} after {elapsed:.1f} s; saving what was collected")
        snap = Snapshot(
            created=time.time(),
            hostname=sample.hostname or socket.gethostname(),
            history=history,
            sample=sample,
            processes=processes,
            timeline=timeline,
        )
        try:
            write_snapshot(snap, path, redact=redact)
        except (OSError, FormatError) as exc:
            problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            note(err, f"cannot write {path}: {problem}")
            return 1
    redacted = ", redacted" if redact else ""
    say(
        out,
        f"wrote {path}: {plural(len(history), 'tick')} of the system, "
        f"{plural(len(processes.rows), 'process', 'processes')}{redacted}",
    )
    return 0


def _ticks(count: int, tick_s: float, started: float, stop: threading.Event) -> Iterator[int]:
    """1..count, each on its own deadline from `started` (no drift); ends early on `stop`."""
    for n in range(1, count + 1):
        if stop.wait(max(0.0, started + n * tick_s - time.monotonic())):
            return
        yield n
