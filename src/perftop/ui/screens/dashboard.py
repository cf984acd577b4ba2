"""The default screen: meters with history, and the process table with its actions.

The screen keeps the user's view options (sort, filter, tree, follow) and turns each new
snapshot into rows with the pure `build_view`; reading /proc happens in the app's sampler.
Given a saved snapshot instead, it shows that moment read-only: the same panels and table,
fed once, with every action that would touch a live process explaining why it does not.

Given the app's timeline (`ticks`), it can pause and rewind: a `Cursor` says which tick is
looked at; the figures and the table show that tick, sorted and filtered as set, while the
graphs go on and mark it. Replaying a recording (`replay`) is the same, read-only, with
space playing the ticks in order instead of returning to live.
"""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from perftop.formats.errors import FormatError
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
from perftop.system.samples import ProcessRow, ProcessSnapshot, SystemSample
from perftop.system.timeline import Cursor, TickSource, parse_moment
from perftop.ui.fmt import printable
from perftop.ui.keys import with_ids
from perftop.ui.screens.dialogs import Confirm, GoToTime, SignalMenu, SortMenu
from perftop.ui.widgets.footer import FittingFooter
from perftop.ui.widgets.meters import (
    CpuPanel,
    IoPanel,
    MemoryPanel,
    Panel,
    SystemPanel,
    TempPanel,
)
from perftop.ui.widgets.process_detail import ProcessDetailPane
from perftop.ui.widgets.process_table import ProcessTable

if TYPE_CHECKING:
    from textual.timer import Timer

    from perftop.formats.snapshot import Snapshot
    from perftop.system.detail import ProcessDetail


def snapshot_marker(snapshot: Snapshot) -> str:
    """`snapshot of HOST at 2026-11-22 10:15:03 +0100`: local time, with its offset."""
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(snapshot.created))
    return f"snapshot of {printable(snapshot.hostname) or 'an unnamed host'} at {when}"


_NICE = Binding.Group("Nice -/+")


