"""A memory trend from bucketed RSS points: the fitted line, the leak-suspect rule, and the
time to exhaustion at that trend. Pure functions over plain numbers; growth.py feeds them.

GROWTH is the slope of a least-squares line through the points of the last `window_s`
seconds, per minute. A leak suspect needs all of (see `_judge`):
- enough of the window covered (90 %) with enough points: a young process is not judged;
- a good fit, R² ≥ 0.8: a sawtooth (allocate, free) or noise fits a line badly;
- growth over the window of at least 1 MiB and 0.5 % of the process's size: a page or two
  is not a leak;
- both halves of the window growing at a quarter of the whole window's rate or more: growth
  that stopped (a cache filled, then full) can fit well but is not sustained. A single step
  never fits past R² 0.75 (3f(1-f) for a step at fraction f of the window);
- no giving back: in the history kept (10 minutes, or the hour for windows past 10 minutes)
  the RSS never fell from a peak by half the window's growth or more. This is what keeps a
  slow sawtooth, whose rising edge can fill a whole window, from being flagged.
A sawtooth on a rising floor (a garbage-collected heap that leaks) fails the R² test: its
GROWTH still shows the trend, but it is not marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import mul
from typing import NamedTuple

SHOW_COVERAGE = 0.5  # GROWTH shows once half the window has history
SHOW_POINTS = 6
SUSPECT_COVERAGE = 0.9
SUSPECT_POINTS = 8
SUSPECT_R2 = 0.8
MIN_GROWTH_BYTES = 1024 * 1024
MIN_GROWTH_FRACTION = 0.005
HALF_RATE = 0.25
GIVE_BACK = 0.5


class Growth(NamedTuple):
    """A process's memory trend over the window."""

    bytes_per_min: float
    r2: float
    window_s: float
    covered_s: float  # how much of the window the points span
    suspect: bool
    reason: str  # why it is, or is not, a leak suspect: one line for the detail pane


class Exhaustion(NamedTuple):
    """When, at its trend, a process runs out of memory, and against what."""

    seconds: float
    bytes_per_min: float
    headroom_bytes: int
    limit_bytes: int | None  # the cgroup limit; None: the machine's available memory
    cgroup: str | None = None  # the cgroup whose limit it is


def fit_line(ys: Sequence[int], xs: Sequence[int] | None = None) -> tuple[float, float]:
    """Least squares through (x, y): (slope in y per x, R²). `xs` None: 0, 1, 2, ...

    Integer sums, so exact: no cancellation however large the values (RSS in KiB) are.
    R² is 0 for a flat line (nothing to explain).
    """
    n = len(ys)
    if n < 2:
        return 0.0, 0.0
    if xs is None:
        sx = n * (n - 1) // 2
        sxx = (n - 1) * n * (2 * n - 1) // 6
        sxy = sum(map(mul, range(n), ys))
    else:
        sx = sum(xs)
        sxx = sum(map(mul, xs, xs))
        sxy = sum(map(mul, xs, ys))
    sy = sum(ys)
    syy = sum(map(mul, ys, ys))
    dx = n * sxx - sx * sx
    dy = n * syy - sy * sy
    cov = n * sxy - sx * sy
    if dx <= 0:
        return 0.0, 0.0
    r2 = cov * cov / (dx * dy) if dy > 0 else 0.0
    return cov / dx, r2


def _present(values: Sequence[int]) -> tuple[list[int] | None, list[int]]:
    """The points with a reading: (their positions, or None when every one has; values)."""
    if 0 not in values:
        return None, list(values)
    xs = [i for i, v in enumerate(values) if v]
    return xs, [v for v in values if v]


def _max_give_back(values: Sequence[int]) -> int:
    """The largest fall from an earlier peak, in the values' unit (missing points skipped)."""
    peak = worst = 0
    for v in values:
        if not v:
            continue
        if v > peak:
            peak = v
        elif peak - v > worst:
            worst = peak - v
    return worst


def _slope(values: Sequence[int]) -> float | None:
    xs, ys = _present(values)
    if len(ys) < 3:
        return None
    return fit_line(ys, xs)[0]


def judge(
    values: Sequence[int], step_s: float, window_s: float, history: Sequence[int]
) -> Growth | None:
    """The trend of `values` (KiB means, one per `step_s`, newest last, 0 = none) over
    `window_s`; None until there is enough history to say anything. `history` is every
    point kept, for the give-back rule (see the module docstring)."""
    n_window = max(round(window_s / step_s), 2)
    window = values[-n_window:]
    xs, ys = _present(window)
    if len(ys) < SHOW_POINTS:
        return None
    first = xs[0] if xs is not None else 0
    last = xs[-1] if xs is not None else len(window) - 1
    covered = (last - first + 1) * step_s
    if covered < SHOW_COVERAGE * window_s:
        return None
    slope_kib, r2 = fit_line(ys, xs)
    per_min = slope_kib * 1024 * 60 / step_s
    suspect, reason = _judge(window, ys, slope_kib, r2, covered, step_s, window_s, history)
    return Growth(per_min, r2, window_s, covered, suspect, reason)


def _judge(
    window: Sequence[int],
    ys: Sequence[int],
    slope_kib: float,
    r2: float,
    covered: float,
    step_s: float,
    window_s: float,
    history: Sequence[int],
) -> tuple[bool, str]:
    if covered < SUSPECT_COVERAGE * window_s or len(ys) < SUSPECT_POINTS:
        return False, f"history covers {covered / window_s:.0%} of the window"
    if slope_kib <= 0:
        return False, "not growing"
    if r2 < SUSPECT_R2:
        return False, f"not a steady trend (R² {r2:.2f})"
    grown = slope_kib * window_s / step_s * 1024  # bytes over the window, at the fit
    mean = sum(ys) / len(ys) * 1024
    if grown < max(MIN_GROWTH_BYTES, MIN_GROWTH_FRACTION * mean):
        return False, "grows too little to matter"
    half = len(window) // 2
    early, late = _slope(window[:half]), _slope(window[half:])
    if early is None or late is None or min(early, late) < HALF_RATE * slope_kib:
        return False, "not sustained: grew in part of the window only"
    if _max_give_back(history) * 1024 >= GIVE_BACK * grown:
        return False, "gives memory back (allocates and frees)"
    return True, f"steady growth (R² {r2:.2f})"


def time_to_exhaustion(
    bytes_per_min: float,
    available_bytes: int | None,
    cgroup_limit: int | None = None,
    cgroup_usage: int | None = None,
    cgroup: str | None = None,
    since_cgroup_read_s: float = 0.0,
) -> Exhaustion | None:
    """At `bytes_per_min`, when the process runs out: against its cgroup's limit where it
    has one (headroom = limit - usage, then growing at the trend since it was read), or the
    machine's available memory, whichever comes first. None if not growing or unknown."""
    if bytes_per_min <= 0:
        return None
    choices: list[tuple[float, int | None, str | None]] = []
    if available_bytes is not None:
        choices.append((float(available_bytes), None, None))
    if cgroup_limit is not None and cgroup_usage is not None:
        headroom = cgroup_limit - cgroup_usage - bytes_per_min * since_cgroup_read_s / 60
        choices.append((headroom, cgroup_limit, cgroup))
    if not choices:
        return None
    headroom, limit, name = min(choices, key=lambda c: c[0])
    headroom = max(headroom, 0.0)
    return Exhaustion(headroom / bytes_per_min * 60, bytes_per_min, int(headroom), limit, name)
