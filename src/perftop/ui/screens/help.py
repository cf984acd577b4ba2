"""F1: every key of the screen underneath, generated from its bindings so it never drifts."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from perftop import __version__

ABOUT = (
    "perftop shows the machine, its processes and the inside of one Python process.\n"
    "CPU% is per core (100% = one core, as htop) unless toggled to whole-machine with c.\n"
    "Mouse: click a column title to sort, click a row to select, scroll to move."
)


def bindings_table(screen: Screen[Any]) -> Table:
    """One row per action: all the keys bound to it, and what it does."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("keys", style="bold", no_wrap=True)
    table.add_column("action")
    by_action: dict[str, tuple[list[str], str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description:
            continue
        keys, _ = by_action.setdefault(binding.action, ([], binding.description))
        display = screen.app.get_key_display(binding)
        if display not in keys:
            keys.append(display if display else key)
    for keys, description in by_action.values():
        table.add_row(", ".join(keys), description)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "app.pop_screen", "Close help")]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(f"[b]perftop {__version__}[/b]\n{ABOUT}\n", classes="dialog-title")
            yield Static(bindings_table(self.under))
