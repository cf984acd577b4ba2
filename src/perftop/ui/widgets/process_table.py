"""The process table: a Line-API widget that draws only the rows on screen.

Not a DataTable: a DataTable of ~500 rows rebuilt each second costs 13-19 % of a core
(ARCHITECTURE.md), and even diffed with `update_cell` it keeps every row's renderables alive.
Here the model hands over a sorted, filtered list of rows; the widget turns the visible slice
into strips, and refreshes only the screen lines whose text changed since the last frame, so an
idle box sends almost nothing to the terminal. Which columns show, and in what order, is the
`columns` property ([processes] columns in the config); the command column takes the spare
width. A leak suspect (growth.py) carries LEAK_MARK after its RSS and its GROWTH, coloured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from perftop.system.processes import SortKey, ViewRow, display_command, is_kernel_thread
from perftop.system.stable_order import Shown, StableOrder
from perftop.ui.fmt import human_bytes, human_rate, printable, shown_bytes, start_time_label


@dataclass(frozen=True, slots=True)
class Column:
    key: SortKey
    width: int  # 0 = takes the rest of the line
    right: bool
    cell: Callable[[ViewRow, float], str]


def _cpu(v: ViewRow, _now: float) -> str:
    return f"{v.cpu_display:.1f}"


def _command(v: ViewRow, _now: float) -> str:
    return v.tree_prefix + printable(display_command(v.row))


LEAK_MARK = "▲"


def growth_per_min(bytes_per_min: float) -> str:
    """`+1.2M/m`, `-512K/m`, `0/m` under a KiB a minute either way."""
    if abs(bytes_per_min) < 1024:
        return "0/m"
    sign = "+" if bytes_per_min > 0 else "-"
    return f"{sign}{human_bytes(abs(bytes_per_min))}/m"


def _growth(v: ViewRow, _now: float) -> str:
    g = v.growth
    if g is None:
        return ""  # not enough history yet (or none known at a replayed moment)
    return growth_per_min(g.bytes_per_min) + (LEAK_MARK if g.suspect else " ")


def _rss(v: ViewRow, _now: float) -> str:
    g = v.growth
    mark = LEAK_MARK if g is not None and g.suspect else ""
    return human_bytes(v.row.rss_bytes) + mark


# After a NET figure older than the tick (the network is read on its own CPU budget).
STALE_MARK = "~"


def _net(rate: float | None, v: ViewRow) -> str:
    if rate is None:
        return "-"
    return human_rate(rate) + (STALE_MARK if v.net_stale else "")


def _wait(v: ViewRow, _now: float) -> str:
    wait = v.row.wait_percent
    return "-" if wait is None else f"{wait:.1f}"


COLUMNS: tuple[Column, ...] = (
    Column(SortKey.PID, 7, True, lambda v, _n: str(v.row.pid)),
    Column(SortKey.USER, 9, False, lambda v, _n: printable(v.row.user)[:9]),
    Column(SortKey.STATE, 1, False, lambda v, _n: v.row.state[:1]),
    Column(SortKey.CPU, 6, True, _cpu),
    Column(SortKey.WAIT, 6, True, _wait),
    Column(SortKey.MEM, 5, True, lambda v, _n: f"{v.row.mem_percent:.1f}"),
    Column(SortKey.RSS, 6, True, _rss),
    Column(SortKey.GROWTH, 9, True, _growth),
    Column(SortKey.THREADS, 4, True, lambda v, _n: str(v.row.num_threads)),
    Column(SortKey.READ, 8, True, lambda v, _n: human_rate(v.row.read_bytes_per_s)),
    Column(SortKey.WRITE, 8, True, lambda v, _n: human_rate(v.row.write_bytes_per_s)),
    Column(SortKey.NET, 8, True, lambda v, _n: _net(v.row.net_bytes_per_s, v)),
    Column(SortKey.RX, 8, True, lambda v, _n: _net(v.row.net_rx_bytes_per_s, v)),
    Column(SortKey.TX, 8, True, lambda v, _n: _net(v.row.net_tx_bytes_per_s, v)),
    Column(SortKey.START, 5, True, lambda v, n: start_time_label(v.row.start_time, n)),
    Column(SortKey.CONTAINER, 16, False, lambda v, _n: printable(v.row.container) or "-"),
    Column(SortKey.COMMAND, 0, False, _command),
)
_BY_KEY = {c.key: c for c in COLUMNS}


def _shown_rate(rate: float | None) -> float | None:
    return None if rate is None else shown_bytes(rate)


# Each measure as its cell reads: the table is sorted on these (StableOrder), so that rows
# read in order and rows that read the same keep their places.
SHOWN: dict[SortKey, Shown] = {
    SortKey.CPU: lambda v: round(v.cpu_display, 1),
    SortKey.MEM: lambda v: round(v.row.mem_percent, 1),
    SortKey.RSS: lambda v: shown_bytes(v.row.rss_bytes),
    SortKey.THREADS: lambda v: v.row.num_threads,
    SortKey.READ: lambda v: _shown_rate(v.row.read_bytes_per_s),
    SortKey.WRITE: lambda v: _shown_rate(v.row.write_bytes_per_s),
    SortKey.WAIT: lambda v: None if v.row.wait_percent is None else round(v.row.wait_percent, 1),
    SortKey.NET: lambda v: _shown_rate(v.row.net_bytes_per_s),
    SortKey.RX: lambda v: _shown_rate(v.row.net_rx_bytes_per_s),
    SortKey.TX: lambda v: _shown_rate(v.row.net_tx_bytes_per_s),
}
MIN_REST = len(SortKey.COMMAND.value)  # the flexible column never shrinks below its title


@dataclass(frozen=True, slots=True)
class Placed:
    """A column as laid out on a line of some width: where it starts, how wide it is."""

    column: Column
    left: int
    width: int


def layout(keys: Sequence[SortKey], width: int) -> tuple[Placed, ...]:
    """Place `keys` in order, one blank between columns; the one of width 0 (COMMAND) takes
    what the others leave, wherever it sits. Pure, so it is tested alone."""
    columns = [_BY_KEY[k] for k in keys]
    fixed = sum(c.width for c in columns) + max(len(columns) - 1, 0)
    rest = max(width - fixed, MIN_REST)
    placed: list[Placed] = []
    left = 0
    for c in columns:
        w = c.width or rest
        placed.append(Placed(c, left, w))
        left += w + 1
    return tuple(placed)


def format_line(cells: Sequence[str], width: int, placed: Sequence[Placed] | None = None) -> str:
    """Lay out one row's cells (one per placed column) in `width` columns."""
    if placed is None:
        placed = layout([c.key for c in COLUMNS], width)
    parts: list[str] = []
    for p, text in zip(placed, cells, strict=True):
        cell = text[: p.width]
        parts.append(cell.rjust(p.width) if p.column.right else cell.ljust(p.width))
    return " ".join(parts)[:width].ljust(width)


