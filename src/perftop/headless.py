"""The commands that work without the TUI: `perftop record` and `perftop snapshot`.

Both are for scripts, cron and a quick look over SSH, so they behave like batch tools:

- everything the user got wrong (output path, PID, options) is found before any work starts
  and raised as `UsageError` (the CLI prints one line, exit code 2);
- a progress bar (rich) goes to stderr only when stderr is a terminal; otherwise nothing but
  the closing summary on stdout and notes on stderr;
- SIGINT (Ctrl-C), SIGTERM and SIGHUP do not kill the command: they end the sampling early,
  and what was collected is still written. py-spy is always stopped (with SIGINT, through
  the backend) and `children.terminate_all` runs before the file is written.

No Textual import here: the TUI's start-up cost has no place in a cron job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from perftop.model.profile import Profile
    from perftop.profiling.backend import Batch, ProfilerBackend, ProfilerOptions
    from perftop.system.source import SystemSource

__all__ = [
    "UsageError",
    "check_profile_output",
    "check_snapshot_output",
    "default_record_path",
    "default_snapshot_path",
    "record",
    "snapshot",
]

_POLL_S = 0.2  # how soon the loops notice a stop request or the end of the duration
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class UsageError(Exception):
    """Bad input found before any work started: one line for the CLI, exit code 2."""


# --- output paths ---------------------------------------------------------------------------


def _stamp(now: float | None = None) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now))


def default_record_path(pid: int, now: float | None = None) -> str:
    return f"perftop-{pid}-{_stamp(now)}.speedscope.json"


def default_snapshot_path(redact: bool = False, now: float | None = None) -> str:
    # A redacted snapshot leaves the host name out of its file name too: the name travels
    # with the file wherever it is shared.
    if redact:
        return f"perftop-snapshot-{_stamp(now)}.perftop"
    host = "".join(c if c.isalnum() or c in "-_." else "_" for c in socket.gethostname())
    return f"perftop-snapshot-{host or 'host'}-{_stamp(now)}.perftop"


def _check_writable(path: str) -> None:
    """Refuse, before any sampling, a path the file could never be written to."""
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"{path}: directory {directory} does not exist")
    # The same probe the atomic writer will make (a temporary file beside the target): it
    # answers for read-only filesystems, ACLs and root alike, where os.access can be wrong.
    try:
        fd, probe = tempfile.mkstemp(prefix=".perftop-probe-", dir=directory)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write in {directory}: {exc.strerror}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_profile_output(path: str) -> str:
    """The format `path`'s extension asks for; UsageError if unsupported or not writable."""
    from perftop.formats.errors import FormatError
    from perftop.formats.export import profile_format_for

    try:
        fmt = profile_format_for(path)
    except FormatError as exc:
        raise UsageError(str(exc)) from None
    _check_writable(path)
    return fmt


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
    _check_writable(path)


# --- stopping early and showing progress ----------------------------------------------------


