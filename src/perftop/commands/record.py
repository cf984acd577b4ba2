"""`perftop record PID`: profile a process without the TUI and write one file; `perftop
record --all`: every CPU of the machine with perf, each process a root of the profile.

It drives the same ProfileSession as the live flame view, so the file carries the same
metadata (source, command, rate, duration) an export from the screen does. The profiler is
always stopped (py-spy with SIGINT, through the backend) and `children.terminate_all` runs
before the file is written. If the file cannot be written (disk full, directory gone
meanwhile), the profile goes to a new file in the temporary directory instead, never over an
existing one, and the exit code says the asked-for file was not written.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import TYPE_CHECKING, TextIO

from perftop.commands.common import (
    POLL_S,
    Progress,
    StopSignals,
    UsageError,
    check_writable,
    note,
    say,
    stamp,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from perftop.model.profile import Profile
    from perftop.profiling.backend import ProfilerBackend, ProfilerOptions
    from perftop.profiling.session import ProfileSession

__all__ = ["check_profile_output", "default_record_path", "record"]

# Exit codes: 0 written as asked; 1 nothing written or profiling failed; 3 written, but to
# the fallback path rather than the one asked for.
EXIT_FALLBACK = 3


def default_record_path(pid: int | None, now: float | None = None) -> str:
    """`perftop-PID-TIME.speedscope.json`; `perftop-all-TIME...` for every CPU (pid None)."""
    return f"perftop-{'all' if pid is None else pid}-{stamp(now)}.speedscope.json"


def check_profile_output(path: str) -> str:
    """The format `path`'s extension asks for; UsageError if unsupported or not writable."""
    from perftop.formats.errors import FormatError
    from perftop.formats.export import profile_format_for

    try:
        fmt = profile_format_for(path)
    except FormatError as exc:
        raise UsageError(str(exc)) from None
    check_writable(path)
    return fmt