def changed_span(old: Sequence[object], new: Sequence[object]) -> tuple[int, int]:
    """The [start, end) columns where two equally wide lines (text, or cells) differ."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = max(len(old), len(new))
    while end > start and end <= limit and old[end - 1] == new[end - 1]:
        end -= 1
    return start, max(end, start + 1)


# Cells alike between two changes on a line that are resent rather than skipped: skipping
# them costs a cursor move and the style again, about this many bytes (ui/exact_updates.py).
SPAN_GAP = 16


def changed_spans(
    old: Sequence[object], new: Sequence[object], gap: int = SPAN_GAP
) -> list[tuple[int, int]]:
    """The [start, end) runs of columns where two equally wide lines differ, runs closer than
    `gap` merged: what the terminal needs resent, as curses would send it, and not the whole
    line when its neighbours traded places."""
    if len(old) != len(new):
        return [changed_span(old, new)]
    spans: list[tuple[int, int]] = []
    start = -1
    same = 0
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if a != b:
            if start < 0:
                start = i
            elif same >= gap:
                spans.append((start, i - same))
                start = i
            same = 0
        elif start >= 0:
            same += 1
    if start >= 0:
        spans.append((start, len(new) - same))
    return spans or [(0, 1)]


def column_at(x: int, placed: Sequence[Placed] | None = None) -> SortKey:
    """Which column a click at screen column `x` lands on (the blank after a column is its)."""
    if placed is None:
        placed = layout([c.key for c in COLUMNS], 0)
    for p in placed:
        if x < p.left + p.width + 1:
            return p.column.key
    return placed[-1].column.key


class ProcessTable(Widget, can_focus=True):
    """Rows of processes with a cursor; announces selection and header clicks."""

    # Only the leak mark's colour: the rest of the table's looks are in ui/perftop.tcss.
    DEFAULT_CSS = """
    ProcessTable > .process-table--leak { color: $error; text-style: bold; }
    """

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False),
        Binding("ctrl+u", "half_page(-1)", "Half page up", show=False),
        Binding("ctrl+d", "half_page(1)", "Half page down", show=False),
        Binding("home,g", "jump(0)", "Top", show=False),
        Binding("end,G", "jump(-1)", "Bottom", show=False),
    ]

    COMPONENT_CLASSES = {
        "process-table--header",
        "process-table--header-sorted",
        "process-table--cursor",
        "process-table--match",
        "process-table--kernel",
        "process-table--running",
        "process-table--leak",
    }

    class Highlighted(Message):
        """The cursor moved onto a process (or the table emptied: pid is None)."""

        def __init__(self, pid: int | None) -> None:
            super().__init__()
            self.pid = pid

    class HeaderClicked(Message):
        def __init__(self, key: SortKey) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[ViewRow] = []
        self.cursor = 0
        self.top = 0
        self.sort_key = SortKey.CPU
        self.reverse = True
        self.now = time.time()
        self._keys: tuple[SortKey, ...] = tuple(c.key for c in COLUMNS)
        self._placed: tuple[int, tuple[Placed, ...]] = (-1, ())  # (width, layout) cached
        self._order = StableOrder()
        self._lines: dict[int, str] = {}  # screen y -> text drawn last time
        self._styles: dict[str, Style] = {}  # line kind -> style, see `_style`
        self._highlighted: int | None = None
        # Until the user picks a row the cursor stays on the top one, as in htop: at start-up
        # the first tick's order (all 0 % CPU, so by PID) would pin it to PID 1 as it sinks.
        # Once picked, it stays on that process, so a signal never lands on a row moved under it.
        self.picked = False

    # --- state in -----------------------------------------------------------------------------

    @property
    def columns(self) -> tuple[SortKey, ...]:
        """The columns shown, in order ([processes] columns); COMMAND takes the spare width."""
        return self._keys

    @columns.setter
    def columns(self, keys: tuple[SortKey, ...]) -> None:
        keys = tuple(keys)
        if keys == self._keys or not keys:
            return
        self._keys = keys
        self._placed = (-1, ())
        self._lines.clear()
        self.refresh()

    def set_rows(self, rows: list[ViewRow], now: float, keep_pid: bool = True) -> None:
        """Take a new list of rows, keeping the cursor on the same process where possible.

        Rows come sorted by `sort_key`/`reverse`; they are shown sorted on the values as
        they read, and rows that read the same keep their previous order (`StableOrder`), so
        a quiet tick moves no line.
        """
        pid = self.current_pid if keep_pid and self.picked else None
        shown = SHOWN.get(self.sort_key)
        self.rows = self._order.apply(rows, self.sort_key, self.reverse, shown)
        self.now = now
        if pid is not None:
            for i, v in enumerate(self.rows):
                if v.row.pid == pid:
                    self.cursor = i
                    break
        self._clamp()
        self._refresh_changed()
        self._announce()

    def move_to_pid(self, pid: int) -> bool:
        for i, v in enumerate(self.rows):
            if v.row.pid == pid:
                self.picked = True
                self.cursor = i
                self._clamp()
                self._refresh_changed()
                self._announce()
                return True
        return False

    @property
    def current_pid(self) -> int | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor].row.pid
        return None

    @property
    def current(self) -> ViewRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    # --- drawing ------------------------------------------------------------------------------

    @property
    def _body_height(self) -> int:
        return max(self.size.height - 1, 1)

    def _clamp(self) -> None:
        n = len(self.rows)
        self.cursor = min(max(self.cursor, 0), max(n - 1, 0))
        body = self._body_height
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + body:
            self.top = self.cursor - body + 1
        self.top = min(max(self.top, 0), max(n - body, 0))

    def _line_text(self, y: int, width: int) -> str:
        if y == 0:
            return self._header_text(width)
        index = self.top + y - 1
        if index >= len(self.rows):
            return " " * width
        v = self.rows[index]
        placed = self._layout(width)
        return format_line([p.column.cell(v, self.now) for p in placed], width, placed)

    def _layout(self, width: int) -> tuple[Placed, ...]:
        if self._placed[0] != width:
            self._placed = (width, layout(self._keys, width))
        return self._placed[1]

    def _header_text(self, width: int) -> str:
        arrow = "▼" if self.reverse else "▲"
        titles = []
        placed = self._layout(width)
        for p in placed:
            title = p.column.key.value
            if p.column.key is self.sort_key:  # a hidden sort key still sorts, unmarked
                title = title + arrow if len(title) < p.width else arrow + title
            titles.append(title)
        return format_line(titles, width, placed)

    def _refresh_changed(self) -> None:
        """Repaint only the cells whose text differs from what is on screen.

        Over SSH every byte counts: a tick that changes one CPU% figure repaints those few
        cells, not the whole 120-column line.
        """
        width = self.size.width
        if width <= 0:
            return
        self._styles.clear()
        for y in range(self.size.height):
            text = self._line_text(y, width) + ("*" if self._is_cursor_line(y) else "")
            old = self._lines.get(y)
            if old == text:
                continue
            self._lines[y] = text
            if old is None or old[width:] != text[width:]:
                self.refresh(Region(0, y, width, 1))  # the cursor came or went: whole line
            else:
                for start, end in changed_spans(old[:width], text[:width]):
                    self.refresh(Region(start, y, end - start, 1))

    def _is_cursor_line(self, y: int) -> bool:
        return y > 0 and self.top + y - 1 == self.cursor and self.has_focus

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        drawn = self._lines.get(y)
        if drawn is None or len(drawn) < width:  # after a resize: not formatted yet
            drawn = self._line_text(y, width) + ("*" if self._is_cursor_line(y) else "")
            self._lines[y] = drawn
        text = drawn[:width]
        if y == 0:
            return Strip([Segment(text, self._style("header"))], width)
        index = self.top + y - 1
        if index >= len(self.rows):
            return Strip([Segment(text, self._style(""))], width)
        v = self.rows[index]
        if index == self.cursor:
            kind = "cursor" if self.has_focus else "match"
        elif not v.matched:
            kind = "dim"
        elif v.row.state == "R":
            kind = "running"
        elif is_kernel_thread(v.row):
            kind = "kernel"
        else:
            kind = ""
        style = self._style(kind)
        if v.growth is not None and v.growth.suspect and LEAK_MARK in text:
            return Strip(self._marked(text, style, width), width)
        return Strip([Segment(text, style)], width)

    def _marked(self, text: str, style: Style, width: int) -> list[Segment]:
        """The line with the leak marks of its RSS and GROWTH cells coloured."""
        leak = style + self.get_component_rich_style("process-table--leak")
        segments: list[Segment] = []
        done = 0
        for p in self._layout(width):
            if p.column.key not in (SortKey.RSS, SortKey.GROWTH):
                continue
            at = text.find(LEAK_MARK, p.left, p.left + p.width)
            if at < done:
                continue
            segments += [Segment(text[done:at], style), Segment(LEAK_MARK, leak)]
            done = at + 1
        segments.append(Segment(text[done:], style))
        return segments

    def _style(self, kind: str) -> Style:
        """The style of a kind of line ('' for a plain row), worked out once per refresh:
        `rich_style` walks every ancestor's styles, too dear to do for each line drawn."""
        style = self._styles.get(kind)
        if style is None:
            base = self._styles.get("")
            if base is None:
                base = self._styles[""] = self.rich_style
            if not kind:
                return base
            if kind == "dim":
                style = base + Style(dim=True)
            else:
                style = base + self.get_component_rich_style(f"process-table--{kind}")
            self._styles[kind] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def on_resize(self, _event: events.Resize) -> None:
        self._lines.clear()
        self._clamp()
        self.refresh()

    def on_focus(self) -> None:
        self._refresh_changed()

    def on_blur(self) -> None:
        self._refresh_changed()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.rows) + 1

    # --- input --------------------------------------------------------------------------------

    def _announce(self) -> None:
        pid = self.current_pid
        if pid != self._highlighted:
            self._highlighted = pid
            self.post_message(self.Highlighted(pid))

    def _move(self, cursor: int) -> None:
        self.picked = True
        self.cursor = cursor
        self._clamp()
        self._refresh_changed()
        self._announce()

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor + direction * self._body_height)

    def action_half_page(self, direction: int) -> None:
        self._move(self.cursor + direction * max(self._body_height // 2, 1))

    def action_jump(self, where: int) -> None:
        self._move(0 if where == 0 else len(self.rows) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            self.post_message(self.HeaderClicked(column_at(event.x, self._layout(self.size.width))))
        else:
            self._move(self.top + event.y - 1)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._move(self.cursor + 3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._move(self.cursor - 3)
