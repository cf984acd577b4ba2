"""The process table: a Line-API widget that draws only the rows on screen.

Not a DataTable: a DataTable of ~500 rows rebuilt each second costs 13-19 % of a core
(ARCHITECTURE.md), and even diffed with `update_cell` it keeps every row's renderables alive.
Here the model hands over a sorted, filtered list of rows; the widget turns the visible slice
into strips, and refreshes only the screen lines whose text changed since the last frame, so an
idle box sends almost nothing to the terminal. Which columns show, and in what order, is the
`columns` property ([processes] columns in the config); the command column takes the spare
width. A leak suspect (growth.py) carries LEAK_MARK after its RSS and its GROWTH, coloured.
The command reads as system/command_line.py puts it (an interpreter's script first), its name
highlighted; a tagged process carries TAG_MARK and the tagged colour.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from perftop.system.command_line import ShownCommand, shown_command
from perftop.system.processes import SortKey, ViewRow, display_command, is_kernel_thread
from perftop.system.samples import ProcessRow
from perftop.system.stable_order import Shown, StableOrder
from perftop.ui.fmt import human_bytes, human_rate, printable, shown_bytes, start_time_label
from perftop.ui.widgets import htop_cells as htop

# changed_spans as itself: the meters and the flame import it from here.
from perftop.ui.widgets.line_diff import changed_spans as changed_spans
from perftop.ui.widgets.line_diff import repaint_spans, scrolled, styled


class Column(NamedTuple):
    key: SortKey
    width: int  # 0 = takes the rest of the line
    right: bool
    cell: Callable[[ViewRow, float], str]


def _cpu(v: ViewRow, _now: float) -> str:
    return f"{v.cpu_display:.1f}"


def shown(row: ProcessRow) -> ShownCommand:
    """A row's COMMAND text and the name in it to highlight; a kernel thread's `[name]` has
    none (its whole line is muted)."""
    if is_kernel_thread(row):
        return ShownCommand(printable(display_command(row)), (0, 0))
    return shown_command(printable(row.cmdline))


def _command(v: ViewRow, _now: float) -> str:
    return v.tree_prefix + shown(v.row).text


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
    Column(SortKey.PPID, 7, True, lambda v, _n: str(v.row.ppid)),
    Column(SortKey.USER, 9, False, lambda v, _n: printable(v.row.user)[:9]),
    Column(SortKey.PRIORITY, 3, True, htop.priority_cell),
    Column(SortKey.NICE, 3, True, lambda v, _n: str(v.row.nice)),
    Column(SortKey.STATE, 1, False, lambda v, _n: v.row.state[:1]),
    Column(SortKey.CPU, 6, True, _cpu),
    Column(SortKey.NCPU, 6, True, htop.ncpu_cell),
    Column(SortKey.WAIT, 6, True, _wait),
    Column(SortKey.MEM, 5, True, lambda v, _n: f"{v.row.mem_percent:.1f}"),
    Column(SortKey.VIRT, 6, True, htop.virt_cell),
    Column(SortKey.RSS, 6, True, _rss),
    Column(SortKey.SHR, 6, True, htop.shr_cell),
    Column(SortKey.GROWTH, 9, True, _growth),
    Column(SortKey.GPU, 5, True, htop.gpu_cell),
    Column(SortKey.GPU_MEM, 8, True, htop.gpu_memory_cell),
    Column(SortKey.TIME, 8, True, htop.time_cell),
    Column(SortKey.THREADS, 4, True, lambda v, _n: str(v.row.num_threads)),
    Column(SortKey.MINFLT, 7, True, htop.minflt_cell),
    Column(SortKey.MAJFLT, 7, True, htop.majflt_cell),
    Column(SortKey.READ, 8, True, lambda v, _n: human_rate(v.row.read_bytes_per_s)),
    Column(SortKey.WRITE, 8, True, lambda v, _n: human_rate(v.row.write_bytes_per_s)),
    Column(SortKey.NET, 8, True, lambda v, _n: _net(v.row.net_bytes_per_s, v)),
    Column(SortKey.RX, 8, True, lambda v, _n: _net(v.row.net_rx_bytes_per_s, v)),
    Column(SortKey.TX, 8, True, lambda v, _n: _net(v.row.net_tx_bytes_per_s, v)),
    Column(SortKey.START, 5, True, lambda v, n: start_time_label(v.row.start_time, n)),
    Column(SortKey.TTY, 7, False, htop.tty_cell),
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
    SortKey.TIME: htop.shown_time,
    SortKey.NCPU: htop.shown_ncpu,
    SortKey.VIRT: htop.shown_virt,
    SortKey.SHR: htop.shown_shr,
    SortKey.MINFLT: htop.shown_minflt,
    SortKey.MAJFLT: htop.shown_majflt,
    SortKey.GPU: htop.shown_gpu,
    SortKey.GPU_MEM: htop.shown_gpu_memory,
}
MIN_REST = len(SortKey.COMMAND.value)  # the flexible column never shrinks below its title


class Placed(NamedTuple):
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


def column_at(x: int, placed: Sequence[Placed] | None = None) -> SortKey:
    """Which column a click at screen column `x` lands on (the blank after a column is its)."""
    if placed is None:
        placed = layout([c.key for c in COLUMNS], 0)
    for p in placed:
        if x < p.left + p.width + 1:
            return p.column.key
    return placed[-1].column.key


TAG_MARK = "*"  # in the blank after the first column: a tag that reads without colour
SCROLL_STEP = 5  # columns one ← or → shifts the command text: htop's step in a terminal
# The kinds of line drawn with marks of their own (a running state, the program's name); the
# others (cursor, tagged, dimmed) are one style across, as htop draws them.
_MARKED = frozenset({"", "kernel", "thread"})


class _MarkedCells(NamedTuple):
    """The placed columns a row's marks go in, found once per layout: `_marks` runs for every
    line drawn."""

    leak: tuple[Placed, ...]  # RSS and GROWTH
    state: Placed | None
    command: Placed | None

    @staticmethod
    def of(placed: Sequence[Placed]) -> _MarkedCells:
        by_key = {p.column.key: p for p in placed}
        leak = tuple(p for p in placed if p.column.key in (SortKey.RSS, SortKey.GROWTH))
        return _MarkedCells(leak, by_key.get(SortKey.STATE), by_key.get(SortKey.COMMAND))


class ProcessTable(Widget, can_focus=True):
    """Rows of processes with a cursor; announces selection and header clicks.

    ← and → scroll the command text SCROLL_STEP columns, as htop's do, to read a long command
    line; unlike htop, which shifts the whole line, only the COMMAND column's text moves: PID,
    CPU% and the rest stay where they are, so the line scrolled still says which process it
    is. The header's COMMAND title tells how far it is scrolled (`COMMAND «15`). ← at the
    start stays there, → stops once the longest command on screen ends in view; Ctrl+A (or
    `^`) goes back to the start and Ctrl+E (or `$`) to the end of the cursor's command, as in
    htop. The offset is the table's, kept across ticks, sorts and filters.

    `tagged` (the PIDs the dashboard tagged) draws those rows in the tagged style with
    TAG_MARK after the first column, so a tag reads without colour too (NO_COLOR).
    """

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
        Binding("left", "scroll_command(-1)", "Scroll command left", show=False),
        Binding("right", "scroll_command(1)", "Scroll command right", show=False),
        Binding("ctrl+a,circumflex_accent", "scroll_command_home", "Command start", show=False),
        Binding("ctrl+e,dollar_sign", "scroll_command_end", "Command end", show=False),
    ]

    COMPONENT_CLASSES = {
        "process-table--header",
        "process-table--header-sorted",
        "process-table--cursor",
        "process-table--match",
        "process-table--kernel",
        "process-table--running",
        "process-table--leak",
        "process-table--basename",
        "process-table--tagged",
        "process-table--thread",
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
        self._marked = _MarkedCells.of(())  # where in that layout marks may be drawn
        self._order = StableOrder()
        # screen y -> (text, kind of line) drawn last time: a new kind repaints the whole line
        self._lines: dict[int, tuple[str, str]] = {}
        self._styles: dict[str, Style] = {}  # line kind -> style, see `_style`
        self._highlighted: int | None = None
        self._tagged: frozenset[int] = frozenset()
        self._offset = 0  # columns the command text is scrolled by (← →)
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

    @property
    def tagged(self) -> frozenset[int]:
        """The PIDs drawn as tagged (the dashboard owns the tags)."""
        return self._tagged

    @tagged.setter
    def tagged(self, pids: frozenset[int]) -> None:
        pids = frozenset(pids)
        if pids == self._tagged:
            return  # the dashboard sets it every tick
        self._tagged = pids
        self._refresh_changed()  # only the rows tagged or untagged differ

    @property
    def command_offset(self) -> int:
        """How many columns the command text is scrolled by (← →)."""
        return self._offset

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
        self.cursor, self.top = scrolled(self.cursor, self.top, len(self.rows), self._body_height)

    def _line_text(self, y: int, width: int) -> str:
        if y == 0:
            return self._header_text(width)
        index = self.top + y - 1
        if index >= len(self.rows):
            return " " * width
        v = self.rows[index]
        placed = self._layout(width)
        cells = [p.column.cell(v, self.now) for p in placed]
        if self._offset:
            for i, p in enumerate(placed):
                if p.column.key is SortKey.COMMAND:
                    cells[i] = cells[i][self._offset :]
        line = format_line(cells, width, placed)
        if v.row.pid in self._tagged:
            at = placed[0].width if len(placed) > 1 and placed[0].width < width else 0
            line = line[:at] + TAG_MARK + line[at + 1 :]
        return line

    def _layout(self, width: int) -> tuple[Placed, ...]:
        if self._placed[0] != width:
            self._placed = (width, layout(self._keys, width))
            self._marked = _MarkedCells.of(self._placed[1])
        return self._placed[1]

    def _header_text(self, width: int) -> str:
        arrow = "▼" if self.reverse else "▲"
        titles = []
        placed = self._layout(width)
        for p in placed:
            title = p.column.key.value
            if p.column.key is self.sort_key:  # a hidden sort key still sorts, unmarked
                title = title + arrow if len(title) < p.width else arrow + title
            if p.column.key is SortKey.COMMAND and self._offset:
                title += f" «{self._offset}"
            titles.append(title)
        return format_line(titles, width, placed)

    def _kind(self, y: int) -> str:
        """What kind of line screen line `y` is: its style (`_style`)."""
        if y == 0:
            return "header"
        index = self.top + y - 1
        if index >= len(self.rows):
            return ""
        v = self.rows[index]
        if index == self.cursor:
            return "cursor" if self.has_focus else "match"
        if v.row.pid in self._tagged:
            return "tagged"
        if not v.matched:
            return "dim"
        if is_kernel_thread(v.row):
            return "kernel"
        if v.row.thread_of is not None:  # a user thread (H): its own colour, as htop's
            return "thread"
        return ""

    def _refresh_changed(self) -> None:
        """Repaint only the cells whose text differs from what is on screen.

        Over SSH every byte counts: a tick that changes one CPU% figure repaints those few
        cells, not the whole 120-column line. A line whose kind changed (the cursor came or
        went, a tag, a kernel thread where a process was) is repainted whole: its style is
        every cell's. A running process colours only its state, as in htop: processes start and
        stop running every tick, and each would resend its whole line.
        """
        width = self.size.width
        if width <= 0:
            return
        self._styles.clear()
        for y in range(self.size.height):
            line = (self._line_text(y, width), self._kind(y))
            spans = repaint_spans(self._lines.get(y), line)
            self._lines[y] = line
            for start, end in spans:
                self.refresh(Region(start, y, end - start, 1))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        drawn = self._lines.get(y)
        if drawn is None or len(drawn[0]) < width:  # after a resize: not formatted yet
            drawn = self._lines[y] = (self._line_text(y, width), self._kind(y))
        text = drawn[0][:width]
        kind = self._kind(y)
        style = self._style(kind)
        index = self.top + y - 1
        if y == 0 or index >= len(self.rows):
            return Strip([Segment(text, style)], width)
        marks = self._marks(self.rows[index], text, kind, width)
        if not marks:
            return Strip([Segment(text, style)], width)
        return Strip(styled(text, style, marks), width)

    def _marks(self, v: ViewRow, text: str, kind: str, width: int) -> list[tuple[int, int, Style]]:
        """The runs of a row's line drawn in a style of their own: the leak marks of its RSS
        and GROWTH, a running state, its program's name; each mark depends only on the text
        of its cell, so a repainted cell is always drawn right."""
        marks: list[tuple[int, int, Style]] = []
        self._layout(width)
        cells = self._marked
        if v.growth is not None and v.growth.suspect and LEAK_MARK in text:
            for p in cells.leak:
                at = text.find(LEAK_MARK, p.left, p.left + p.width)
                if at >= 0:
                    marks.append((at, at + 1, self._style(kind, "leak")))
        if kind in _MARKED:
            state, command = cells.state, cells.command
            if state is not None and text[state.left : state.left + 1] == "R":
                marks.append((state.left, state.left + 1, self._style(kind, "running")))
            if command is not None:
                start, end = shown(v.row).name
                shift = command.left + len(v.tree_prefix) - self._offset
                left, right = command.left, command.left + command.width
                start, end = max(start + shift, left), min(end + shift, right)
                if start < end:
                    marks.append((start, end, self._style(kind, "basename")))
        if len(marks) > 1:
            marks.sort(key=lambda m: m[0])
        return marks

    def _style(self, kind: str, part: str = "") -> Style:
        """The style of a kind of line ('' for a plain row), or of a `part` of one (`leak`,
        `basename`), worked out once per refresh: `rich_style` walks every ancestor's
        styles, too dear to do for each line drawn."""
        key = f"{kind}/{part}" if part else kind
        style = self._styles.get(key)
        if style is None:
            base = self._styles.get("")
            if base is None:
                base = self._styles[""] = self.rich_style
            if not key:
                return base
            if part:
                style = self._style(kind) + self.get_component_rich_style(f"process-table--{part}")
            elif kind == "dim":
                style = base + Style(dim=True)
            else:
                style = base + self.get_component_rich_style(f"process-table--{kind}")
            self._styles[key] = style
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

    def _overflow(self, rows: Sequence[ViewRow]) -> int:
        """How far the longest command of `rows` runs past the COMMAND column's end."""
        width = next((p.width for p in self._layout(self.size.width) if not p.column.width), 0)
        if not width:
            return 0  # no COMMAND column shown
        return max((len(_command(v, self.now)) - width for v in rows), default=0)

    def _shift_command(self, offset: int) -> None:
        if offset > self._offset:  # → stops where the longest command on screen ends
            visible = self.rows[self.top : self.top + self._body_height]
            offset = max(self._offset, min(offset, self._overflow(visible)))
        offset = max(offset, 0)
        if offset != self._offset:
            self._offset = offset
            self._refresh_changed()

    def action_scroll_command(self, direction: int) -> None:
        self._shift_command(self._offset + direction * SCROLL_STEP)

    def action_scroll_command_home(self) -> None:
        self._shift_command(0)

    def action_scroll_command_end(self) -> None:
        """The cursor's command scrolled to its end, or back to its start where it fits."""
        current = self.current
        self._offset = 0 if current is None else max(self._overflow([current]), 0)
        self._refresh_changed()

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