class _StopSignals:
    """While active, SIGINT, SIGTERM and SIGHUP ask the loop to stop and save, nothing more.

    A later signal of the same kind while stopping is ignored: stopping is bounded (py-spy
    answers SIGINT within seconds) and a second Ctrl-C must not lose the profile. Installed
    only from the main thread (Python's rule); elsewhere the caller's own handling stands.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.name = ""  # the signal that asked to stop, for the closing message
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in _STOP_SIGNALS:
                # `nohup perftop record` ignores SIGHUP on purpose; it stays ignored.
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.event.is_set():
            self.name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


class _Progress:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, description: str, total: float | None, enabled: bool) -> None:
        self._description = description
        self._total = total
        self._enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if not self._enabled:
            return self
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        # Two columns spare for the terminal's "^C" echo: on a full line it would wrap, and
        # the bar could no longer erase itself.
        console.width = max(40, console.width - 2)
        columns: list[Any] = [
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
        ]
        if self._total is not None:
            columns.append(TimeRemainingColumn())
        columns.append(TextColumn("{task.fields[status]}"))
        if console.width >= 100:  # on a narrow terminal the bar itself matters more
            columns.append(TextColumn("[dim]Ctrl-C stops and saves"))
        # transient: once done, the bar gives way to the summary lines.
        self._progress = Progress(*columns, console=console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(self._description, total=self._total, status="")
        return self

    def update(self, completed: float, status: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, status=status)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            progress, self._progress = self._progress, None
            # After SIGHUP the terminal is gone; erasing the bar must not cost the recording.
            with contextlib.suppress(OSError):
                progress.stop()


def _note(err: TextIO, text: str) -> None:
    # The terminal may be gone (SIGHUP): a note that cannot be shown must not stop the save.
    with contextlib.suppress(OSError, ValueError):
        print(f"perftop: {text}", file=err, flush=True)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _say(out: TextIO, text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(text, file=out, flush=True)


# --- perftop record -------------------------------------------------------------------------


@dataclass
class _Recording:
    profile: Profile
    errors: int = 0
    target_exited: bool = False
    failure: str = ""  # the profiler error that ended sampling, if one did

    def absorb(self, batch: Batch) -> None:
        if not self.profile.metadata:
            self.profile.metadata.update(batch.profile.metadata)
        self.profile.merge(batch.profile)
        self.errors += batch.errors
        if batch.target_exited:
            self.target_exited = True
            self.profile.mark_ended("target exited")


def record(
    pid: int,
    options: ProfilerOptions,
    path: str,
    duration_s: float | None = None,
    *,
    backend: ProfilerBackend | None = None,
    progress: bool | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Profile `pid` until `duration_s` has passed, the target exits or a signal asks to stop,
    then write one file in the format `path`'s extension names. Returns the exit code.

    Raises UsageError (nothing sampled, nothing written) if `path` or the target is refused.
    """
    from perftop import children
    from perftop.model.profile import Profile
    from perftop.profiling.backend import ProfilerError
    from perftop.profiling.pyspy import PySpyBackend

    out = out or sys.stdout
    err = err or sys.stderr
    check_profile_output(path)
    if pid <= 0:
        raise UsageError(f"no process with PID {pid}")
    backend = backend or PySpyBackend()
    rec = _Recording(Profile())
    with _StopSignals() as stop:
        try:
            try:
                backend.start(pid, options)
            except ProfilerError as exc:
                raise UsageError(exc.message) from None
            started = time.monotonic()
            try:
                _record_loop(backend, rec, stop, started, duration_s, progress, pid)
            finally:
                ended = time.monotonic()
                backend.stop()  # SIGINT to py-spy: its last batch is written and stays readable
                _drain(backend, rec)
        finally:
            children.terminate_all()
        elapsed = ended - started
        if rec.target_exited:
            _note(err, f"PID {pid} exited after {elapsed:.1f} s; saving what was collected")
        elif stop.requested:
            _note(err, f"stopped by {stop.name} after {elapsed:.1f} s; saving what was collected")
        if rec.failure:
            _note(err, f"profiling ended early: {rec.failure}")
        rec.profile.metadata.setdefault("pid", str(pid))
        rec.profile.metadata["duration_s"] = f"{elapsed:.3f}"
        written = _write_profile(rec.profile, path, err)
    if written is None:
        return 1
    where, fmt = written
    samples = rec.profile.total_samples
    missed = f" ({rec.errors} missed)" if rec.errors else ""
    _say(out, f"wrote {where} ({fmt}): {samples} samples{missed} over {elapsed:.1f} s")
    if samples == 0:
        _note(err, "no samples were collected")
    return 1 if rec.failure else 0


