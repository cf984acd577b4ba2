"""The smallest Textual app with a table header: the floor under any Textual monitor."""

from textual.app import App, ComposeResult
from textual.widgets import Static


class Floor(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static("PID USER")


if __name__ == "__main__":
    Floor().run()
