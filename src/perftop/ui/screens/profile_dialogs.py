"""Modal screens of the profile view: pick a thread, read a thread dump, change sampling,
choose an export format."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from perftop.profiling.backend import ProfilerBackend, ProfilerError, ProfilerOptions, ThreadStack
from perftop.ui.fmt import printable

ALL_THREADS = "\x00all"


class ThreadPicker(ModalScreen[str | None | bool]):
    """Dismisses with a thread name, None for all threads merged, or False when cancelled."""

    BINDINGS = [Binding("escape,q", "cancel", "Cancel")]

    def __init__(self, threads: list[tuple[str, int]], total: int) -> None:
        super().__init__()
        self.threads = threads
        self.total = max(total, 1)

    def compose(self) -> ComposeResult:
        options = [Option(f"all threads merged ({self.total:,} samples)", id=ALL_THREADS)]
        for i, (name, samples) in enumerate(self.threads):
            share = 100 * samples / self.total
            options.append(Option(f"{printable(name) or '(unnamed)'}  {share:.1f}%", id=str(i)))
        with Vertical(classes="dialog"):
            yield Label("Show thread", classes="dialog-title")
            yield OptionList(*options)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == ALL_THREADS:
            self.dismiss(None)
        else:
            self.dismiss(self.threads[int(str(event.option.id))][0])

    def action_cancel(self) -> None:
        self.dismiss(False)


def render_dump(stacks: list[ThreadStack]) -> Text:
    """py-spy dump's content, innermost frame first, with locals when they were asked for."""
    text = Text()
    if not stacks:
        text.append("no threads", "dim")
    for stack in stacks:
        state = "active" if stack.active else "idle"
        gil = " +gil" if stack.owns_gil else ""
        text.append(
            f"Thread {stack.thread_id:#x} ({state}{gil}) {printable(stack.name or '')}\n", "bold"
        )
        for i, frame in enumerate(stack.frames):
            text.append(f"    {printable(frame.name)} ", "bold" if i == 0 else "")
            text.append(f"({printable(frame.location)})\n", "dim")
            if stack.locals and i < len(stack.locals):
                for key, value in stack.locals[i].items():
                    text.append(f"        {printable(key)} = {printable(value)[:200]}\n", "cyan")
        text.append("\n")
    return text


class ThreadDump(ModalScreen[None]):
    """`py-spy dump` of every thread, refreshed on `r`; `l` adds local variables."""

    BINDINGS = [
        Binding("escape,q,d", "app.pop_screen", "Close"),
        Binding("r", "reload", "Refresh"),
        Binding("l", "toggle_locals", "Locals"),
    ]

    def __init__(self, backend: ProfilerBackend) -> None:
        super().__init__()
        self.backend = backend
        self.with_locals = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Label("Threads (r refresh, l locals, Esc close)", classes="dialog-title")
            yield Static("reading…", id="dump-body")

    def on_mount(self) -> None:
        self.action_reload()

    def action_toggle_locals(self) -> None:
        self.with_locals = not self.with_locals
        self.action_reload()

    def action_reload(self) -> None:
        self._load(self.with_locals)

    @work(thread=True, exclusive=True)
    def _load(self, with_locals: bool) -> None:
        try:
            body: Text = render_dump(self.backend.dump_threads(with_locals))
        except ProfilerError as exc:
            body = Text(exc.message, "red")
        self.app.call_from_thread(self.query_one("#dump-body", Static).update, body)


class ProfilerSettings(ModalScreen[ProfilerOptions | None]):
    """Rate and py-spy's sampling flags; applying restarts sampling, keeping the profile."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    FLAGS = ("nonblocking", "gil", "idle", "native", "subprocesses")

    def __init__(self, options: ProfilerOptions) -> None:
        super().__init__()
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Profiler settings", classes="dialog-title")
            with Horizontal(classes="setting-row"):
                yield Label("rate (Hz) ")
                yield Input(str(self.options.rate_hz), id="rate", type="integer")
            for flag in self.FLAGS:
                yield Checkbox(flag, getattr(self.options, flag), id=flag)
            yield Label("", id="settings-error")
            yield Button("Apply", id="apply", variant="primary")

    def on_button_pressed(self) -> None:
        self._apply()

    def on_input_submitted(self) -> None:
        self._apply()

    def _apply(self) -> None:
        try:
            rate = int(self.query_one("#rate", Input).value)
            flags = {flag: self.query_one(f"#{flag}", Checkbox).value for flag in self.FLAGS}
            options = ProfilerOptions(rate_hz=rate, batch_s=self.options.batch_s, **flags)
            options.to_args()  # validates the combination (e.g. native with nonblocking)
        except (ValueError, ProfilerError) as exc:
            message = exc.message if isinstance(exc, ProfilerError) else "rate must be a number"
            self.query_one("#settings-error", Label).update(f"[red]{message}[/red]")
            return
        self.dismiss(options)

    def action_cancel(self) -> None:
        self.dismiss(None)


SNAPSHOT_CHOICE = "\x00snapshot"


@dataclass(frozen=True)
class ExportChoice:
    id: str  # a profile format's file suffix, or SNAPSHOT_CHOICE
    label: str
    suffix: str


def profile_export_choices() -> list[ExportChoice]:
    """One choice per writable format (formats/registry.py), with its first file suffix."""
    from perftop.formats.registry import writable

    return [ExportChoice(f.extensions[0], f.label, f.extensions[0]) for f in writable()]


class ExportMenu(ModalScreen[str | None]):
    """Choose what to write: dismisses with the chosen id, or None when cancelled."""

    BINDINGS = [Binding("escape,q,e", "cancel", "Cancel")]

    def __init__(self, choices: list[ExportChoice]) -> None:
        super().__init__()
        self.choices = choices

    def compose(self) -> ComposeResult:
        width = max((len(c.label) for c in self.choices), default=0)
        options = [
            Option(Text.assemble(c.label.ljust(width), "  ", (c.suffix, "dim")), id=c.id)
            for c in self.choices
        ]
        with Vertical(classes="dialog"):
            yield Label("Export the profile as", classes="dialog-title")
            yield OptionList(*options)
            yield Label("[dim]Enter writes it to the export directory · Esc cancels[/dim]")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
