"""The dashboard's part that watches memory grow: which growth model a drawn tick reads, the
low-rate memory probes of leak suspects, and the warning of a process about to run out.

Live, the table reads the app's `GrowthModel`, fed every tick. At a paused moment, in a
recording or in a snapshot's window it reads a `ReplayGrowth` fed from the same ticks, so a
past moment shows only what was known then; a snapshot without ticks shows no GROWTH at all
rather than a wrong one. The warning and the probes are about live processes only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.screen import Screen

from perftop.system.errors import ProcessError
from perftop.system.growth import GrowthModel, ReplayGrowth
from perftop.ui.fmt import human_bytes, printable
from perftop.ui.widgets.process_detail import ProcessDetailPane, about

if TYPE_CHECKING:
    from perftop.system.memprobe import MemoryProbe
    from perftop.system.samples import ProcessSnapshot
    from perftop.system.source import SystemSource
    from perftop.system.timeline import Cursor, TickSource


class LeakWatch:
    """Needs a `#detail` ProcessDetailPane in `screen`."""

    def __init__(self, screen: Screen[None]) -> None:
        self.screen = screen
        self._growth: GrowthModel | None = None
        self._replay: ReplayGrowth | None = None

    @property
    def growth(self) -> GrowthModel | None:
        """The live model (the app's); None where perftop keeps none."""
        return self._growth

    @growth.setter
    def growth(self, model: GrowthModel | None) -> None:
        self._growth = model
        if self.screen.is_mounted:
            self.screen.query_one("#detail", ProcessDetailPane).growth = model

    def mounted(self) -> None:
        self.screen.query_one("#detail", ProcessDetailPane).growth = self._growth

    def model_of(
        self,
        window_s: float,
        live: bool,
        cursor: Cursor | None,
        ticks: TickSource | None,
    ) -> GrowthModel | None:
        """What the table's rows read their GROWTH from, for the tick being drawn."""
        index = cursor.index if cursor is not None else None
        if index is None:
            if not live or self._growth is None:
                return None
            self._growth.window_s = window_s
            return self._growth
        if ticks is None:
            return None
        replay = self._replay
        if replay is None or replay.ticks is not ticks:
            replay = self._replay = ReplayGrowth(ticks, window_s)
        replay.window_s = window_s
        return replay.at(index)

    def warning(self, newest: ProcessSnapshot | None) -> tuple[str, ...]:
        """`2301 python3: out of memory in ~28 min (cgroup 1.0G)`, then shorter ways to
        say it for a narrow panel: the suspect to run out soonest within the hour; () when
        none would."""
        model = self._growth
        if model is None:
            return ()
        forecasts = model.forecasts()
        if not forecasts:
            return ()
        f = forecasts[0]
        row = newest.rows.get(f.pid) if newest is not None else None
        who = f"{f.pid} {printable(row.name)}" if row is not None else str(f.pid)
        ex = f.exhaustion
        when = "now" if ex.seconds <= 0 else f"in {about(ex.seconds)}"
        if ex.limit_bytes is not None:
            against = f"cgroup {human_bytes(ex.limit_bytes)}"
        else:
            against = "machine's memory"
        more = f" (+{len(forecasts) - 1} more)" if len(forecasts) > 1 else ""
        return (
            f"{who}: out of memory {when} ({against}){more}",
            f"{who}: out of memory {when}{more}",
            f"{who}: OOM {when}",
        )

    def probe_suspects(self, source: Callable[[], SystemSource] | None) -> None:
        """Read the memory kinds and cgroup of the suspects due (every 30 s each), off the
        UI thread; the model takes them back on it."""
        model = self._growth
        if model is None or source is None:
            return
        due = model.due_probes()
        if not due:
            return
        machine, app = source(), self.screen.app

        def read() -> None:
            found: list[tuple[int, float, MemoryProbe]] = []
            for pid, start in due:
                try:
                    found.append((pid, start, machine.probe_memory(pid)))
                except ProcessError:
                    continue  # exited since: its track goes with the next tick
            app.call_from_thread(_take, model, found)

        self.screen.run_worker(
            read, thread=True, exclusive=False, group="memory-probe", description="memory probe"
        )


def _take(model: GrowthModel, found: list[tuple[int, float, MemoryProbe]]) -> None:
    for pid, start, probe in found:
        model.set_probe(pid, start, probe)
