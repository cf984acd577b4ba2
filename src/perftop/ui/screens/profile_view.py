"""The profile screen's view keys: what the flame and the top table show of the profile.

- `f`: the top table by function (the default: py-spy's frames are lines, and a function
  read as three rows `:7`, `:8`, `:9` hides how hot it is) or by line.
- `i`: stacks whose leaf is a wait hidden (model/idle.py), live or from a file, after the
  fact; the head line says how much was hidden.
- `p`: one process alone, picked from the processes by share (with `--subprocesses`, or
  perf on every CPU); `P`: each process side by side under its own root frame, and the
  processes by share beside the top table.

The view itself is model/view.py's `ProfileView`; this screen keeps its options, rebuilds it
on a key and carries the zoom and the selection across. Keys that cannot do anything for the
profile shown (one process, no line numbers, a memory profile) are not offered.
"""

from __future__ import annotations

from dataclasses import replace

from perftop.model.profile import Profile
from perftop.model.view import ProfileView, ViewOptions
from perftop.ui.memory_text import is_bytes
from perftop.ui.screens.baseline import BaselineFlameScreen
from perftop.ui.screens.profile_dialogs import ProcessPicker
from perftop.ui.widgets.flame import FlameView
from perftop.ui.widgets.process_shares import ProcessShares

__all__ = ["VIEW_ACTIONS", "ViewedFlameScreen"]

VIEW_ACTIONS = ("by_line", "toggle_idle", "processes", "split_processes")


class ViewedFlameScreen(BaselineFlameScreen):
    """State and actions of the view keys; the profile screen binds them and draws."""

    view: ProfileView
    view_options: ViewOptions = ViewOptions()
    by_line = False  # the top table: a row a line, not a function
    # What the keys can do for the profile now: (lines, processes); the footer is asked
    # again when it changes.
    _offers: tuple[bool, bool] = (False, False)
    _lines_seen = 0  # frames looked at for a line number
    _has_lines = False

    def _source(self) -> Profile:
        """The whole profile the view is of."""
        raise NotImplementedError

    def _counts_bytes(self) -> bool:
        """A memory profile (live or from a file): bytes, whose leaves are allocations, never
        waits, of one process."""
        return self.tracks_memory or is_bytes(self.profile.metadata)

    @property
    def tracks_memory(self) -> bool:
        raise NotImplementedError

    def _options(self) -> ViewOptions:
        return ViewOptions() if self._counts_bytes() else self.view_options

    # --- what is offered ----------------------------------------------------------------------

    def _view_action_state(self, action: str) -> bool:
        lines, processes = self._offers
        if action == "by_line":
            return lines
        if action in ("processes", "split_processes"):
            return processes and not self._counts_bytes()
        if action == "toggle_idle":
            return not self._counts_bytes()
        return True

    def _look_at_offers(self) -> tuple[bool, bool]:
        """(lines, processes): what the keys can do for the profile as it is now."""
        frames = self.view.source.frames
        if len(frames) < self._lines_seen:  # another profile (a reset): look again
            self._lines_seen, self._has_lines = 0, False
        if not self._has_lines:
            self._has_lines = any(f.line for f in frames[self._lines_seen :])
        self._lines_seen = len(frames)
        processes = self.view.options.process is not None or len(self.view.processes()) > 1
        return self._has_lines, processes

    def _update_offers(self) -> None:
        """After new samples or another view: refresh the footer if what works changed."""
        offers = self._look_at_offers()
        if offers != self._offers:
            self._offers = offers
            self.refresh_bindings()
        shares = self.query_one(ProcessShares)
        if shares.display != (self.view.split and offers[1]):
            shares.display = self.view.split and offers[1]

    # --- changing the view --------------------------------------------------------------------

    def _show_view(self, options: ViewOptions) -> None:
        """Another view of the same profile: built again, zoom and selection carried over."""
        self.view_options = options
        if self.baseline is not None:
            # Marked of the view as it was: against another view, every path would "change".
            self._set_baseline(None)
            self.notify("baseline off: it was of the other view (b marks one of this view)")
        flame = self.query_one(FlameView)
        old = flame.profile
        self.profile = self.view.show(self._source(), self._options())
        flame.carry_paths(old, self.profile)
        flame.set_profile(self.profile)
        self._refresh_views(force_table=True)

    def action_by_line(self) -> None:
        self.by_line = not self.by_line
        self._refresh_views(force_table=True)

    def action_toggle_idle(self) -> None:
        hide = not self.view_options.hide_idle
        self._show_view(replace(self.view_options, hide_idle=hide))
        if hide:
            hidden = self.view.hidden()
            total = hidden + self.profile.total_samples
            share = 100 * hidden / total if total else 0.0
            self.notify(f"idle hidden: {share:.0f}% of the samples waited (i: show them)")

    def action_split_processes(self) -> None:
        self._show_view(replace(self.view_options, split=not self.view.split))

    def action_processes(self) -> None:
        def chosen(pid: str | bool | None) -> None:
            if pid is not False:
                self._pick_process(pid if isinstance(pid, str) else None)

        shares = self.view.processes()
        self.app.push_screen(ProcessPicker(shares, self.view_options.process), chosen)

    def _pick_process(self, pid: str | None) -> None:
        flame = self.query_one(FlameView)
        flame.thread = None  # the threads of another process: none of them is shown now
        flame.zoom_path = flame.selected_path = ()
        self._show_view(replace(self.view_options, process=pid))

    def on_process_shares_chosen(self, message: ProcessShares.Chosen) -> None:
        self._pick_process(message.pid)
        self.query_one(FlameView).focus()
