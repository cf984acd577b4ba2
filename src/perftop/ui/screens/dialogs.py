"""Small modal screens: pick a signal, confirm it, pick a sort column or a user, type a time.

Each returns its answer through `dismiss`, so the caller awaits a plain value.
"""

from __future__ import annotations

import signal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from perftop.system.processes import SortKey
from perftop.ui.fmt import printable

# htop's signal menu order: the common ones first, SIGTERM preselected.
SIGNALS: tuple[signal.Signals, ...] = (
    signal.SIGTERM,
    signal.SIGKILL,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGSTOP,
    signal.SIGCONT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGABRT,
)


class SignalMenu(ModalScreen[int | None]):
    """Choose a signal to send; Esc cancels."""

    BINDINGS = [Binding("escape,q", "dismiss_none", "Cancel")]

    def __init__(self, pid: int | None, name: str) -> None:
        """`pid` None: to several processes, which `name` describes."""
        super().__init__()
        self.pid = pid
        self.proc_name = name

    def compose(self) -> ComposeResult:
        whom = self.proc_name if self.pid is None else f"{self.pid} ({self.proc_name})"
        with Vertical(classes="dialog"):
            yield Label(f"Send signal to {whom}", classes="dialog-title")
            yield OptionList(
                *[Option(f"{int(s):>2} {s.name}", id=s.name) for s in SIGNALS], id="signals"
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(signal.Signals[str(event.option.id)]))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """A yes/no question; `y` or Enter confirms, `n` or Esc declines."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            yield Label("[b]y[/b]es / [b]n[/b]o")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class SortMenu(ModalScreen[SortKey | None]):
    """htop's F6: choose the column to sort by."""

    BINDINGS = [Binding("escape,q", "dismiss_none", "Cancel")]

    def __init__(self, current: SortKey) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Sort by", classes="dialog-title")
            yield OptionList(*[Option(k.value, id=k.name) for k in SortKey], id="sort-keys")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = list(SortKey).index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(SortKey[str(event.option.id)])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


ALL_USERS = ""  # the user menu's answer for "every user"


class UserMenu(ModalScreen[str | None]):
    """htop's `u`: show one user's processes. Dismisses with the user, ALL_USERS for all of
    them, None when cancelled."""

    BINDINGS = [Binding("escape,q", "dismiss_none", "Cancel")]

    def __init__(self, counts: dict[str, int], current: str | None) -> None:
        """`counts`: each user's number of processes now; `current`: the one shown, if any."""
        super().__init__()
        self.counts = counts
        self.current = current

    def compose(self) -> ComposeResult:
        users = sorted(self.counts, key=lambda u: (-self.counts[u], u))
        width = max((len(printable(u)) for u in users), default=0)
        options = [Option("All users", id="all")]
        # Not ids: a user name may hold what an id may not (a dot, a leading digit).
        options += [Option(f"{printable(u):<{width}}  {self.counts[u]:>5}") for u in users]
        self._users = [ALL_USERS, *users]
        with Vertical(classes="dialog"):
            yield Label("Show processes of", classes="dialog-title")
            yield OptionList(*options, id="users")

    def on_mount(self) -> None:
        current = self.current or ALL_USERS
        index = self._users.index(current) if current in self._users else 0
        self.query_one(OptionList).highlighted = index

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._users[event.option_index])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class GoToTime(ModalScreen[str | None]):
    """Ask for a moment to go to; the caller parses it (`timeline.parse_moment`)."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, span: str) -> None:
        super().__init__()
        self.span = span  # the moments there are to go to, e.g. "13:02:11 to 14:03:27"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Go to time", classes="dialog-title")
            yield Label(f"history from {self.span}")
            yield Input(placeholder="14:03:27, 14:03, -90s, -5m", id="moment")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
