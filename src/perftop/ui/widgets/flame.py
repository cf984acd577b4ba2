"""The flame view: a Line-API widget, one strip per row of frames, never a widget per frame.

Layout (which box goes where) is the pure `perftop.model.layout.layout`; this widget only
turns boxes into styled segments, caches the strips until the data, size, zoom or highlight
changes, and maps keys and clicks onto nodes. Selection and zoom are kept as *paths* of frame ids,
so a live update that replaces nodes keeps both where the user left them.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from perftop.model.frames import Frame, FrameKind
from perftop.model.layout import FlameBox, layout
from perftop.model.profile import Node, Profile
from perftop.ui.fmt import printable
from perftop.ui.keys import with_ids
from perftop.ui.widgets.process_table import changed_spans

# Colours by kind, FlameGraph's warm palette for the target's own code. Muted and bright
# variants alternate between neighbours so adjacent boxes stay distinguishable.
KIND_COLOURS: dict[FrameKind, tuple[str, str]] = {
    FrameKind.OWN: ("#d9822b", "#e8a04f"),
    FrameKind.STDLIB: ("#3f7fbf", "#5a97d1"),
    FrameKind.THIRD_PARTY: ("#3f9f5f", "#5bb676"),
    FrameKind.NATIVE: ("#8a6fbf", "#a08ad1"),
    FrameKind.KERNEL: ("#d46a8e", "#e08aa8"),
    FrameKind.JIT: ("#2fa3a3", "#4fbaba"),
    FrameKind.THREAD: ("#777777", "#8f8f8f"),
}
KIND_NAMES = {
    FrameKind.OWN: "own code",
    FrameKind.STDLIB: "stdlib",
    FrameKind.THIRD_PARTY: "third-party",
    FrameKind.NATIVE: "native",
    FrameKind.KERNEL: "kernel",
    FrameKind.JIT: "JIT",
}
# Where Python calls into C (py-spy --native): a native frame under a Python one starts with
# this, so the way out of the interpreter stands out among native frames.
INTO_NATIVE = "▸"
# Differential flames (Brendan Gregg's): red where the new profile spends more, blue where it
# spends less, deeper the bigger the change; grey when the change is too small to matter.
DIFF_GREW = ((0xF2, 0xC4, 0xC4), (0xC8, 0x1E, 0x1E))  # (faint, strongest)
DIFF_SHRANK = ((0xC4, 0xD4, 0xF2), (0x1E, 0x50, 0xC8))
DIFF_UNCHANGED = ("#9a9a9a", "#ababab")
DIFF_THRESHOLD = 0.001  # |change| below 0.1 % of samples reads as unchanged

MATCH_STYLE = Style(color="black", bgcolor="#f0e442", bold=True)
SELECTED_STYLE = Style(color="white", bgcolor="#c0392b", bold=True, underline=True)
SELECTED_DIFF = Style(reverse=True, bold=True, underline=True)
DIM_STYLE = Style(color="#9a9a9a", bgcolor="#3a3a3a")


def diff_colours(delta: float, scale: float, shade: int = 0) -> tuple[str, str]:
    """(text, background) of a frame whose share of samples changed by `delta` (-1 … 1).

    `scale` is the largest change in view: intensity is relative to it, so the biggest change
    is always the strongest colour and small ones stay pale. `shade` (0 or 1) picks one of two
    greys, so unchanged neighbours stay apart.
    """
    if abs(delta) < DIFF_THRESHOLD or scale <= 0:
        return "black", DIFF_UNCHANGED[shade % 2]
    faint, strong = DIFF_GREW if delta > 0 else DIFF_SHRANK
    t = min(abs(delta) / scale, 1.0)
    r, g, b = (round(f + (s - f) * t) for f, s in zip(faint, strong, strict=True))
    return ("white" if t > 0.5 else "black"), f"#{r:02x}{g:02x}{b:02x}"


def diff_style(delta: float, scale: float, shade: int = 0) -> Style:
    fg, bg = diff_colours(delta, scale, shade)
    return Style(color=fg, bgcolor=bg)


def diff_legend() -> str:
    """Colour key of the differential flame, as Textual markup."""
    keys = ((1.0, "grew"), (0.3, "a little"), (0.0, "same"), (-0.3, "a little"), (-1.0, "shrank"))
    return " ".join(
        "[{} on {}] {} [/]".format(*diff_colours(delta, 1.0), text) for delta, text in keys
    )


def _cells(strip: Strip) -> list[tuple[str, Style | None]] | None:
    """Each cell of a line as (character, style); None where a character is wider than one
    cell (a line that cannot be cut anywhere)."""
    cells: list[tuple[str, Style | None]] = []
    for segment in strip:
        text, style = segment.text, segment.style
        if not text.isascii() and cell_len(text) != len(text):
            return None
        cells += [(ch, style) for ch in text]
    return cells


def box_label(label: str, width: int) -> str:
    """Fit a label into a box: room for a one-cell gap on the right, ellipsis when cut."""
    if width <= 1:
        return " " * width
    room = width - 1
    text = label if len(label) <= room else (label[: room - 1] + "…" if room > 1 else "")
    return text.ljust(width)


class FlameView(Widget, can_focus=True):
    """A flame (root at the bottom) or icicle (root at the top) graph of a Profile."""

    BINDINGS = with_ids(
        "flame",
        [
            Binding("left,h", "sibling(-1)", "Prev frame", show=False),
            Binding("right,l", "sibling(1)", "Next frame", show=False),
            Binding("up,k", "vertical(-1)", "Up", show=False),
            Binding("down,j", "vertical(1)", "Down", show=False),
            Binding("enter", "zoom", "Zoom in"),
            Binding("escape,backspace", "unzoom", "Zoom out"),
            Binding("o", "toggle_orientation", "Flame/icicle"),
        ],
    )

    class Selected(Message):
        """The selected frame changed; the status line and the top table listen."""

        def __init__(self, node: Node | None) -> None:
            super().__init__()
            self.node = node

    def __init__(self, profile: Profile | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.profile = profile or Profile()
        self.thread: str | None = None
        self.zoom_path: tuple[int, ...] = ()
        self.selected_path: tuple[int, ...] = ()
        self.icicle = True
        self.search_ids: frozenset[int] = frozenset()
        self.highlight_id: int | None = None
        # Every frame of the function under the top table's cursor (its lines, by function).
        self.highlight_ids: frozenset[int] = frozenset()
        # The diff view colours by change; the int is a 0/1 shade alternating between neighbours.
        self.colour_of: Callable[[Node, int], Style] | None = None
        self.scroll_row = 0
        self._rows: list[list[FlameBox]] = []
        self._strips: dict[int, Strip] = {}  # depth -> its line, until the boxes change
        self._shown: dict[int, Strip] = {}  # screen y -> the line last drawn there

    # --- state in -----------------------------------------------------------------------------

    def set_profile(self, profile: Profile) -> None:
        self.profile = profile
        self.relayout()

    def carry_paths(
        self, old: Profile, new: Profile, same: Callable[[Frame], Frame] | None = None
    ) -> None:
        """Zoom and selection, paths of `old`'s frame ids, as the same frames' ids in `new`
        (`same`: the frame that stands for a frame there, its function for one by function);
        a path with a frame `new` lacks starts again from the root."""

        def carried(path: tuple[int, ...]) -> tuple[int, ...]:
            ids = []
            for fid in path:
                frame = old.frame(fid)
                nid = new.id_of(same(frame) if same is not None else frame)
                if nid is None:
                    return ()
                ids.append(nid)
            return tuple(ids)

        self.zoom_path, self.selected_path = carried(self.zoom_path), carried(self.selected_path)

    def relayout(self) -> None:
        """Recompute boxes after new samples, a resize, a zoom or a thread change."""
        root = self.zoom_root
        width = self.size.width
        # Siblings in label order (FlameGraph's): boxes do not jump about as samples arrive.
        ok = width > 0 and root.total > 0
        self._rows = layout(root, width, None, self.profile.frames) if ok else []
        self._strips.clear()
        self._keep_selection_visible()
        self._repaint()

    def restyle(self) -> None:
        """Search or highlight changed: same boxes, new colours."""
        self._strips.clear()
        self._repaint()

    def _repaint(self) -> None:
        """Refresh only the cells that changed since they were drawn. The live view lays the
        flame out again every batch, and most boxes stay where they were: a whole repaint sent
        the flame's every cell, with a colour for each box, each second."""
        width, height = self.size.width, self.size.height
        for y in range(height):
            old = self._shown.get(y)
            new = self.render_line(y)
            if old is None or old.cell_length != width:
                self.refresh(Region(0, y, width, 1))
                continue
            if old is new:
                continue
            before, after = _cells(old), _cells(new)
            if before is None or after is None:  # a wide character: the whole line
                self.refresh(Region(0, y, width, 1))
                continue
            if before != after:
                for start, end in changed_spans(before, after):
                    self.refresh(Region(start, y, end - start, 1))

    @property
    def zoom_root(self) -> Node:
        root = self.profile.root(self.thread)
        if self.zoom_path:
            node = self.profile.find(self.zoom_path, self.thread)
            if node is not None:
                return node
        return root

    @property
    def selected(self) -> Node | None:
        if not self.selected_path:
            return None
        return self.profile.find(self.selected_path, self.thread)

    # --- drawing ------------------------------------------------------------------------------

    def _depth_at(self, y: int) -> int:
        height = self.size.height
        return self.scroll_row + y if self.icicle else self.scroll_row + (height - 1 - y)

    def render_line(self, y: int) -> Strip:
        depth = self._depth_at(y)
        cached = self._strips.get(depth)
        if cached is None:
            cached = self._render_row(depth)
            self._strips[depth] = cached
        self._shown[y] = cached
        return cached

    def _render_row(self, depth: int) -> Strip:
        width = self.size.width
        if depth < 0 or depth >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        segments: list[Segment] = []
        x = 0
        selected = self.selected_path
        for box in self._rows[depth]:
            if box.x > x:
                segments.append(Segment(" " * (box.x - x), self.rich_style))
            node = box.node
            frame = self.profile.frame(node.frame_id) if node.frame_id >= 0 else None
            # Function names come from the target: escaped, as process names are.
            label = printable(frame.label) if frame is not None else "all"
            if (
                frame is not None
                and frame.kind is FrameKind.NATIVE
                and self._called_from_python(node)
            ):
                label = INTO_NATIVE + label
            shade = (box.x // 3 + depth) % 2
            if frame is not None and node.path() == selected:
                # Red means "grew" in a diff: there the selection inverts the box's own colour.
                colour = self.colour_of
                style = SELECTED_STYLE if colour is None else colour(node, 0) + SELECTED_DIFF
            elif (
                node.frame_id in self.search_ids
                or node.frame_id == self.highlight_id
                or node.frame_id in self.highlight_ids
            ):
                style = MATCH_STYLE
            elif self.colour_of is not None:
                style = self.colour_of(node, shade)
            elif (
                self.search_ids or self.highlight_id is not None or self.highlight_ids
            ) and frame is not None:
                style = DIM_STYLE
            else:
                kind = frame.kind if frame is not None else FrameKind.THREAD
                shades = KIND_COLOURS[kind]
                style = Style(color="black", bgcolor=shades[shade])
            segments.append(Segment(box_label(label, box.width), style))
            x = box.x + box.width
        if x < width:
            segments.append(Segment(" " * (width - x), self.rich_style))
        return Strip(segments, width)

    def _called_from_python(self, node: Node) -> bool:
        # Only native boxes ask, once per cached strip: one parent lookup, no walk.
        parent = node.parent
        if parent is None or parent.frame_id < 0:
            return False
        return self.profile.frame(parent.frame_id).is_python

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self._rows), 1)

    def on_resize(self, _event: events.Resize) -> None:
        self.relayout()

    # --- navigation ---------------------------------------------------------------------------

    def _box_of(self, path: tuple[int, ...]) -> tuple[int, int] | None:
        zoom_len = len(self.zoom_path)
        depth = len(path) - zoom_len
        if depth < 0 or depth >= len(self._rows) or path[:zoom_len] != self.zoom_path:
            return None
        for i, box in enumerate(self._rows[depth]):
            if box.node.path() == path:
                return depth, i
        return None

    def select(self, node: Node | None) -> None:
        self.selected_path = node.path() if node is not None else ()
        self._keep_selection_visible()
        self.restyle()
        self.post_message(self.Selected(node))

    def _keep_selection_visible(self) -> None:
        found = self._box_of(self.selected_path) if self.selected_path else None
        height = max(self.size.height, 1)
        if found is not None:
            depth = found[0]
            if depth < self.scroll_row:
                self.scroll_row = depth
            elif depth >= self.scroll_row + height:
                self.scroll_row = depth - height + 1
        self.scroll_row = max(min(self.scroll_row, max(len(self._rows) - height, 0)), 0)

    def _ensure_selection(self) -> tuple[int, int] | None:
        found = self._box_of(self.selected_path) if self.selected_path else None
        if found is None and self._rows:
            start = 1 if len(self._rows) > 1 and self._rows[0][0].node.frame_id < 0 else 0
            if start < len(self._rows) and self._rows[start]:
                self.select(self._rows[start][0].node)
                return None
        return found

    def action_sibling(self, step: int) -> None:
        found = self._ensure_selection()
        if found is None:
            return
        depth, i = found
        row = self._rows[depth]
        self.select(row[max(min(i + step, len(row) - 1), 0)].node)

    def action_vertical(self, step: int) -> None:
        """Up/down on screen: towards the root or the leaves, whichever way the graph grows."""
        found = self._ensure_selection()
        if found is None:
            return
        towards_leaves = step > 0 if self.icicle else step < 0
        depth, i = found
        node = self._rows[depth][i].node
        if towards_leaves:
            children = (
                [b for b in self._rows[depth + 1] if b.node.parent is node]
                if depth + 1 < len(self._rows)
                else []
            )
            if children:
                self.select(max(children, key=lambda b: b.node.total).node)
        elif depth > 0 and node.parent is not None:
            self.select(node.parent)

    def action_zoom(self) -> None:
        node = self.selected
        if node is None or node.frame_id < 0:
            return
        self.zoom_path = node.path()
        self.scroll_row = 0
        self.relayout()

    def action_unzoom(self) -> None:
        if not self.zoom_path:
            return
        self.zoom_path = self.zoom_path[:-1]
        self.scroll_row = 0
        self.relayout()

    def reset_zoom(self) -> None:
        self.zoom_path = ()
        self.scroll_row = 0
        self.relayout()

    def action_toggle_orientation(self) -> None:
        self.icicle = not self.icicle
        self.restyle()

    def on_click(self, event: events.Click) -> None:
        depth = self._depth_at(event.y)
        if 0 <= depth < len(self._rows):
            for box in self._rows[depth]:
                if box.x <= event.x < box.x + box.width:
                    self.select(box.node)
                    if event.chain >= 2:
                        self.action_zoom()
                    return

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_row = min(self.scroll_row + 2, max(len(self._rows) - self.size.height, 0))
        self.refresh()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_row = max(self.scroll_row - 2, 0)
        self.refresh()