def _span(seconds: float) -> str:
    """`42 s`, `5 min 03 s`, `2 h 05 min`: how far back the paused moment is."""
    s = max(round(seconds), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class DashboardScreen(Screen[None]):
    class ProfileRequested(Message):
        """The user asked to look inside a process; the app attaches the profiler."""

        def __init__(self, pid: int, title: str) -> None:
            super().__init__()
            self.pid = pid
            self.title = title

    BINDINGS = with_ids(
        "dashboard",
        [
            Binding("f1,question_mark", "help", "Help"),
            Binding("slash,f4", "filter", "Filter"),
            Binding("f3", "search", "Search"),
            Binding("n", "search_next", "Next match", show=False),
            Binding("f5,t", "toggle_tree", "Tree"),
            Binding("f6", "sort_menu", "Sort"),
            Binding("less_than_sign", "sort_step(-1)", "Sort column left", show=False),
            Binding("greater_than_sign", "sort_step(1)", "Sort column right", show=False),
            Binding("I", "invert_sort", "Invert sort", show=False),
            # One footer entry for the pair: the footer has no room to spare at 120 columns.
            Binding("f7", "renice(-1)", "Nice -", group=_NICE),
            Binding("f8", "renice(1)", "Nice +", group=_NICE),
            Binding("f9,k", "kill", "Kill"),
            Binding("enter,p", "profile", "Profile"),
            Binding("i", "toggle_detail", "Info"),
            # Announced by the snapshot banner, which has the room the footer lacks.
            Binding("v", "saved_profile", "Saved profile", show=False),
            Binding("F", "follow", "Follow", show=False),
            Binding("c", "toggle_cpu_mode", "CPU% mode", show=False),
            Binding("K", "toggle_kernel_threads", "Kernel threads", show=False),
            Binding("space", "toggle_pause", "Pause"),
            Binding("left_square_bracket", "step(-1)", "Step back", show=False),
            Binding("right_square_bracket", "step(1)", "Step forward", show=False),
            Binding("left_curly_bracket", "jump(-60)", "A minute back", show=False),
            Binding("right_curly_bracket", "jump(60)", "A minute forward", show=False),
            Binding("at", "goto_time", "Go to time", show=False),
            Binding("f10,q", "app.quit", "Quit"),
            Binding("escape", "clear", "Clear filter", show=False),
        ],
    )
    _MOMENT_ACTIONS = frozenset({"toggle_pause", "step", "jump", "goto_time"})

    def __init__(
        self,
        history: SystemHistory,
        options: ViewOptions | None = None,
        saved: Snapshot | None = None,
        *,
        ticks: TickSource | None = None,
        replay: str | None = None,
        play_every: float = 1.0,
    ) -> None:
        super().__init__()
        self.history = history
        self.options = options or ViewOptions()
        self.saved = saved  # a snapshot shown read-only; None when live
        # Every tick kept (the app's Timeline, or a recording), and where the screen looks.
        self.ticks = ticks
        self.cursor = Cursor(ticks) if ticks is not None else None
        self.replay = replay  # "recording of HOST": replayed read-only; None when live
        self.play_every = play_every  # seconds between ticks when a replay plays
        self._playing: Timer | None = None
        self._live: tuple[SystemSample, ProcessSnapshot] | None = None  # the newest tick
        self.snapshot: ProcessSnapshot | None = None
        self.sample: SystemSample | None = None
        self.view: list[ViewRow] = []
        self.search_mode = False
        self.search_text = ""
        self._status = ""  # the status line as last shown

    def compose(self) -> ComposeResult:
        if self.saved is not None:
            yield Static(self._marker_text(self.saved), id="snapshot-banner")
        yield Static(id="moment-banner")
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
        # At 80 columns: F1 Help, / Filter, F5 Tree, F6 Sort, F9 Kill, Enter Profile, F10 Quit.
        yield FittingFooter(
            ("setup", "search", "toggle_pause", "toggle_detail", "renice", "toggle_tree"),
            compact=True,
        )

    def on_mount(self) -> None:
        self.query_one("#cpu").border_title = "cpu"
        self.query_one("#mem").border_title = "memory"
        self.query_one("#temps").border_title = "temperatures"
        self.query_one("#disk").border_title = "disks"
        self.query_one("#net").border_title = "network"
        self.query_one("#detail").border_title = "process"
        self.query_one(ProcessTable).focus()
        self._resize_meters()
        self.query_one("#moment-banner").display = False
        if self.saved is not None:
            self.show(self.saved.sample, self.saved.processes)
        if self.replay is not None and self.cursor is not None and self.ticks:
            self.cursor.jump_to(self.ticks.timestamp(0))  # a replay starts at its beginning
            self._show_moment()

    def _marker_text(self, saved: Snapshot) -> str:
        text = f" {snapshot_marker(saved)} · read-only"
        if saved.profile is not None:
            text += " · v: saved profile"
        if saved.redacted:
            text += " · redacted"
        return text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "saved_profile":
            return self.saved is not None and self.saved.profile is not None
        if action in self._MOMENT_ACTIONS:
            return self.cursor is not None
        return True

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

    @property
    def paused(self) -> bool:
        return self.cursor is not None and not self.cursor.is_live

    def show(self, sample: SystemSample | None, snapshot: ProcessSnapshot) -> None:
        """The newest data: each live tick, or a saved snapshot's once. While paused, the
        moment looked at stays on screen and only the graphs move on (and their cursor)."""
        if sample is not None:
            self._live = (sample, snapshot)
        if self.paused:
            if self.sample is not None:
                self._draw(self.sample, None)
            return
        self._draw(sample, snapshot)

    def _draw(self, sample: SystemSample | None, snapshot: ProcessSnapshot | None) -> None:
        """Show `sample` in the panels and `snapshot` in the table (None: keep the table)."""
        first = self.sample is None
        self.sample = sample
        if snapshot is not None:
            self.snapshot = snapshot
        if sample is None:  # a snapshot saved before the first meter sample: the table only
            self._rebuild_view()
            return
        if first:
            self._resize_meters()
        behind = self.cursor.behind if self.cursor is not None else None
        for panel in self.query(Panel):
            panel.behind = behind
            panel.show(sample, self.history)
        temps = self.query_one("#temps")
        temps.display = bool(sample.temps)
        if temps.display:
            temps.styles.height = min(len(sample.temps), 6) + 2
        if snapshot is not None:
            self._rebuild_view()
        self._update_banner()

    def view_changed(self) -> None:
        """The app changed the view options (F2): show the table with them now."""
        if self.is_mounted:
            self._rebuild_view()

    def _rebuild_view(self) -> None:
        if self.snapshot is None:
            return
        self.view = build_view(self.snapshot, self.options)
        table = self.query_one(ProcessTable)
        table.sort_key, table.reverse = self.options.sort_key, self.options.reverse
        table.columns = self.options.columns
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
        if not self.options.show_kernel_threads:
            parts.append("kernel threads hidden (K)")
        text = "  ·  ".join(parts)
        if text != self._status:
            self._status = text
            # No layout: the line is one row whatever it says, and a layout pass each tick
            # re-arranges the whole screen; unchanged, it is not even repainted (bytes).
            self.query_one("#status", Static).update(text, layout=False)

    # --- the moment looked at: pause, step, jump, replay --------------------------------------

    def _show_moment(self) -> None:
        """Show the tick under the cursor, or the newest when live."""
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None:
            return
        index = cursor.index
        if index is None:
            if self._live is not None:
                self._draw(*self._live)
            self._update_banner()
            return
        try:
            sample, snapshot = ticks.sample_at(index), ticks.processes_at(index)
        except FormatError as exc:  # a damaged record in a recording: say so, stay put
            self.notify(str(exc), severity="error")
            return
        self._draw(sample, snapshot)

    def _update_banner(self) -> None:
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None:
            return
        banner = self.query_one("#moment-banner", Static)
        index = cursor.index
        if index is None or not len(ticks):
            if banner.display:
                banner.display = False
            return
        keys = "[ ]: step  { }: minute  @: go to time"
        if self.replay is not None:
            state = "playing · space: pause" if self._playing else "space: play"
            clock = time.strftime("%H:%M:%S", time.localtime(ticks.timestamp(index)))
            text = f" {self.replay} · {clock} · {index + 1}/{len(ticks)} · {state}  {keys}"
        else:
            ago = ticks.timestamp(len(ticks) - 1) - ticks.timestamp(index)
            text = f" {cursor.label()} · {_span(ago)} before live · space: live  {keys}"
        banner.update(text, layout=False)
        banner.display = True

    def _moved(self) -> None:
        self._show_moment()
        self._update_status()

    def action_toggle_pause(self) -> None:
        cursor = self.cursor
        if cursor is None:
            return
        if self.replay is not None:
            self._toggle_play()
        elif cursor.is_live:
            cursor.pause()
        else:
            cursor.live()
        self._moved()

    def action_step(self, n: int) -> None:
        if self.cursor is not None:
            self._stop_playing()
            self.cursor.step(n)
            self._moved()

    def action_jump(self, seconds: float) -> None:
        if self.cursor is not None:
            self._stop_playing()
            self.cursor.jump_seconds(seconds)
            self._moved()

    def action_goto_time(self) -> None:
        ticks = self.ticks
        if ticks is None or not len(ticks):
            self.notify("nothing recorded yet")
            return

        def clock(i: int) -> str:
            return time.strftime("%H:%M:%S", time.localtime(ticks.timestamp(i)))

        def chosen(text: str | None) -> None:
            if text is None or self.cursor is None:
                return
            try:
                when = parse_moment(text, ticks.timestamp(len(ticks) - 1))
            except ValueError as exc:
                self.notify(str(exc), severity="error")
                return
            if when < ticks.timestamp(0):
                self.notify(f"the history kept starts at {clock(0)}: going there")
            self._stop_playing()
            self.cursor.jump_to(when)
            self._moved()

        self.app.push_screen(GoToTime(f"{clock(0)} to {clock(len(ticks) - 1)}"), chosen)

    @on(Panel.MomentClicked)
    def _graph_clicked(self, event: Panel.MomentClicked) -> None:
        """A click on a graph: go to that sample's moment (graphs and ticks keep step)."""
        if self.cursor is None:
            return
        stamps = self.history.timestamps().last(event.behind + 1)
        if len(stamps) == event.behind + 1:
            self._stop_playing()
            self.cursor.jump_to(stamps[0])
            self._moved()

    def _toggle_play(self) -> None:
        if self._playing is not None:
            self._stop_playing()
            return
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None:
            return
        if cursor.index == len(ticks) - 1:  # at the end: play again from the start
            cursor.jump_to(ticks.timestamp(0))
        self._playing = self.set_interval(self.play_every, self._play_step)

    def _play_step(self) -> None:
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None or cursor.index == len(ticks) - 1:
            self._stop_playing()
            return
        cursor.step(1)
        self._moved()

    def _stop_playing(self) -> None:
        if self._playing is not None:
            self._playing.stop()
            self._playing = None
            self._update_banner()

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

    def action_toggle_kernel_threads(self) -> None:
        self.options.show_kernel_threads = not self.options.show_kernel_threads
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

    def _refuse_if_saved(self, what: str, hint: str = "") -> bool:
        """In a snapshot or a replay, say why `what` cannot happen; True when refused."""
        if self.saved is not None:
            source = snapshot_marker(self.saved)
        elif self.replay is not None:
            source = self.replay
        else:
            return False
        self.notify(
            f"{what}: this is a {source}, not the live machine{hint}",
            title="Read-only",
            severity="warning",
        )
        return True

    def action_kill(self) -> None:
        current = self.query_one(ProcessTable).current
        if current is None or self._refuse_if_saved("no signal sent"):
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

    def _gone_since(self, row: ProcessRow) -> bool:
        """Paused, a row may name a process that has exited since, or whose PID another
        process now has: say so (True) rather than act on the wrong one."""
        if not self.paused:
            return False
        from perftop.system.processes import process_start_time

        try:
            started = process_start_time(row.pid)
        except ProcessError:
            started = -1.0
        if started is not None and abs(started - row.start_time) > 1.0:
            self.notify(
                f"PID {row.pid} ({printable(row.name)}) has exited since that moment",
                severity="warning",
            )
            return True
        return False

    def action_renice(self, delta: int) -> None:
        current = self.query_one(ProcessTable).current
        if current is None or self._refuse_if_saved("priority unchanged"):
            return
        if self._gone_since(current.row):
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
        if self.saved is not None or self.replay is not None:
            has_profile = self.saved is not None and self.saved.profile is not None
            hint = ". Press v for the profile saved with it" if has_profile else ""
            self._refuse_if_saved("cannot profile", hint)
            return
        if self._gone_since(current.row):
            return
        title = printable(display_command(current.row))
        self.post_message(self.ProfileRequested(current.row.pid, title))

    def action_saved_profile(self) -> None:
        if self.saved is None or self.saved.profile is None:
            return
        from perftop.ui.screens.profile import ProfileScreen

        title = self.saved.profile_title or "saved profile"
        self.app.push_screen(ProfileScreen(self.saved.profile, title=title, can_snapshot=True))

    def action_toggle_detail(self) -> None:
        if self._refuse_if_saved("process details (open files, connections) are not saved"):
            return
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
