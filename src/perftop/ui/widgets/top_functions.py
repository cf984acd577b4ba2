"""The top-functions table beside the flame: own and total share per function, like py-spy top;
for a memory profile (counts are bytes) own and total are sizes.

One row a function (its lines together: `Profile.top_functions(by_function=True)`), or one a
line, as the screen asks; the title says which. Rows are keyed by frame id (a function's: its
first frame's), so a live refresh keeps the cursor on the same function, and the sort order
the user picked (click a column title, or `s` to cycle) survives the refresh.

A Line-API widget, not a DataTable: a live profile changes every row's figures each second,
and DataTable's rendering of those ten rows was a fifth of perftop's own CPU while a flame
showed (bench/README.md, `bench_profile.py`). Here a row is one string, formatted once, and
only the cells whose text changed are repainted (`line_diff.repaint_spans`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from perftop.model.profile import FunctionStat
from perftop.ui.fmt import printable
from perftop.ui.keys import with_ids
from perftop.ui.memory_text import size_text
from perftop.ui.widgets.line_diff import repaint_spans, scrolled

COLUMNS = ("own%", "total%", "own", "total", "function", "location")
SORTABLE = ("own", "total", "function")
_RIGHT = {"own%", "total%", "own", "total"}  # figures, aligned on their last digit
_SORTS = {"own%": "own", "own": "own", "total%": "total", "total": "total", "function": "function"}
_MARKED = {"own": "own%", "total": "total%", "function": "function"}  # the title marked ▼
_FUNCTION_SHARE = 0.45  # of the width past the figures, at most, for the function's name


def column_widths(rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Each column's width, one blank either side not counted: the figures as wide as their
    widest cell or title; the function and the location each whole where both fit, else the
    function at least a share of what is left, the location the rest."""
    fixed = [  # a title's width counts the sort mark it may carry
        max([cell_len(name) + 1] + [cell_len(row[i]) for row in rows])
        for i, name in enumerate(COLUMNS[:4])
    ]
    left = max(width - sum(w + 2 for w in fixed) - 4, 0)  # the two text columns' blanks
    longest = max([cell_len(COLUMNS[4]) + 1] + [cell_len(row[4]) for row in rows])
    place = max([cell_len(COLUMNS[5])] + [cell_len(row[5]) for row in rows])
    # Both whole where they fit; else the function its share, or what the location leaves.
    function = min(longest, left, max(int(left * _FUNCTION_SHARE), left - place))
    return [*fixed, function, max(left - function, 0)]


def format_row(cells: Sequence[str], widths: Sequence[int], width: int) -> str:
    """One line of the table, exactly `width` cells wide."""
    parts = []
    for name, cell, w in zip(COLUMNS, cells, widths, strict=True):
        text = cell
        if cell_len(cell) > w:  # a location keeps its end, the file and line; the rest theirs
            text = _left_cut(cell, w) if name == "location" else set_cell_size(cell, w)
        pad = " " * (w - cell_len(text))
        parts.append(f" {pad}{text} " if name in _RIGHT else f" {text}{pad} ")
    return set_cell_size("".join(parts), width)


def _left_cut(text: str, width: int) -> str:
    """`text` cut from the left to `width` cells, an ellipsis where it was cut."""
    if width <= 0:
        return ""
    kept = text
    while kept and cell_len(kept) > width - 1:
        kept = kept[1:]
    return "…" + kept


