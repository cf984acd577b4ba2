"""The default screen: meters with history, and the process table with its actions.

The screen keeps the user's view options (sort, filter, tree, follow) and turns each new
snapshot into rows with the pure `build_view`; reading /proc happens in the app's sampler.
Given a saved snapshot instead, it shows that moment read-only: the same panels and table,
fed once, with every action that would touch a live process explaining why it does not.

It is composed of three parts with their own modules: pausing and rewinding through the app's
timeline or a recording (`rewind.Rewind`), acting on the selected process
(`process_actions.ProcessActions`), and watching memory grow (`leaks.LeakWatch`: GROWTH, leak
suspects, the out-of-memory warning). The screen keeps the bindings; its actions hand over.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from perftop.system.container_meter import container_levels
from perftop.system.history import SystemHistory
from perftop.system.levels import Thresholds, levels_of
from perftop.system.processes import (
    Figures,
    SortKey,
    ViewOptions,
    ViewRow,
    build_view,
    cycle_sort_key,
    default_reverse,
    display_command,
    figures_shown,
    filter_text_matches,
)
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.system.timeline import Cursor, TickSource
from perftop.ui.fmt import printable
from perftop.ui.keys import with_ids
from perftop.ui.screens.leaks import LeakWatch
from perftop.ui.screens.process_actions import LIVE_ACTIONS, ProcessActions, snapshot_marker
from perftop.ui.screens.rewind import Rewind
from perftop.ui.widgets.compact_meters import CompactMeters
from perftop.ui.widgets.footer import FittingFooter
from perftop.ui.widgets.gpu_panel import GpuPanel
from perftop.ui.widgets.meters import (
    CpuPanel,
    IoPanel,
    MemoryPanel,
    Panel,
    SystemPanel,
    TempPanel,
    cpu_limited,
    memory_limited,
)
from perftop.ui.widgets.process_detail import ProcessDetailPane
from perftop.ui.widgets.process_table import ProcessTable

if TYPE_CHECKING:
    from collections.abc import Callable

    from perftop.formats.snapshot import Snapshot
    from perftop.system.growth import GrowthModel
    from perftop.system.source import SystemSource


_NICE = Binding.Group("Nice -/+")


class FilterBox(Input):
    """The filter and search box. Its Enter is a priority binding, run before the next key is
    routed: left to Input, the focus moved back to the table only once the Submitted message
    came round, and a key typed right after Enter (a paste, a fast typist over SSH) still
    landed in the box."""

    BINDINGS = [Binding("enter", "screen.filter_done", "Apply", show=False, priority=True)]


class DashboardScreen(Screen[None]):
    class ProfileRequested(Message):
        """The user asked to look inside a process; the app attaches the profiler."""

        def __init__(self, pid: int, title: str) -> None:
            super().__init__()
            self.pid = pid
            self.title = title

    class MachineProfileRequested(Message):
        """The user asked to profile the whole machine: every CPU, every process."""

    TABLE_ROWS = 14  # the process rows kept at 80x24 (htop shows 17): meters fold below this

    BINDINGS = with_ids(
        "dashboard",
        [
            Binding("f1,question_mark", "help", "Help"),
            Binding("slash,f4,backslash", "filter", "Filter"),
            Binding("f3", "search", "Search"),
            Binding("n", "search_next", "Next match", show=False),
            Binding("f5,t", "toggle_tree", "Tree"),
            Binding("f6", "sort_menu", "Sort"),
            Binding("less_than_sign", "sort_step(-1)", "Sort column left", show=False),
            Binding("greater_than_sign", "sort_step(1)", "Sort column right", show=False),
            Binding("I", "invert_sort", "Invert sort", show=False),
            # htop's: sort by memory, CPU, CPU time, biggest first (I inverts).
            Binding("M", "sort_by('MEM%')", "Sort by memory", show=False),
            Binding("P", "sort_by('CPU%')", "Sort by CPU", show=False),
            Binding("T", "sort_by('TIME+')", "Sort by CPU time", show=False),
            Binding("u", "pick_user", "Show one user", show=False),
            # One footer entry for the pair: the footer has no room to spare at 120 columns.
            Binding("f7", "renice(-1)", "Nice -", group=_NICE),
            Binding("f8", "renice(1)", "Nice +", group=_NICE),
            Binding("f9,k", "kill", "Kill"),
            # htop tags with Space, which is pause here; Insert is the file managers' tag key.
            Binding("insert,ctrl+t", "tag", "Tag"),
            Binding("U", "untag_all", "Untag all", show=False),
            Binding("enter,p", "profile", "Profile"),
            Binding("W", "profile_machine", "Profile whole machine", show=False),
            Binding("i", "toggle_detail", "Info"),
            # Announced by the snapshot banner, which has the room the footer lacks.
            Binding("v", "saved_profile", "Saved profile", show=False),
            Binding("F", "follow", "Follow", show=False),
            Binding("c", "toggle_cpu_mode", "CPU% mode", show=False),
            Binding("K", "toggle_kernel_threads", "Kernel threads", show=False),
            Binding("H", "toggle_threads", "User threads", show=False),
            Binding("C", "cgroups", "Cgroup view", show=False),
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
        self.rewind = Rewind(
            self,
            history,
            draw=self._draw,
            status=self._update_status,
            ticks=ticks,
            replay=replay,
            play_every=play_every,
        )
        self.acts = ProcessActions(self, self.rewind, saved)
        self.leaks = LeakWatch(self)
        self.history = history
        self.options = options or ViewOptions()
        # NET/s is read on its own budget: marked once older than the tick before this one.
        self.options.net_stale_after_s = 1.5 * self.rewind.play_every
        self.saved = saved
        self.thresholds = Thresholds()  # what is warn and crit: the config's, set by the app
        self.snapshot: ProcessSnapshot | None = None
        self.sample: SystemSample | None = None
        self.view: list[ViewRow] = []
        self.search_mode = False
        self.search_text = ""
        self._status = ""  # the status line as last shown
        self._pending: tuple[SystemSample, ProcessSnapshot] | None = None  # a tick not drawn
        # The live tick the app had before this screen mounted: drawn in its first frame.
        self.opening: tuple[SystemSample, ProcessSnapshot] | None = None
        self._composed = False  # its widgets are there (on_mount has begun)
        self._resumed = False  # resumed once already (see on_screen_resume)
        self._psi_shown: bool | None = None  # the pressure line, as the panels were sized
        self._gpus_shown = 0  # the GPUs, as the panels were sized
        # Mounted when first shown, not composed hidden: styling three widgets nobody sees
        # was ~5 ms of the first screen (bench/bench_startup.py). None until then.
        self._compact: CompactMeters | None = None  # small terminals only
        self._gpu: GpuPanel | None = None  # machines with NVIDIA GPUs only
        self._filter: FilterBox | None = None  # at the first `/` or F3
        # The dear figures (network, waits, shared memory, threads, GPU use) the machine was
        # last told to measure; the app sets those its first tick's source was made with.
        self.told: Figures | None = None

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
        yield Static(id="status")
        # At 120 columns all but F2 Setup and F3 Search (htop keeps those; the tag key is new to
        # a htop user, so it stays). At 80: F1 Help, / Filter, F5 Tree, F6 Sort, F9 Kill, Enter
        # Profile, F10 Quit.
        yield FittingFooter(
            ("setup", "search", "tag", "toggle_pause", "toggle_detail", "renice", "toggle_tree"),
            compact=True,
        )

    def on_mount(self) -> None:
        self._composed = True
        self.query_one("#cpu").border_title = "cpu"
        self.query_one("#mem").border_title = "memory"
        self.query_one("#temps").border_title = "temperatures"
        self.query_one("#disk").border_title = "disks"
        self.query_one("#net").border_title = "network"
        self.query_one("#detail").border_title = "process"
        self.query_one(ProcessTable).focus()
        self.leaks.mounted()
        self._resize_meters()
        self.query_one("#moment-banner").display = False
        if self.saved is not None:
            self.show(self.saved.sample, self.saved.processes)
        opening, self.opening = self.opening, None
        if opening is not None:
            self.show(*opening)
            self.acts.refresh_detail()
        rewind = self.rewind
        if rewind.replay is not None and rewind.cursor is not None and rewind.ticks:
            if self.saved is not None:
                rewind.cursor.pause()  # a snapshot opens on its moment, the newest tick
            else:
                rewind.cursor.jump_to(rewind.ticks.timestamp(0))  # a recording: its beginning
            rewind.show_moment()

    # --- the parts, as the app and the bindings see them -------------------------------------

    @property
    def cursor(self) -> Cursor | None:
        return self.rewind.cursor

    @property
    def paused(self) -> bool:
        return self.rewind.paused

    @property
    def replay(self) -> str | None:
        return self.rewind.replay

    @property
    def play_every(self) -> float:
        return self.rewind.play_every

    @play_every.setter
    def play_every(self, seconds: float) -> None:
        self.rewind.play_every = seconds

    @property
    def machine(self) -> Callable[[], SystemSource] | None:
        return self.acts.machine

    @machine.setter
    def machine(self, source: Callable[[], SystemSource] | None) -> None:
        self.acts.machine = source

    @property
    def growth(self) -> GrowthModel | None:
        """Every live process's memory history (the app's, fed each tick)."""
        return self.leaks.growth

    @growth.setter
    def growth(self, model: GrowthModel | None) -> None:
        self.leaks.growth = model

    @property
    def live(self) -> bool:
        """Showing this machine as it runs (paused or not), not a file."""
        return self.saved is None and self.replay is None

    def action_toggle_pause(self) -> None:
        self.rewind.toggle_pause()

    def action_step(self, n: int) -> None:
        self.rewind.step(n)

    def action_jump(self, seconds: float) -> None:
        self.rewind.jump(seconds)

    def action_goto_time(self) -> None:
        self.rewind.goto_time()

    @on(Panel.MomentClicked)
    def _graph_clicked(self, event: Panel.MomentClicked) -> None:
        self.rewind.graph_clicked(event.behind)

    def action_kill(self) -> None:
        self.acts.kill()

    def action_tag(self) -> None:
        """Tag or untag the selected process and move down, as htop's Space does."""
        table = self.query_one(ProcessTable)
        current = table.current
        if current is None:
            return
        self.acts.toggle_tag(current.row)
        table.tagged = frozenset(self.acts.tags)
        table.action_cursor(1)
        self._update_status()

    def action_untag_all(self) -> None:
        self.acts.untag_all()
        self.query_one(ProcessTable).tagged = frozenset()
        self._update_status()

    def action_renice(self, delta: int) -> None:
        self.acts.renice(delta)

    def action_toggle_detail(self) -> None:
        self.acts.toggle_detail()

    def refresh_detail(self) -> None:
        """Called each tick by the app: the detail pane follows the live process."""
        if not self.covered:
            self.acts.refresh_detail()

    @property
    def covered(self) -> bool:
        """Hidden under a whole screen (a flame view, help): nothing of it shows. Textual
        forwards what a screen underneath repaints to the screen on top, so drawing here cost
        the flame view a full screen of bytes each tick. Dialogs let it show round them."""
        top = self.app.screen if self.is_attached else self
        return top is not self and not isinstance(top, ModalScreen)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen's own handler (Textual walks the class's MRO). The first resume
        # comes right after the mount, which styled every node: Textual's second pass over
        # them all was 6.6 ms of the first frame (bench/bench_startup.py). Focus and class
        # changes restyle what they touch themselves.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False
        pending, self._pending = self._pending, None
        if pending is not None:  # the newest tick, drawn now that it shows again
            self.show(*pending)
            self.acts.refresh_detail()

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
        if action in Rewind.MOMENT_ACTIONS:
            return self.cursor is not None
        if action in LIVE_ACTIONS:
            return not self.acts.read_only  # a saved moment has no process to act on
        if action == "cgroups":
            return self.live and self.machine is not None  # the tree is read live
        if action == "untag_all":
            return bool(self.acts.tags)
        return True

    def on_resize(self) -> None:
        self._resize_meters()

    def _resize_meters(self) -> None:
        """Give the process table the rows a small terminal lacks: graphs shrink first, then
        the bordered panels fold into htop-like lines (`CompactMeters`) where the table would
        keep fewer than `TABLE_ROWS` rows; they come back when the terminal grows."""
        height, width = self.size.height, self.size.width
        compact = height < 32
        cores = len(self.sample.cpu.per_core_percent) if self.sample else 1
        core_rows = CpuPanel.core_rows(cores, max(width // 2 - 2, 20))
        graph = 1 if compact else 3
        # The pressure line takes a graph row, or, where the graph has only one, a row more.
        psi = int(compact and self.sample is not None and self.sample.pressure is not None)
        cpu_h = 2 + 2 + graph + psi + min(core_rows, 4 if compact else 8)
        io_h = 5 if compact else 8
        # Besides the meters: the top bar, the status line, the footer and the table's header.
        chrome = 4 + (self.saved is not None)  # and a saved snapshot's banner
        room = height - chrome - cpu_h - io_h - self.TABLE_ROWS  # rows the GPUs may take
        # The GPUs (none: no panel): a line each, and under it its graphs, two rows, one or
        # none, as many as leave the table its rows.
        gpus = len(self.sample.gpus) if self.sample else 0
        fits = [g for g in (2, 1, 0) if GpuPanel.height_for(gpus, g) <= room]
        gpu_h = GpuPanel.height_for(gpus, fits[0] if fits else 0)
        folded = not fits
        lines = self._compact
        was_folded = lines is not None and lines.display
        if lines is None and folded:
            lines = self._compact = CompactMeters(id="compact")
            self.mount(lines, after="#topbar")  # in the DOM at once; drawn by _draw below
        if lines is not None:
            lines.display = folded
            lines.styles.height = CompactMeters.rows_for(self.sample, width) + bool(lines.warning)
        self.query_one("#meters").display = not folded
        self.query_one("#io").display = not folded
        self.query_one("#meters").styles.height = cpu_h
        self.query_one("#io").styles.height = io_h
        panel = self._gpu
        mounted = False
        if panel is None and gpus and not folded:
            panel = self._gpu = GpuPanel(id="gpu")
            panel.border_title = "gpus"
            self.mount(panel, after="#io")
            mounted = True
        if panel is not None:
            panel.display = bool(gpus) and not folded
            panel.styles.height = max(gpu_h, 3)
        self._gpus_shown = gpus
        self.set_class(compact, "compact")
        if (folded != was_folded or mounted) and self.sample is not None:
            self._draw(self.sample, None)  # the panels just shown draw now, not next tick

    # --- data in ------------------------------------------------------------------------------

    def open_with(self, sample: SystemSample, snapshot: ProcessSnapshot) -> None:
        """The live tick the app had as it started: drawn as this screen mounts, or now if
        its widgets are already there (the base screen may be composed first)."""
        self.show(sample, snapshot)  # kept for on_mount while the widgets are not there
        if self._composed:
            self.acts.refresh_detail()

    def show(self, sample: SystemSample | None, snapshot: ProcessSnapshot) -> None:
        """The newest data: each live tick, or a saved snapshot's once. While paused, the
        moment looked at stays on screen and only the graphs move on (and their cursor)."""
        if sample is not None:
            self.rewind.live = (sample, snapshot)
            if sample.notice is not None:  # said once, from the live tick, whatever shows
                self.notify(sample.notice, severity="warning", timeout=10)
                sample = dataclasses.replace(sample, notice=None)
            if not self._composed:
                # The base screen (PerftopApp.get_default_screen), a tick come before its
                # widgets: its on_mount draws the newest.
                self.opening = (sample, snapshot)
                return
            if self.covered:
                self._pending = (sample, snapshot)
                # Covered from the start (`perftop --pid`: the flame on top), nothing was
                # drawn yet to say what is shown: the network and the waits stay unmeasured.
                self._want_figures()
                return
            if self.live:
                self.leaks.probe_suspects(self.machine)
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
        if (
            first
            or (sample.pressure is not None) != self._psi_shown
            or len(sample.gpus) != self._gpus_shown
        ):
            self._psi_shown = sample.pressure is not None  # the CPU panel's height follows
            self._resize_meters()
        behind = self.cursor.behind if self.cursor is not None else None
        levels = container_levels(levels_of(sample, self.thresholds), sample, self.thresholds)
        self._titles(sample)
        # The warning is about the processes running now: not shown at a past moment.
        warning = self.leaks.warning(snapshot) if self.live and behind is None else ()
        self.query_one("#mem", MemoryPanel).warning = warning
        lines = self._compact
        if lines is not None and lines.warning != warning:
            lines.warning = warning
            lines.styles.height = CompactMeters.rows_for(sample, self.size.width) + bool(warning)
        for panel in self.query(Panel):
            panel.behind = behind
            panel.show(sample, self.history, levels)
        temps = self.query_one("#temps")
        temps.display = bool(sample.temps)
        if temps.display:
            temps.styles.height = min(len(sample.temps), 6) + 2
        if snapshot is not None:
            self._rebuild_view()
        self.rewind.update_banner()

    def _titles(self, sample: SystemSample) -> None:
        """The CPU and memory panels say when they measure against a container's limits."""
        cpu, memory = cpu_limited(sample) is not None, memory_limited(sample) is not None
        for selector, title, limited in (("#cpu", "cpu", cpu), ("#mem", "memory", memory)):
            panel = self.query_one(selector)
            wanted = f"{title} · container limit" if limited else title
            if panel.border_title != wanted:
                panel.border_title = wanted

    def view_changed(self) -> None:
        """The app changed the view options (F2): show the table with them now."""
        if self.is_mounted:
            self._rebuild_view()

    def _rebuild_view(self) -> None:
        if self.snapshot is None:
            return
        model = self.leaks.model_of(
            self.options.growth_window_s, self.live, self.cursor, self.rewind.ticks
        )
        if model is None:
            self.view = build_view(self.snapshot, self.options)
        else:
            # Without GROWTH shown or sorted on, a trend shows only as RSS's leak mark.
            every = SortKey.GROWTH in (*self.options.columns, self.options.sort_key)
            suspects = None if every else {pid for pid, _start, _g in model.suspects()}
            self.view = build_view(self.snapshot, self.options, model.lookup, suspects)
        self._want_figures()
        table = self.query_one(ProcessTable)
        if self.live and not self.paused:
            self.acts.prune_tags(self.snapshot)  # at a past moment, its processes are tagged
        table.tagged = frozenset(self.acts.tags)  # the same set again repaints nothing
        table.sort_key, table.reverse = self.options.sort_key, self.options.reverse
        table.columns = self.options.columns
        table.set_rows(self.view, self.snapshot.timestamp)
        following = self.options.follow_pid
        if following is not None and not table.move_to_pid(following):
            self.notify(f"PID {following} has exited", severity="warning")
            self.options.follow_pid = None
        self._update_status()

    def _want_figures(self) -> None:
        """Tell the machine which dear figures are shown (the network's, the waits'), so that
        it measures only those: a column, the sort or the detail pane."""
        if not self.live or self.machine is None:
            return
        wanted = figures_shown(self.options, detail=bool(self.query_one("#detail").display))
        if wanted != self.told:
            self.told = wanted
            self.machine().want(**wanted._asdict())

    def _update_status(self) -> None:
        parts = []
        n = len(self.snapshot.rows) if self.snapshot else 0
        running = (
            sum(1 for r in self.snapshot.rows.values() if r.state == "R") if self.snapshot else 0
        )
        parts.append(f"{n} tasks, {running} running")
        if self.options.filter_text:
            parts.append(f"filter: {printable(self.options.filter_text)} ({len(self.view)} shown)")
        if self.options.user is not None:
            parts.append(f"user: {printable(self.options.user)} (u: all)")
        if self.acts.tags:
            parts.append(f"{len(self.acts.tags)} tagged (U untags)")
        if self.options.sort_key not in self.options.columns:  # no header says it: T, F6
            arrow = "▼" if self.options.reverse else "▲"
            parts.append(f"sorted by {self.options.sort_key.value}{arrow}")
        if self.options.cgroup is not None:
            group = printable(self.options.cgroup)
            if len(group) > 32:  # its end says most: cut before a whole component
                tail = group[-31:]
                group = "…" + tail[max(tail.find("/"), 0) :]
            parts.append(f"cgroup: {group} ({len(self.view)} shown, Esc clears)")
        if self.options.tree:
            parts.append("tree")
        if self.options.follow_pid is not None:
            parts.append(f"following {self.options.follow_pid}")
        parts.append("CPU% per core" if self.options.cpu_per_core else "CPU% of machine")
        if not self.options.show_kernel_threads:
            parts.append("kernel threads hidden (K)")
        if self.options.threads:
            threads = len(self.snapshot.threads) if self.snapshot else 0
            # A recording keeps no threads: say so rather than show a tree with none.
            parts.append(f"{threads} user threads (H)" if self.live else "no threads recorded (H)")
        text = "  ·  ".join(parts)
        if text != self._status:
            self._status = text
            # No layout: the line is one row whatever it says, and a layout pass each tick
            # re-arranges the whole screen; unchanged, it is not even repainted (bytes).
            self.query_one("#status", Static).update(text, layout=False)

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
            self.acts.load_detail()

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
        options = self.options
        options.sort_key = cycle_sort_key(options.sort_key, step, options.columns)
        self._rebuild_view()

    def action_sort_by(self, value: str) -> None:
        key, options = SortKey(value), self.options
        options.sort_key, options.reverse = key, default_reverse(key)
        self._rebuild_view()

    def action_pick_user(self) -> None:
        counts: dict[str, int] = {}
        for row in self.snapshot.rows.values() if self.snapshot else ():
            counts[row.user] = counts.get(row.user, 0) + 1

        def chosen(user: str | None) -> None:
            if user is not None:
                self.options.user = user or None
                self._rebuild_view()

        from perftop.ui.screens.dialogs import UserMenu  # dialogs: imported once opened

        self.app.push_screen(UserMenu(counts, self.options.user), chosen)

    def action_sort_menu(self) -> None:
        def chosen(key: SortKey | None) -> None:
            if key is not None:
                self.options.sort_key = key
                self._rebuild_view()

        from perftop.ui.screens.dialogs import SortMenu

        self.app.push_screen(SortMenu(self.options.sort_key), chosen)

    def action_toggle_cpu_mode(self) -> None:
        self.options.cpu_per_core = not self.options.cpu_per_core
        self._rebuild_view()

    def action_toggle_kernel_threads(self) -> None:
        self.options.show_kernel_threads = not self.options.show_kernel_threads
        self._rebuild_view()

    def action_toggle_threads(self) -> None:
        """User threads as rows (htop's `H`), read from the next tick on: a recording has
        none, so the status line says when there are none to show."""
        self.options.threads = not self.options.threads
        self._want_figures()
        self._rebuild_view()
        self._update_status()

    def action_cgroups(self) -> None:
        """The cgroup tree, live; Enter on a group shows its processes alone."""
        from perftop.ui.screens.cgroups import CgroupScreen

        if self.machine is None:
            return
        source = self.machine()

        def picked(path: str | None) -> None:
            if path is not None:
                self.options.cgroup = None if path.rstrip("/") == "" else path
                self._rebuild_view()

        screen = CgroupScreen(
            source.cgroups(), interval_s=self.play_every, names=source.container_names()
        )
        self.app.push_screen(screen, picked)

    def action_follow(self) -> None:
        pid = self.query_one(ProcessTable).current_pid
        self.options.follow_pid = None if self.options.follow_pid == pid else pid
        self._update_status()

    # --- filter and search -------------------------------------------------------------------

    def _open_input(self, search: bool) -> None:
        self.search_mode = search
        placeholder = "search (F3/n: next)" if search else "filter: name, command, user or PID"
        value = self.search_text if search else self.options.filter_text
        box = self._filter
        if box is None:
            # Made with its value: the watchers of an Input not yet mounted do not run.
            box = self._filter = FilterBox(value, placeholder, id="filter")
            box.display = True
            self.mount(box, before="#status")
        else:
            box.placeholder = placeholder
            box.value = value
            box.display = True
        # Now, not after this key's turn (Widget.focus waits for it): keys typed right after
        # `/` (a paste, a fast typist over SSH) went to the table, and `k` of "worker" opened
        # the kill menu.
        self.set_focus(box)

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

    def action_filter_done(self) -> None:
        if self._filter is not None:
            self._filter.display = bool(self.options.filter_text) and not self.search_mode
        self.set_focus(self.query_one(ProcessTable))  # now, not after this key's turn

    def action_clear(self) -> None:
        box = self._filter
        if box is not None and box.has_focus and self.search_mode:
            self.search_text = ""
        else:
            self.options.filter_text = ""
            self.options.cgroup = None
            self._rebuild_view()
        if box is not None:
            box.value = ""
            box.display = False
        self.query_one(ProcessTable).focus()

    # --- acting on a process: see ProcessActions for the rest -------------------------------

    def action_profile(self) -> None:
        current = self.query_one(ProcessTable).current
        if current is None:
            return
        if self.acts.gone_since(current.row):
            return
        title = printable(display_command(current.row))
        # A thread row (H) profiles its process: the profilers see every thread of it.
        pid = current.row.thread_of or current.row.pid
        self.post_message(self.ProfileRequested(pid, title))

    def action_profile_machine(self) -> None:
        self.post_message(self.MachineProfileRequested())

    def action_saved_profile(self) -> None:
        if self.saved is None or self.saved.profile is None:
            return
        from perftop.ui.screens.profile import ProfileScreen

        title = self.saved.profile_title or "saved profile"
        self.app.push_screen(ProfileScreen(self.saved.profile, title=title, can_snapshot=True))