def record(
    pid: int | None,
    options: ProfilerOptions,
    path: str,
    duration_s: float | None = None,
    *,
    backend: ProfilerBackend | None = None,
    progress: bool | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Profile `pid` (None: every CPU) until `duration_s` has passed, the target exits or a
    signal asks to stop, then write one file in the format `path`'s extension names. Returns
    the exit code.

    Raises UsageError (nothing sampled, nothing written) if `path` or the target is refused.
    """
    from perftop import children
    from perftop.profiling.session import SessionState

    out = out or sys.stdout
    err = err or sys.stderr
    check_profile_output(path)
    if pid is not None and pid <= 0:
        raise UsageError(f"no process with PID {pid}")
    what = "every CPU" if pid is None else f"PID {pid}"
    with StopSignals() as stop:  # first: a Ctrl-C from here on stops and saves
        session = _session(pid, options, backend)
        try:
            session.start()
            if session.state is SessionState.FAILED:
                raise UsageError(session.error or f"cannot profile {what}")
            if pid is not None and backend is None:  # auto's perf for a launcher: say so
                from perftop.profiling.backends import python_under

                hint = python_under(pid, options)
                if hint is not None:
                    note(err, hint)
            try:
                _record_loop(session, stop, duration_s, progress, what)
            finally:
                session.stop()  # SIGINT to py-spy: its last batch is written, stays readable
                session.drain()
        finally:
            children.terminate_all()
        elapsed = session.elapsed_s
        if session.profile.ended:
            note(err, f"{what} exited after {elapsed:.1f} s; saving what was collected")
        elif stop.requested:
            note(err, f"stopped by {stop.name} after {elapsed:.1f} s; saving what was collected")
        if session.error:
            note(err, f"profiling ended early: {session.error}")
        profile = session.profile_for_export()
        written = _write_profile(profile, path, err)
    if written is None:
        return 1
    where, fmt = written
    samples = profile.total_samples
    missed = f" ({session.missed} missed)" if session.missed else ""
    memory = options.backend == "memory"
    say(out, f"wrote {where} ({fmt}): {_amount(profile, memory)}{missed} over {elapsed:.1f} s")
    if samples == 0:
        note(err, "no allocations still live were seen" if memory else "no samples were collected")
    if where != path:
        return EXIT_FALLBACK
    return 1 if session.error else 0


def _session(
    pid: int | None, options: ProfilerOptions, backend: ProfilerBackend | None
) -> ProfileSession:
    """The session on `pid`, or on every CPU; `backend` (a test's) replaces the profiler."""
    from perftop.profiling.backends import command_line, new_machine_session, new_session
    from perftop.profiling.session import ProfileSession

    factory: Callable[[], ProfilerBackend] | None = None
    if backend is not None:
        given = backend
        factory = lambda: given  # noqa: E731 - a test's backend, made once
    if pid is not None:
        return new_session(pid, options, command=command_line(pid), factory=factory)
    if factory is None:
        return new_machine_session(options)
    from perftop.profiling.perf import MACHINE_PID

    return ProfileSession(MACHINE_PID, options, factory, command="all CPUs", source="perf")


def _record_loop(
    session: ProfileSession,
    stop: StopSignals,
    duration_s: float | None,
    progress: bool | None,
    what: str,
) -> None:
    from perftop.profiling.backend import ProfilerError

    enabled = sys.stderr.isatty() if progress is None else progress
    until = ""
    if duration_s is None:
        until = " until Ctrl-C" if what == "every CPU" else " until it exits"
    started = time.monotonic()
    with Progress(f"Recording {what}{until}", duration_s, enabled) as bar:
        while not stop.requested and session.pumping:
            now = time.monotonic()
            if duration_s is not None and now - started >= duration_s:
                return
            wait = POLL_S
            if duration_s is not None:
                wait = max(0.0, min(wait, started + duration_s - now))
            try:
                batch = session.next_batch(wait)
            except ProfilerError as exc:
                session.fail(exc)
                return
            if batch is not None and session.absorb(batch).exited:
                return
            memory = session.options.backend == "memory"
            bar.update(time.monotonic() - started, _amount(session.profile, memory))


def _amount(profile: Profile, memory: bool) -> str:
    """`1234 samples`, or for memory `12.3 MiB live` (its counts are bytes)."""
    from perftop.ui.memory_text import size_text

    if memory:
        return f"{size_text(profile.total_samples)} live"
    return f"{profile.total_samples} samples"


def _write_profile(profile: Profile, path: str, err: TextIO) -> tuple[str, str] | None:
    """Write the profile; if that fails, write it to a new file in the temporary directory
    rather than lose the recording, never replacing a file there. (where, format), or None."""
    from perftop.formats.errors import FormatError
    from perftop.formats.export import write_profile

    try:
        return path, write_profile(profile, path)
    except (OSError, FormatError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        stem = os.path.basename(path)
        fallback = os.path.join(tempfile.gettempdir(), stem)
        if os.path.abspath(fallback) == os.path.abspath(path):
            note(err, f"cannot write {path}: {problem}")
            return None
        try:
            fallback, fmt = _write_new(profile, fallback)
        except (OSError, FormatError) as again:
            reason = again.strerror if isinstance(again, OSError) and again.strerror else again
            note(err, f"cannot write {path} ({problem}) nor in {os.path.dirname(fallback)}")
            note(err, f"  ({reason})")
            return None
        note(err, f"cannot write {path} ({problem}); saved to {fallback} instead")
        return fallback, fmt


def _write_new(profile: Profile, wanted: str) -> tuple[str, str]:
    """Write to `wanted`, or `wanted` with a number added if that exists: always a new file,
    owner-only, never through a symlink nor over another file (`write_new`). (path, format)."""
    from perftop.formats.atomic import write_new
    from perftop.formats.export import PROFILE_FORMATS, render_profile

    fmt, data = render_profile(profile, wanted)
    directory, name = os.path.split(wanted)
    lower = name.lower()
    suffix = next((name[-len(e) :] for e in PROFILE_FORMATS if lower.endswith(e)), "")
    base = name[: len(name) - len(suffix)]
    for n in range(100):
        candidate = os.path.join(directory, f"{base}-{n}{suffix}" if n else name)
        try:
            write_new(candidate, data)
        except FileExistsError:
            continue
        return candidate, fmt
    raise FileExistsError(f"no free name for {wanted}")
