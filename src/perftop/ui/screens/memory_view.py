"""What the flame screen shows of a memory session (`--memory`, `m` on a row): the bytes the
target allocated since the attach and still holds, or what of them grew since the user's mark.

The session keeps the mark (perftop.profiling.session); this part of the screen keeps which of
the two views is on, builds the profile it shows, and says in the head line which it is, with
the tracker that sees the bytes and what it costs the target (ui/memory_text.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text

from perftop.model.profile import Profile
from perftop.profiling.session import ProfileSession
from perftop.ui.memory_text import size_text, slowdown_text

__all__ = ["MemoryView", "is_memory", "tracker_of"]


def is_memory(session: ProfileSession | None) -> bool:
    """A session that tracks allocations (its counts are bytes), not one that samples CPU."""
    return session is not None and session.options.backend == "memory"


def tracker_of(session: ProfileSession) -> str:
    """`memray` or `tracemalloc` once attached, as the backend or its batches say; '' before."""
    said = session.metadata.get("tracker", "")
    if said:
        return said
    mode = getattr(session.backend, "mode", "")  # MemoryBackend's, once attached
    return mode if isinstance(mode, str) else ""


def _aligned(profile: Profile, like: Profile) -> Profile:
    """`profile`'s samples over `like`'s frame ids: the flame keeps its zoom and selection
    (paths of frame ids) between the live view and the growth, and from one batch to the next."""
    out = Profile(like.metadata)
    for frame in like.frames:
        out.intern(frame)
    out.merge(profile)
    return out


class MemoryView:
    """Live since attach, or grown since the mark, of one memory session."""

    def __init__(self, session: ProfileSession, clock: Callable[[], float] = time.monotonic):
        self.session = session
        self.growth = False  # showing what grew since the mark
        self.marked_at: float | None = None
        self._clock = clock

    def mark(self) -> None:
        self.session.mark()
        self.marked_at = self._clock()

    def toggle(self) -> bool:
        """Switch view; the growth view marks now if nothing was marked. True if it marked."""
        self.growth = not self.growth
        if self.growth and self.session.marked is None:
            self.mark()
            return True
        return False

    def forget(self) -> None:
        """Back to the live view, with no mark: the session sampled something else meanwhile."""
        self.growth = False
        self.marked_at = None
        self.session.marked = None

    def shown(self) -> Profile:
        """The profile the flame, the top table and the search read."""
        session = self.session
        grown = session.grown_since_mark() if self.growth else None
        if grown is None:
            return session.profile
        return _aligned(grown, session.profile)

    def head(self, shown: Profile) -> Text:
        """`memray · live 12.3 MiB · 4,211 allocations · target up to ~1.9x slower  view: …`."""
        session = self.session
        text = Text()
        tracker = tracker_of(session)
        if not tracker:  # a program perftop started has its tracker from its first line
            launched = getattr(session.backend, "launched", False) is True
            tracker = (
                "starting (the program's tracker)"
                if launched
                else "attaching (gdb injects the tracker)"
            )
        parts = [tracker]
        parts.append(f"live {size_text(session.profile.total_samples)}")
        allocations = session.metadata.get("allocations", "")
        if allocations.isdigit():
            parts.append(f"{int(allocations):,} allocations")
        slower = slowdown_text(tracker)
        if slower:
            parts.append(slower)
        text.append("  " + " · ".join(parts))
        if self.growth and self.marked_at is not None:
            ago = max(0.0, self._clock() - self.marked_at)
            text.append("  view: ", "dim")
            text.append(f"grown since mark ({_ago(ago)}) +{size_text(shown.total_samples)}", "bold")
        else:
            text.append("  view: ", "dim")
            text.append("live since attach", "bold")
        return text


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
