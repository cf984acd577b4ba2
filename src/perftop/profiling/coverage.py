"""The time accounting behind a live session's sampling coverage.

Coverage is time, not samples (see `pyspy` for why): of the time sampling was on, the share
during which a recording was attached and then delivered what it sampled, less 1/rate for each
sample the profiler failed to take. Pure arithmetic on monotonic timestamps, tested alone.
"""

from __future__ import annotations


class CoverageClock:
    """The time accounting behind `coverage`, in monotonic seconds. Callers hold the lock."""

    def __init__(self) -> None:
        self.run_total = 0.0  # sampling was on (not paused, target not stopped): closed spans
        self.run_since: float | None = None
        self.covered = 0.0  # the union of the spans of the recordings that delivered
        self.covered_until = 0.0
        self.attached: list[float] = []  # attach times of the recordings sampling now
        self.failed = 0.0  # 1/rate for each sample py-spy failed to take

    def attach(self, at: float) -> None:
        if self.run_since is None:  # the clock runs from the first attach on
            self.run_since = at
        self.attached.append(at)

    def detach(self, attached_at: float, stopped_at: float, delivered: bool) -> float:
        """A recording is over; the time it alone covered, lost if it did not deliver.

        Recordings end in the order they attached, so the spans of those that delivered
        are summed without counting an overlap twice.
        """
        if attached_at in self.attached:
            self.attached.remove(attached_at)
        alone = max(0.0, stopped_at - max(attached_at, self.covered_until))
        if delivered:
            self.covered += alone
            self.covered_until = max(self.covered_until, stopped_at)
        return alone

    def stop(self, now: float) -> None:
        if self.run_since is not None:
            self.run_total += now - self.run_since
            self.run_since = None

    def fraction(self, now: float) -> float:
        ran = self.run_total + (now - self.run_since if self.run_since is not None else 0.0)
        covered = self.covered - self.failed
        if self.attached:  # sampling now: counted as covered unless it is lost
            covered += max(0.0, now - max(self.attached[0], self.covered_until))
        return min(1.0, max(0.0, covered) / ran) if ran > 0 else 0.0
