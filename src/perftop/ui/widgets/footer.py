"""A footer that keeps the keys that matter when the terminal is too narrow for all of them.

Textual's Footer lays every shown binding out in a row and lets the ones past the edge
disappear under the command-palette key: at 80 columns that was F10 Quit, Kill's neighbours
and a stray letter of the first key cut in half. htop fits its ten keys by being terse; ours
carry more, so this footer hides whole entries instead, least needed first, until the rest
fit, and shows them again when the terminal grows. Every hidden key still works, and F1 and
Ctrl+P list it.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer

# Not exported by textual.widgets, but the parts Footer.compose yields (textual is pinned <9).
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup


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


class FittingFooter(Footer):
    """Footer(compact=...) with a drop order: the action names to hide first when narrow."""

    def __init__(self, drop: Sequence[str], *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self.drop = tuple(drop)
        self._costs: dict[Widget, int] = {}  # measured while shown: a hidden one has no size
        self._tries = 0  # refreshes waited for the keys of a recompose to be laid out
        self._drawn: tuple[object, ...] | None = None  # the keys as last composed

    def compose(self) -> ComposeResult:
        self._costs.clear()
        self._tries = 0
        self._drawn = self._keys_shown()
        yield from super().compose()
        self.call_after_refresh(self._fit)

    def _keys_shown(self) -> tuple[object, ...] | None:
        """What compose would draw: each shown binding as the user reads it, whether it is
        enabled, its tooltip."""
        if not self._bindings_ready or not self.is_attached:
            return None
        display = self.app.get_key_display
        return tuple(
            (display(binding), binding.description, binding.action, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show or binding.action == "command_palette"
        )

    async def recompose(self) -> None:
        # Textual recomposes the footer whenever bindings might have changed: on every screen
        # pushed or popped, so every dialog closed. Its ~15 keys composed again, styled and laid
        # out cost that moment several ticks' CPU (bench/README.md); same keys, same footer.
        if self._drawn is not None and self._keys_shown() == self._drawn:
            return
        await super().recompose()

    def on_resize(self) -> None:
        self._fit()

    def _entries(self) -> list[tuple[Widget, str]]:
        """Each child but the palette key, with the action it belongs to (a group's label
        belongs to the group before it)."""
        out: list[tuple[Widget, str]] = []
        for child in self.children:
            if child.has_class("-command-palette"):
                continue
            if isinstance(child, FooterKey):
                name = action_name(child.action)
            elif isinstance(child, KeyGroup):
                keys = list(child.query(FooterKey))
                name = action_name(keys[0].action) if keys else ""
            elif isinstance(child, FooterLabel) and out:
                name = out[-1][1]
            else:
                name = ""
            out.append((child, name))
        return out

    def _fit(self) -> None:
        if not self.is_attached or self.size.width <= 0:
            return
        entries = self._entries()
        for widget, _ in entries:
            if widget not in self._costs and widget.display and widget.size.width:
                margin = widget.styles.margin
                self._costs[widget] = widget.outer_size.width + margin.left + margin.right
        if any(widget not in self._costs for widget, _ in entries):
            if self._tries < 10:  # mounted, not laid out yet: measure after the next refresh
                self._tries += 1
                self.call_after_refresh(self._fit)
            return
        palette = sum(c.outer_size.width for c in self.children if c.has_class("-command-palette"))
        costs = [(name, self._costs[widget]) for widget, name in entries]
        hidden = entries_to_hide(costs, self.size.width - palette, self.drop)
        for widget, name in entries:
            widget.display = name not in hidden
