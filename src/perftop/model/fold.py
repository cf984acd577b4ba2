"""Bounding a call tree: its least-sampled subtrees folded into one `(other)` node a parent.

A live profile gains a node for every call path it has not seen, so an hour of a program
that keeps finding new paths grows without end (about 250 bytes a node, see
bench/bench_profile_memory.py). Past its cap a profile folds: the subtrees with the fewest
samples go first, each into the `(other)` child of its parent, whose own samples they
become, until the tree is back at the target size. Nothing is lost from the counts:

- every node left keeps its total, and the root its total, so each box the flame still draws
  is as wide as before, and the samples folded are a box `(other)` beside their siblings;
- the per-frame counters (`top_functions`: own and total by frame and by function) are not
  touched: they still count the folded samples where they were taken.

The subtrees folded first are those too narrow to see: a box under one cell of the flame
holds less than 1/width of the samples.
"""

from __future__ import annotations

from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, cast

from perftop.model.frames import Frame

if TYPE_CHECKING:
    from perftop.model.profile import Node, _Tree

__all__ = ["NO_CHILDREN", "OTHER", "fold_tree"]

# The frame of the node the folded samples go to. Its kind is THREAD (model/frames.py):
# a synthetic frame, grey in the flame, left out of the top table.
OTHER = Frame("(other)")

# Every leaf's children, until it has one: an empty dict costs 64 bytes, and most nodes of a
# big tree are leaves. Read-only, so a write anywhere but `_Tree._new_child` fails loudly.
NO_CHILDREN = cast("dict[int, Node]", MappingProxyType({}))
_ORDER = attrgetter("total", "depth")


def fold_tree(tree: _Tree, target: int, other_id: int) -> int:
    """Fold `tree`'s least-sampled subtrees into `(other)` nodes (frame `other_id`) until it
    holds at most `target` nodes (the root and the `(other)` nodes count). Returns the
    nodes taken out. O(n log n) in the tree's nodes: for a profile past its cap, not per batch.
    """
    if tree.node_count <= target:
        return 0
    candidates: list[Node] = []
    add = candidates.append
    pending = [tree.root]
    while pending:
        node = pending.pop()
        for child in node.children.values():
            add(child)
            if child.children:
                pending.append(child)
    # Fewest samples first; of equals, the shallower: it takes its subtree along at once.
    candidates.sort(key=_ORDER)
    before = tree.node_count
    gone: set[int] = set()  # id() of every node taken out
    held: list[Node] = []  # ... and the nodes, alive until the end: no id() is reused
    for node in candidates:
        if tree.node_count <= target:
            break
        parent = node.parent
        if parent is None or node.frame_id == other_id or id(node) in gone:
            continue
        other = parent.children.get(other_id)
        if other is None and not node.children and len(parent.children) < 2:
            continue  # an only leaf would just be renamed: its parent folds instead
        taken = 0
        stack = [node]
        while stack:
            n = stack.pop()
            gone.add(id(n))
            held.append(n)
            taken += 1
            stack.extend(n.children.values())
            n.children = NO_CHILDREN  # no cycles left: freed as soon as no one holds it
        del parent.children[node.frame_id]
        tree.node_count -= taken
        if other is None:
            other = tree._new_child(parent, other_id)
        other.total += node.total
        other.self_count += node.total
    if gone:
        for fid, nodes in list(tree.by_frame.items()):
            kept = [n for n in nodes if id(n) not in gone]
            if kept:
                tree.by_frame[fid] = kept
            else:
                del tree.by_frame[fid]
    return before - tree.node_count
