"""Flame layout: boxes inside their parents, never overlapping, proportional, in stable order."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from perftop.model.frames import Frame
from perftop.model.layout import FlameBox, layout
from perftop.model.profile import Node, Profile


def make(*stacks: tuple[str, int]) -> Profile:
    p = Profile()
    for names, count in stacks:
        p.add_stack([Frame(n) for n in names.split(";")], count)
    return p


def names(p: Profile, row: list[FlameBox]) -> list[tuple[str, int, int]]:
    return [(p.frame(b.node.frame_id).name, b.x, b.width) for b in row]


def test_simple_profile_layout() -> None:
    p = make(("a;b;c", 5), ("a;b;d", 4), ("a;b", 5))
    rows = layout(p.root(), 14, frames=p.frames)
    assert [(b.x, b.width, b.depth) for b in rows[0]] == [(0, 14, 0)]
    assert rows[0][0].node is p.root()
    assert names(p, rows[1]) == [("a", 0, 14)]
    assert names(p, rows[2]) == [("b", 0, 14)]
    assert names(p, rows[3]) == [("c", 0, 5), ("d", 5, 4)]  # self time of b is the gap
    assert len(rows) == 4


def test_alphabetical_order_does_not_depend_on_arrival_or_size() -> None:
    p = make(("m;zeta", 1), ("m;alpha", 9), ("m;mid", 3))
    labels = [n for n, _, _ in names(p, layout(p.root(), 130, frames=p.frames)[2])]
    assert labels == ["alpha", "mid", "zeta"]
    by_id = [n for n, _, _ in names(p, layout(p.root(), 130)[2])]
    assert by_id == ["zeta", "alpha", "mid"]  # first seen first


def test_zoomed_layout_is_relative_to_the_zoom_root() -> None:
    p = make(("a;b;c", 3), ("a;x", 97))
    zoom = p.find([p.intern(Frame("a")), p.intern(Frame("b"))])
    assert zoom is not None
    rows = layout(zoom, 50)
    assert rows[0][0].node is zoom and rows[0][0].width == 50 and rows[0][0].depth == 0
    assert names(p, rows[1]) == [("c", 0, 50)] and rows[1][0].depth == 1


def test_narrow_boxes_are_dropped_with_their_children() -> None:
    p = make(("a;big", 990), ("a;tiny;deeper", 10))
    rows = layout(p.root(), 50, frames=p.frames)
    assert names(p, rows[2]) == [("big", 0, 50)]
    assert len(rows) == 3  # `tiny` is under half a cell, so `deeper` is not visited


def test_max_depth_caps_rows_and_degenerate_inputs() -> None:
    p = make(("a;b;c;d", 1))
    assert len(layout(p.root(), 10, max_depth=2)) == 2
    assert len(layout(p.root(), 10)) == 5
    assert layout(p.root(), 10, max_depth=0) == []
    assert layout(p.root(), 0) == []
    assert layout(Profile().root(), 10) == []


def test_boxes_keep_their_place_between_live_updates() -> None:
    p = make(("m;a", 10), ("m;b", 10), ("m;c", 10))
    before = names(p, layout(p.root(), 90, frames=p.frames)[2])
    p.add_stack([Frame("m"), Frame("b")], 0)
    p.merge(make(("m;a", 10), ("m;b", 10), ("m;c", 10)))
    assert names(p, layout(p.root(), 90, frames=p.frames)[2]) == before


trees = st.lists(
    st.tuples(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=7), st.integers(1, 1000)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(trees, st.integers(1, 300), st.sampled_from([None, 1, 3, 8]), st.booleans(), st.data())
def test_layout_invariants(
    stacks: list[tuple[list[str], int]],
    width: int,
    max_depth: int | None,
    alphabetical: bool,
    data: st.DataObject,
) -> None:
    p = Profile()
    for stack, count in stacks:
        p.add_stack([Frame(n) for n in stack], count)
    root = p.root()
    # Any node may be the zoom root.
    while root.children and data.draw(st.booleans()):
        root = data.draw(st.sampled_from(list(root.children.values())))
    rows = layout(root, width, max_depth, p.frames if alphabetical else None)
    if max_depth is not None:
        assert len(rows) <= max_depth
    boxes: dict[Node, FlameBox] = {}
    for depth, row in enumerate(rows):
        assert row, "no empty rows"
        end = 0
        for box in row:
            assert box.depth == depth and box.node.depth - root.depth == depth
            assert box.width >= 1 and box.x >= end, "sorted by x, no overlap"
            assert box.x + box.width <= width
            end = box.x + box.width
            # Proportional: each edge rounds by at most half a cell.
            assert abs(box.width - box.node.total * width / root.total) <= 1
            if depth:
                parent = boxes[box.node.parent]  # type: ignore[index]
                assert parent.x <= box.x and box.x + box.width <= parent.x + parent.width
            boxes[box.node] = box
    # Every node of at least one cell (by its rounded edges) whose parent is drawn is drawn.
    for box in list(boxes.values()):
        if max_depth is not None and box.depth + 1 >= max_depth:
            continue
        drawn = {b.node for b in boxes.values() if b.node.parent is box.node}
        for child in box.node.children.values():
            if child.total * width >= 1.5 * root.total:  # wide enough whatever the rounding
                assert child in drawn
    if root.total:
        assert rows[0] == [FlameBox(root, 0, 0, width)]


def test_siblings_fill_parent_exactly_when_no_self_time() -> None:
    p = make(*((f"r;f{i}", 1) for i in range(7)))
    row = layout(p.root(), 100)[2]
    assert sum(b.width for b in row) == 100
    assert all(a.x + a.width == b.x for a, b in itertools.pairwise(row))
