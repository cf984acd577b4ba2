"""Keeping a sorted process view from shuffling on noise between ticks.

Every row moved is a resent screen line: on an idle box re-sorting on jitter is most of the
table's bytes to the terminal, so rows only trade places on a change bigger than a margin.
Pure, like the view model it follows (`processes.build_view`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from perftop.system.processes import SortKey, ViewRow
from perftop.system.samples import ProcessRow

# How far a measure may wander before its row moves past its neighbours (see StableOrder), as
# (absolute, relative to the larger of the two values). A 1 s refresh counts CPU in clock ticks
# of 1 point each, so a process flickering between 0 and 1 % is noise, not news.
HYSTERESIS: dict[SortKey, tuple[float, float]] = {
    SortKey.CPU: (1.0, 0.10),
    SortKey.MEM: (0.05, 0.02),
    SortKey.RSS: (256 * 1024, 0.02),
    SortKey.READ: (4096.0, 0.10),
    SortKey.WRITE: (4096.0, 0.10),
}
_MEASURES: dict[SortKey, Callable[[ProcessRow], float | None]] = {
    SortKey.CPU: lambda r: r.cpu_percent,
    SortKey.MEM: lambda r: r.mem_percent,
    SortKey.RSS: lambda r: float(r.rss_bytes),
    SortKey.READ: lambda r: r.read_bytes_per_s,
    SortKey.WRITE: lambda r: r.write_bytes_per_s,
}


def within_noise(key: SortKey, a: float, b: float) -> bool:
    """Whether two readings of `key` are too close for their rows to trade places."""
    absolute, relative = HYSTERESIS.get(key, (0.0, 0.0))
    return abs(a - b) <= absolute + relative * max(abs(a), abs(b))


_NONE = float("-inf")  # where an unreadable value (I/O of another user's process) sorts: last


class StableOrder:
    """Keeps a sorted view's order across ticks while its values only jitter.

    Each row is ordered by a held value: its reading when it last moved by more than the key's
    `HYSTERESIS`; rows whose held values tie keep their previous relative order, new rows go
    after the rows they tie with. So noise moves nothing, a real change re-sorts at once, and
    no two rows are shown further out of order than two margins. Picking another key or
    direction, going back in time (rewinding: the moment looked at is sorted exactly), a key
    without a margin (text, PID, start) and the tree view (its own order) pass
    `build_view`'s order through untouched. Every row moved is a resent screen line: on
    an idle box this is most of the table's bytes to the terminal.
    """

    def __init__(self) -> None:
        self._by: tuple[SortKey, bool] | None = None
        self._moment = float("-inf")
        self._held: dict[int, float | None] = {}  # pid -> value it is ordered by
        self._rank: dict[int, int] = {}  # pid -> position last time

    def apply(
        self, rows: list[ViewRow], key: SortKey, reverse: bool, moment: float
    ) -> list[ViewRow]:
        """`rows` of `moment` (a snapshot's timestamp) as `build_view` sorted them, reordered
        as little as the noise allows."""
        measure = _MEASURES.get(key)
        fresh = (
            self._by != (key, reverse)
            or moment < self._moment
            or measure is None
            or any(v.depth for v in rows)
        )
        self._by, self._moment = (key, reverse), moment
        if fresh or measure is None:
            self._held = {v.row.pid: measure(v.row) for v in rows} if measure else {}
            self._rank = {v.row.pid: i for i, v in enumerate(rows)}
            return rows
        # within_noise inlined: this runs for every row every tick, on the UI thread.
        absolute, relative = HYSTERESIS[key]
        old_held, old_rank = self._held.get, self._rank.get
        held: dict[int, float | None] = {}
        late = len(self._rank)
        keyed: list[tuple[int, float, ViewRow]] = []
        for i, v in enumerate(rows):
            pid = v.row.pid
            value = measure(v.row)
            before = old_held(pid)
            if (
                value is not None
                and before is not None
                and abs(value - before) <= absolute + relative * max(abs(value), abs(before))
            ):
                value = before
            held[pid] = value
            keyed.append((old_rank(pid, late + i), _NONE if value is None else value, v))
        keyed.sort(key=operator.itemgetter(0))
        keyed.sort(key=operator.itemgetter(1), reverse=reverse)
        out = [v for _, _, v in keyed]
        self._held = held
        self._rank = {v.row.pid: i for i, v in enumerate(out)}
        return out
