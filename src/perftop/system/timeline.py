"""Every tick of the session in bounded memory, and the cursor that rewinds through it.

`Timeline` keeps each tick (a SystemSample and its ProcessSnapshot) as one compressed,
delta-encoded blob (see `codec`), grouped behind a keyframe every `keyframe_every` ticks.
When it holds more than `capacity` ticks it drops its oldest group whole, and with it the
process identities no later group uses, so memory stays flat however long perftop runs.
At least the newest `capacity` ticks are always kept (up to `capacity + keyframe_every - 1`).

Ticks are addressed by index, 0 = the oldest kept. Indices shift when a group is dropped;
`dropped` counts the ticks dropped so far, so `dropped + index` names a tick for good
(`Cursor` relies on it). A recording being replayed offers the same reading API
(`TickSource`), so the cursor and the screens work on either.

Timestamps are searched as if they never went backwards (a clock stepped back by NTP
does not break `index_at`); `timestamp(i)` still returns what the sample said.
"""

from __future__ import annotations

import math
import time
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, Protocol

from perftop.system import codec
from perftop.system.samples import ProcessSnapshot, SystemSample

DEFAULT_CAPACITY = 3600  # an hour at one tick a second
DEFAULT_KEYFRAME_EVERY = 60
_KEYFRAME_CACHE = 4  # decoded keyframes kept: stepping back and forth re-decodes nothing


class TickSource(Protocol):
    """What the cursor and the replay screens read: a `Timeline` or a recording."""

    @property
    def dropped(self) -> int: ...

    def __len__(self) -> int: ...

    def timestamp(self, index: int) -> float: ...

    def index_at(self, t: float) -> int: ...

    def sample_at(self, index: int) -> SystemSample: ...

    def processes_at(self, index: int) -> ProcessSnapshot: ...


def check_index(index: int, n: int) -> int:
    """A tick index as Python reads it (negative from the end), or IndexError."""
    if index < 0:
        index += n
    if not 0 <= index < n:
        raise IndexError(f"tick {index} out of range (0..{n - 1})")
    return index


def index_at_or_before(keys: Sequence[float], t: float, what: str) -> int:
    """The index of the last key at or before `t` in sorted `keys`, clamped to 0."""
    if not keys:
        raise IndexError(f"empty {what}")
    return max(bisect_right(keys, t) - 1, 0)


