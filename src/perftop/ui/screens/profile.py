"""The profile screen: a live flame view of one process, its top functions, and its threads.

The screen owns one ProfilerBackend. A thread worker waits on the backend's batches and posts
them; merging into the Profile happens here on the UI thread (≤ 20 ms a batch, see bench/), so
the flame never reads a half-merged tree. The same screen shows a profile opened from a file:
then there is simply no backend. Exports are asked of the app by message: it owns where
files go and writes them off the UI thread.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from perftop.exports import export_stem
from perftop.model.profile import Node, Profile
from perftop.profiling.backend import Batch, ProfilerBackend, ProfilerError, ProfilerOptions
from perftop.ui.fmt import printable
from perftop.ui.keys import with_ids
from perftop.ui.screens.flame_screen import FlameScreen
from perftop.ui.screens.profile_dialogs import (
    SNAPSHOT_CHOICE,
    ExportChoice,
    ExportMenu,
    ProfilerSettings,
    ThreadDump,
    profile_export_choices,
)
from perftop.ui.widgets.flame import KIND_COLOURS, KIND_NAMES, FlameView
from perftop.ui.widgets.footer import FittingFooter
from perftop.ui.widgets.top_functions import TopFunctions


class BatchReady(Message):
    def __init__(self, batch: Batch) -> None:
        super().__init__()
        self.batch = batch


class ProfilerFailed(Message):
    def __init__(self, error: ProfilerError) -> None:
        super().__init__()
        self.error = error


def legend() -> str:
    """Colour key for the flame's border, as Textual markup."""
    return " ".join(
        f"[black on {KIND_COLOURS[kind][0]}] {name} [/]" for kind, name in KIND_NAMES.items()
    )