class TopFunctions(Widget, can_focus=True):
    """The table, its cursor and header; announces the function under the cursor."""

    DEFAULT_CSS = """
    TopFunctions {
        background: $surface;
        color: $foreground;
        &:focus { background-tint: $foreground 5%; }
        & > .top-functions--header { text-style: bold; background: $panel; color: $foreground; }
        & > .top-functions--header-sorted {
            text-style: bold underline; background: $panel; color: $foreground;
        }
        & > .top-functions--even { background: $surface-lighten-1 50%; }
        & > .top-functions--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .top-functions--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    COMPONENT_CLASSES = {
        "top-functions--header",
        "top-functions--header-sorted",
        "top-functions--even",
        "top-functions--cursor",
    }

    BINDINGS = [
        *with_ids("top", [Binding("s", "cycle_sort", "Sort top table")]),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "Top", show=False),
        Binding("end", "jump(-1)", "Bottom", show=False),
    ]

    class Picked(Message):
        """The user moved onto a function; the flame highlights its frames (`frame_ids`:
        each line of it, by function)."""

        def __init__(self, frame_id: int | None, frame_ids: tuple[int, ...] = ()) -> None:
            super().__init__()
            self.frame_id = frame_id
            self.frame_ids = frame_ids

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sort_by = "own"
        self.stats: list[FunctionStat] = []
        self.total_samples = 0
        self.unit = ""  # "bytes" for a memory profile: own and total shown as sizes
        self.limit = 200
        self.by_line = False  # one row a line, not a function
        self._keys: list[int] = []  # each row's frame id, in the order shown
        self._cells: list[tuple[str, ...]] = []  # each row's cells, as shown
        self._frames_of: dict[int, tuple[int, ...]] = {}  # row key -> the frames it stands for
        self.cursor_row = 0
        self._top = 0  # the first row shown
        self._announced: int | None = None
        self._lines: dict[int, tuple[str, str]] = {}  # screen y -> (text, kind) drawn last
        self._styles: dict[str, Style] = {}

    # --- state in -----------------------------------------------------------------------------

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
        self._frames_of = {s.frame_id: s.frame_ids for s in stats}
        mode, other = ("by line", "by function") if by_line else ("by function", "by line")
        title, subtitle = f"top functions · {mode}", f"f: {other}" if lines else ""
        if (self.border_title, self.border_subtitle) != (title, subtitle):
            self.border_title, self.border_subtitle = title, subtitle
        self._fill()

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def get_row_at(self, index: int) -> tuple[str, ...]:
        """The cells of row `index` as shown (tests read them)."""
        return self._cells[index]

    @property
    def current_key(self) -> int | None:
        """The frame id of the row under the cursor."""
        return self._keys[self.cursor_row] if self._keys else None

    def move_cursor(self, *, row: int) -> None:
        self._move(row)

    def _count(self, n: int) -> str:
        return size_text(n) if self.unit == "bytes" else str(n)

    def _ordered(self) -> list[FunctionStat]:
        if self.sort_by == "total":
            return sorted(self.stats, key=lambda s: (-s.total_samples, -s.self_samples))
        if self.sort_by == "function":
            return sorted(self.stats, key=lambda s: s.frame.name)
        return sorted(self.stats, key=lambda s: (-s.self_samples, -s.total_samples))

    def _row_cells(self, s: FunctionStat, total: int) -> tuple[str, ...]:
        return (
            f"{100 * s.self_samples / total:.2f}",
            f"{100 * s.total_samples / total:.2f}",
            self._count(s.self_samples),
            self._count(s.total_samples),
            printable(s.frame.name),
            printable(s.frame.location),
        )

    def _fill(self) -> None:
        keep = self.current_key
        total = max(self.total_samples, 1)
        ordered = self._ordered()[: self.limit]
        self._keys = [s.frame_id for s in ordered]
        self._cells = [self._row_cells(s, total) for s in ordered]
        if keep is not None and keep in self._frames_of:
            self.cursor_row = self._keys.index(keep)
        self._clamp()
        self._refresh_changed()
        self._announce()

    # --- drawing ------------------------------------------------------------------------------

    @property
    def _body_height(self) -> int:
        return max(self.size.height - 1, 1)

    def _clamp(self) -> None:
        rows, body = len(self._keys), self._body_height
        self.cursor_row, self._top = scrolled(self.cursor_row, self._top, rows, body)

    def _widths(self, width: int) -> list[int]:
        visible = self._cells[self._top : self._top + self._body_height]
        return column_widths(visible, width)

    def _line(self, y: int, width: int, widths: Sequence[int]) -> tuple[str, str]:
        """Screen line `y`'s text and kind ("header", "cursor", "even", "" or "blank")."""
        if y == 0:
            marked = _MARKED.get(self.sort_by)
            titles = [f"{name}▼" if name == marked else name for name in COLUMNS]
            return format_row(titles, widths, width), "header"
        index = self._top + y - 1
        if index >= len(self._cells):
            return " " * width, "blank"
        kind = "cursor" if index == self.cursor_row else ("even" if index % 2 else "")
        return format_row(self._cells[index], widths, width), kind

    def _refresh_changed(self) -> None:
        """Repaint the cells whose text changed; a line whose kind changed (the cursor came
        or went) or a new layout of the columns repaints whole."""
        width = self.size.width
        if width <= 0:
            return
        widths = self._widths(width)
        for y in range(self.size.height):
            line = self._line(y, width, widths)
            spans = repaint_spans(self._lines.get(y), line)
            self._lines[y] = line
            for start, end in spans:
                self.refresh(Region(start, y, end - start, 1))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        drawn = self._lines.get(y)
        if drawn is None or len(drawn[0]) != width:  # after a resize: not formatted yet
            drawn = self._lines[y] = self._line(y, width, self._widths(width))
        text, kind = drawn
        if kind != "header":
            return Strip([Segment(text, self._style(kind))], width)
        # The sorted column's title in its own style.
        widths = self._widths(width)
        column = COLUMNS.index(_MARKED.get(self.sort_by, "own%"))
        start = sum(w + 2 for w in widths[:column])
        end = min(start + widths[column] + 2, width)
        header, sorted_ = self._style("header"), self._style("header-sorted")
        parts = [(text[:start], header), (text[start:end], sorted_), (text[end:], header)]
        return Strip([Segment(t, s) for t, s in parts if t], width)

    def _style(self, kind: str) -> Style:
        style = self._styles.get(kind)
        if style is None:
            style = self.rich_style
            if kind not in ("", "blank"):
                style += self.get_component_rich_style(f"top-functions--{kind}")
            self._styles[kind] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._lines.clear()

    def on_resize(self, _event: events.Resize) -> None:
        self._lines.clear()
        self._clamp()
        self.refresh()

    def on_focus(self) -> None:
        self._styles.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._styles.clear()
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._keys) + 1

    # --- input --------------------------------------------------------------------------------

    def _announce(self) -> None:
        key = self.current_key
        if key == self._announced:
            return
        self._announced = key
        if key is None:
            self.post_message(self.Picked(None))
        else:
            self.post_message(self.Picked(key, self._frames_of.get(key, (key,))))

    def _move(self, row: int) -> None:
        self.cursor_row = row
        self._clamp()
        self._refresh_changed()
        self._announce()

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor_row + direction * self._body_height)

    def action_jump(self, where: int) -> None:
        self._move(0 if where == 0 else len(self._keys) - 1)

    def action_cycle_sort(self) -> None:
        self.sort_by = SORTABLE[(SORTABLE.index(self.sort_by) + 1) % len(SORTABLE)]
        self._fill()

    def on_click(self, event: events.Click) -> None:
        if event.y > 0:
            self._move(self._top + event.y - 1)
            return
        widths = self._widths(self.size.width)
        edge = 0
        for name, w in zip(COLUMNS, widths, strict=True):
            edge += w + 2
            if event.x < edge:
                self.sort_by = _SORTS.get(name, "own")
                self._fill()
                return

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._move(self.cursor_row + 3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._move(self.cursor_row - 3)