class Timeline:
    """The last `capacity` ticks, compressed; see the module docstring for the bounds.

    With ~480 processes (bench/bench_history.py) `append` takes ~0.25 ms when most are idle
    and ~1.7 ms when every one changes every tick; `processes_at` ~0.2-0.6 ms, `sample_at`
    under 0.4 ms. Both decode afresh, so the caller owns (and may sort) what they return.
    Not thread-safe: append and read from one thread, e.g. the UI's, on the sampler's message.
    """

    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, keyframe_every: int = DEFAULT_KEYFRAME_EVERY
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._encoder = codec.TickEncoder(max(1, min(keyframe_every, capacity)))
        self._blobs: list[bytes] = []
        self._times = array("d")  # as sampled
        self._keys = array("d")  # never decreasing: what index_at searches
        self._groups: list[int] = []  # index of each kept keyframe, ascending
        self._dropped = 0
        self._identities: dict[int, codec.Statics] = {}
        self._last_group: dict[int, int] = {}  # identity → the newest group using it (tick no.)
        self._keyframes: dict[int, codec.Columns] = {}  # tick no. → decoded keyframe

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def keyframe_every(self) -> int:
        return self._encoder.keyframe_every

    @property
    def dropped(self) -> int:
        """How many ticks were dropped from the front since the timeline was created."""
        return self._dropped

    def __len__(self) -> int:
        return len(self._blobs)

    @property
    def first(self) -> float | None:
        """Timestamp of the oldest kept tick; None while empty."""
        return self._times[0] if self._times else None

    @property
    def last(self) -> float | None:
        """Timestamp of the newest tick; None while empty."""
        return self._times[-1] if self._times else None

    @property
    def identity_count(self) -> int:
        """Process identities held: bounded by the processes alive in the kept groups."""
        return len(self._identities)

    def nbytes(self) -> int:
        """Bytes of compressed ticks held (the bulk of the timeline's memory)."""
        return sum(map(len, self._blobs))

    def append(self, sample: SystemSample, snapshot: ProcessSnapshot) -> None:
        """Add the newest tick (timestamp = `sample.timestamp`)."""
        tick = self._encoder.encode(sample, snapshot)
        if tick.keyframe:
            self._groups.append(len(self._blobs))
        group = self._dropped + self._groups[-1]
        self._identities.update(tick.new_identities)
        for ident in tick.referenced:
            self._last_group[ident] = group
        self._blobs.append(codec.pack(tick.data))
        self._times.append(tick.timestamp)
        self._keys.append(max(tick.timestamp, self._keys[-1]) if self._keys else tick.timestamp)
        self._evict()

    def _evict(self) -> None:
        """Drop whole oldest groups while the rest still holds `capacity` ticks."""
        groups = self._groups
        cut = 0
        while len(groups) > 1 and len(self._blobs) - groups[1] >= self._capacity:
            groups.pop(0)
            cut = groups[0]
        if not cut:
            return
        del self._blobs[:cut], self._times[:cut], self._keys[:cut]
        self._groups = [g - cut for g in groups]
        self._dropped += cut
        # Identities used by no kept group go with the dropped ones.
        oldest = self._dropped
        stale = [i for i, g in self._last_group.items() if g < oldest]
        for ident in stale:
            del self._last_group[ident], self._identities[ident]
        for number in [n for n in self._keyframes if n < oldest]:
            del self._keyframes[number]

    def _check(self, index: int) -> int:
        return check_index(index, len(self._blobs))

    def timestamp(self, index: int) -> float:
        return self._times[self._check(index)]

    def timestamps(self) -> list[float]:
        """Every kept tick's timestamp, oldest first (a copy)."""
        return self._times.tolist()

    def index_at(self, t: float) -> int:
        """The tick at or before `t`, clamped to the kept range (0 before the first)."""
        return index_at_or_before(self._keys, t, "timeline")

    def sample_at(self, index: int) -> SystemSample:
        return codec.tick_system(codec.unpack(self._blobs[self._check(index)]))

    def processes_at(self, index: int) -> ProcessSnapshot:
        """The process table as it was at tick `index` (every process, unsorted)."""
        index = self._check(index)
        data = codec.unpack(self._blobs[index])
        key = self._groups[bisect_right(self._groups, index) - 1]
        base = None if key == index else self._keyframe(key)
        return codec.tick_processes(data, base, self._identities)

    # --- a window to save, and one read back ---------------------------------------------

    def window(self, last: int, behind: int = 0) -> Timeline:
        """A copy of the ticks up to `behind` before the newest, about the `last` of them,
        starting at a keyframe so it decodes on its own (up to `keyframe_every - 1` more).
        Cheap (it shares the immutable compressed ticks), so the UI thread can take it and a
        writer thread encode it. Meant for reading and saving, not for appending."""
        end = len(self._blobs) - max(behind, 0)
        copy = Timeline(max(last, 1), self.keyframe_every)
        if end <= 0:
            return copy
        start_at = max(end - max(last, 1), 0)
        starts = [g for g in self._groups if g <= start_at] or self._groups[:1]
        start = starts[-1]
        copy._blobs = self._blobs[start:end]
        copy._times = self._times[start:end]
        copy._keys = self._keys[start:end]
        copy._groups = [g - start for g in self._groups if start <= g < end]
        copy._identities = dict(self._identities)
        copy._capacity = max(len(copy._blobs), 1)
        return copy

    def to_plain(self) -> dict[str, Any]:
        """Every tick as plain data (JSON-able) with the identities they use, for a file."""
        ticks = [codec.unpack(blob) for blob in self._blobs]
        used: set[int] = set()
        for tick in ticks:
            frame = tick[3]
            used.update(frame[1] if frame[0] == codec.KEYFRAME else frame[3][0])
        identities = [[i, *self._identities[i]] for i in sorted(used) if i in self._identities]
        return {"keyframes": list(self._groups), "identities": identities, "ticks": ticks}

    @classmethod
    def from_plain(cls, doc: object, max_ticks: int) -> Timeline:
        """The inverse of `to_plain`, checked through: every tick is decoded once, so a
        damaged one fails here (ValueError), not later in a replay."""
        if not isinstance(doc, dict):
            raise ValueError("timeline: not an object")
        ticks, groups, idents = doc.get("ticks"), doc.get("keyframes"), doc.get("identities")
        if not isinstance(ticks, list) or not isinstance(groups, list):
            raise ValueError("timeline: ticks or keyframes missing")
        if not isinstance(idents, list):
            raise ValueError("timeline: identities missing")
        if len(ticks) > max_ticks:
            raise ValueError(f"timeline: {len(ticks)} ticks, more than {max_ticks}")
        if ticks and (not groups or groups[0] != 0):
            raise ValueError("timeline: the first tick is not a keyframe")
        if any(type(g) is not int for g in groups) or groups != sorted(set(groups)):
            raise ValueError("timeline: keyframes out of order")
        if groups and groups[-1] >= len(ticks):
            raise ValueError("timeline: a keyframe past the last tick")
        timeline = cls(max(len(ticks), 1), max(len(ticks), 1))
        for entry in idents:
            if not isinstance(entry, list) or not entry or type(entry[0]) is not int:
                raise ValueError("timeline: bad identity")
            timeline._identities[entry[0]] = codec.decode_statics(entry[1:])
        timeline._groups = list(groups)
        for tick in ticks:
            timeline._blobs.append(codec.pack(tick))
            stamp = codec.tick_system(tick).timestamp
            if not math.isfinite(stamp):
                raise ValueError("timeline: a tick's time is not a number")
            timeline._times.append(stamp)
            last = timeline._keys[-1] if timeline._keys else stamp
            timeline._keys.append(max(stamp, last))
        for index in range(len(ticks)):
            timeline.processes_at(index)  # decodes, or raises ValueError
        return timeline

    def _keyframe(self, index: int) -> codec.Columns:
        number = self._dropped + index
        cols = self._keyframes.get(number)
        if cols is None:
            cols = codec.tick_columns(codec.unpack(self._blobs[index]), None)
            if len(self._keyframes) >= _KEYFRAME_CACHE:
                del self._keyframes[next(iter(self._keyframes))]
            self._keyframes[number] = cols
        return cols


