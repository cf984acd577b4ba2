"""The diff of two profiles: `new`'s call trees, with what `base` had on every node.

A DiffProfile is a Profile (so the flame view draws it like any other) whose nodes also know
their total in `base`; it reaches into Profile's trees as the subclass it is.

Which changes are more than sampling noise: each function's share of self samples in `base`
and in `new` is compared with a two-proportion z-test (pooled, two-sided). A sampling
profiler draws each sample from where the program spends its time, so a function's self
samples are a binomial count of the profile's samples and the z-test is the textbook test of
two such proportions; with thousands of samples the normal approximation is close, and
where counts are small it only ever yields large p-values. Every function of either profile
is a test, so the p-values are adjusted with Holm's step-down correction: it bounds the
chance of flagging *any* unchanged function at `alpha` (the family-wise error rate, what a CI
gate that fails a build needs), and it flags at least what Bonferroni would. `alpha` is 1 %
by default, not 5 %: a gate run on every change would otherwise fail one good build in
twenty on noise alone (measured: 4.5 % of 2,000 pairs of 5,000-sample profiles drawn from
one distribution at 5 %, 1.0 % at 1 %), while a real change of a few points over thousands
of samples has a p-value far below either (10 % to 15 % over 5,000: about 4e-14). Two caveats,
said where the results are shown: samples taken 10 ms apart are not quite independent (a
long call spans several), and two runs differ by more than sampling (other load, caches),
which is what `perftop diff --check`'s threshold on the size of the change is for. Byte
counts (memory profiles) are not samples: they are not tested.

Two runs of one program may line up badly frame by frame: `Matching` says how to take them
(model/reshape.py): by function (lines ignored), and re-rooted at a function (ancestry
ignored). A DiffProfile keeps the profiles it was made from, so a view can diff them again
another way.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from perftop.model.frames import Frame
from perftop.model.profile import Node, Profile
from perftop.model.reshape import ByFunction, by_function, rerooted

if TYPE_CHECKING:
    from perftop.model.profile import _Tree

__all__ = [
    "DEFAULT_ALPHA",
    "DiffEntry",
    "DiffProfile",
    "Matching",
    "diff",
    "holm_adjusted",
    "two_proportion_p",
]

DEFAULT_ALPHA = 0.01  # the family-wise error rate: P(any unchanged function is flagged)


@dataclass(frozen=True, slots=True)
class Matching:
    """How frames of the two profiles are matched."""

    by_function: bool = False  # a frame is its function: lines ignored
    root: tuple[str, str] | None = None  # (name, file): each stack from this function down


@dataclass(frozen=True, slots=True)
class DiffEntry:
    frame_id: int  # a function's entries (by_function): the first of its frames
    frame: Frame  # a function's entries: its name and file, line 0
    base_percent: float
    new_percent: float
    # Holm-adjusted two-sided p-value of the change in share; None where nothing was tested.
    p_value: float | None = None
    significant: bool = False  # p_value <= alpha: beyond what sampling noise explains

    @property
    def delta_percent(self) -> float:
        return self.new_percent - self.base_percent


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value that x1/n1 and x2/n2 are one proportion (pooled z-test)."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0.0:
        return 1.0  # 0 % or 100 % in both: nothing changed
    z = (x2 / n2 - x1 / n1) / se
    return math.erfc(abs(z) / math.sqrt(2.0))


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, in the order given: reject where the result <= alpha."""
    m = len(p_values)
    order = sorted(range(m), key=p_values.__getitem__)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


