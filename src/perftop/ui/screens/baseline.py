"""The live flame's baseline: `b` marks the profile so far (or `B` loads a file) as the baseline,
and from then on the flame is coloured by how each call path's share moved since, as the
diff screen colours a diff: red grew, blue shrank, grey about the same.

The baseline is a profile of its own, its frames matched to the live profile's by what they
are (function, file, line), not by id: a file's ids mean nothing here, and frames the live
profile meets later get ids the baseline may already use. Each live node finds its baseline
node through its parent's, once, and remembers it, so a redraw costs a dict look-up a box.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.style import Style
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from perftop.model.profile import Node, Profile
from perftop.ui.screens.flame_screen import FlameScreen
from perftop.ui.screens.profile_text import legend
from perftop.ui.widgets.flame import FlameView, diff_legend, diff_style

__all__ = ["BaselineFile", "BaselineFlameScreen", "LiveBaseline", "read_baseline"]

# The colour scale's floor: below a change of this share, a full colour would shout noise.
MIN_SCALE = 0.02
# The scale is the largest change among paths at least this share of the samples: those
# that get a box at all, without a walk of every small path each batch.
SCALE_PATHS = 0.005
_MAX_REMEMBERED = 200_000  # live nodes matched, before the memo starts again


class LiveBaseline:
    """A baseline profile, and the colour of each live node against it."""

    def __init__(self, base: Profile, source: str, clock: Callable[[], float] = time.monotonic):
        self.base = base
        self.source = source  # "marked" or the file's name, for the flame's title
        self.marked_at = clock()
        self._clock = clock
        self._ids = {frame: fid for fid, frame in enumerate(base.frames)}
        self._memo: dict[Node, Node | None] = {}
        self._live: Profile | None = None
        self._thread: str | None = None
        self._live_total = 0
        self._base_total = 0
        self.scale = MIN_SCALE

    def refresh(self, live: Profile, thread: str | None) -> None:
        """Before a redraw: new samples, another thread or another profile (a reset)."""
        if live is not self._live or thread != self._thread or len(self._memo) > _MAX_REMEMBERED:
            self._memo.clear()
            self._live, self._thread = live, thread
        self._live_total = live.root(thread).total
        self._base_total = self.base.root(thread).total
        self.scale = max(MIN_SCALE, self._largest_change(live.root(thread)))

    def colour(self, node: Node, shade: int) -> Style:
        return diff_style(self.delta(node), self.scale, shade)

    def delta(self, node: Node) -> float:
        """The node's share of the live profile minus its share of the baseline."""
        live = node.total / self._live_total if self._live_total else 0.0
        base_node = self._base_node(node)
        base = base_node.total / self._base_total if base_node and self._base_total else 0.0
        return live - base

    def title(self) -> str:
        ago = max(0.0, self._clock() - self.marked_at)
        when = f"{ago:.0f} s ago" if ago < 90 else f"{ago / 60:.0f} min ago"
        what = f"marked {when}" if self.source == "marked" else f"{self.source}, loaded {when}"
        return f"flame · colour: change since the baseline ({what}, {self.base.total_samples:,})"

    def _base_node(self, node: Node) -> Node | None:
        memo = self._memo
        found = memo.get(node, ...)
        if found is not ...:
            return found
        # Up to the nearest ancestor already matched (the root at worst), then down again.
        chain: list[Node] = []
        up: Node | None = node
        while up is not None and up not in memo and up.parent is not None:
            chain.append(up)
            up = up.parent
        base: Node | None
        base = memo[up] if up is not None and up in memo else self.base.root(self._thread)
        live = self._live
        assert live is not None
        for n in reversed(chain):
            if base is not None:
                fid = self._ids.get(live.frame(n.frame_id))
                base = base.children.get(fid) if fid is not None else None
            memo[n] = base
        return base

    def _largest_change(self, root: Node) -> float:
        floor = root.total * SCALE_PATHS
        largest = 0.0
        pending = [child for child in root.children.values() if child.total >= floor]
        while pending:
            node = pending.pop()
            largest = max(largest, abs(self.delta(node)))
            pending.extend(c for c in node.children.values() if c.total >= floor)
        return largest


def read_baseline(path: str) -> Profile:
    """The profile in `path` (a snapshot's too); FormatError or ValueError with one line."""
    from perftop.formats.detect import read_any
    from perftop.formats.snapshot import Snapshot

    opened = read_any(path)
    if isinstance(opened, Snapshot):
        if opened.profile is None:
            raise ValueError(f"{path}: this snapshot holds no profile")
        opened = opened.profile
    if not opened.total_samples:
        raise ValueError(f"{path}: the profile holds no samples")
    return opened


class BaselineFile(ModalScreen[str | None]):
    """Ask for a profile file to take as the baseline; Esc cancels."""

    # The one rule this dialog needs, beside it (the stylesheet's dialogs list their names).
    DEFAULT_CSS = "BaselineFile { align: center middle; }"
    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Baseline from a file", classes="dialog-title")
            yield Label("a profile perftop reads: pprof, speedscope, folded, a snapshot…")
            yield Input(placeholder="path/to/base.pb.gz", id="baseline-path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class BaselineRead(Message):
    """A baseline file read off the UI thread: its profile, or why not."""

    def __init__(self, profile: Profile | None, name: str, error: str = "") -> None:
        super().__init__()
        self.profile = profile
        self.name = name
        self.error = error


class BaselineFlameScreen(FlameScreen):
    """The profile screen's baseline keys (`b`, `B`): the screen binds them and says when
    they apply, and redraws through `_refresh_views`, which calls `LiveBaseline.refresh`."""

    baseline: LiveBaseline | None = None

    def _refresh_views(self, force_table: bool = False) -> None:
        raise NotImplementedError

    def action_baseline(self) -> None:
        if self.baseline is not None:
            self._set_baseline(None)
            self.notify("baseline off: the usual colours")
        elif not self.profile.total_samples:
            self.notify("nothing sampled yet to compare with", severity="warning")
        else:
            self._set_baseline(LiveBaseline(self.profile.copy(), "marked"))
            self.notify("baseline marked: the flame shows what changed since (b: off)")

    def action_baseline_file(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self._read_baseline(path)

        self.app.push_screen(BaselineFile(), chosen)

    @work(thread=True, exclusive=True, group="baseline")
    def _read_baseline(self, path: str) -> None:
        """Off the UI thread: a big file takes seconds to read."""
        from perftop.formats.errors import FormatError

        name = path.rsplit("/", 1)[-1]
        try:
            self.post_message(BaselineRead(read_baseline(path), name))
        except (FormatError, ValueError, OSError) as exc:
            self.post_message(BaselineRead(None, name, str(exc)))

    def on_baseline_read(self, message: BaselineRead) -> None:
        if message.profile is None:
            self.notify(message.error, severity="error", timeout=10)
            return
        self._set_baseline(LiveBaseline(message.profile, message.name))
        self.notify(f"baseline: {message.name}; the flame shows the change from it (b: off)")

    def _set_baseline(self, baseline: LiveBaseline | None) -> None:
        self.baseline = baseline
        flame = self.query_one(FlameView)
        flame.colour_of = baseline.colour if baseline is not None else None
        flame.border_subtitle = diff_legend() if baseline is not None else legend()
        if baseline is None:
            flame.border_title = "flame"
        self._refresh_views(force_table=True)
        self.refresh_bindings()
