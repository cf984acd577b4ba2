"""The table of a diff's biggest changes: which functions gained or lost self time, and how much.

Rows are keyed by frame id, like the top-functions table, so the flame can highlight the
function under the cursor and the flame's selection can move the cursor here. The `p` column
is each change's test against sampling noise (model/diff.py), marked where it is flagged.
"""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from perftop.model.diff import DiffEntry
from perftop.ui.fmt import printable

COLUMNS = ("Δ self%", "base%", "new%", "p", "function", "location")
FLAGGED_MARK = "✱"
GREW_STYLE = "bold #e05555"
SHRANK_STYLE = "bold #5f8fe0"


def delta_style(delta_percent: float) -> str:
    """Red for more, blue for less: the flame's two colours."""
    return GREW_STYLE if delta_percent > 0 else SHRANK_STYLE if delta_percent < 0 else ""


def delta_text(delta_percent: float) -> Text:
    return Text(f"{delta_percent:+7.2f}", style=delta_style(delta_percent), justify="right")


def p_text(entry: DiffEntry) -> Text:
    """`✱ 4e-14` where flagged, a dim p-value where not, nothing where untested (bytes)."""
    if entry.p_value is None:
        return Text("")
    if entry.significant:
        return Text(f"{FLAGGED_MARK} {entry.p_value:.0e}", style=delta_style(entry.delta_percent))
    return Text(f"  {entry.p_value:.2f}", style="dim")


class ChangesTable(DataTable[str | Text]):
    class Picked(Message):
        """The cursor moved onto a function; the flame highlights its frames."""

        def __init__(self, frame_id: int | None) -> None:
            super().__init__()
            self.frame_id = frame_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.entries: list[DiffEntry] = []

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    def show_changes(self, entries: list[DiffEntry]) -> None:
        """Entries in the order given (`DiffProfile.biggest_changes`: largest |change| first)."""
        self.entries = entries
        with self.app.batch_update():
            self.clear()
            for e in entries:
                self.add_row(
                    delta_text(e.delta_percent),
                    f"{e.base_percent:6.2f}",
                    f"{e.new_percent:6.2f}",
                    p_text(e),
                    printable(e.frame.name),
                    printable(e.frame.location),
                    key=str(e.frame_id),
                )

    def move_to_frame(self, frame_id: int) -> bool:
        """Put the cursor on `frame_id`'s row, if the table lists it."""
        try:
            row = self.get_row_index(str(frame_id))
        except RowDoesNotExist:
            return False
        self.move_cursor(row=row, animate=False)
        return True

    @property
    def current_frame_id(self) -> int | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
        return int(key) if key is not None else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        self.post_message(self.Picked(int(key) if key is not None else None))
