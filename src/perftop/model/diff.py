"""The diff of two profiles: `new`'s call trees, with what `base` had on every node.

A DiffProfile is a Profile (so the flame view draws it like any other) whose nodes also know
their total in `base`; it reaches into Profile's trees as the subclass it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from perftop.model.frames import Frame
from perftop.model.profile import Node, Profile

if TYPE_CHECKING:
    from perftop.model.profile import _Tree

__all__ = ["DiffEntry", "DiffProfile", "diff"]


@dataclass(frozen=True, slots=True)
class DiffEntry:
    frame_id: int
    frame: Frame
    base_percent: float
    new_percent: float

    @property
    def delta_percent(self) -> float:
        return self.new_percent - self.base_percent


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
        self.base = Profile(base.metadata)
        self.base.frames, self.base._ids = self.frames, self._ids  # one shared frame table
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

    def biggest_changes(self, n: int, thread: str | None = None) -> list[DiffEntry]:
        """Functions whose share of self samples moved most, largest change first.

        Self samples, not totals: a change deep in the stack moves the totals of all its
        callers by the same amount, which would fill the list with callers.
        """
        base_total, new_total = self.base.total_samples, self.total_samples
        base_self = self.base._tree(thread).self_by_frame
        new_self = self._tree(thread).self_by_frame
        entries = [
            DiffEntry(
                fid,
                self.frames[fid],
                100.0 * base_self.get(fid, 0) / base_total if base_total else 0.0,
                100.0 * new_self.get(fid, 0) / new_total if new_total else 0.0,
            )
            for fid in base_self.keys() | new_self.keys()
        ]
        entries.sort(key=lambda e: (-abs(e.delta_percent), e.frame_id))
        return [e for e in entries[: max(n, 0)] if e.delta_percent != 0.0]


def diff(base: Profile, new: Profile) -> DiffProfile:
    return DiffProfile(base, new)
