"""Braille history graphs and meter bars: shapes, the fixed time axis, and what a tick changes."""

from __future__ import annotations

import pytest

from perftop.ui.braille import bar, braille_graph, shown_samples


def test_graph_shape_levels_and_blank_cells() -> None:
    rows = braille_graph([100.0, 50.0, 0.0, 1.0], width=4, height=2)
    assert len(rows) == 2 and all(len(r) == 4 for r in rows)
    # Two samples a cell from the left edge: a full column and a half one, then nothing and
    # the one-dot floor of 1 %; the rest of the width waits for samples to come.
    assert rows == ["⡇   ", "⣿⢀  "]
    # Empty cells are spaces (one byte in UTF-8), never U+2800.
    assert "\u2800" not in "".join(braille_graph([0.0] * 8, 4, 3))


def test_graph_clamps_keeps_the_newest_and_degenerates_quietly() -> None:
    assert braille_graph([-5.0, 500.0], 1, 1) == ["⢸"]
    assert braille_graph([0.0, 0.0, 100.0, 100.0], 1, 1) == ["⣿"]  # the last two values
    assert braille_graph([1.0], 0, 2) == ["", ""]
    assert braille_graph([1.0], 3, 0) == []
    assert braille_graph([5.0], 2, 1, maximum=0.0) == ["⡀ "]


@pytest.mark.parametrize("width", [1, 2, 5, 12, 56])
def test_fixed_time_axis(width: int) -> None:
    slots = 2 * width
    previous = 0
    for ticks in range(1, 6 * slots):
        shown = shown_samples(ticks, width)
        assert shown >= 1 and shown <= min(ticks, slots)
        if ticks > slots:
            assert shown >= slots - max(slots // 4, 2) + 1  # at least three quarters of history
            # The oldest sample shown starts a cell, so old cells keep their pairs of samples.
            assert (ticks - shown) % 2 == 0
        # Either one more sample in the same place, or a jump left.
        assert shown == previous + 1 or (previous == slots and shown < slots)
        previous = shown


def test_between_jumps_a_tick_changes_only_the_newest_cell() -> None:
    width, values = 10, [float((i * 37) % 100) for i in range(200)]
    before, jumps = braille_graph([], width, 3), 0
    for ticks in range(1, len(values) + 1):
        shown = shown_samples(ticks, width)
        rows = braille_graph(values[ticks - shown : ticks], width, 3)
        changed = {
            x for b, r in zip(before, rows, strict=True) for x in range(width) if b[x] != r[x]
        }
        if shown == shown_samples(ticks - 1, width) + 1:
            assert changed <= {(shown - 1) // 2}  # the newest sample's cell, nothing else
        else:
            jumps += 1
        before = rows
    assert jumps <= len(values) / (2 * width / 4 - 1)  # one redraw per quarter of the width


def test_bar_eighths_and_bounds() -> None:
    assert bar(0.5, 4) == "██  "
    assert bar(1 / 32, 4) == "▏   "
    assert bar(2.0, 3) == "███" and bar(-1.0, 3) == "   "
    assert bar(0.5, 0) == ""