class Cursor:
    """Where the screens look: live (None), or paused at one tick of a `TickSource`.

    The paused position is kept as a tick number (`dropped + index`), so it stays on the
    same moment while new ticks arrive; if that moment is dropped it clamps to the oldest
    tick kept. Every move from live starts at the newest tick. Moving never resumes live
    on its own: `live()` does.
    """

    def __init__(self, ticks: TickSource) -> None:
        self._ticks = ticks
        self._number: int | None = None

    @property
    def is_live(self) -> bool:
        return self._number is None

    @property
    def index(self) -> int | None:
        """The index of the paused tick in the source; None when live (or nothing yet)."""
        n = len(self._ticks)
        if self._number is None or n == 0:
            return None
        return min(max(self._number - self._ticks.dropped, 0), n - 1)

    @property
    def behind(self) -> int | None:
        """Ticks between the paused one and the newest (None when live): where the graphs,
        which take one value a tick too, draw the cursor, counted from their right edge."""
        index = self.index
        return None if index is None else len(self._ticks) - 1 - index

    @property
    def time(self) -> float | None:
        """The paused tick's timestamp; None when live."""
        index = self.index
        return None if index is None else self._ticks.timestamp(index)

    def _base(self) -> int | None:
        index = self.index
        if index is None and len(self._ticks):
            return len(self._ticks) - 1
        return index

    def _go(self, index: int) -> None:
        n = len(self._ticks)
        self._number = self._ticks.dropped + min(max(index, 0), n - 1)

    def pause(self) -> None:
        """Freeze at the newest tick (no-op when already paused or nothing recorded)."""
        if self._number is None and len(self._ticks):
            self._go(len(self._ticks) - 1)

    def live(self) -> None:
        self._number = None

    def step(self, n: int) -> None:
        """Move `n` ticks (negative: back in time), clamped to the kept range."""
        base = self._base()
        if base is not None:
            self._go(base + n)

    def jump_seconds(self, seconds: float) -> None:
        """Move by wall-clock time (e.g. -60 for a minute back); always moves at least one
        tick if there is one that way, even across a gap in the samples."""
        base = self._base()
        if base is None or not seconds:
            return
        ticks = self._ticks
        target = ticks.index_at(ticks.timestamp(base) + seconds)
        if seconds > 0 and target <= base:
            target = base + 1
        elif seconds < 0 and target >= base:
            target = base - 1
        self._go(target)

    def jump_to(self, t: float) -> None:
        """Pause at the tick at or before time `t` (clamped to the kept range)."""
        if len(self._ticks):
            self._go(self._ticks.index_at(t))

    def label(self) -> str:
        """ "live", or "paused at HH:MM:SS" in local time."""
        t = self.time
        if t is None:
            return "live"
        return "paused at " + time.strftime("%H:%M:%S", time.localtime(t))


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_moment(text: str, newest: float) -> float:
    """The time a person typed to jump to, as a timestamp; ValueError says what is accepted.

    `14:03` or `14:03:27` is local time on the day of the newest tick (the day before if
    that is later than the newest tick: just after midnight, 23:59 means last night);
    `-90`, `-90s`, `-5m`, `-1h` or `5m ago` count back from the newest tick.
    """
    raw = text.strip().lower()
    if not raw:
        raise ValueError("type a time (14:03:27) or how far back (-5m)")
    if ":" in raw:
        parts = raw.split(":")
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) not in (2, 3) or not (
            0 <= numbers[0] < 24 and all(0 <= n < 60 for n in numbers[1:])
        ):
            raise ValueError(f"{text.strip()!r} is not a time of day: use HH:MM or HH:MM:SS")
        hour, minute, second = [*numbers, 0][:3]
        day = time.localtime(newest)
        moment = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, hour, minute, second, 0, 0, -1))
        return moment - 86400 if moment > newest + 1 else moment
    back = raw.removesuffix("ago").strip().removeprefix("-").strip()
    factor = _UNITS.get(back[-1:], 0.0)
    try:
        amount = float(back[:-1] if factor else back) * (factor or 1.0)
    except ValueError:
        raise ValueError(
            f"{text.strip()!r}: use a time of day (14:03:27) or how far back (-90s, -5m, -1h)"
        ) from None
    if not amount >= 0 or amount == float("inf"):
        raise ValueError(f"{text.strip()!r}: how far back must be a positive duration")
    return newest - amount
