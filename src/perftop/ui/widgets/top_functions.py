"""The top-functions table beside the flame: own and total share per function, like py-spy top;
for a memory profile (counts are bytes) own and total are sizes.

One row a function (its lines together: `Profile.top_functions(by_function=True)`), or one a
line, as the screen asks; the title says which. Rows are keyed by frame id (a function's: its
first frame's), so a live refresh keeps the cursor on the same function, and the sort order
the user picked (click a column title, or `s` to cycle) survives the refresh.
"""

from __future__ import annotations

from typing import Any, Self

from rich.cells import cell_len
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey

from perftop.model.profile import FunctionStat
from perftop.ui.fmt import printable
from perftop.ui.keys import with_ids
from perftop.ui.memory_text import size_text

COLUMNS = ("own%", "total%", "own", "total", "function", "location")
SORTABLE = ("own", "total", "function")


class TopFunctions(DataTable[str]):
    BINDINGS = with_ids(
        "top",
        [Binding("s", "cycle_sort", "Sort top table")],
    )

    _quiet = False  # inside `_update_cells`: whole repaints held back

    class Picked(Message):
        """The user moved onto a function; the flame highlights its frames (`frame_ids`:
        each line of it, by function)."""

        def __init__(self, frame_id: int | None, frame_ids: tuple[int, ...] = ()) -> None:
            super().__init__()
            self.frame_id = frame_id
            self.frame_ids = frame_ids

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.sort_by = "own"
        self.stats: list[FunctionStat] = []
        self.total_samples = 0
        self.unit = ""  # "bytes" for a memory profile: own and total shown as sizes
        self.limit = 200
        self.by_line = False  # one row a line, not a function
        self._frames_of: dict[str, tuple[int, ...]] = {}  # row key -> the frames it stands for

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    def show_stats(
        self,
        stats: list[FunctionStat],
        total_samples: int,
        *,
        unit: str = "",
        by_line: bool = False,
        lines: bool = True,
    ) -> None:
        """`by_line`: a row a line; `lines`: the frames have lines to split by (the subtitle
        offers the other way)."""
        self.stats = stats
        self.total_samples = total_samples
        self.unit = unit
        self.by_line = by_line
        self._frames_of = {str(s.frame_id): s.frame_ids for s in stats}
        mode, other = ("by line", "by function") if by_line else ("by function", "by line")
        title, subtitle = f"top functions · {mode}", f"f: {other}" if lines else ""
        if (self.border_title, self.border_subtitle) != (title, subtitle):
            self.border_title, self.border_subtitle = title, subtitle
        self._fill()

    def _count(self, n: int) -> str:
        return size_text(n) if self.unit == "bytes" else str(n)

    def _ordered(self) -> list[FunctionStat]:
        if self.sort_by == "total":
            return sorted(self.stats, key=lambda s: (-s.total_samples, -s.self_samples))
        if self.sort_by == "function":
            return sorted(self.stats, key=lambda s: s.frame.name)
        return sorted(self.stats, key=lambda s: (-s.self_samples, -s.total_samples))

    def _cells(self, s: FunctionStat, total: int) -> tuple[str, ...]:
        return (
            f"{100 * s.self_samples / total:6.2f}",
            f"{100 * s.total_samples / total:6.2f}",
            self._count(s.self_samples),
            self._count(s.total_samples),
            printable(s.frame.name),
            printable(s.frame.location),
        )

    def _fill(self) -> None:
        total = max(self.total_samples, 1)
        rows = [(str(s.frame_id), self._cells(s, total)) for s in self._ordered()[: self.limit]]
        if [key for key, _ in rows] == [row.key.value for row in self.ordered_rows]:
            self._update_cells(rows)  # the same functions in the same order: the figures only
            return
        keep = self._current_key()
        with self.app.batch_update():
            self.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)
            if keep is not None and keep in self.rows:
                self.move_cursor(row=self.get_row_index(keep), animate=False)

    def _update_cells(self, rows: list[tuple[str, tuple[str, ...]]]) -> None:
        """Change the cells whose text changed and repaint those cells alone: DataTable's
        `update_cell` repaints the whole table, borders and all, for each cell (about 1.6 KB a
        second to the terminal for a live profile, against 0.9 KB for all of `py-spy top`)."""
        self._quiet = True
        widths = {name: self.columns[ColumnKey(name)].content_width for name in COLUMNS}
        grew = False  # a cell wider than its column (a count's new digit): the table moves
        try:
            for index, (key, cells) in enumerate(rows):
                for column, (name, text) in enumerate(zip(COLUMNS, cells, strict=True)):
                    if self.get_cell(key, name) != text:
                        wider = cell_len(text) > widths[name]
                        self.update_cell(key, name, text, update_width=wider)
                        grew = grew or wider
                        if not wider:
                            self.refresh_coordinate(Coordinate(index, column))
        finally:
            self._quiet = False
        if grew:
            self.refresh()

    def refresh(self, *regions: Region, **kwargs: Any) -> Self:
        if self._quiet and not regions and not kwargs.get("layout"):
            return self  # `_update_cells` repaints what it changed
        return super().refresh(*regions, **kwargs)

    def _current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value

    def action_cycle_sort(self) -> None:
        self.sort_by = SORTABLE[(SORTABLE.index(self.sort_by) + 1) % len(SORTABLE)]
        self._fill()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        name = str(event.column_key.value)
        self.sort_by = {"own%": "own", "own": "own", "total%": "total"}.get(name, name)
        if self.sort_by not in SORTABLE:
            self.sort_by = "own"
        self._fill()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key is None:
            self.post_message(self.Picked(None))
            return
        self.post_message(self.Picked(int(key), self._frames_of.get(key, (int(key),))))
