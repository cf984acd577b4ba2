"""The key bar at the bottom of each screen: htop's F-key line, fitted to the terminal.

Textual's Footer lays every shown binding out as a widget of its own (the dashboard's was 18
of its 37 nodes) and lets the ones past the edge disappear under the command-palette key: at
80 columns that was F10 Quit, Kill's neighbours and a stray letter of the first key cut in
half. This bar is one widget drawing one line of text. It hides whole entries instead, least
needed first (a drop order per screen), until the rest fit, and shows them again when the
terminal grows; every hidden key still works, and F1 and Ctrl+P list it. Drawn as text, its
fit is known before the first frame: Footer's keys had to be laid out and measured, then laid
out again without the ones that did not fit, a second full frame at start. Its keys are styled
as one node, not eighteen: each dialog closed restyles the screen under it, and styling the
footer's keys was a third of that close (bench/bench_dialogs.py). Clicking a key presses it,
as Footer's keys do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from typing import NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

EDGE = "▏"  # before the palette key, as Footer draws its border (`vkey`)


def action_name(action: str) -> str:
    """`renice(-1)` and `app.quit` as `renice` and `quit`: what the drop order names."""
    return action.split("(", 1)[0].rsplit(".", 1)[-1]


def entries_to_hide(costs: Sequence[tuple[str, int]], room: int, drop: Sequence[str]) -> set[str]:
    """Which entries (by action name) to hide so that the others fit in `room` columns.

    `costs` is each shown entry's action name and width, margins included; `drop` names
    them in the order they go. Pure, so it is tested alone.
    """
    total = sum(cost for _, cost in costs)
    hidden: set[str] = set()
    for name in drop:
        if total <= room:
            break
        freed = sum(cost for entry, cost in costs if entry == name)
        if freed:
            hidden.add(name)
            total -= freed
    return hidden


class BarKey(NamedTuple):
    """A key as the bar shows it."""

    key: str  # as Textual names it: pressed when clicked
    display: str  # as the user reads it (`f1`, `^p`, `⏎`)
    enabled: bool
    tooltip: str


class BarEntry(NamedTuple):
    """One entry: a key and what it does, or a group's keys and the group's description."""

    name: str  # the action name the drop order uses
    keys: tuple[BarKey, ...]
    description: str
    grouped: bool = False


# A piece of the line: its text, what it is ("key", "description", "blank", "edge"), and the
# index of the key it belongs to (None: a blank, clicks nothing).
Piece = tuple[str, str, int | None]


def bar_entries(
    bindings: Iterable[tuple[Binding, bool, str]],
    key_display: Callable[[Binding], str],
    palette_action: str = "command_palette",
) -> tuple[list[BarEntry], BarEntry | None]:
    """The entries of the shown `bindings` (binding, enabled, tooltip), in their order, one an
    action (its first binding), a binding group of more than one action as one entry as
    Footer groups them; and the palette key, drawn apart at the right."""
    by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
    palette: BarEntry | None = None
    for binding, enabled, tooltip in bindings:
        if binding.action == palette_action:
            if palette is None:
                key = BarKey(binding.key, key_display(binding), enabled, binding.tooltip)
                palette = BarEntry("command_palette", (key,), binding.description)
        elif binding.show:
            by_action[binding.action].append((binding, enabled, tooltip))
    entries: list[BarEntry] = []
    for group, actions in groupby(by_action.values(), lambda found: found[0][0].group):
        firsts = [found[0] for found in actions]
        if group is not None and len(firsts) > 1:
            keys = tuple(
                BarKey(b.key, key_display(b), enabled, tooltip or b.description)
                for b, enabled, tooltip in firsts
            )
            name = action_name(firsts[0][0].action)
            entries.append(BarEntry(name, keys, group.description, grouped=True))
            continue
        for binding, enabled, tooltip in firsts:
            key = BarKey(binding.key, key_display(binding), enabled, tooltip)
            entries.append(BarEntry(action_name(binding.action), (key,), binding.description))
    return entries, palette


def entry_pieces(entry: BarEntry, first_key: int, compact: bool) -> list[Piece]:
    """An entry as Footer draws it, its margin after it included. Compact: `f1 Help `, a
    group ` f7 f8 Nice -/+ `; otherwise ` f1 Help ` with no margin."""
    pieces: list[Piece] = []
    if entry.grouped:
        pieces.append((" ", "blank", None))
        for offset, key in enumerate(entry.keys):
            text = key.display if compact else f" {key.display} "
            pieces.append((text, "key", first_key + offset))
            pieces.append((" ", "blank", None))
        pieces.append((entry.description, "description", None))
        pieces.append((" ", "blank", None))
        return pieces
    (key,) = entry.keys
    index = first_key
    if compact:
        pieces.append((key.display, "key", index))
        if entry.description:
            pieces.append((f" {entry.description}", "description", index))
        pieces.append((" ", "blank", None))
    else:
        pieces.append((f" {key.display} ", "key", index))
        if entry.description:
            pieces.append((f"{entry.description} ", "description", index))
    return pieces


def pieces_width(pieces: Iterable[Piece]) -> int:
    return sum(cell_len(text) for text, _, _ in pieces)


class FittingFooter(Widget, can_focus=False):
    """The key bar, compact or not; `drop`: the action names to hide first when narrow."""

    COMPONENT_CLASSES = {
        "fitting-footer--key",
        "fitting-footer--description",
        "fitting-footer--hover",
        "fitting-footer--edge",
    }
    DEFAULT_CSS = """
    FittingFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .fitting-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .fitting-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .fitting-footer--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        .fitting-footer--edge {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, drop: Sequence[str], *, compact: bool = False) -> None:
        super().__init__()
        self.drop = tuple(drop)
        self.compact = compact
        self._entries: tuple[list[BarEntry], BarEntry | None] | None = None  # None: to read
        self._keys: list[BarKey] = []  # as last drawn, by index: what a click presses
        self._at: list[int | None] = []  # the key index of each cell as last drawn
        self._hover: int | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # Published whenever the bindings might have changed (focus moved, a screen pushed or
        # popped): redrawn only when what the bar shows did.
        if screen is not self.screen or not self.is_attached:
            return
        entries = self._read()
        if entries != self._entries:
            self._entries = entries
            self.refresh()

    def _read(self) -> tuple[list[BarEntry], BarEntry | None]:
        shown = [
            (binding, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
        ]
        return bar_entries(shown, self.app.get_key_display)

    def shown(self) -> list[BarEntry]:
        """The entries as last drawn, the palette key last if shown (tests read this)."""
        entries, palette = self._entries or ([], None)
        hidden = self._hidden(entries, palette, self.size.width)
        return [e for e in entries if e.name not in hidden] + ([palette] if palette else [])

    def _hidden(self, entries: list[BarEntry], palette: BarEntry | None, width: int) -> set[str]:
        costs = [(e.name, pieces_width(entry_pieces(e, 0, self.compact))) for e in entries]
        room = width - (pieces_width(self._palette_pieces(palette, 0)) if palette else 0)
        return entries_to_hide(costs, room, self.drop)

    def _palette_pieces(self, palette: BarEntry | None, index: int) -> list[Piece]:
        if palette is None:
            return []
        (key,) = palette.keys
        pieces: list[Piece] = [(EDGE, "edge", None), (key.display, "key", index)]
        pieces.append((f" {palette.description}", "description", index))
        return [*pieces, ("  " if self.compact else " ", "blank", None)]  # as Footer's margins

    def render(self) -> Text:
        if self._entries is None:
            self._entries = self._read() if self.is_attached else ([], None)
        entries, palette = self._entries
        width = self.size.width
        hidden = self._hidden(entries, palette, width)
        keys: list[BarKey] = []
        pieces: list[Piece] = []
        for entry in entries:
            if entry.name not in hidden:
                pieces += entry_pieces(entry, len(keys), self.compact)
                keys += entry.keys
        tail = self._palette_pieces(palette, len(keys))
        if palette is not None:
            keys += palette.keys
        gap = width - pieces_width(pieces) - pieces_width(tail)
        if gap < 0:  # too narrow even for the keys that always stay: the palette key wins
            pieces = _crop(pieces, max(width - pieces_width(tail), 0))
            gap = 0
        pieces += [(" " * gap, "blank", None), *tail]
        self._keys = keys
        return self._text(pieces, keys)

    def _text(self, pieces: list[Piece], keys: list[BarKey]) -> Text:
        styles = {
            kind: self.get_component_rich_style(f"fitting-footer--{kind}")
            for kind in ("key", "description", "edge")
        }
        hover = self.get_component_rich_style("fitting-footer--hover")
        dim = Style(dim=True)
        text = Text(no_wrap=True, overflow="crop", end="")
        at: list[int | None] = []
        for part, kind, index in pieces:
            style = styles.get(kind, Style())
            if index is not None:
                if index == self._hover:
                    style += hover
                if not keys[index].enabled:
                    style += dim
            text.append(part, style)
            at += [index] * cell_len(part)
        self._at = at
        return text

    def _key_at(self, x: int) -> int | None:
        return self._at[x] if 0 <= x < len(self._at) else None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        index = self._key_at(event.x)
        if index != self._hover:
            self._hover = index
            self.tooltip = self._keys[index].tooltip or None if index is not None else None
            self.refresh()

    def on_leave(self) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        index = self._key_at(event.x)
        if index is None:
            return
        key = self._keys[index]
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()


def _crop(pieces: list[Piece], width: int) -> list[Piece]:
    """The pieces that fit in `width` cells, the last one cut."""
    out: list[Piece] = []
    for text, kind, index in pieces:
        room = width - pieces_width(out)
        if room <= 0:
            break
        if cell_len(text) > room:
            text = set_cell_size(text, room)
        out.append((text, kind, index))
    return out
