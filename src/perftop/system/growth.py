"""Each process's memory over the last hour, and what its trend says: GROWTH, leak suspects,
and when a process would run out of memory.

`GrowthModel` is fed every live tick's process table (`feed`) and keeps, per process, keyed by
(PID, start time) so that a reused PID starts afresh, its RSS down-sampled into two tiers of
bucket means: one point every `STEP_S` seconds for the last 10 minutes, one every
`COARSE_STEP_S` for the last hour. A bucket's mean, not its last reading, so a process that
allocates and frees faster than a bucket averages out instead of aliasing into a slow wave.
Times are implicit (a point's bucket number is its place in the array) and values are KiB in
an `array("I")` (0 = no reading in that bucket), so a process costs 4 bytes a point.

Measured (tests/unit/test_growth.py `test_memory_stays_small`, tracemalloc, an hour of
every process alive): ~1.5 KiB a process whose RSS moves every bucket and ~0.6 KiB an idle
one (points that are all the same are kept as a count, no array), so 0.3-0.75 MiB at 500
processes and 2.9-7.5 MiB at 5,000. Kernel threads (no RSS) have no history at all. Feeding
a tick costs ~0.2-0.3 µs a process; a fit (integer sums over at most 120 points) ~3 µs, done
at most once per process per bucket, and only when asked for.

GROWTH and the leak-suspect rule are `trend.py`'s: this module keeps the points it reads.

Replayed ticks (a paused moment, a recording, a snapshot's window) feed a model of their own,
`ReplayGrowth`, from the ticks kept, so a past moment shows what was known then.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, NamedTuple

from perftop.system.samples import ProcessRow, ProcessSnapshot
from perftop.system.trend import Exhaustion, Growth, judge, time_to_exhaustion

if TYPE_CHECKING:
    from perftop.system.memprobe import MemoryProbe
    from perftop.system.timeline import TickSource


STEP_S = 5  # seconds a fine point covers
FINE_POINTS = 120  # 10 minutes of fine points
COARSE_STEP_S = 60
COARSE_POINTS = 60  # an hour of coarse points
_PER_COARSE = COARSE_STEP_S // STEP_S
DEFAULT_WINDOW_S = 300.0
MIN_WINDOW_S, MAX_WINDOW_S = 60.0, 3600.0
# A PID whose start time moved by more than this is another process (boot time rounding).
_START_TOLERANCE_S = 1.0

PROBE_EVERY_S = 30.0  # smaps_rollup and the cgroup, for suspects only
WARN_WITHIN_S = 3600.0  # the dashboard warns of a suspect that runs out within this


class Forecast(NamedTuple):
    """A leak suspect that would run out of memory soon: what the dashboard warns of."""

    pid: int
    start_time: float
    growth: Growth
    exhaustion: Exhaustion


def parse_window(text: str | float) -> float:
    """`"5m"`, `"90s"`, `"1h"` or a number of seconds, within MIN..MAX_WINDOW_S; ValueError."""
    if isinstance(text, bool):
        raise ValueError(f'expected a duration such as "5m", got {text!r}')
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        raw = text.strip().lower()
        scale = {"s": 1.0, "m": 60.0, "h": 3600.0}.get(raw[-1:])
        number = raw[:-1] if scale is not None else raw
        try:
            seconds = float(number) * (scale or 1.0)
        except ValueError:
            raise ValueError(f'expected a duration such as "5m" or "90s", got {text!r}') from None
    if not MIN_WINDOW_S <= seconds <= MAX_WINDOW_S:
        raise ValueError(f"{text!r} out of range: 1m to 60m")
    return seconds


def window_label(seconds: float) -> str:
    """`5m`, `90s`, `1h`: the window as the config writes it."""
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


_EMPTY = array("I")  # shared by every tier holding no array of its own: never appended to


class _Tier:
    """Bucket means of one resolution. The closed points are bucket `first` onwards: `runs`
    copies of `flat` while they are all the same (an idle process: no array at all), else
    `values`. `open` is the bucket being filled (`total` over `count` readings); it closes
    when a reading of a later bucket comes."""

    __slots__ = ("count", "first", "flat", "open", "runs", "total", "values")

    def __init__(self, bucket: int, kib: int) -> None:
        self.first = bucket
        self.values = _EMPTY
        self.flat = self.runs = 0
        self.open = bucket
        self.total = kib
        self.count = 1

    def add(self, bucket: int, kib: int, cap: int) -> int | None:
        """Add a reading; the mean of the bucket this closes, if it closes one."""
        if bucket <= self.open:  # the same bucket (or a clock stepped back): average in
            self.total += kib
            self.count += 1
            return None
        mean = max(round(self.total / self.count), 1)
        if self.values is _EMPTY and (not self.runs or mean == self.flat):
            self.flat = mean  # (still) every point the same
            self.runs += 1
        else:
            self._own().append(mean)
        gap = bucket - self.open - 1
        if gap >= cap:
            self.values, self.runs, self.first = _EMPTY, 0, bucket
        elif gap:
            self._own().extend(array("I", bytes(4 * gap)))
        self._trim(cap)
        self.open, self.total, self.count = bucket, kib, 1
        return mean

    def _own(self) -> array[int]:
        """The points as an array of this tier's own, to append to."""
        if self.values is _EMPTY:
            self.values = array("I", [self.flat]) * self.runs if self.runs else array("I")
            self.runs = 0
        return self.values

    def _trim(self, cap: int) -> None:
        if self.runs > cap:
            self.first += self.runs - cap
            self.runs = cap
            return
        values = self.values
        excess = len(values) - cap
        if excess <= cap // 8:  # trimmed in steps: at most 1.125 cap points are kept
            return
        del values[:excess]
        self.first += excess
        if values[0] and values.count(values[0]) == len(values):  # idle again: no array
            self.flat, self.runs, self.values = values[0], len(values), _EMPTY

    def points(self) -> array[int]:
        """Every closed point, oldest first (a copy while they are a run)."""
        return array("I", [self.flat]) * self.runs if self.runs else self.values

    def last(self, cap: int) -> array[int]:
        """The newest `cap` closed points."""
        return self.points()[-cap:]

    def end(self) -> int:
        """The bucket after the last closed one."""
        return self.first + self.runs + len(self.values)


