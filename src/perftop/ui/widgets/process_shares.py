"""The processes of a profile by share (model/processes.py), beside the top functions while
the flame shows each process side by side: the worker busier than its siblings stands out by
its `x sibl` column (its share over their median), marked ▲, in bold, not by colour alone.

Rows are keyed by PID; Enter on one shows that process alone.
"""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from perftop.model.processes import ProcessShare
from perftop.ui.fmt import printable

COLUMNS = ("PID", "share%", "x sibl", "samples", "command")
STANDS_OUT = 1.5  # a share this many times its siblings' median (or 1 / this) is marked


def vs_siblings_text(share: ProcessShare) -> Text:
    """`2.1x ▲` for a process far busier than its siblings, `0.4x ▼` far idler, `1.0x` else;
    nothing where it has too few siblings to compare."""
    ratio = share.vs_siblings
    if ratio is None:
        return Text("")
    if ratio >= STANDS_OUT:
        return Text(f"{ratio:.1f}x ▲", style="bold")
    if ratio <= 1 / STANDS_OUT:
        return Text(f"{ratio:.1f}x ▼", style="bold")
    return Text(f"{ratio:.1f}x")


def pid_text(pid: str) -> str:
    return pid or "target"


class ProcessShares(DataTable[str | Text]):
    # Beside the top table, which the stylesheet sizes: the same frame, a third of the row.
    DEFAULT_CSS = """
    ProcessShares {
        width: 1fr;
        height: 100%;
        border: round $primary-muted;
        border-title-color: $text-primary;
        display: none;
    }
    """

    class Chosen(Message):
        """Enter on a process: show it alone."""

        def __init__(self, pid: str) -> None:
            super().__init__()
            self.pid = pid

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.shares: list[ProcessShare] = []

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)
        self.border_title = "processes by share"
        self.border_subtitle = "Enter: that one alone"

    def show_shares(self, shares: list[ProcessShare]) -> None:
        if shares == self.shares:
            return  # a live batch that moved nothing here: no repaint
        keep = self._current()
        self.shares = shares
        with self.app.batch_update():
            self.clear()
            for s in shares:
                self.add_row(
                    pid_text(s.pid),
                    f"{s.percent:6.1f}",
                    vs_siblings_text(s),
                    f"{s.samples:,}",
                    printable(" ".join(s.command.split())),
                    key=s.pid,
                )
            if keep is not None and keep in self.rows:
                self.move_cursor(row=self.get_row_index(keep), animate=False)

    def _current(self) -> str | None:
        if not self.row_count or not 0 <= self.cursor_row < len(self.shares):
            return None
        return self.shares[self.cursor_row].pid

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.Chosen(event.row_key.value))
