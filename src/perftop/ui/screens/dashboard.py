"""The default screen: meters with history, and the process table with its actions.

The screen keeps the user's view options (sort, filter, tree, follow) and turns each new
snapshot into rows with the pure `build_view`; reading /proc happens in the app's sampler.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from perftop.system.errors import ProcessError
from perftop.system.history import SystemHistory
from perftop.system.processes import (
    SortKey,
    ViewOptions,
    ViewRow,
    build_view,
    cycle_sort_key,
    default_reverse,
    display_command,
    filter_text_matches,
)
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.ui.fmt import printable
from perftop.ui.screens.dialogs import Confirm, SignalMenu, SortMenu
from perftop.ui.widgets.meters import CpuPanel, IoPanel, MemoryPanel, SystemPanel, TempPanel
from perftop.ui.widgets.process_detail import ProcessDetailPane
from perftop.ui.widgets.process_table import ProcessTable

if TYPE_CHECKING:
    from perftop.system.detail import ProcessDetail


class DashboardScreen(Screen[None]):
    class ProfileRequested(Message):
        """The user asked to look inside a process; the app attaches the profiler."""

        def __init__(self, pid: int, title: str) -> None:
            super().__init__()
            self.pid = pid
            self.title = title

    BINDINGS = [
        Binding("f1,question_mark", "help", "Help"),
        Binding("slash,f4", "filter", "Filter"),
        Binding("f3", "search", "Search"),
        Binding("n", "search_next", "Next match", show=False),
        Binding("f5,t", "toggle_tree", "Tree"),
        Binding("f6", "sort_menu", "Sort"),
        Binding("less_than_sign", "sort_step(-1)", "Sort column left", show=False),
        Binding("greater_than_sign", "sort_step(1)", "Sort column right", show=False),
        Binding("I", "invert_sort", "Invert sort", show=False),
        Binding("f7", "renice(-1)", "Nice -"),
        Binding("f8", "renice(1)", "Nice +"),
        Binding("f9,k", "kill", "Kill"),
        Binding("enter,p", "profile", "Profile"),
        Binding("i", "toggle_detail", "Info"),
        Binding("F", "follow", "Follow", show=False),
        Binding("c", "toggle_cpu_mode", "CPU% mode", show=False),
        Binding("f10,q", "app.quit", "Quit"),
        Binding("escape", "clear", "Clear filter", show=False),
    ]

    def __init__(self, history: SystemHistory, options: ViewOptions | None = None) -> None:
        super().__init__()
        self.history = history
        self.options = options or ViewOptions()
        self.snapshot: ProcessSnapshot | None = None
        self.sample: SystemSample | None = None
        self.view: list[ViewRow] = []
        self.search_mode = False
        self.search_text = ""

    def compose(self) -> ComposeResult:
        yield SystemPanel(id="topbar")
        with Horizontal(id="meters"):
            yield CpuPanel(id="cpu")
            with Vertical(id="mem-col"):
                yield MemoryPanel(id="mem")
                yield TempPanel(id="temps")
        with Horizontal(id="io"):
            yield IoPanel("disk", id="disk")
            yield IoPanel("net", id="net")
        with Horizontal(id="main"):
            yield ProcessTable(id="processes")
            yield ProcessDetailPane(id="detail")
        yield Input(id="filter", placeholder="filter: name, command, user or PID")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cpu").border_title = "cpu"
        self.query_one("#mem").border_title = "memory"
        self.query_one("#temps").border_title = "temperatures"
        self.query_one("#disk").border_title = "disks"
        self.query_one("#net").border_title = "network"
        self.query_one("#detail").border_title = "process"
        self.query_one(ProcessTable).focus()
        self._resize_meters()

    def on_resize(self) -> None:
        self._resize_meters()

    def _resize_meters(self) -> None:
        """Give the process table the rows a small terminal lacks: graphs shrink first."""
        height = self.size.height
        compact = height < 32
        cores = len(self.sample.cpu.per_core_percent) if self.sample else 1
        core_rows = CpuPanel.core_rows(cores, max(self.size.width // 2 - 2, 20))
        graph = 1 if compact else 3
        cpu_h = 2 + 2 + graph + min(core_rows, 4 if compact else 8)
        self.query_one("#meters").styles.height = cpu_h
        self.query_one("#io").styles.height = 5 if compact else 8
        self.set_class(compact, "compact")

    # --- data in ------------------------------------------------------------------------------

    def show(self, sample: SystemSample, snapshot: ProcessSnapshot) -> None:
        first = self.sample is None
        self.sample, self.snapshot = sample, snapshot
        if first:
            self._resize_meters()
        for panel in self.query("#topbar, #cpu, #mem, #temps, #disk, #net"):
            if isinstance(panel, SystemPanel | CpuPanel | MemoryPanel | IoPanel | TempPanel):
                panel.show(sample, self.history)
        temps = self.query_one("#temps")
        temps.display = bool(sample.temps)
        if temps.display:
            temps.styles.height = min(len(sample.temps), 6) + 2
        self._rebuild_view()

    def _rebuild_view(self) -> None:
        if self.snapshot is None:
            return
        self.view = build_view(self.snapshot, self.options)
        table = self.query_one(ProcessTable)
        table.sort_key, table.reverse = self.options.sort_key, self.options.reverse
        table.set_rows(self.view, self.snapshot.timestamp)
        following = self.options.follow_pid
        if following is not None and not table.move_to_pid(following):
            self.notify(f"PID {following} has exited", severity="warning")
            self.options.follow_pid = None
        self._update_status()

    def _update_status(self) -> None:
        parts = []
        n = len(self.snapshot.rows) if self.snapshot else 0
        running = (
            sum(1 for r in self.snapshot.rows.values() if r.state == "R") if self.snapshot else 0
        )
        parts.append(f"{n} tasks, {running} running")
        if self.options.filter_text:
            parts.append(f"filter: {printable(self.options.filter_text)} ({len(self.view)} shown)")
        if self.options.tree:
            parts.append("tree")
        if self.options.follow_pid is not None:
            parts.append(f"following {self.options.follow_pid}")
        parts.append("CPU% per core" if self.options.cpu_per_core else "CPU% of machine")
        self.query_one("#status", Static).update("  ·  ".join(parts))

    # --- process table interactions ----------------------------------------------------------

    @on(ProcessTable.HeaderClicked)
    def _sort_by_header(self, event: ProcessTable.HeaderClicked) -> None:
        if event.key is self.options.sort_key:
            self.options.reverse = not self.options.reverse
        else:
            self.options.sort_key = event.key
            self.options.reverse = default_reverse(event.key)
        self._rebuild_view()

    @on(ProcessTable.Highlighted)
    def _highlighted(self, _event: ProcessTable.Highlighted) -> None:
        if self.query_one("#detail").display:
            self._load_detail()

    def action_help(self) -> None:
        from perftop.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self))

    def action_toggle_tree(self) -> None:
        self.options.tree = not self.options.tree
        self._rebuild_view()

    def action_invert_sort(self) -> None:
        self.options.reverse = not self.options.reverse
        self._rebuild_view()

    def action_sort_step(self, step: int) -> None:
        self.options.sort_key = cycle_sort_key(self.options.sort_key, step)
        self._rebuild_view()

    def action_sort_menu(self) -> None:
        def chosen(key: SortKey | None) -> None:
            if key is not None:
                self.options.sort_key = key
                self._rebuild_view()

        self.app.push_screen(SortMenu(self.options.sort_key), chosen)

    def action_toggle_cpu_mode(self) -> None:
        self.options.cpu_per_core = not self.options.cpu_per_core
        self._rebuild_view()

    def action_follow(self) -> None:
        pid = self.query_one(ProcessTable).current_pid
        self.options.follow_pid = None if self.options.follow_pid == pid else pid
        self._update_status()

    # --- filter and search -------------------------------------------------------------------

    def _open_input(self, search: bool) -> None:
        self.search_mode = search
        box = self.query_one("#filter", Input)
        box.placeholder = "search (F3/n: next)" if search else "filter: name, command, user or PID"
        box.value = self.search_text if search else self.options.filter_text
        box.display = True
        box.focus()

    def action_filter(self) -> None:
        self._open_input(search=False)

    def action_search(self) -> None:
        self._open_input(search=True)

    def action_search_next(self) -> None:
        if self.search_text:
            self._jump_to_match(1)

    def _jump_to_match(self, start_offset: int) -> None:
        table = self.query_one(ProcessTable)
        n = len(table.rows)
        for step in range(n):
            i = (table.cursor + start_offset + step) % max(n, 1)
            if filter_text_matches(table.rows[i].row, self.search_text):
                table.cursor = i
                table.action_cursor(0)
                return

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.search_mode:
            self.search_text = event.value
            self._jump_to_match(0)
        else:
            self.options.filter_text = event.value
            self._rebuild_view()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(self.options.filter_text) and not self.search_mode
        self.query_one(ProcessTable).focus()

    def action_clear(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus and self.search_mode:
            self.search_text = ""
        else:
            self.options.filter_text = ""
            self._rebuild_view()
        box.value = ""
        box.display = False
        self.query_one(ProcessTable).focus()

    # --- acting on a process -----------------------------------------------------------------

    def action_kill(self) -> None:
        current = self.query_one(ProcessTable).current
        if current is None:
            return
        row = current.row

        def confirmed(sig: int, ok: bool | None) -> None:
            if not ok:
                return
            from perftop.system.processes import send_signal

            try:
                send_signal(row.pid, sig, row.start_time)
            except ProcessError as exc:
                self.notify(exc.message, severity="error")
            else:
                self.notify(f"sent {signal.Signals(sig).name} to {row.pid} ({printable(row.name)})")

        def chosen(sig: int | None) -> None:
            if sig is None:
                return
            question = f"Send {signal.Signals(sig).name} to {row.pid} ({printable(row.name)})?"
            self.app.push_screen(Confirm(question), lambda ok: confirmed(sig, ok))

        self.app.push_screen(SignalMenu(row.pid, printable(row.name)), chosen)

    def action_renice(self, delta: int) -> None:
        current = self.query_one(ProcessTable).current
        if current is None:
            return
        from perftop.system.processes import renice

        try:
            nice = renice(current.row.pid, delta)
        except ProcessError as exc:
            self.notify(exc.message, severity="error")
        else:
            current.row.nice = nice
            self.notify(f"{current.row.pid} ({printable(current.row.name)}) nice {nice}")

    def action_profile(self) -> None:
        current = self.query_one(ProcessTable).current
        if current is None:
            return
        title = printable(display_command(current.row))
        self.post_message(self.ProfileRequested(current.row.pid, title))

    def action_toggle_detail(self) -> None:
        pane = self.query_one("#detail", ProcessDetailPane)
        pane.display = not pane.display
        if pane.display:
            self._load_detail()

    def _load_detail(self) -> None:
        pid = self.query_one(ProcessTable).current_pid
        if pid is None:
            self._show_detail_message("no process selected")
        else:
            self._read_detail(pid)

    @work(thread=True, exclusive=True, group="detail")
    def _read_detail(self, pid: int) -> None:
        """Off the UI thread: open files and connections can take tens of milliseconds."""
        from perftop.system.detail import read_detail

        try:
            detail = read_detail(pid)
        except ProcessError as exc:
            self.app.call_from_thread(self._show_detail_message, exc.message)
        else:
            self.app.call_from_thread(self._show_detail, detail)

    def _show_detail(self, detail: ProcessDetail) -> None:
        self.query_one("#detail", ProcessDetailPane).show_detail(detail)

    def _show_detail_message(self, message: str) -> None:
        self.query_one("#detail", ProcessDetailPane).show_message(message)

    def refresh_detail(self) -> None:
        """Called each tick by the app: the detail pane follows the live process."""
        if self.query_one("#detail").display:
            self._load_detail()