class DiffProfile(Profile):
    """`new`'s samples on trees that also hold the paths only `base` has (with total 0).

    Each node knows its base total too, and shares are normalised by each profile's own total
    samples, so profiles of different lengths compare. Frame ids are those of `new`; `base`
    is re-interned into the same table. Treat it as read-only.
    """

    def __init__(self, base: Profile, new: Profile) -> None:
        super().__init__(new.metadata)
        self.merge(new)
        self.ended, self.end_reason = new.ended, new.end_reason
        # What it was made from and how (`diff` sets them): to diff again another way.
        self.sources: tuple[Profile, Profile] = (base, new)
        self.matching = Matching()
        self.base = Profile(base.metadata)
        self.base.share_frames(self)  # one frame table
        self.base.merge(base)
        # Separate merged and per-thread node objects, so each carries its own base total.
        merged = self._materialise_merged()
        self._base_totals: dict[Node, int] = {}
        self._overlay(merged, self.base._all().root)
        for thread, tree in self._threads.items():
            base_tree = self.base._threads.get(thread)
            if base_tree is not None:
                self._overlay(tree, base_tree.root)

    def _overlay(self, tree: _Tree, base_root: Node) -> None:
        totals = self._base_totals
        totals[tree.root] = base_root.total
        pending = [(tree.root, base_root)]
        while pending:
            node, base_node = pending.pop()
            for fid, base_child in base_node.children.items():
                child = tree.child(node, fid)
                totals[child] = base_child.total
                if base_child.children:
                    pending.append((child, base_child))

    def base_total(self, node: Node) -> int:
        """The node's samples in `base` (0 for paths only `new` has)."""
        return self._base_totals.get(node, 0)

    def base_fraction(self, node: Node) -> float:
        total = self.base.total_samples
        return self._base_totals.get(node, 0) / total if total else 0.0

    def new_fraction(self, node: Node) -> float:
        total = self.total_samples
        return node.total / total if total else 0.0

    def delta_fraction(self, node: Node) -> float:
        """The node's share of `new` minus its share of `base` (-1.0 … 1.0)."""
        return self.new_fraction(node) - self.base_fraction(node)

    @property
    def testable(self) -> bool:
        """Both count samples (not bytes), so changes can be tested against sampling noise."""
        return "bytes" not in (self.metadata.get("unit"), self.base.metadata.get("unit"))

    def biggest_changes(
        self, n: int, thread: str | None = None, alpha: float = DEFAULT_ALPHA
    ) -> list[DiffEntry]:
        """Frames whose share of self samples moved most, largest change first, each with
        its test (every frame of either profile is one of the family corrected for).

        Self samples, not totals: a change deep in the stack moves the totals of all its
        callers by the same amount, which would fill the list with callers.
        """
        entries = self._entries(self._self_counts(thread, by_function=False), alpha)
        entries.sort(key=lambda e: (-abs(e.delta_percent), e.frame_id))
        return [e for e in entries[: max(n, 0)] if e.delta_percent != 0.0]

    def significant_changes(
        self, thread: str | None = None, *, by_function: bool = False, alpha: float = DEFAULT_ALPHA
    ) -> list[DiffEntry]:
        """The changes beyond sampling noise, smallest p-value first (then largest change).

        `by_function` tests functions (name and file) rather than frames: a frame is a line,
        and between two versions of the code lines move, so a function that did not change
        would show as one line gone and another come.
        """
        entries = self._entries(self._self_counts(thread, by_function=by_function), alpha)
        flagged = [e for e in entries if e.significant]
        flagged.sort(key=lambda e: (e.p_value or 0.0, -abs(e.delta_percent), e.frame_id))
        return flagged

    def _self_counts(
        self, thread: str | None, *, by_function: bool
    ) -> dict[Hashable, tuple[int, int, int]]:
        """key -> (first frame id, base self samples, new self samples)."""
        base_self = self.base._tree(thread).self_by_frame
        new_self = self._tree(thread).self_by_frame
        counts: dict[Hashable, tuple[int, int, int]] = {}
        for fid in sorted(base_self.keys() | new_self.keys()):
            frame = self.frames[fid]
            key: Hashable = (frame.name, frame.filename) if by_function else fid
            first, b, n = counts.get(key, (fid, 0, 0))
            counts[key] = (first, b + base_self.get(fid, 0), n + new_self.get(fid, 0))
        return counts

    def _entries(
        self, counts: Mapping[Hashable, tuple[int, int, int]], alpha: float
    ) -> list[DiffEntry]:
        base_total, new_total = self.base.total_samples, self.total_samples
        rows = list(counts.items())
        adjusted: list[float | None] = [None] * len(rows)
        if self.testable and base_total and new_total:
            raw = [two_proportion_p(b, base_total, n, new_total) for _, (_, b, n) in rows]
            adjusted = list(holm_adjusted(raw))
        entries = []
        for (key, (fid, b, n)), p in zip(rows, adjusted, strict=True):
            frame = self.frames[fid]
            if isinstance(key, tuple):
                frame = Frame(frame.name, frame.filename)
            entries.append(
                DiffEntry(
                    fid,
                    frame,
                    100.0 * b / base_total if base_total else 0.0,
                    100.0 * n / new_total if new_total else 0.0,
                    p,
                    p is not None and p <= alpha,
                )
            )
        return entries

    def under_root(self) -> tuple[float, float]:
        """Re-rooted: the share of each source's samples under the root function (base, new)."""
        base, new = self.sources
        b, n = base.total_samples, new.total_samples
        return (self.base.total_samples / b if b else 0.0, self.total_samples / n if n else 0.0)


def diff(base: Profile, new: Profile, matching: Matching | None = None) -> DiffProfile:
    """The diff of `new` against `base`, frames matched as `matching` says. Two ByFunction
    profiles (`perftop diff --by-function`) are taken as their lines matched by function."""
    matching = matching or Matching()
    if isinstance(base, ByFunction) and isinstance(new, ByFunction):
        base, new = base.lines, new.lines
        matching = Matching(True, matching.root)
    b, n = base, new
    if matching.by_function:
        b, n = by_function(b), by_function(n)
    if matching.root is not None:
        b, n = rerooted(b, *matching.root), rerooted(n, *matching.root)
    compared = DiffProfile(b, n)
    compared.sources, compared.matching = (base, new), matching
    return compared
