"""The profile screen: a live flame view of one process, its top functions, and its threads.

The screen drives one ProfileSession (`perftop.profiling.session`), which owns the backend,
the live Profile and its state. A thread worker waits on the session's batches and posts them;
the session absorbs them here on the UI thread (≤ 20 ms a batch, see bench/), so the flame
never reads a half-merged tree. The same screen shows a profile opened from a file: then
there is simply no session. Exports are asked of the app by message: it owns where
files go and writes them off the UI thread.

A memory session (counts are bytes: `perftop.ui.screens.memory_view`) attaches off the UI
thread (gdb takes seconds to inject its tracker), shows sizes where samples would be, and
switches between the bytes live since the attach and what grew since a mark (`m`, `g`).

`b` takes the profile so far as a baseline (`B`: a profile from a file), and the flame is then
coloured by the change of each path's share since (`perftop.ui.screens.baseline`); `b` again
goes back to the usual colours.

What the flame shows of the profile (idle stacks hidden, one process alone, processes side by
side, the top table by function or by line) is the view (`perftop.ui.screens.profile_view`):
`self.profile` is the view, `_source()` the whole profile, which exports write.
"""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from perftop.exports import export_stem
from perftop.model.frames import FrameKind
from perftop.model.profile import Node, Profile
from perftop.model.view import ProfileView
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.session import MAX_LIVE_NODES, ProfileSession, SessionState
from perftop.ui.keys import with_ids
from perftop.ui.screens.flame_screen import has_screen_under
from perftop.ui.screens.memory_view import MemoryView, is_memory
from perftop.ui.screens.profile_dialogs import (
    SNAPSHOT_CHOICE,
    ExportChoice,
    ExportMenu,
    ProfilerSettings,
    ThreadDump,
    profile_export_choices,
)
from perftop.ui.screens.profile_session import SessionFlameScreen

# Re-exported: the screen's tests and the screenshot script read them from here.
from perftop.ui.screens.profile_text import frame_status, head_line, legend, sampling_text
from perftop.ui.screens.profile_view import VIEW_ACTIONS
from perftop.ui.widgets.flame import FlameView
from perftop.ui.widgets.footer import FittingFooter
from perftop.ui.widgets.process_shares import ProcessShares
from perftop.ui.widgets.top_functions import TopFunctions

__all__ = ["ProfileScreen", "legend", "sampling_text"]


