"""F1 over a flame (the profile screen, the diff): what the flame's terms mean, then every key
the screen offers there, generated from its bindings as the dashboard's help is
(`perftop.ui.screens.help`), so a key the screen does not offer is not listed."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from perftop import __version__
from perftop.ui.screens.help import HelpScreen, bindings_table


class FlameHelp(HelpScreen):
    def __init__(self, under: Screen[Any], about: str) -> None:
        super().__init__(under)
        self.about = about

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(f"[b]perftop {__version__}[/b]\n{self.about}\n", classes="dialog-title")
            yield Static(bindings_table(self.under))
