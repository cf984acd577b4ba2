"""F2: edit the settings of the config file in a form, check them as the file is checked, save.

The screen edits a copy of the `Config` and dismisses with the new one (or None on cancel);
the app applies it and writes the file, so this screen knows nothing of paths or disks.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, SelectionList, Static, Switch

from perftop.config import Config, profiler_conflict, set_keys, set_value
from perftop.profiling.backend import BACKEND_CHOICES
from perftop.system.growth import window_label
from perftop.system.processes import COLUMNS, SortKey


@dataclass(frozen=True)
class KeyAction:
    """A remappable action: its binding id, what it does, the keys bound now."""

    id: str
    description: str
    keys: str


_NUMBERS = {  # input id → (section, key, parse)
    "refresh": ("display", "refresh", float),
    "history": ("display", "history", int),
    "rate": ("profiler", "rate", int),
}
_BANDS = {  # input id → (config field, key in [thresholds], label)
    "levels-cpu": ("cpu_levels", "cpu", "CPU % (warn, crit)"),
    "levels-memory": ("memory_levels", "memory", "memory % (warn, crit)"),
    "levels-iowait": ("iowait_levels", "iowait", "iowait % (warn, crit)"),
    "levels-load": ("load_levels", "load", "load per core (warn, crit)"),
}
_SWITCHES = {
    "tree": ("processes", "tree"),
    "cpu_per_core": ("processes", "cpu_per_core"),
    "nonblocking": ("profiler", "nonblocking"),
    "dwarf": ("profiler", "dwarf"),
}
PROFILER_LABELS = {
    "auto": "auto: py-spy for Python, perf for the rest",
    "py-spy": "py-spy",
    "perf": "perf",
}


def _with_new_columns(listed: list[SortKey], chosen: list[SortKey]) -> list[SortKey]:
    """`listed` in its order, each newly chosen column put where the table's registry has it:
    before the first listed column that comes after it there (GROWTH lands after RSS)."""
    out = list(listed)
    for key in COLUMNS:
        if key not in chosen or key in out:
            continue
        rank = COLUMNS.index(key)
        at = next((i for i, k in enumerate(out) if COLUMNS.index(k) > rank), len(out))
        out.insert(at, key)
    return out


class SetupScreen(ModalScreen[Config | None]):
    """The settings form. Ctrl+S or Save applies and saves; Esc leaves everything as it was."""

    DEFAULT_CSS = """
    SetupScreen { align: center middle; }
    SetupScreen > Vertical {
        width: 90; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    SetupScreen .setup-row { height: auto; margin-bottom: 1; }
    SetupScreen .setup-label { width: 26; padding-top: 1; }
    SetupScreen .setup-row Input, SetupScreen .setup-row Select { width: 1fr; }
    SetupScreen SelectionList { height: 8; width: 1fr; }
    SetupScreen #setup-error { color: $error; height: auto; }
    SetupScreen #setup-buttons { height: 3; align-horizontal: right; }
    SetupScreen .setup-section { text-style: bold; margin-top: 1; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, config: Config, themes: list[str], actions: list[KeyAction]) -> None:
        super().__init__()
        self.config = copy.deepcopy(config)
        self.themes = themes
        self.actions = actions

    def compose(self) -> ComposeResult:
        c = self.config
        with Vertical():
            yield Static("[b]Setup[/b]  (saved to the config file; Ctrl+S saves, Esc cancels)")
            with VerticalScroll():
                yield Static("Display", classes="setup-section")
                with Horizontal(classes="setup-row"):
                    yield Label("refresh (seconds)", classes="setup-label")
                    yield Input(f"{c.delay_s:g}", id="refresh", type="number")
                with Horizontal(classes="setup-row"):
                    yield Label("history (samples)", classes="setup-label")
                    yield Input(str(c.history_len), id="history", type="integer")
                with Horizontal(classes="setup-row"):
                    yield Label("theme", classes="setup-label")
                    themes = self.themes if c.theme in self.themes else [c.theme, *self.themes]
                    yield Select(
                        [(t, t) for t in themes], value=c.theme, id="theme", allow_blank=False
                    )
                with Horizontal(classes="setup-row"):
                    yield Label("export directory", classes="setup-label")
                    yield Input(c.export_dir, placeholder="(current directory)", id="export_dir")
                yield Static("Processes", classes="setup-section")
                with Horizontal(classes="setup-row"):
                    yield Label("visible columns", classes="setup-label")
                    order = c.columns + [k for k in COLUMNS if k not in c.columns]
                    yield SelectionList[SortKey](
                        *[(k.value, k, k in c.columns) for k in order], id="columns"
                    )
                with Horizontal(classes="setup-row"):
                    yield Label("sort by", classes="setup-label")
                    yield Select(
                        [(k.value, k) for k in SortKey], value=c.sort, id="sort", allow_blank=False
                    )
                with Horizontal(classes="setup-row"):
                    yield Label("sort direction", classes="setup-label")
                    yield Select(
                        [("column's own", "natural"), ("descending", "desc"), ("ascending", "asc")],
                        value={None: "natural", True: "desc", False: "asc"}[c.reverse],
                        id="reverse",
                        allow_blank=False,
                    )
                with Horizontal(classes="setup-row"):
                    yield Label("tree view", classes="setup-label")
                    yield Switch(c.tree, id="tree")
                with Horizontal(classes="setup-row"):
                    yield Label("CPU% per core", classes="setup-label")
                    yield Switch(c.cpu_per_core, id="cpu_per_core")
                with Horizontal(classes="setup-row"):
                    yield Label("GROWTH window (1m-60m)", classes="setup-label")
                    yield Input(window_label(c.growth_window_s), id="growth_window")
                yield Static("Profiler", classes="setup-section")
                with Horizontal(classes="setup-row"):
                    yield Label("profiler", classes="setup-label")
                    yield Select(
                        [(PROFILER_LABELS.get(name, name), name) for name in BACKEND_CHOICES],
                        value=c.profiler,
                        id="profiler",
                        allow_blank=False,
                    )
                with Horizontal(classes="setup-row"):
                    yield Label("rate (Hz)", classes="setup-label")
                    yield Input(str(c.rate_hz), id="rate", type="integer")
                with Horizontal(classes="setup-row"):
                    yield Label("DWARF unwinding (perf)", classes="setup-label")
                    yield Switch(c.dwarf, id="dwarf")
                with Horizontal(classes="setup-row"):
                    yield Label("nonblocking (py-spy)", classes="setup-label")
                    yield Switch(c.nonblocking, id="nonblocking")
                yield Static(
                    "Thresholds: where a meter turns warn and crit", classes="setup-section"
                )
                for input_id, (name, _key, label) in _BANDS.items():
                    with Horizontal(classes="setup-row"):
                        yield Label(label, classes="setup-label")
                        warn, crit = getattr(c, name)
                        yield Input(f"{warn:g}, {crit:g}", id=input_id)
                yield Static("Keys (comma-separated, e.g. f5,t)", classes="setup-section")
                for action in self.actions:
                    with Horizontal(classes="setup-row"):
                        yield Label(action.description[:25], classes="setup-label")
                        yield Input(
                            c.keys.get(action.id, action.keys),
                            id=f"key-{action.id.replace('.', '--')}",
                            classes="setup-key",
                        )
            yield Static("", id="setup-error")
            with Horizontal(id="setup-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        try:
            self.dismiss(self._read_form())
        except ValueError as exc:
            self.query_one("#setup-error", Static).update(str(exc))

    def _read_form(self) -> Config:
        config = copy.deepcopy(self.config)
        for input_id, (section, key, parse) in _NUMBERS.items():
            text = self.query_one(f"#{input_id}", Input).value.strip()
            try:
                value = parse(text)
            except ValueError:
                raise ValueError(f"{key}: {text!r} is not a number") from None
            try:
                set_value(config, section, key, value)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        for switch_id, (section, key) in _SWITCHES.items():
            set_value(config, section, key, self.query_one(f"#{switch_id}", Switch).value)
        for input_id, (_name, key, _label) in _BANDS.items():
            text = self.query_one(f"#{input_id}", Input).value
            try:
                pair = [float(part) for part in text.replace(",", " ").split()]
                set_value(config, "thresholds", key, pair)
            except ValueError as exc:
                raise ValueError(f"thresholds {key}: {exc}") from None
        set_value(config, "profiler", "profiler", self.query_one("#profiler", Select).value)
        conflict = profiler_conflict(config)
        if conflict is not None:
            raise ValueError(f"dwarf: {conflict}")
        window = self.query_one("#growth_window", Input).value.strip()
        try:
            set_value(config, "processes", "growth_window", window)
        except ValueError as exc:
            raise ValueError(f"GROWTH window: {exc}") from None
        config.theme = str(self.query_one("#theme", Select).value)
        config.export_dir = self.query_one("#export_dir", Input).value.strip()
        config.sort = SortKey(self.query_one("#sort", Select).value)
        direction = self.query_one("#reverse", Select).value
        config.reverse = {"natural": None, "desc": True, "asc": False}[str(direction)]
        chosen = self.query_one("#columns", SelectionList).selected
        if not chosen:
            raise ValueError("columns: choose at least one column")
        config.columns = _with_new_columns([k for k in config.columns if k in chosen], chosen)
        keys: dict[str, str] = {}
        for action in self.actions:
            text = self.query_one(f"#key-{action.id.replace('.', '--')}", Input).value.strip()
            if not text:
                raise ValueError(f"{action.description}: give at least one key")
            if text != action.keys or action.id in config.keys:
                keys[action.id] = text
        set_keys(config, keys)
        return config