class _Track:
    __slots__ = ("asked", "coarse", "fine", "first_probe", "fit", "fit_at", "probe", "start_time")

    def __init__(self, start_time: float, bucket: int, kib: int) -> None:
        self.start_time = start_time
        self.fine = _Tier(bucket, kib)
        self.coarse: _Tier | None = None
        self.fit: Growth | None = None
        self.fit_at = -1  # (fine end, generation) the fit was made at, packed: see _fit
        self.probe: tuple[float, MemoryProbe] | None = None  # newest, and when
        self.first_probe: tuple[float, MemoryProbe] | None = None
        self.asked = float("-inf")  # when a probe was last asked for

    def close(self, bucket: int, kib: int) -> None:
        closed = self.fine.open
        mean = self.fine.add(bucket, kib, FINE_POINTS)
        if mean is None:
            return
        coarse_bucket = closed // _PER_COARSE
        if self.coarse is None:
            self.coarse = _Tier(coarse_bucket, mean)
        else:
            self.coarse.add(coarse_bucket, mean, COARSE_POINTS)


class GrowthModel:
    """Every process's memory history and trend; fed once per live tick, on one thread."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S) -> None:
        self._tracks: dict[int, _Track] = {}
        self._window_s = window_s
        self._generation = 0  # bumped when the window changes: every fit is stale
        self.now: float | None = None  # the newest tick's timestamp
        self.available_bytes: int | None = None  # the machine's, at the newest tick
        # Until a fit can move: the next bucket (STEP_S), or another window.
        self._suspects: list[tuple[int, float, Growth]] | None = None
        self._fed_bucket = -1

    @property
    def window_s(self) -> float:
        return self._window_s

    @window_s.setter
    def window_s(self, seconds: float) -> None:
        if seconds != self._window_s:
            self._window_s = seconds
            self._generation += 1
            self._suspects = None

    def __len__(self) -> int:
        return len(self._tracks)

    def feed(self, snapshot: ProcessSnapshot, available_bytes: int | None = None) -> None:
        """Take one tick: each process's RSS at `snapshot.timestamp`."""
        t = snapshot.timestamp
        self.now = t
        if available_bytes is not None:
            self.available_bytes = available_bytes
        bucket = int(t // STEP_S)
        if bucket != self._fed_bucket:
            # A fine point closes for every process: any fit may move. Within a bucket none
            # does, so the suspects stand, less the processes gone or replaced below.
            self._fed_bucket = bucket
            self._suspects = None
        tracks = self._tracks
        rows = snapshot.rows
        for pid, row in rows.items():
            kib = row.rss_bytes >> 10
            if kib <= 0:
                continue  # a kernel thread or a zombie: nothing to follow
            track = tracks.get(pid)
            if track is None or abs(track.start_time - row.start_time) > _START_TOLERANCE_S:
                tracks[pid] = _Track(row.start_time, bucket, kib)
                continue
            fine = track.fine
            if bucket <= fine.open:  # most ticks: inlined, this runs for every process
                fine.total += kib
                fine.count += 1
            else:
                track.close(bucket, kib)
        for pid in tracks.keys() - rows.keys():
            del tracks[pid]
        if self._suspects:
            self._suspects = [
                s
                for s in self._suspects
                if (k := tracks.get(s[0])) is not None and k.start_time == s[1]
            ]

    def _track(self, pid: int, start_time: float) -> _Track | None:
        track = self._tracks.get(pid)
        if track is None or abs(track.start_time - start_time) > _START_TOLERANCE_S:
            return None
        return track

    def _fit(self, track: _Track) -> Growth | None:
        # One int, not a tuple: one is kept per process. The window's generation in the low bits.
        at = track.fine.end() << 16 | (self._generation & 0xFFFF)
        if track.fit_at == at:
            return track.fit
        window = self._window_s
        if window <= FINE_POINTS * STEP_S:
            values = track.fine.last(FINE_POINTS)
            track.fit = judge(values, STEP_S, window, values)
        elif track.coarse is not None:
            values = track.coarse.last(COARSE_POINTS)
            track.fit = judge(values, COARSE_STEP_S, window, values)
        else:
            track.fit = None
        track.fit_at = at
        return track.fit

    def growth(self, pid: int, start_time: float) -> Growth | None:
        """The trend of one process over the window; None without enough history."""
        track = self._track(pid, start_time)
        return None if track is None else self._fit(track)

    def lookup(self, row: ProcessRow) -> Growth | None:
        """`growth` of a table row: what the view model asks for each row."""
        track = self._tracks.get(row.pid)
        if track is None or abs(track.start_time - row.start_time) > _START_TOLERANCE_S:
            return None
        return self._fit(track)

    def series(self, pid: int, start_time: float, slots: int) -> tuple[list[int], float]:
        """The process's RSS (bytes) over the history kept as `slots` evenly spaced values,
        oldest first (fine points where they reach, coarse before), and the span in seconds.
        A slot with no reading repeats the one before it."""
        track = self._track(pid, start_time)
        if track is None or slots <= 0:
            return [], 0.0
        fine = track.fine
        points: list[tuple[float, int]] = []
        fine_start = fine.first * STEP_S
        if track.coarse is not None:
            c = track.coarse
            for i, v in enumerate(c.points()):
                begins = (c.first + i) * COARSE_STEP_S
                if v and begins + COARSE_STEP_S <= fine_start:
                    points.append((begins + COARSE_STEP_S / 2, v))
        points += [
            ((fine.first + i) * STEP_S + STEP_S / 2, v) for i, v in enumerate(fine.points()) if v
        ]
        points.append((fine.open * STEP_S + STEP_S / 2, round(fine.total / fine.count)))
        start, end = points[0][0], points[-1][0]
        span = end - start
        if len(points) == 1 or span <= 0:
            return [points[-1][1] * 1024], 0.0
        n = min(slots, len(points))
        out: list[int] = []
        j = 0
        for k in range(n):
            t = start + span * k / max(n - 1, 1)
            while j + 1 < len(points) and points[j + 1][0] <= t:
                j += 1
            out.append(points[j][1] * 1024)
        return out, span

    def suspects(self) -> list[tuple[int, float, Growth]]:
        """(pid, start time, growth) of every leak suspect, fastest growing first."""
        if self._suspects is not None:
            return self._suspects
        found = []
        for pid, track in self._tracks.items():
            fit = self._fit(track)
            if fit is not None and fit.suspect:
                found.append((pid, track.start_time, fit))
        found.sort(key=lambda s: -s[2].bytes_per_min)
        self._suspects = found
        return found

    def due_probes(self) -> list[tuple[int, float]]:
        """Suspects whose memory kinds and cgroup were last asked for over PROBE_EVERY_S ago;
        asking marks them, so a slow read is not asked for again every tick."""
        now = self.now
        if now is None:
            return []
        due = []
        for pid, start, _growth in self.suspects():
            track = self._tracks[pid]
            if now - track.asked >= PROBE_EVERY_S:
                track.asked = now
                due.append((pid, start))
        return due

    def set_probe(self, pid: int, start_time: float, probe: MemoryProbe) -> None:
        """What a probe read (off the UI thread) for a suspect, as of the newest tick."""
        track = self._track(pid, start_time)
        if track is None or self.now is None:
            return
        track.probe = (self.now, probe)
        if track.first_probe is None:
            track.first_probe = track.probe

    def probes(
        self, pid: int, start_time: float
    ) -> tuple[tuple[float, MemoryProbe] | None, tuple[float, MemoryProbe] | None]:
        """(first, newest) probe of a suspect and when each was read; (None, None) if none."""
        track = self._track(pid, start_time)
        if track is None:
            return None, None
        return track.first_probe, track.probe

    def exhaustion(self, pid: int, start_time: float, growth: Growth) -> Exhaustion | None:
        """When the process runs out at `growth`, against its cgroup (as last probed) or the
        machine's available memory at the newest tick."""
        _first, probe = self.probes(pid, start_time)
        limit = usage = None
        name = None
        since = 0.0
        if probe is not None and probe[1].cgroup is not None and self.now is not None:
            cg = probe[1].cgroup
            limit, usage, name = cg.limit_bytes, cg.usage_bytes, cg.path
            since = self.now - probe[0]
        return time_to_exhaustion(
            growth.bytes_per_min, self.available_bytes, limit, usage, name, since
        )

    def forecasts(self, within_s: float = WARN_WITHIN_S) -> list[Forecast]:
        """Leak suspects that run out of memory within `within_s`, soonest first."""
        out = []
        for pid, start, growth in self.suspects():
            ex = self.exhaustion(pid, start, growth)
            if ex is not None and ex.seconds <= within_s:
                out.append(Forecast(pid, start, growth, ex))
        out.sort(key=lambda f: f.exhaustion.seconds)
        return out


class ReplayGrowth:
    """A `GrowthModel` as of a past tick, fed from the ticks kept (the app's Timeline, a
    recording): the first tick of each bucket from `window` before the moment, then onwards as
    the moment moves forward, so playing a replay decodes at most one tick a step. Moving back
    starts afresh (about 60 ticks decoded for a 5-minute window). The same ticks stand for a
    bucket whichever way the moment was reached, so stepping and jumping agree; a bucket's
    first tick rather than the mean of all its ticks, as live, so a replayed figure may differ
    from the live one by the noise within a bucket."""

    def __init__(self, ticks: TickSource, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.ticks = ticks
        self.window_s = window_s
        self._model: GrowthModel | None = None
        self._fed = -1  # tick number (dropped + index) fed last
        self._bucket = -1
        self._window = window_s

    def at(self, index: int) -> GrowthModel:
        """The model knowing every tick up to `index`, and none after."""
        ticks = self.ticks
        number = ticks.dropped + index
        t = ticks.timestamp(index)
        model = self._model
        horizon = self.window_s + 2 * STEP_S
        if self.window_s > FINE_POINTS * STEP_S:
            horizon += COARSE_STEP_S
        stale = (
            model is None
            or number < self._fed
            or self._window != self.window_s
            or self._fed < ticks.dropped
            or model.now is None
            or t - model.now > horizon
        )
        if stale:
            model = self._model = GrowthModel(self.window_s)
            self._window = self.window_s
            start = ticks.index_at(t - horizon)
            self._bucket = -1
        else:
            start = self._fed - ticks.dropped + 1
        assert model is not None
        for i in range(start, index + 1):
            bucket = int(ticks.timestamp(i) // STEP_S)
            if bucket == self._bucket:
                continue  # the first tick of each bucket stands for it, however it is reached
            self._bucket = bucket
            model.feed(ticks.processes_at(i))  # no available memory: no forecast in a replay
        model.now = t
        self._fed = number
        return model
