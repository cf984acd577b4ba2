"""One profiling session: a backend sampling one process, the live Profile it fills, and what
state it is in. The flame screen and `perftop record` both drive this object, so the
bookkeeping of a session (metadata, missed samples, warnings, the target's end, reset) has
one copy, whatever the backend.

Threads: `next_batch` may be called from a worker thread (it only waits on the backend);
everything else, `absorb` first, from one thread: the one that reads the profile (the UI's, or
the headless command's only thread). A batch is merged whole, so a reader never sees half
of one.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from perftop.model.profile import Profile, growth_between
from perftop.profiling.backend import (
    Batch,
    ProfilerBackend,
    ProfilerError,
    ProfilerFailed,
    ProfilerOptions,
    ThreadStack,
)

__all__ = ["Absorbed", "ProfileSession", "SessionState"]


class SessionState(enum.Enum):
    STARTING = "starting"  # made, not yet attached
    LIVE = "live"  # sampling
    PAUSED = "paused"  # detached by the user, keeping the profile
    STOPPED = "stopped"  # the target is stopped (SIGSTOP, Ctrl-Z): nothing to sample
    ENDED = "ended"  # the target exited, or the session was stopped; the profile is kept
    FAILED = "failed"  # the profiler could not go on; the profile is kept
    FILE = "file"  # no backend: a profile opened from a file

    @property
    def sampling(self) -> bool:
        """Attached (or re-attaching by itself): pause, dumps and settings make sense."""
        return self in (SessionState.LIVE, SessionState.STOPPED)


# What describes the target rather than its samples: kept by reset, given to exports.
_TARGET_KEYS = ("source", "pid", "command", "rate_hz", "unwinding")
# What each snapshot batch (memory) says anew: the last one's stands.
_SNAPSHOT_KEYS = ("tracker", "allocations")
# The live profile's cap (`Profile.max_nodes`): past it, the least-sampled call paths are
# folded into `(other)` (model/fold.py), so an hour of new paths costs bounded memory: about
# 275 bytes a node (bench/bench_profile_memory.py), 5.5 MB at the cap. The flame of a
# 200-column terminal draws at most a few thousand boxes.
MAX_LIVE_NODES = 20_000


@dataclass
class Absorbed:
    """What one batch changed that a person should hear about."""

    warnings: list[str] = field(default_factory=list)
    exited: bool = False  # the target ended with this batch


class ProfileSession:
    """Sample `pid` with a backend until the target ends, it fails, or the caller stops it."""

    def __init__(
        self,
        pid: int,
        options: ProfilerOptions,
        backend_factory: Callable[[], ProfilerBackend],
        *,
        command: str = "",
        source: str = "py-spy",
        clock: Callable[[], float] = time.monotonic,
        chooser: Callable[[ProfilerOptions], tuple[str, Callable[[], ProfilerBackend]]]
        | None = None,
    ) -> None:
        self.pid = pid
        self.options = options
        self._factory = backend_factory
        # Picks the backend again for new options (the settings may switch profiler).
        self._chooser = chooser
        self._clock = clock
        self.backend: ProfilerBackend = backend_factory()
        self.metadata: dict[str, str] = {
            "source": source,
            "pid": str(pid),
            "command": command,
            "rate_hz": str(options.rate_hz),
        }
        self.profile = self._new_profile()
        self.state = SessionState.STARTING
        self.error: str | None = None  # why it failed, one line
        self.stopped_reason: str | None = None  # while STOPPED: what to do about it
        self.end_reason: str | None = None
        self.missed = 0  # samples the backend failed to take
        self._sampled_s = 0.0  # wall time of the batches absorbed since the last reset
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self.marked: Profile | None = None  # the profile as it was at the user's mark

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Attach. On a refusal the session is FAILED with the reason; nothing is raised.
        A session already sampling (started early, commands/first_tick.py) goes on as it is."""
        if self.state is SessionState.LIVE:
            return
        try:
            self.backend.start(self.pid, self.options)
        except ProfilerError as exc:
            self.fail(exc)
            return
        if self._started_at is None:
            self._started_at = self._clock()
        self.state = SessionState.LIVE

    def next_batch(self, timeout: float) -> Batch | None:
        """The backend's next batch (any thread). Raises the ProfilerError that ended it; any
        other exception from a backend becomes one too, so a session never ends unheard."""
        try:
            return self.backend.next_batch(timeout)
        except ProfilerError:
            raise
        except Exception as exc:  # a backend bug must still reach the screen as an error
            raise ProfilerFailed(f"the profiler failed: {type(exc).__name__}: {exc}") from exc

    @property
    def pumping(self) -> bool:
        """True while batches may still come: the worker keeps waiting."""
        return self.backend.running

    def absorb(self, batch: Batch) -> Absorbed:
        """Merge one batch and take its news: warnings, a stopped or an exited target."""
        # A snapshot of what is live now replaces the last, but for the one that only says the
        # target exited: nothing is live any more, and the last snapshot is what it held.
        replaces = batch.replaces and not (batch.target_exited and not batch.profile.total_samples)
        if replaces:
            self.profile.clear_samples()
        self.profile.merge(batch.profile)
        self.profile.bound()
        for key, value in batch.profile.metadata.items():
            self.metadata.setdefault(key, value)
        if batch.replaces:
            # What describes the snapshot (which tracker, how many allocations) is its own.
            for key in _SNAPSHOT_KEYS:
                if key in batch.profile.metadata:
                    self.metadata[key] = batch.profile.metadata[key]
        self.missed += batch.errors
        self._sampled_s += batch.wall_s
        news = Absorbed(warnings=list(batch.warnings))
        if self.state in (SessionState.ENDED, SessionState.FAILED):
            return news  # the last batches drained after the end: samples, not state
        if batch.target_exited:
            self.stopped_reason = None
            self._end("target exited")
            news.exited = True
        elif batch.target_stopped:
            self.state = SessionState.STOPPED
            self.stopped_reason = " ".join(batch.warnings) or "the target is stopped"
        elif self.state is SessionState.STOPPED:
            self.state = SessionState.LIVE  # the first batch sampled after it continued
            self.stopped_reason = None
        return news

    def fail(self, error: ProfilerError) -> None:
        self.error = error.message
        self.state = SessionState.FAILED
        self._ended_at = self._ended_at or self._clock()
        self.backend.stop()

    def toggle_pause(self) -> None:
        if self.state is SessionState.PAUSED:
            self.backend.resume()
            self.state = SessionState.LIVE
        elif self.state.sampling:
            self.backend.pause()
            self.state = SessionState.PAUSED

    def restart(self, options: ProfilerOptions) -> None:
        """New options: a new backend on the same target, samples so far kept."""
        self.backend.stop()
        self.options = options
        self.metadata["rate_hz"] = str(options.rate_hz)
        # How the stacks were unwound is the backend's to say again, with its first batch.
        self.metadata.pop("unwinding", None)
        if self._chooser is not None:
            self.metadata["source"], self._factory = self._chooser(options)
        self.backend = self._factory()
        self.state = SessionState.STARTING
        self.error = None
        self.start()

    def reset(self) -> None:
        """Forget the samples, keep what describes the target (pid, command, source, rate)."""
        kept = {k: v for k, v in self.metadata.items() if k in _TARGET_KEYS}
        self.metadata = kept
        self.profile = self._new_profile()
        self.marked = None  # a mark of samples now forgotten would measure nothing
        self.missed = 0
        self._sampled_s = 0.0
        if self.state.sampling or self.state is SessionState.PAUSED:
            self._started_at = self._clock()

    def mark(self) -> None:
        """Remember the profile as it is now: `grown_since_mark` is measured from here."""
        self.marked = self.profile.copy()

    def grown_since_mark(self) -> Profile | None:
        """What grew since `mark` (for memory: bytes allocated since and still live); None
        before a mark."""
        if self.marked is None:
            return None
        return growth_between(self.marked, self.profile)

    def stop(self) -> None:
        """End sampling (idempotent); batches not yet read stay readable for `drain`."""
        self.backend.stop()
        if self.state in (SessionState.LIVE, SessionState.PAUSED, SessionState.STOPPED):
            self._end("stopped")

    def drain(self) -> Absorbed:
        """Absorb what the backend still holds after `stop`: the last window is cut short,
        not lost. A failure found there is kept as the session's error."""
        news = Absorbed()
        while True:
            try:
                batch = self.next_batch(0.0)
            except ProfilerError as exc:
                self.error = self.error or exc.message
                return news
            if batch is None:
                return news
            got = self.absorb(batch)
            news.warnings += got.warnings
            news.exited = news.exited or got.exited

    def _new_profile(self) -> Profile:
        profile = Profile(max_nodes=MAX_LIVE_NODES)
        profile.metadata = self.metadata  # one dict: what a batch adds, the profile carries
        return profile

    def _end(self, reason: str) -> None:
        self.state = SessionState.ENDED
        self.end_reason = reason
        self._ended_at = self._clock()
        if reason == "target exited":
            self.profile.mark_ended(reason)

    # --- what the views read ----------------------------------------------------------------

    @property
    def coverage(self) -> float:
        return self.backend.coverage

    @property
    def refresh_s(self) -> float | None:
        return self.backend.refresh_s

    @property
    def elapsed_s(self) -> float:
        """Wall time from the first attach (or the last reset) to now or the end."""
        if self._started_at is None:
            return 0.0
        end = self._ended_at if self._ended_at is not None else self._clock()
        return max(0.0, end - self._started_at)

    def dump_threads(self, with_locals: bool = False) -> list[ThreadStack]:
        return self.backend.dump_threads(with_locals)

    def profile_for_export(self) -> Profile:
        """A copy of the profile, carrying what an export needs to tell time: the target's
        metadata, the sampling rate and the wall time sampled."""
        copy = self.profile.copy()
        copy.metadata = dict(self.metadata)
        copy.metadata["duration_s"] = f"{self.duration_s:.3f}"
        return copy

    @property
    def duration_s(self) -> float:
        """The wall time the samples cover: the batches' windows, or the elapsed time if none
        was reported (a backend that does not say)."""
        return self._sampled_s or self.elapsed_s
