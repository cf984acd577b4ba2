"""The one interface every profiler backend implements, its options, results and errors.

A backend samples one running process from outside and hands over its samples in batches, each
a `Profile` the caller merges into the live one. Errors are typed and carry one line of plain
advice (`.message`), so the CLI and the UI show them as they are.
"""

from __future__ import annotations

import abc
import queue
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from perftop.limits import MAX_RATE_HZ, MIN_RATE_HZ

if TYPE_CHECKING:
    from perftop.model.frames import Frame
    from perftop.model.profile import Profile

__all__ = [
    "BACKEND_CHOICES",
    "Batch",
    "BatchQueue",
    "NoSuchProcess",
    "NotPython",
    "PermissionDenied",
    "ProfilerBackend",
    "ProfilerError",
    "ProfilerFailed",
    "ProfilerMissing",
    "ProfilerOptions",
    "ThreadStack",
]

# Which profiler samples: "auto" picks by what the target is (py-spy for Python, perf else);
# "memory" tracks a Python process's live allocations instead of sampling its CPU.
BACKEND_CHOICES = ("auto", "py-spy", "perf", "memory")
MIN_BATCH_S = 0.1
MAX_BATCH_S = 60.0


class ProfilerError(Exception):
    """A profiler could not do what was asked. `message` is one line of advice for a person."""

    def __init__(self, message: str) -> None:
        # One line whatever the source: the UI shows it in a status line, the CLI on stderr.
        self.message = " ".join(message.split())
        super().__init__(self.message)


class PermissionDenied(ProfilerError):
    """The OS refused to let the profiler read the target's memory."""


class NotPython(ProfilerError):
    """The target is not a Python process (or its interpreter could not be found)."""


class NoSuchProcess(ProfilerError):
    """The target PID does not exist (any more)."""


class ProfilerMissing(ProfilerError):
    """The profiler program is not installed where perftop can find it."""


class ProfilerFailed(ProfilerError):
    """Any other failure of the profiler, with its own first line of explanation."""


@dataclass
class ProfilerOptions:
    """How to sample. Validated on construction: a bad combination fails before any attach."""

    rate_hz: int = 100
    nonblocking: bool = False  # do not pause the target per sample: cheaper, stacks may tear
    gil: bool = False  # only samples of the thread holding the GIL
    idle: bool = False  # include threads that are waiting
    native: bool = False  # C/C++/Cython frames too
    subprocesses: bool = False  # also sample the target's Python children
    batch_s: float = 1.0  # how often a batch is delivered: the live view's refresh
    backend: str = "auto"  # one of BACKEND_CHOICES
    dwarf: bool = False  # perf: unwind with DWARF (binaries without frame pointers), not fp

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ProfilerError if these options cannot work together. Safe to call again."""
        if isinstance(self.rate_hz, bool) or not isinstance(self.rate_hz, int):
            raise ProfilerError(f"sampling rate must be a whole number of Hz, not {self.rate_hz!r}")
        if not MIN_RATE_HZ <= self.rate_hz <= MAX_RATE_HZ:
            raise ProfilerError(
                f"sampling rate {self.rate_hz} Hz out of range: {MIN_RATE_HZ} to {MAX_RATE_HZ} Hz"
            )
        if self.native and self.nonblocking:
            raise ProfilerError(
                "native stacks need the target paused while sampling: "
                "turn off either native or nonblocking"
            )
        if self.backend not in BACKEND_CHOICES:
            raise ProfilerError(
                f"unknown profiler {self.backend!r}: choose one of {', '.join(BACKEND_CHOICES)}"
            )
        if self.dwarf and self.backend in ("py-spy", "memory"):
            raise ProfilerError("DWARF unwinding is perf's: choose the perf (or auto) profiler")
        if not MIN_BATCH_S <= self.batch_s <= MAX_BATCH_S:
            raise ProfilerError(
                f"batch length {self.batch_s} s out of range: {MIN_BATCH_S} to {MAX_BATCH_S} s"
            )

    def to_args(self) -> list[str]:
        """These options as py-spy `record` flags (without the PID and the output)."""
        self.validate()  # fields are mutable; never hand py-spy a combination it rejects
        args = ["--rate", str(self.rate_hz)]
        flags = {
            "--nonblocking": self.nonblocking,
            "--gil": self.gil,
            "--idle": self.idle,
            "--native": self.native,
            "--subprocesses": self.subprocesses,
        }
        args += [flag for flag, on in flags.items() if on]
        return args


@dataclass
class Batch:
    """What one sampling window produced."""

    profile: Profile
    wall_s: float  # length of the window this batch covers
    samples: int  # stacks recorded (one per sampled thread per tick)
    errors: int  # samples the profiler failed to take
    target_exited: bool  # the target ended: this is the last batch
    # The target is stopped (SIGSTOP, Ctrl-Z): nothing is sampled until it continues, and the
    # next batch without this flag says sampling is back.
    target_stopped: bool = False
    # One line each, for a person: what went wrong in this window without ending the session
    # (a profiler killed and restarted, its samples lost). Shown, never raised.
    warnings: list[str] = field(default_factory=list)
    # The profile is the whole state now (a memory snapshot: the bytes live at this moment),
    # not samples to add: the session replaces its profile's samples with it.
    replaces: bool = False


class BatchQueue:
    """Where a backend's driver thread puts its batches and `next_batch` takes them: after the
    last batch, `close` (with the error that ended sampling, if any), which `get` raises once,
    after the batches queued before it. One copy for every backend driven by a thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Batch | None] = queue.Queue()
        self._error: ProfilerError | None = None
        self.drained = False  # the end was handed out

    def put(self, batch: Batch) -> None:
        self._queue.put(batch)

    def close(self, error: ProfilerError | None = None) -> None:
        self._error = error
        self._queue.put(None)

    def get(self, timeout: float) -> Batch | None:
        if self.drained:
            return None
        try:
            batch = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if batch is None:
            self.drained = True
            if self._error is not None:
                error, self._error = self._error, None
                raise error
        return batch


