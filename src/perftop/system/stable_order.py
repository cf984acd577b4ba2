"""Keeping a sorted process view from shuffling where what is shown does not change.

Every row moved is a resent screen line, so rows whose figures read the same should not trade
places between ticks. But a row must never sit out of order: a column that reads 4.0, 0.0,
0.0, 1.0 under `CPU%▼` looks like a broken sort. So the view is sorted on the values *as the
table shows them* (the caller says how a row's value reads), exactly, and only rows whose shown
values tie keep their previous relative order. On an idle box most rows tie at 0.0, and those
stay put. Pure, like the view model it follows (`processes.build_view`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from perftop.system.processes import SortKey, ViewRow

# A row's sort value as the table shows it (CPU% to one decimal, RSS as `125M` reads), None
# where it shows as unknown. None: the key has no such value; build_view's order stands.
Shown = Callable[[ViewRow], float | None]

_NONE = float("-inf")  # where an unreadable value (I/O of another user's process) sorts: last


class StableOrder:
    """Sorts a view on its shown values, ties kept in their order of the tick before.

    New rows go after the rows they tie with. Picking another key or direction, a key without
    a shown value (text, PID, start) and the tree view (its own order) pass `build_view`'s
    order through untouched. Whatever moment is shown (live, or stepped to while paused) is
    sorted exactly as it reads.
    """

    def __init__(self) -> None:
        self._by: tuple[SortKey, bool] | None = None
        self._rank: dict[int, int] = {}  # pid -> position last time

    def apply(
        self, rows: list[ViewRow], key: SortKey, reverse: bool, shown: Shown | None
    ) -> list[ViewRow]:
        """`rows` as `build_view` sorted them, reordered so that ties in `shown` keep the
        previous order."""
        fresh = self._by != (key, reverse) or shown is None or any(v.depth for v in rows)
        self._by = (key, reverse)
        if fresh or shown is None:
            self._rank = {v.row.pid: i for i, v in enumerate(rows)}
            return rows
        old_rank = self._rank.get
        late = len(self._rank)
        keyed: list[tuple[int, float, ViewRow]] = []
        for i, v in enumerate(rows):
            value = shown(v)
            keyed.append((old_rank(v.row.pid, late + i), _NONE if value is None else value, v))
        keyed.sort(key=operator.itemgetter(0))
        keyed.sort(key=operator.itemgetter(1), reverse=reverse)  # stable: ties keep rank order
        out = [v for _, _, v in keyed]
        self._rank = {v.row.pid: i for i, v in enumerate(out)}
        return out
