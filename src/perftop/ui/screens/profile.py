"""The profile screen: a live flame view of one process, its top functions, and its threads.

The screen drives one ProfileSession (`perftop.profiling.session`), which owns the backend,
the live Profile and its state. A thread worker waits on the session's batches and posts them;
the session absorbs them here on the UI thread (≤ 20 ms a batch, see bench/), so the flame
never reads a half-merged tree. The same screen shows a profile opened from a file: then
there is simply no session. Exports are asked of the app by message: it owns where
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
from perftop.profiling.backend import Batch, ProfilerError, ProfilerOptions
from perftop.profiling.session import ProfileSession, SessionState
from perftop.ui.fmt import printable
from perftop.ui.keys import with_ids
from perftop.ui.screens.flame_screen import FlameScreen
from perftop.ui.screens.profile_dialogs import (
    PYSPY_FLAGS,
    SNAPSHOT_CHOICE,
    ExportChoice,
    ExportMenu,
    ProfilerSettings,
    ThreadDump,
    profile_export_choices,
)
from perftop.ui.widgets.flame import INTO_NATIVE, KIND_COLOURS, KIND_NAMES, FlameView
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
    kinds = " ".join(
        f"[black on {KIND_COLOURS[kind][0]}] {name} [/]" for kind, name in KIND_NAMES.items()
    )
    return f"{kinds} {INTO_NATIVE} Python→native"


def sampling_text(source: str, options: ProfilerOptions) -> str:
    """Which profiler samples and how, for the head line: `py-spy 100 Hz gil`,
    `perf 99 Hz frame pointers`, `perf 100 Hz dwarf`."""
    parts = [source, f"{options.rate_hz} Hz"] if source else [f"{options.rate_hz} Hz"]
    if source == "perf":
        parts.append("dwarf" if options.dwarf else "frame pointers")
    else:  # py-spy's own flags; perf has none of them
        parts += [name for name in PYSPY_FLAGS if getattr(options, name)]
    return " ".join(parts)


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
        shown: Profile | ProfileSession,
        *,
        title: str = "",
        can_snapshot: bool = False,
    ) -> None:
        super().__init__()
        # A session samples a live process; a bare Profile was opened from a file.
        self.session = shown if isinstance(shown, ProfileSession) else None
        self.profile = shown.profile if isinstance(shown, ProfileSession) else shown
        self.can_snapshot = can_snapshot  # is there a machine (live or saved) to snapshot?
        self.title_text = title
        self.search_text = ""
        self._last_table = 0.0

    @property
    def pid(self) -> int | None:
        return self.session.pid if self.session is not None else None

    @property
    def machine(self) -> bool:
        """Sampling every CPU (perf's whole-machine session), not one process."""
        from perftop.profiling.perf import MACHINE_PID

        return self.session is not None and self.session.pid == MACHINE_PID

    @property
    def state(self) -> SessionState:
        return self.session.state if self.session is not None else SessionState.FILE

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
        if self.session is not None and self.session.state is SessionState.STARTING:
            self._start()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A profile from a file has no profiler to pause, dump, tune or restart: those keys
        # would do nothing, so they are not offered (footer, help, palette).
        if action in ("pause", "reset", "dump", "settings"):
            return self.session is not None
        return True

    # --- the profiler -------------------------------------------------------------------------

    def _start(self) -> None:
        session = self.session
        assert session is not None
        session.start()
        if session.state is SessionState.FAILED:
            self._failed()
            return
        self._pump(session)

    @work(thread=True, exclusive=True, group="profiler")
    def _pump(self, session: ProfileSession) -> None:
        """Off the UI thread: wait for batches until the backend stops or the target exits."""
        backend = session.backend  # a restart makes a new one: this worker serves this one
        try:
            while backend.running:
                batch = session.next_batch(0.5)
                if batch is not None:
                    self.post_message(BatchReady(batch))
                    if batch.target_exited:
                        return
        except ProfilerError as exc:
            self.post_message(ProfilerFailed(exc))

    def on_batch_ready(self, message: BatchReady) -> None:
        if self.session is None:
            return
        news = self.session.absorb(message.batch)
        # Toasted in full: the head line below is cut at the screen's edge.
        for warning in news.warnings:
            self.notify(warning, severity="warning", timeout=10)
        if news.exited:
            self.notify(f"PID {self.pid} exited; the profile is kept", severity="warning")
        self._refresh_views()

    def on_profiler_failed(self, message: ProfilerFailed) -> None:
        if self.session is not None:
            self.session.fail(message.error)
            self._failed()

    def _failed(self) -> None:
        assert self.session is not None
        self.notify(self.session.error or "the profiler failed", severity="error", timeout=10)
        self._refresh_head()

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()

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
        # The labels people already know: FAILED reads ERROR.
        label = "error" if state is SessionState.FAILED else state.value
        style = {
            SessionState.LIVE: "bold green",
            SessionState.PAUSED: "bold yellow",
            SessionState.STOPPED: "bold yellow",
            SessionState.ENDED: "bold magenta",
            SessionState.FAILED: "bold red",
        }.get(state, "bold")
        text.append(f" {label.upper()} ", f"reverse {style}")
        # The figures first, then the error, the title (a command line, often long) last: the
        # line is cut at the screen's edge, and what is cut must be the least useful part.
        text.append(f"  samples {self.profile.total_samples:,}")
        session = self.session
        if session is not None:
            text.append("  " + sampling_text(session.metadata.get("source", ""), session.options))
            text.append(f"  coverage {100 * session.coverage:.0f}%")
        thread = self.query_one(FlameView).thread
        text.append(f"  thread: {printable(thread) if thread is not None else 'all'}")
        if session is not None and session.error:
            text.append(f"  {session.error}", "red")
        elif session is not None and state is SessionState.STOPPED and session.stopped_reason:
            text.append(f"  {session.stopped_reason}", "yellow")
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
        if self.session is None:
            return
        self.session.toggle_pause()
        self._refresh_head()

    def action_reset(self) -> None:
        if self.session is None:
            return
        self.session.reset()
        self.profile = self.session.profile
        flame = self.query_one(FlameView)
        flame.zoom_path = ()
        flame.selected_path = ()
        flame.set_profile(self.profile)
        self._refresh_views(force_table=True)

    def _thread_changed(self) -> None:
        self._refresh_views(force_table=True)

    def action_dump(self) -> None:
        if self.session is None or not self.session.state.sampling:
            self.notify("thread dumps need a live process", severity="warning")
            return
        # perf's dump is its last samples: no local variables to add.
        with_locals = self.session.metadata.get("source") == "py-spy"
        self.app.push_screen(ThreadDump(self.session.backend, can_show_locals=with_locals))

    def profile_for_export(self) -> Profile:
        """The profile as it is now: for a live one, the session's copy, which carries the
        rate and the time sampled (batches keep merging into the original)."""
        return self.session.profile_for_export() if self.session is not None else self.profile

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
            if self.machine:
                stem = export_stem(None, "all")
            else:
                stem = export_stem(self.pid, self.title_text or (f"PID {pid}" if pid else ""))
            profile = self.profile_for_export()
            self.post_message(self.ExportRequested(profile, stem, choice, labels[choice]))

        self.app.push_screen(ExportMenu(choices), chosen)

    def action_settings(self) -> None:
        session = self.session
        if session is None:
            return

        def chosen(options: ProfilerOptions | None) -> None:
            if options is None:
                return
            session.restart(options)
            if session.state is SessionState.FAILED:
                self._failed()
            else:
                self._pump(session)
            self._refresh_head()

        self.app.push_screen(ProfilerSettings(session.options, machine=self.machine), chosen)

    def action_close(self) -> None:
        self.stop()
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
