"""Modal screens of the profile view: pick a thread or a process, read a thread dump, change
sampling, choose an export format."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from perftop.model.processes import ProcessShare
from perftop.profiling.backend import (
    BACKEND_CHOICES,
    ProfilerBackend,
    ProfilerError,
    ProfilerOptions,
    ThreadStack,
)
from perftop.profiling.perf_cli import DWARF_STACK_BYTES
from perftop.ui.fmt import printable
from perftop.ui.widgets.process_shares import pid_text, vs_siblings_text

ALL_THREADS = "\x00all"
ALL_PROCESSES = "\x00all"


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


class ProcessPicker(ModalScreen[str | None | bool]):
    """The processes by share, the busiest first, each against its siblings (the same
    command): dismisses with a PID, None for all of them, or False when cancelled."""

    DEFAULT_CSS = "ProcessPicker { align: center middle; }"
    WIDTH = 96  # a PID, its figures and a command line: wider than the stylesheet's dialogs
    BINDINGS = [Binding("escape,q,p", "cancel", "Cancel")]

    def __init__(self, shares: list[ProcessShare], shown: str | None = None) -> None:
        super().__init__()
        self.shares = shares
        self.shown = shown

    def _width(self) -> int:
        return max(40, min(self.WIDTH, self.app.size.width - 4))

    def compose(self) -> ComposeResult:
        total = sum(s.samples for s in self.shares)
        options = [Option(f"all processes ({total:,} samples)", id=ALL_PROCESSES)]
        for i, s in enumerate(self.shares):
            line = Text(f"{pid_text(s.pid):>8} {s.percent:6.1f}% {s.samples:>9,}  ")
            line.append_text(vs_siblings_text(s))
            line.pad_right(max(0, 36 - line.cell_len))
            line.append(printable(" ".join(s.command.split())))
            line.truncate(self._width() - 10, overflow="ellipsis")  # one line each: no wrapping
            options.append(Option(line, id=str(i)))
        with Vertical(classes="dialog"):
            yield Label("Show process", classes="dialog-title")
            yield Label(
                "[dim]     PID  share   samples  x siblings  command[/dim]", id="process-header"
            )
            yield OptionList(*options)

    def on_mount(self) -> None:
        self.query_one(".dialog").styles.width = self._width()
        listed = self.query_one(OptionList)
        pids = [s.pid for s in self.shares]
        listed.highlighted = pids.index(self.shown) + 1 if self.shown in pids else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == ALL_PROCESSES:
            self.dismiss(None)
        else:
            self.dismiss(self.shares[int(str(event.option.id))].pid)

    def action_cancel(self) -> None:
        self.dismiss(False)


class MarkedCheckbox(Checkbox):
    """A checkbox that reads `[x]` or `[ ]`: Textual's draws one X in both states and tells
    them apart by colour alone, which NO_COLOR and 16-colour terminals do not show."""

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble("[", ("x" if self.value else " ", style), "]")


def render_dump(stacks: list[ThreadStack]) -> Text:
    """py-spy dump's content, innermost frame first, with locals when they were asked for."""
    text = Text()
    if not stacks:
        text.append("no threads", "dim")
    for stack in stacks:
        state = "active" if stack.active else "idle"
        gil = " +gil" if stack.owns_gil else ""
        text.append(
            # The OS thread id, in decimal as `ps -L` and the thread roots show it.
            f"Thread {stack.thread_id} ({state}{gil}) {printable(stack.name or '')}\n",
            "bold",
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
    """Every thread's stack now (py-spy dump; perf's last sample of each thread that ran),
    refreshed on `r`; `l` adds local variables where the profiler reads them (py-spy)."""

    BINDINGS = [
        Binding("escape,q,d", "app.pop_screen", "Close"),
        Binding("r", "reload", "Refresh"),
        Binding("l", "toggle_locals", "Locals"),
    ]

    def __init__(self, backend: ProfilerBackend, *, can_show_locals: bool = True) -> None:
        super().__init__()
        self.backend = backend
        self.can_show_locals = can_show_locals
        self.with_locals = False

    def compose(self) -> ComposeResult:
        keys = "r refresh, l locals, Esc close" if self.can_show_locals else "r refresh, Esc close"
        with VerticalScroll(classes="dialog help"):
            yield Label(f"Threads ({keys})", classes="dialog-title")
            yield Static("reading…", id="dump-body")

    def on_mount(self) -> None:
        self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.can_show_locals if action == "toggle_locals" else True

    def action_toggle_locals(self) -> None:
        self.with_locals = not self.with_locals
        self.action_reload()

    def action_reload(self) -> None:
        self._load(self.with_locals)

    @work(thread=True, exclusive=True)
    def _load(self, with_locals: bool) -> None:
        try:
            body: Text = render_dump(self.backend.dump_threads(with_locals))
        except ProfilerError as exc:  # one line of why, in the dialog: nothing to dump now
            body = Text(exc.message, "red")
        self.app.call_from_thread(self._show, body)

    def _show(self, body: Text) -> None:
        if self.is_attached:  # closed while the dump was read: nothing to show it in
            self.query_one("#dump-body", Static).update(body)


PYSPY_FLAGS = ("nonblocking", "gil", "idle", "native", "subprocesses")
PROFILER_LABELS = {
    "auto": "auto: py-spy for Python, perf else",
    "py-spy": "py-spy",
    "perf": "perf",
    "memory": "memory (live bytes)",
}
# What each profiler leaves unused in the dialog: greyed out while it is chosen.
_UNUSED = {
    "py-spy": {"dwarf"},
    "perf": set(PYSPY_FLAGS),
    "memory": {"rate", "dwarf", *PYSPY_FLAGS},  # a tracker sees every allocation
}


def dwarf_cost(rate_hz: int) -> str:
    """What DWARF unwinding costs at `rate_hz`, in one line for the dialog."""
    per_second = DWARF_STACK_BYTES * rate_hz / 1e6
    return (
        f"DWARF copies {DWARF_STACK_BYTES // 1024} KB of stack a sample: "
        f"~{per_second:.1f} MB/s per busy thread at {rate_hz} Hz, and perf script's CPU "
        "to unwind it"
    )


class ProfilerSettings(ModalScreen[ProfilerOptions | None]):
    """Which profiler, its rate and its flags; applying restarts sampling, keeping the
    profile (switching between memory and CPU starts afresh: bytes are not samples). A
    whole-machine session is always perf's: no choice of profiler there."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    FLAGS = PYSPY_FLAGS

    def __init__(self, options: ProfilerOptions, *, machine: bool = False) -> None:
        super().__init__()
        self.options = options
        self.machine = machine

    def compose(self) -> ComposeResult:
        options = self.options
        with VerticalScroll(classes="dialog"):
            yield Label("Profiler settings", classes="dialog-title")
            with Horizontal(classes="setting-row"):
                yield Label("profiler   ")
                if self.machine:
                    yield Label("perf (every CPU)", id="profiler-fixed")
                else:
                    yield Select(
                        [(PROFILER_LABELS[name], name) for name in BACKEND_CHOICES],
                        value=options.backend,
                        id="profiler",
                        allow_blank=False,
                    )
            with Horizontal(classes="setting-row"):
                yield Label("rate (Hz)  ")
                yield Input(str(options.rate_hz), id="rate", type="integer")
            yield Label("perf", classes="settings-section")
            yield MarkedCheckbox(
                "DWARF unwinding (code without frame pointers)",
                options.dwarf,
                id="dwarf",
                compact=True,
            )
            yield Static(dwarf_cost(options.rate_hz), id="dwarf-cost", classes="settings-note")
            if not self.machine:
                yield Label("py-spy only", classes="settings-section")
                for flag in self.FLAGS:
                    yield MarkedCheckbox(flag, getattr(options, flag), id=flag, compact=True)
            yield Label("", id="settings-error")
            yield Button("Apply", id="apply", variant="primary")

    def on_mount(self) -> None:
        self._enable_for(self.options.backend)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._enable_for(str(event.value))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "rate" and event.value.isdigit():
            self.query_one("#dwarf-cost", Static).update(dwarf_cost(int(event.value)))

    def _enable_for(self, backend: str) -> None:
        """Grey out what the chosen profiler ignores: DWARF under py-spy, py-spy's flags
        under perf, all of them under memory. Their values stay, for when the choice comes
        back."""
        if self.machine:
            return
        unused = _UNUSED.get(backend, set())
        self.query_one("#rate", Input).disabled = "rate" in unused
        self.query_one("#dwarf", Checkbox).disabled = "dwarf" in unused
        for flag in self.FLAGS:
            self.query_one(f"#{flag}", Checkbox).disabled = flag in unused

    def on_button_pressed(self) -> None:
        self._apply()

    def on_input_submitted(self) -> None:
        self._apply()

    def _chosen_backend(self) -> str:
        if self.machine:
            return self.options.backend
        return str(self.query_one("#profiler", Select).value)

    def _apply(self) -> None:
        try:
            backend = self._chosen_backend()
            unused = _UNUSED.get(backend, set()) if not self.machine else set()
            box = self.query_one("#rate", Input)
            rate = self.options.rate_hz if "rate" in unused else int(box.value)
            dwarf = self.query_one("#dwarf", Checkbox).value and "dwarf" not in unused
            flags = {flag: getattr(self.options, flag) for flag in self.FLAGS}
            if not self.machine:
                flags = {flag: self.query_one(f"#{flag}", Checkbox).value for flag in self.FLAGS}
            options = ProfilerOptions(
                rate_hz=rate,
                batch_s=self.options.batch_s,
                backend=backend,
                dwarf=dwarf,
                **flags,
            )
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
