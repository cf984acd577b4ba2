"""What the headless commands (`perftop record`, `perftop snapshot`) share: behaving like batch
tools.

- everything the user got wrong (output path, PID, options) is found before any work starts
  and raised as `UsageError` (the CLI prints one line, exit code 2);
- a progress bar (rich) goes to stderr only when stderr is a terminal; otherwise nothing but
  the closing summary on stdout and notes on stderr;
- SIGINT (Ctrl-C), SIGTERM and SIGHUP do not kill the command: they end the sampling early,
  and what was collected is still written (`StopSignals`).

No Textual import here: the TUI's start-up cost has no place in a cron job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from types import FrameType
from typing import Any, TextIO

__all__ = ["Progress", "StopSignals", "UsageError", "check_writable", "note", "plural", "say"]

POLL_S = 0.2  # how soon the loops notice a stop request or the end of the duration
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class UsageError(Exception):
    """Bad input found before any work started: one line for the CLI, exit code 2."""


# --- stopping early and showing progress ----------------------------------------------------


class StopSignals:
    """While active, SIGINT, SIGTERM and SIGHUP ask the loop to stop and save, nothing more.

    A later signal of the same kind while stopping is ignored: stopping is bounded (py-spy
    answers SIGINT within seconds) and a second Ctrl-C must not lose the profile. Installed
    only from the main thread (Python's rule); elsewhere the caller's own handling stands.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.name = ""  # the signal that asked to stop, for the closing message
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
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


class Progress:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, description: str, total: float | None, enabled: bool) -> None:
        self._description = description
        self._total = total
        self._enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
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


def note(err: TextIO, text: str) -> None:
    # The terminal may be gone (SIGHUP): a note that cannot be shown must not stop the save.
    with contextlib.suppress(OSError, ValueError):
        print(f"perftop: {text}", file=err, flush=True)


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def say(out: TextIO, text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(text, file=out, flush=True)


def stamp(now: float | None = None) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now))


def check_writable(path: str) -> None:
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
