"""The diff screen: a differential flame of two profiles and the table of their biggest changes.

Boxes are laid out from the new profile (width = its samples) and coloured by how each call
path's share of samples moved from base to new: red grew, blue shrank, grey about the same.
Shares are of each profile's own total, so a 10 s and a 60 s recording compare. Paths that
only the base has are 0 wide here; the table lists them (their `new%` is 0).

A frame whose change of self share is beyond sampling noise (model/diff.py's test) is flagged:
its boxes are underlined in bold, its row carries ✱ and its p-value, and `s` sorts the table
with the flagged rows first.

Two runs that line up badly frame by frame can be matched otherwise (model/diff.py's
`Matching`): `f` by function, lines ignored (`perftop diff --by-function` starts so), and `R`
re-roots both profiles at the selected frame's function wherever it was called from (`u`
goes back to whole stacks), for a reload that forks every worker from a new call path.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from perftop.model.diff import DEFAULT_ALPHA, DiffEntry, DiffProfile, Matching, diff
from perftop.model.frames import Frame
from perftop.model.profile import Node
from perftop.ui.fmt import printable
from perftop.ui.keys import with_ids
from perftop.ui.memory_text import is_bytes, size_text, weight_text
from perftop.ui.screens.flame_screen import FlameScreen, has_screen_under
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
            Binding("f", "by_function", "By function/line"),
            Binding("R", "reroot", "Re-root here"),
            Binding("u", "unroot", "Whole stacks"),
            Binding("q", "close", "Back"),
            # The screen the files opened on: q ends perftop, and says so.
            Binding("q", "close_last", "Quit"),
            Binding("f10", "app.quit", "Quit", show=False),
        ],
    )

    HELP_ABOUT = (
        "The differential flame: NEW's call paths, as wide as NEW's samples, red where a path's\n"
        "share of the samples grew since BASE, blue where it shrank, grey where it stayed.\n"
        "✱: a function whose share of self samples moved beyond sampling noise (a two-proportion\n"
        "z-test, Holm-corrected). Matched by function, lines are ignored (an edit moves them);\n"
        "re-rooted, each stack starts at the function picked, wherever it was called from (a\n"
        "reload that forks its workers from elsewhere)."
    )

    def __init__(self, profile: DiffProfile, *, title: str = "") -> None:
        super().__init__()
        self.profile = profile
        self.title_text = title
        self.search_text = ""
        self.scale = 0.0  # the largest |change| in the shown thread: the strongest colour
        self.flagged_first = False  # the table's order: by |change|, or flagged rows first
        self.flagged: frozenset[int] = frozenset()  # frames changed beyond sampling noise
        self._has_lines = any(f.line for side in profile.sources for f in side.frames)

    def compose(self) -> ComposeResult:
        yield Static(id="profile-head")
        yield FlameView(self.profile, id="flame")
        yield Static(id="frame-status")
        yield Input(id="flame-search", placeholder="search functions and files")
        with Horizontal(id="profile-bottom"):
            yield ChangesTable(id="changes")
        yield FittingFooter(
            (
                "setup",
                "toggle_orientation",
                "threads",
                "sort_changes",
                "unzoom",
                "by_function",
                "search",
                "unroot",
                "reroot",
            )
        )

    def on_mount(self) -> None:
        flame = self.query_one(FlameView)
        flame.border_title = "differential flame · width: new profile · colour: change in share"
        flame.border_subtitle = diff_legend()
        flame.colour_of = self._colour
        flame.focus()
        self._show_thread()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "by_function":  # frames without lines (perf's) are functions already
            return self._has_lines
        if action == "unroot":
            return self.profile.matching.root is not None
        if action in ("close", "close_last"):  # Back, or Quit where nothing is under it
            return has_screen_under(self) == (action == "close")
        return True

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
        matching = self.profile.matching
        if matching.by_function:
            text.append("  by function", "bold")
        if matching.root is not None:
            under_base, under_new = self.profile.under_root()
            text.append(f"  re-rooted at {printable(matching.root[0])}", "bold")
            text.append(f" (base {100 * under_base:.0f}%, new {100 * under_new:.0f}% under it)")
        else:
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
            text.append(
                "←→↑↓/hjkl move · Enter zoom · Esc out · / search · R re-root · F1 keys", "dim"
            )
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

    def _rediff(self, matching: Matching, same: Callable[[Frame], Frame] | None) -> None:
        """Diff the two files again, matched another way; zoom and selection carried over
        where their frames are still there (`same`: a frame's stand-in in the new diff)."""
        flame = self.query_one(FlameView)
        old = self.profile
        self.profile = diff(*old.sources, matching)
        flame.carry_paths(old, self.profile, same)
        if flame.thread is not None and flame.thread not in self.profile.threads():
            flame.thread = None
        flame.highlight_id, flame.highlight_ids = None, frozenset()
        flame.set_profile(self.profile)
        self._show_thread()
        self.refresh_bindings()  # `u` comes or goes

    def action_by_function(self) -> None:
        matching = self.profile.matching
        by_function = not matching.by_function
        self._rediff(Matching(by_function, matching.root), _as_function if by_function else None)
        how = "by function: lines ignored" if by_function else "by line"
        self.notify(f"frames matched {how} (f: the other way)")

    def action_reroot(self) -> None:
        node = self.query_one(FlameView).selected
        if node is None or node.frame_id < 0:
            self.notify("select a frame to re-root at", severity="warning")
            return
        frame = self.profile.frame(node.frame_id)
        flame = self.query_one(FlameView)
        flame.zoom_path = flame.selected_path = ()
        self._rediff(
            Matching(self.profile.matching.by_function, (frame.name, frame.filename)), None
        )
        root = self.profile.root(flame.thread)
        if root.children:  # the function itself, selected: Enter zooms, u undoes
            flame.select(next(iter(root.children.values())))
        missing = [
            side
            for side, total in (
                ("base", self.profile.base.total_samples),
                ("new", self.profile.total_samples),
            )
            if not total
        ]
        name = printable(frame.name)
        if missing:
            self.notify(
                f"{name} is not in {' or '.join(missing)}: nothing to compare there",
                severity="warning",
            )
        else:
            self.notify(f"re-rooted at {name}: both profiles from it down (u: whole stacks)")

    def action_unroot(self) -> None:
        matching = self.profile.matching
        if matching.root is not None:
            self._rediff(Matching(matching.by_function, None), None)

    def action_close(self) -> None:
        if has_screen_under(self):
            self.app.pop_screen()
        else:
            self.app.exit()

    def action_close_last(self) -> None:
        self.action_close()


def _as_function(frame: Frame) -> Frame:
    return Frame(frame.name, frame.filename)


def _flagged_first(entry: DiffEntry) -> tuple[bool, float, float, int]:
    """Flagged rows first, the strongest evidence first; then the rest by |change|."""
    p = entry.p_value if entry.significant and entry.p_value is not None else 1.0
    return (not entry.significant, p, -abs(entry.delta_percent), entry.frame_id)
