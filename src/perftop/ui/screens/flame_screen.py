"""What every screen built around a FlameView shares: `/` search, `t` thread picking, and
giving the flame the rows of a small terminal.

The live/file profile screen and the diff screen differ in what they show around the flame;
each says how via `_refresh_frame_status` and `_thread_changed`.
"""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from perftop.model.profile import Node, Profile, SearchResult
from perftop.ui.keys import with_ids
from perftop.ui.screens.profile_dialogs import ThreadPicker
from perftop.ui.widgets.flame import FlameView


def has_screen_under(screen: Screen[None]) -> bool:
    """Whether `q` goes back to a screen (the dashboard, a snapshot) rather than ending perftop:
    the screen a file opened on sits alone on Textual's blank default screen, which does not
    count; the dashboard is the base screen itself (`PerftopApp.get_default_screen`). A dialog
    over it changes nothing: its footer stays true under the dialog."""
    stack = screen.app.screen_stack
    if screen not in stack:
        return False
    return any(under.id != "_default" for under in stack[: stack.index(screen)])


class FlameScreen(Screen[None]):
    # F1 as on the dashboard: every key of the screen, from its bindings (the footer has no
    # room for it beside the flame's keys: the status line names it).
    BINDINGS = with_ids("flame_screen", [Binding("f1,question_mark", "help", "Help", show=False)])
    profile: Profile
    search_text: str = ""
    search_result: SearchResult | None = None  # for search_text, on the shown thread

    def _run_search(self) -> None:
        """Search once per change of data, text or thread; the flame and status line share it."""
        flame = self.query_one(FlameView)
        if self.search_text:
            self.search_result = self.profile.search(self.search_text, flame.thread)
            flame.search_ids = self.search_result.matched_frame_ids
        else:
            self.search_result = None
            flame.search_ids = frozenset()

    def _refresh_frame_status(self, node: Node | None) -> None:
        raise NotImplementedError

    def _thread_changed(self) -> None:
        raise NotImplementedError

    # Below these heights the table under the flame shrinks, then goes: at 40x12 it would
    # take every row and leave the flame none.
    COMPACT_BELOW = 32
    TINY_BELOW = 20

    def on_resize(self) -> None:
        height = self.size.height
        self.set_class(height < self.COMPACT_BELOW, "compact")
        self.set_class(height < self.TINY_BELOW, "tiny")

    # What F1 says above the keys: the flame's own terms, not the dashboard's columns.
    HELP_ABOUT = ""

    def action_help(self) -> None:
        from perftop.ui.screens.flame_help import FlameHelp

        self.app.push_screen(FlameHelp(self, self.HELP_ABOUT))

    def action_search(self) -> None:
        box = self.query_one("#flame-search", Input)
        box.display = True
        box.value = self.search_text
        box.focus()

    @on(Input.Changed, "#flame-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search_text = event.value.strip()
        flame = self.query_one(FlameView)
        self._run_search()
        flame.restyle()
        self._refresh_frame_status(flame.selected)

    @on(Input.Submitted, "#flame-search")
    def _search_done(self) -> None:
        self.query_one("#flame-search").display = bool(self.search_text)
        self.query_one(FlameView).focus()

    def key_escape(self) -> None:
        box = self.query_one("#flame-search", Input)
        if box.has_focus:
            box.value = ""
            box.display = False
            self.query_one(FlameView).focus()

    def action_threads(self) -> None:
        threads = [(t, self.profile.thread_samples(t)) for t in self.profile.threads()]

        def chosen(thread: str | bool | None) -> None:
            if thread is False:
                return
            flame = self.query_one(FlameView)
            flame.thread = thread if isinstance(thread, str) else None
            flame.zoom_path = ()
            flame.selected_path = ()
            self._thread_changed()

        self.app.push_screen(ThreadPicker(threads, self.profile.total_samples), chosen)