def _record_loop(
    backend: ProfilerBackend,
    rec: _Recording,
    stop: _StopSignals,
    started: float,
    duration_s: float | None,
    progress: bool | None,
    pid: int,
) -> None:
    from perftop.profiling.backend import ProfilerError

    enabled = sys.stderr.isatty() if progress is None else progress
    until = "" if duration_s is not None else " until it exits"
    with _Progress(f"Recording PID {pid}{until}", duration_s, enabled) as bar:
        while not stop.requested and backend.running:
            now = time.monotonic()
            if duration_s is not None and now - started >= duration_s:
                return
            wait = _POLL_S
            if duration_s is not None:
                wait = max(0.0, min(wait, started + duration_s - now))
            try:
                batch = backend.next_batch(wait)
            except ProfilerError as exc:
                rec.failure = exc.message
                return
            if batch is not None:
                rec.absorb(batch)
                if batch.target_exited:
                    return
            samples = rec.profile.total_samples
            bar.update(time.monotonic() - started, f"{samples} samples")


def _drain(backend: ProfilerBackend, rec: _Recording) -> None:
    """Take the batches `stop` left behind: the last recording is cut short, not lost."""
    from perftop.profiling.backend import ProfilerError

    while True:
        try:
            batch = backend.next_batch(0.0)
        except ProfilerError as exc:
            rec.failure = rec.failure or exc.message
            return
        if batch is None:
            return
        rec.absorb(batch)


def _write_profile(profile: Profile, path: str, err: TextIO) -> tuple[str, str] | None:
    """Write the profile; if that fails (disk full, directory gone meanwhile), try the
    temporary directory rather than lose the recording. (where, format), or None."""
    from perftop.formats.errors import FormatError
    from perftop.formats.export import write_profile

    try:
        return path, write_profile(profile, path)
    except (OSError, FormatError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        fallback = os.path.join(tempfile.gettempdir(), os.path.basename(path))
        if os.path.abspath(fallback) == os.path.abspath(path):
            _note(err, f"cannot write {path}: {problem}")
            return None
        try:
            fmt = write_profile(profile, fallback)
        except (OSError, FormatError) as again:
            _note(err, f"cannot write {path} ({problem}) nor {fallback} ({again})")
            return None
        _note(err, f"cannot write {path} ({problem}); saved to {fallback} instead")
        return fallback, fmt


# --- perftop snapshot -----------------------------------------------------------------------


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
    from perftop.formats.snapshot import Snapshot, write_snapshot
    from perftop.system.history import SystemHistory

    out = out or sys.stdout
    err = err or sys.stderr
    check_snapshot_output(path)
    if source is None:
        from perftop.system.source import LiveSource

        source = LiveSource()
    history = SystemHistory()
    ticks = max(1, round(duration_s / tick_s))
    enabled = sys.stderr.isatty() if progress is None else progress
    started = time.monotonic()
    with _StopSignals() as stop:
        # A first reading only sets the baseline: rates are deltas between two ticks.
        sample, processes = source.sample_system(), source.sample_processes()
        taken = 0
        with _Progress("Sampling the system", ticks * tick_s, enabled) as bar:
            for taken in _ticks(ticks, tick_s, started, stop.event):
                sample, processes = source.sample_system(), source.sample_processes()
                history.append(sample)
                bar.update(taken * tick_s, f"{len(processes.rows)} processes")
        elapsed = time.monotonic() - started
        if stop.requested:
            _note(err, f"stopped by {stop.name} after {elapsed:.1f} s; saving what was collected")
        snap = Snapshot(
            created=time.time(),
            hostname=sample.hostname or socket.gethostname(),
            history=history,
            sample=sample,
            processes=processes,
        )
        try:
            write_snapshot(snap, path, redact=redact)
        except (OSError, FormatError) as exc:
            problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            _note(err, f"cannot write {path}: {problem}")
            return 1
    redacted = ", redacted" if redact else ""
    _say(
        out,
        f"wrote {path}: {_plural(len(history), 'tick')} of the system, "
        f"{_plural(len(processes.rows), 'process', 'processes')}{redacted}",
    )
    return 0


def _ticks(count: int, tick_s: float, started: float, stop: threading.Event) -> Iterator[int]:
    """1..count, each on its own deadline from `started` (no drift); ends early on `stop`."""
    for n in range(1, count + 1):
        if stop.wait(max(0.0, started + n * tick_s - time.monotonic())):
            return
        yield n