class ProfileScreen(SessionFlameScreen):
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
            Binding("i", "toggle_idle", "Hide idle"),
            # Shown by the top table's frame, which says the mode: the footer keeps its room.
            Binding("f", "by_line", "Top: by line/function", show=False),
            Binding("t", "threads", "Threads"),
            Binding("p", "processes", "Processes"),
            Binding("P", "split_processes", "Split processes"),
            Binding("d", "dump", "Thread dump"),
            Binding("e", "export", "Export"),
            Binding("S", "settings", "Profiler settings"),
            Binding("m", "mark", "Mark now"),
            Binding("g", "toggle_growth", "Live/grown since mark"),
            Binding("b", "baseline", "Baseline now/off"),
            Binding("B", "baseline_file", "Baseline from file", show=False),
            Binding("q", "close", "Back"),
            # The screen a file opened on: q ends perftop, and says so.
            Binding("q", "close_last", "Quit"),
            Binding("f10", "app.quit", "Quit", show=False),
        ],
    )

    HELP_ABOUT = (
        "The flame: a box a call, as wide as the samples under it; its colour says where the\n"
        "code comes from (the legend on its frame), ▸ where Python calls native code.\n"
        "Top functions: own = samples in the function, total = in it and what it calls; a row\n"
        "a function, all its lines together, unless split by line.\n"
        "Idle hidden: stacks that end in a wait (select, poll, sleep, a lock, a queue, a socket,\n"
        "the GIL) left out, after the fact; the head line says how much of the samples waited.\n"
        "Processes (py-spy --subprocesses, perf on every CPU): their shares, and x sibl, each\n"
        "one's share over the median of those with the same command: the busy worker stands out.\n"
        f"(other): a live profile's least-sampled call paths, folded past {MAX_LIVE_NODES:,}\n"
        "nodes so its memory stays bounded; the head line says how many samples it holds, and\n"
        "the top table still counts them where they were taken."
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
        self.file_profile = shown if isinstance(shown, Profile) else None
        if self.session is not None:
            self.view = ProfileView(str(self.session.pid), self.session.metadata)
        else:
            self.view = ProfileView(self.profile.metadata.get("pid", ""), self.profile.metadata)
        self.view.show(self.profile, self.view_options)
        self._offers = self._look_at_offers()  # before the footer is composed: no second time
        self.can_snapshot = can_snapshot  # is there a machine (live or saved) to snapshot?
        self.title_text = title
        self.search_text = ""
        self._last_table = 0.0
        self.memory = MemoryView(self.session) if self.session is not None else None
        self.baseline = None  # colours the flame by change since (BaselineFlameScreen)

    @property
    def pid(self) -> int | None:
        return self.session.pid if self.session is not None else None

    @property
    def machine(self) -> bool:
        """Sampling every CPU (perf's whole-machine session), not one process."""
        from perftop.profiling.perf import MACHINE_PID

        return self.session is not None and self.session.pid == MACHINE_PID

    @property
    def tracks_memory(self) -> bool:
        """The session tracks allocations (`--memory`): its counts are bytes."""
        return is_memory(self.session)

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
            yield ProcessShares(id="processes")
        yield FittingFooter(
            (
                "setup",
                "toggle_orientation",
                "split_processes",
                "by_line",
                "reset",
                "dump",
                "threads",
                "settings",
                "unzoom",
                "processes",
                "search",
                "mark",  # a memory session's: g (its other key) stays
                "baseline",
                "toggle_idle",
            )
        )

    def on_mount(self) -> None:
        self.query_one("#flame").border_title = "flame"
        self.query_one("#flame").border_subtitle = legend()
        self.query_one(FlameView).focus()
        self._refresh_views(force_table=True)
        session = self.session
        if session is not None and session.state is SessionState.STARTING:
            self._start()
        elif session is not None and session.state in (SessionState.LIVE, SessionState.FAILED):
            # Started beside the app's imports (`perftop --pid`, commands/first_tick.py): its
            # batches to pump, or its refusal to say, without attaching again.
            self._started(session)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in VIEW_ACTIONS:
            return self._view_action_state(action)
        if action in ("close", "close_last"):  # Back, or Quit where nothing is under it
            return has_screen_under(self) == (action == "close")
        # A profile from a file has no profiler to pause, dump, tune or restart: those keys
        # would do nothing, so they are not offered (footer, help, palette).
        if action in ("pause", "settings"):
            return self.session is not None
        # A memory session has no thread dumps, and its next snapshot would bring back
        # whatever a reset forgot: the mark is its "from now on".
        if action in ("reset", "dump"):
            return self.session is not None and not self.tracks_memory
        if action in ("mark", "toggle_growth"):
            return self.tracks_memory
        if action == "baseline":  # a file's profile is all there is: compare it to a file
            return self.session is not None or self.baseline is not None
        return True

    # --- rendering ----------------------------------------------------------------------------

    def _source(self) -> Profile:
        if self.memory is not None and self.tracks_memory:
            return self.memory.shown()  # a new profile a batch, in the growth view
        if self.session is not None:
            return self.session.profile
        assert self.file_profile is not None
        return self.file_profile

    def _refresh_views(self, force_table: bool = False) -> None:
        flame = self.query_one(FlameView)
        source = self._source()
        if self.memory is not None and self.tracks_memory:
            title = "grown since mark" if self.memory.growth else "live bytes since attach"
            flame.border_title = title
        if self.session is not None:
            self.view.metadata = self.session.metadata  # a reset makes a new one
        if source is not self.view.source:
            self.view.show(source, self._options())  # a reset, a memory batch
        self.profile = self.view.shown
        if self.baseline is not None:
            self.baseline.refresh(self.profile, flame.thread)
            flame.border_title = self.baseline.title()
        if flame.profile is not self.profile:
            flame.set_profile(self.profile)
        else:
            flame.relayout()
        self._run_search()
        self._update_offers()
        now = time.monotonic()
        # The top table is a DataTable: rebuilding it more than once a second buys nothing.
        if force_table or now - self._last_table >= 1.0:
            self._last_table = now
            top = self.query_one(TopFunctions)
            by_function = not self.by_line
            stats = self.profile.top_functions(
                flame.thread, limit=top.limit, by_function=by_function
            )
            top.show_stats(
                # Not the roots that name a process (perf on every CPU, a split): no code.
                [st for st in stats if st.frame.kind is not FrameKind.THREAD],
                self.profile.thread_samples(flame.thread)
                if flame.thread is not None
                else self.profile.total_samples,
                unit=self.profile.metadata.get("unit", ""),
                by_line=self.by_line,
                lines=self._offers[0],
            )
            shares = self.query_one(ProcessShares)
            if shares.display:
                shares.show_shares(self.view.processes())
        self._refresh_head()
        self._refresh_frame_status(flame.selected)

    def _refresh_head(self) -> None:
        thread = self.query_one(FlameView).thread
        memory = self.memory if self.tracks_memory else None
        line = head_line(
            self.state, self.profile, self.session, memory, thread, self.title_text, self.view
        )
        # One row, fixed: no layout pass, which would resend the whole screen every batch.
        self.query_one("#profile-head", Static).update(line, layout=False)

    def _refresh_frame_status(self, node: Node | None) -> None:
        flame = self.query_one(FlameView)
        total = flame.profile.root(flame.thread).total
        found = (self.search_text, self.search_result)
        line = frame_status(self.profile, node, total, found)
        self.query_one("#frame-status", Static).update(line, layout=False)

    @on(FlameView.Selected)
    def _selected(self, event: FlameView.Selected) -> None:
        self._refresh_frame_status(event.node)

    @on(TopFunctions.Picked)
    def _picked(self, event: TopFunctions.Picked) -> None:
        flame = self.query_one(FlameView)
        if self.query_one(TopFunctions).has_focus:
            flame.highlight_id = event.frame_id
            flame.highlight_ids = frozenset(event.frame_ids)
            flame.restyle()

    # --- actions ------------------------------------------------------------------------------

    def action_pause(self) -> None:
        if self.session is None:
            return
        self.session.toggle_pause()
        self._refresh_head()

    def _forget_samples(self) -> None:
        """Switching between memory and CPU: neither's counts mean anything to the other."""
        if self.session is None or self.memory is None:
            return
        self.memory.forget()
        self.action_reset()

    def action_reset(self) -> None:
        if self.session is None:
            return
        self.session.reset()
        self.profile = self.view.show(self.session.profile, self._options())
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
        rate and the time sampled (batches keep merging into the original). In the growth
        view, what grew since the mark, with the same metadata."""
        if self.session is None:
            return self._source()
        exported = self.session.profile_for_export()
        shown = self._source()
        if self.memory is not None and self.memory.growth and shown is not exported:
            grown = shown.copy()
            grown.metadata = dict(exported.metadata, view="grown since mark")
            return grown
        return exported

    def action_mark(self) -> None:
        if self.memory is None or not self.tracks_memory:
            return
        self.memory.mark()
        self.notify("marked: g shows what grows from now on")
        self._refresh_views(force_table=True)

    def action_toggle_growth(self) -> None:
        if self.memory is None or not self.tracks_memory:
            return
        if self.memory.toggle():
            self.notify("marked now: this view shows what grows from here")
        flame = self.query_one(FlameView)
        flame.selected_path = ()
        self._refresh_views(force_table=True)

    def action_export(self) -> None:
        if not self._source().total_samples:
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
            if (options.backend == "memory") != self.tracks_memory:
                self._forget_samples()  # bytes and samples do not add up
            if options.backend == "memory":
                self._start_off_thread(session, options)  # gdb: off the UI thread
                self._refresh_head()
                return
            session.restart(options)
            self._started(session)

        self.app.push_screen(ProfilerSettings(session.options, machine=self.machine), chosen)

    def action_close(self) -> None:
        self.stop()
        if has_screen_under(self):
            self.app.pop_screen()
        else:
            self.app.exit()

    def action_close_last(self) -> None:
        self.action_close()
