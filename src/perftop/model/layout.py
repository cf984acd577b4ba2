"""Flame graph geometry: which node gets which cells, as a pure function of a tree and a width.

The widget only paints what this returns, so the arithmetic is tested on its own (flameshow's
approach). Positions come from cumulative sample offsets: a node covers the samples
[start, start + total) of the zoom root, and its cells are those offsets scaled to the width
and rounded. Rounding is monotone and a child's samples lie inside its parent's, so siblings
never overlap and a child never leaves its parent, however the rounding falls.

Only boxes at least one cell wide are kept, and only their children are visited, so the cost
follows what is on screen, not the size of the profile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perftop.model.frames import Frame
from perftop.model.profile import Node


@dataclass(frozen=True, slots=True)
class FlameBox:
    node: Node
    depth: int  # row, relative to the zoom root (0)
    x: int
    width: int


def layout(
    root: Node,
    width: int,
    max_depth: int | None = None,
    frames: Sequence[Frame] | None = None,
) -> list[list[FlameBox]]:
    """Rows of boxes, row 0 being `root` at full width, each row sorted by x.

    `max_depth` caps the number of rows (depths 0 … max_depth - 1). With `frames` (the
    profile's frame table) siblings are in alphabetical order of function name, then file
    and line, as FlameGraph draws them: the order does not depend on which function was
    sampled first or most, so boxes keep their places between live updates and two profiles
    of the same program line up side by side. Without `frames`, siblings are in frame id
    order (first seen first), which is stable too.
    """
    total = root.total
    if width <= 0 or total <= 0 or (max_depth is not None and max_depth <= 0):
        return []
    row_limit = max_depth if max_depth is not None else 1 << 62
    key = _label_order(frames) if frames is not None else _id_order
    half = total  # x = floor(offset * width / total + 1/2), in integers: no float drift
    twice = 2 * total
    rows = [[FlameBox(root, 0, 0, width)]]
    # (node, its first sample offset within the zoom root)
    frontier: list[tuple[Node, int]] = [(root, 0)]
    depth = 0
    while frontier and depth + 1 < row_limit:
        depth += 1
        row: list[FlameBox] = []
        next_frontier: list[tuple[Node, int]] = []
        for node, start in frontier:
            children = node.children
            if not children:
                continue
            ordered = sorted(children.values(), key=key) if len(children) > 1 else children.values()
            offset = start
            x0 = (offset * 2 * width + half) // twice
            for child in ordered:
                offset += child.total
                x1 = (offset * 2 * width + half) // twice
                if x1 > x0:
                    row.append(FlameBox(child, depth, x0, x1 - x0))
                    next_frontier.append((child, offset - child.total))
                x0 = x1
        if not row:
            break
        rows.append(row)
        frontier = next_frontier
    return rows


def _id_order(node: Node) -> int:
    return node.frame_id


def _label_order(frames: Sequence[Frame]) -> Callable[[Node], tuple[str, str, int]]:
    def key(node: Node) -> tuple[str, str, int]:
        f = frames[node.frame_id]
        return (f.name, f.filename, f.line)

    return key