class ProfileScreen(FlameScreen):
    class ExportRequested(Message):
        """Write `profile` (a copy if it is live) as `label`, to a file ending in `suffix`."""

        def __init__(self, profile: Profile, stem: str, suffix: str, label: str) -> None:
            super().__init__()
            self.profile = profile
            self.stem = stem
            self.suffix = suffix
            self.label = label

    class SnapshotRequested(Message):
        """Save a perftop snapshot of the machine that includes this screen's profile."""

    BINDINGS = with_ids(
        "profile",
        [
            Binding("space", "pause", "Pause/resume"),
            Binding("r", "reset", "Reset"),
            Binding("slash", "search", "Search"),
            Binding("t", "threads", "Threads"),
            Binding("d", "dump", "Thread dump"),
            Binding("e", "export", "Export"),
            Binding("S", "settings", "Profiler settings"),
            Binding("q", "close", "Back"),
            Binding("f10", "app.quit", "Quit", show=False),
        ],
    )

    def __init__(
        self,
        profile: Profile,
        *,
        backend: ProfilerBackend | None = None,
        pid: int | None = None,
        options: ProfilerOptions | None = None,
        title: str = "",
        can_snapshot: bool = False,
    ) -> None:
        super().__init__()
        self.profile = profile
        self.can_snapshot = can_snapshot  # is there a machine (live or saved) to snapshot?
        self.backend = backend
        self.pid = pid
        self.options = options or ProfilerOptions()
        self.title_text = title
        self.state = "live" if backend is not None else "file"
        self.error: str | None = None
        self.stopped: str | None = None  # the target is stopped (SIGSTOP): what to do about it
        self.paused = False
        self.search_text = ""
        self._last_table = 0.0

    def compose(self) -> ComposeResult:
        yield Static(id="profile-head")
        yield FlameView(self.profile, id="flame")
        yield Static(id="frame-status")
        yield Input(id="flame-search", placeholder="search functions and files")
        with Horizontal(id="profile-bottom"):
            yield TopFunctions(id="top")
        yield FittingFooter(
            (
                "setup",
                "toggle_orientation",
                "reset",
                "dump",
                "threads",
                "settings",
                "unzoom",
                "search",
            )
        )

    def on_mount(self) -> None:
        self.query_one("#flame").border_title = "flame"
        self.query_one("#flame").border_subtitle = legend()
        self.query_one("#top").border_title = "top functions"
        self.query_one(FlameView).focus()
        self._refresh_views(force_table=True)
        if self.backend is not None and self.pid is not None:
            self._start()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A profile from a file has no profiler to pause, dump, tune or restart: those keys
        # would do nothing, so they are not offered (footer, help, palette).
        if action in ("pause", "reset", "dump", "settings"):
            return self.backend is not None
        return True

    # --- the profiler -------------------------------------------------------------------------

    def _start(self) -> None:
        assert self.backend is not None and self.pid is not None
        try:
            self.backend.start(self.pid, self.options)
        except ProfilerError as exc:
            self._fail(exc)
            return
        self.state = "live"
        self._pump(self.backend)

    @work(thread=True, exclusive=True, group="profiler")
    def _pump(self, backend: ProfilerBackend) -> None:
        """Off the UI thread: wait for batches until the backend stops or the target exits."""
        try:
            while backend.running:
                batch = backend.next_batch(0.5)
                if batch is not None:
                    self.post_message(BatchReady(batch))
                    if batch.target_exited:
                        return
        except ProfilerError as exc:
            self.post_message(ProfilerFailed(exc))

    def on_batch_ready(self, message: BatchReady) -> None:
        batch = message.batch
        self.profile.merge(batch.profile)
        # Toasted in full: the head line below is cut at the screen's edge.
        for warning in batch.warnings:
            self.notify(warning, severity="warning", timeout=10)
        # Shown until the next batch: the first one sampled after the target continued.
        self.stopped = None
        if batch.target_stopped:
            self.stopped = " ".join(batch.warnings) or "the target is stopped"
        if message.batch.target_exited:
            self.profile.ended = True
            self.profile.end_reason = "target exited"
            self.state = "ended"
            self.notify(f"PID {self.pid} exited; the profile is kept", severity="warning")
        self._refresh_views()

    def on_profiler_failed(self, message: ProfilerFailed) -> None:
        self._fail(message.error)

    def _fail(self, error: ProfilerError) -> None:
        self.error = error.message
        self.state = "error"
        self.notify(error.message, severity="error", timeout=10)
        self._refresh_head()

    def stop(self) -> None:
        if self.backend is not None:
            self.backend.stop()

    def on_unmount(self) -> None:
        # Runs on every way out (back, quit, Ctrl-C): the pump thread then sees the backend
        # stopped and returns, so the app's thread pool can shut down.
        self.stop()

    # --- rendering ----------------------------------------------------------------------------

    def _refresh_views(self, force_table: bool = False) -> None:
        flame = self.query_one(FlameView)
        flame.relayout()
        self._run_search()
        now = time.monotonic()
        # The top table is a DataTable: rebuilding it more than once a second buys nothing.
        if force_table or now - self._last_table >= 1.0:
            self._last_table = now
            top = self.query_one(TopFunctions)
            top.show_stats(
                self.profile.top_functions(flame.thread, limit=top.limit),
                self.profile.thread_samples(flame.thread)
                if flame.thread is not None
                else self.profile.total_samples,
            )
        self._refresh_head()
        self._refresh_frame_status(flame.selected)

    def _refresh_head(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        state = self.state
        if state == "live" and self.paused:
            state = "paused"
        elif state == "live" and self.stopped:
            state = "stopped"
        style = {
            "live": "bold green",
            "paused": "bold yellow",
            "stopped": "bold yellow",
            "ended": "bold magenta",
        }.get(state, "bold red" if state == "error" else "bold")
        text.append(f" {state.upper()} ", f"reverse {style}")
        # The figures first, then the error, the title (a command line, often long) last: the
        # line is cut at the screen's edge, and what is cut must be the least useful part.
        text.append(f"  samples {self.profile.total_samples:,}")
        if self.backend is not None:
            text.append(f"  {self.options.rate_hz} Hz")
            text.append(f"  coverage {100 * self.backend.coverage:.0f}%")
            flags = [
                name
                for name in ("nonblocking", "gil", "idle", "native", "subprocesses")
                if getattr(self.options, name)
            ]
            if flags:
                text.append("  " + " ".join(flags))
        thread = self.query_one(FlameView).thread
        text.append(f"  thread: {printable(thread) if thread is not None else 'all'}")
        if self.error:
            text.append(f"  {self.error}", "red")
        elif state == "stopped" and self.stopped:
            text.append(f"  {self.stopped}", "yellow")
        if self.title_text:
            text.append(f"  {printable(self.title_text)}", "bold")
        self.query_one("#profile-head", Static).update(text)

    def _refresh_frame_status(self, node: Node | None) -> None:
        status = self.query_one("#frame-status", Static)
        flame = self.query_one(FlameView)
        total = max(flame.profile.root(flame.thread).total, 1)
        text = Text(no_wrap=True, overflow="ellipsis")
        if node is not None and node.frame_id >= 0:
            frame = self.profile.frame(node.frame_id)
            text.append(printable(frame.name), "bold")
            text.append(f"  {printable(frame.location)}")
            text.append(f"  self {node.self_count:,} ({100 * node.self_count / total:.1f}%)")
            text.append(f"  total {node.total:,} ({100 * node.total / total:.1f}%)")
        else:
            text.append("←→↑↓/hjkl move · Enter zoom · Esc out · / search · t threads", "dim")
        result = self.search_result
        if result is not None:
            text.append(
                f"   search {printable(self.search_text)!r}: {result.percent:.1f}% of samples",
                "bold yellow",
            )
        status.update(text)

    @on(FlameView.Selected)
    def _selected(self, event: FlameView.Selected) -> None:
        self._refresh_frame_status(event.node)

    @on(TopFunctions.Picked)
    def _picked(self, event: TopFunctions.Picked) -> None:
        flame = self.query_one(FlameView)
        if self.query_one(TopFunctions).has_focus:
            flame.highlight_id = event.frame_id
            flame.restyle()

    # --- actions ------------------------------------------------------------------------------

    def action_pause(self) -> None:
        if self.backend is None or self.state != "live":
            return
        self.paused = not self.paused
        if self.paused:
            self.backend.pause()
        else:
            self.backend.resume()
        self._refresh_head()

    def action_reset(self) -> None:
        self.profile = Profile()
        if self.pid is not None:
            self.profile.metadata["pid"] = str(self.pid)
        flame = self.query_one(FlameView)
        flame.zoom_path = ()
        flame.selected_path = ()
        flame.set_profile(self.profile)
        self._refresh_views(force_table=True)

    def _thread_changed(self) -> None:
        self._refresh_views(force_table=True)

    def action_dump(self) -> None:
        if self.backend is None or self.state not in ("live",):
            self.notify("thread dumps need a live process", severity="warning")
            return
        self.app.push_screen(ThreadDump(self.backend))

    def profile_for_export(self) -> Profile:
        """The profile as it is now; a copy while live, as batches keep merging into it."""
        return self.profile.copy() if self.state == "live" else self.profile

    def action_export(self) -> None:
        if not self.profile.total_samples:
            self.notify("nothing to export yet: no samples", severity="warning")
            return
        choices = profile_export_choices()
        if self.can_snapshot:
            label = "perftop snapshot (machine + profile)"
            choices.append(ExportChoice(SNAPSHOT_CHOICE, label, ".perftop"))
        labels = {c.id: c.label for c in choices}

        def chosen(choice: str | None) -> None:
            if choice is None:
                return
            if choice == SNAPSHOT_CHOICE:
                self.post_message(self.SnapshotRequested())
                return
            pid = self.profile.metadata.get("pid", "")
            stem = export_stem(self.pid, self.title_text or (f"PID {pid}" if pid else ""))
            profile = self.profile_for_export()
            self.post_message(self.ExportRequested(profile, stem, choice, labels[choice]))

        self.app.push_screen(ExportMenu(choices), chosen)

    def action_settings(self) -> None:
        if self.backend is None or self.pid is None:
            return

        def chosen(options: ProfilerOptions | None) -> None:
            if options is None or self.backend is None:
                return
            self.options = options
            self.backend.stop()
            self.paused = False
            self._start()
            self._refresh_head()

        self.app.push_screen(ProfilerSettings(self.options), chosen)

    def action_close(self) -> None:
        self.stop()
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
