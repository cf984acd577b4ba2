"""The diff screen: a differential flame of two profiles and the table of their biggest changes.

Boxes are laid out from the new profile (width = its samples) and coloured by how each call
path's share of samples moved from base to new: red grew, blue shrank, grey about the same.
Shares are of each profile's own total, so a 10 s and a 60 s recording compare. Paths that
only the base has are 0 wide here; the table lists them (their `new%` is 0).

A frame whose change of self share is beyond sampling noise (model/diff.py's test) is flagged:
its boxes are underlined in bold, its row carries ✱ and its p-value, and `s` sorts the table
with the flagged rows first.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from perftop.model.diff import DEFAULT_ALPHA, DiffEntry, DiffProfile
from perftop.model.profile import Node
from perftop.ui.fmt import printable
from perftop.ui.keys import with_ids
from perftop.ui.memory_text import is_bytes, size_text, weight_text
from perftop.ui.screens.flame_screen import FlameScreen
from perftop.ui.widgets.changes import FLAGGED_MARK, ChangesTable, delta_style
from perftop.ui.widgets.flame import FlameView, diff_legend, diff_style
from perftop.ui.widgets.footer import FittingFooter

CHANGES_SHOWN = 200
FLAGGED_STYLE = Style(bold=True, underline=True)


class DiffScreen(FlameScreen):
    profile: DiffProfile  # the base class knows it as a Profile
    BINDINGS = with_ids(
        "diff",
        [
            Binding("slash", "search", "Search"),
            Binding("t", "threads", "Threads"),
            Binding("s", "sort_changes", "Sort: flagged first"),
            Binding("q", "close", "Back"),
            Binding("f10", "app.quit", "Quit", show=False),
        ],
    )

    def __init__(self, profile: DiffProfile, *, title: str = "") -> None:
        super().__init__()
        self.profile = profile
        self.title_text = title
        self.search_text = ""
        self.scale = 0.0  # the largest |change| in the shown thread: the strongest colour
        self.flagged_first = False  # the table's order: by |change|, or flagged rows first
        self.flagged: frozenset[int] = frozenset()  # frames changed beyond sampling noise

    def compose(self) -> ComposeResult:
        yield Static(id="profile-head")
        yield FlameView(self.profile, id="flame")
        yield Static(id="frame-status")
        yield Input(id="flame-search", placeholder="search functions and files")
        with Horizontal(id="profile-bottom"):
            yield ChangesTable(id="changes")
        yield FittingFooter(
            ("setup", "toggle_orientation", "sort_changes", "threads", "unzoom", "search")
        )

    def on_mount(self) -> None:
        flame = self.query_one(FlameView)
        flame.border_title = "differential flame · width: new profile · colour: change in share"
        flame.border_subtitle = diff_legend()
        flame.colour_of = self._colour
        flame.focus()
        self._show_thread()

    def _colour(self, node: Node, shade: int) -> Style:
        style = diff_style(self.profile.delta_fraction(node), self.scale, shade)
        return style + FLAGGED_STYLE if node.frame_id in self.flagged else style

    def _largest_change(self, thread: str | None) -> float:
        """One walk of the tree per thread shown, not one per frame drawn."""
        largest = 0.0
        pending = [self.profile.root(thread)]
        while pending:
            node = pending.pop()
            if node.frame_id >= 0:
                largest = max(largest, abs(self.profile.delta_fraction(node)))
            pending.extend(node.children.values())
        return largest

    def _show_thread(self) -> None:
        flame = self.query_one(FlameView)
        self.scale = self._largest_change(flame.thread)
        self.flagged = frozenset(e.frame_id for e in self.profile.significant_changes(flame.thread))
        self._show_changes()
        flame.relayout()
        self._run_search()
        self._refresh_head()
        self._refresh_frame_status(flame.selected)

    def _show_changes(self) -> None:
        thread = self.query_one(FlameView).thread
        table = self.query_one(ChangesTable)
        entries = self.profile.biggest_changes(len(self.profile.frames), thread)
        if self.flagged_first:
            entries.sort(key=_flagged_first)
        table.show_changes(entries[:CHANGES_SHOWN])
        order = "flagged first" if self.flagged_first else "by change"
        table.border_title = f"biggest changes of self time (% of samples) · {order}"
        table.border_subtitle = (
            f"{FLAGGED_MARK} beyond sampling noise · s sorts"
            if self.profile.testable
            else "byte counts: not tested against sampling noise"
        )

    # --- rendering ----------------------------------------------------------------------------

    def _refresh_head(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" DIFF ", "reverse bold")
        if self.title_text:
            text.append(f" {printable(self.title_text)}")
        base, new = self.profile.base.total_samples, self.profile.total_samples
        if is_bytes(self.profile.base.metadata):  # memory profiles: their counts are bytes
            text.append(f"  base {size_text(base)} → new {size_text(new)} live")
        else:
            text.append(f"  base {base:,} samples → new {new:,} samples")
        text.append("  (shares of each one's total)", "dim")
        if self.profile.testable:
            style = "bold" if self.flagged else "dim"
            text.append(
                f"  {FLAGGED_MARK} {len(self.flagged)} flagged (p ≤ {DEFAULT_ALPHA:g}, Holm)", style
            )
        thread = self.query_one(FlameView).thread
        text.append(f"  thread: {printable(thread) if thread is not None else 'all'}")
        self.query_one("#profile-head", Static).update(text)

    def _refresh_frame_status(self, node: Node | None) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if node is not None and node.frame_id >= 0:
            frame = self.profile.frame(node.frame_id)
            text.append(printable(frame.name), "bold")
            text.append(f"  {printable(frame.location)}")
            base_pct = 100 * self.profile.base_fraction(node)
            new_pct = 100 * self.profile.new_fraction(node)
            meta = self.profile.base.metadata
            text.append(
                f"  base {base_pct:.1f}% ({weight_text(self.profile.base_total(node), meta)})"
            )
            text.append(f"  new {new_pct:.1f}% ({weight_text(node.total, meta)})")
            text.append("  Δ ")
            delta = new_pct - base_pct
            text.append(f"{delta:+.1f} pts", delta_style(delta))
            if node.frame_id in self.flagged:
                text.append(f"  {FLAGGED_MARK} beyond sampling noise", "bold")
        else:
            text.append("←→↑↓/hjkl move · Enter zoom · Esc out · / search · t threads", "dim")
        result = self.search_result
        if result is not None:
            text.append(
                f"   search {printable(self.search_text)!r}: {result.percent:.1f}% of new",
                "bold yellow",
            )
        self.query_one("#frame-status", Static).update(text)

    # --- the flame and the table, linked --------------------------------------------------------

    @on(FlameView.Selected)
    def _selected(self, event: FlameView.Selected) -> None:
        self._refresh_frame_status(event.node)
        if event.node is not None and event.node.frame_id >= 0:
            self.query_one(ChangesTable).move_to_frame(event.node.frame_id)

    @on(ChangesTable.Picked)
    def _picked(self, event: ChangesTable.Picked) -> None:
        # Only when the user moves in the table: the flame moving the cursor must not
        # paint over the flame's own selection.
        if self.query_one(ChangesTable).has_focus:
            flame = self.query_one(FlameView)
            flame.highlight_id = event.frame_id
            flame.restyle()

    # --- actions ------------------------------------------------------------------------------

    def _thread_changed(self) -> None:
        self._show_thread()

    def action_sort_changes(self) -> None:
        self.flagged_first = not self.flagged_first
        self._show_changes()

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()


def _flagged_first(entry: DiffEntry) -> tuple[bool, float, float, int]:
    """Flagged rows first, the strongest evidence first; then the rest by |change|."""
    p = entry.p_value if entry.significant and entry.p_value is not None else 1.0
    return (not entry.significant, p, -abs(entry.delta_percent), entry.frame_id)