@dataclass
class ThreadStack:
    """One thread's stack at one moment, as a thread dump shows it."""

    thread_id: int  # the OS thread id (as `ps -L` and the profile's thread roots show it)
    name: str | None
    active: bool  # running, not waiting
    owns_gil: bool
    frames: list[Frame]  # innermost first, as py-spy prints them
    locals: list[dict[str, str]] = field(default_factory=list)  # per frame, name -> repr


class ProfilerBackend(abc.ABC):
    """Samples one process from outside, in batches, until stopped or the target exits."""

    @abc.abstractmethod
    def start(self, pid: int, options: ProfilerOptions) -> None:
        """Attach to `pid` and start sampling. Returns once sampling has started.

        Raises a ProfilerError subclass if the target cannot be sampled.
        """

    @abc.abstractmethod
    def next_batch(self, timeout: float) -> Batch | None:
        """The next batch, waiting up to `timeout` seconds; None if there is none yet.

        Raises the ProfilerError that ended sampling, once, after the last batch.
        """

    @abc.abstractmethod
    def pause(self) -> None:
        """Stop sampling and detach from the target completely, keeping the session."""

    @abc.abstractmethod
    def resume(self) -> None:
        """Attach again and continue sampling after `pause`."""

    @abc.abstractmethod
    def dump_threads(self, with_locals: bool = False) -> list[ThreadStack]:
        """The current stack of every thread of the target, now."""

    @abc.abstractmethod
    def stop(self) -> None:
        """End sampling and release everything. Idempotent. Batches not yet read stay readable."""

    @property
    @abc.abstractmethod
    def coverage(self) -> float:
        """Fraction (0..1) of the time sampling was on (since the first attach, pauses and
        stops of the target excluded) during which the target was actually sampled and the
        samples delivered: what batch gaps, failed samples and lost batches cost."""

    @property
    @abc.abstractmethod
    def running(self) -> bool:
        """True from `start`, paused or not, until `stop`; after the target's exit or a
        failure, until `next_batch` has handed out the last batch (and raised the error)."""

    @property
    def refresh_s(self) -> float | None:
        """How often batches come now, where the backend stretched `batch_s` (py-spy for a
        pool: each restart's cost); None: every `batch_s`, as asked."""
        return None
