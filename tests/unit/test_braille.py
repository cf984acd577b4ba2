"""Braille history graphs and meter bars: shapes, the fixed time axis, and what a tick changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perftop.ui.braille import _CELLS, bar, braille_graph, shown_samples


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


def reference_graph(values: list[float], width: int, height: int, maximum: float) -> list[str]:
    """The graph cell by cell and row by row, as the docstring says: what the fast one (columns
    cached, rows read across them) must draw."""
    if width <= 0 or height <= 0:
        return [""] * max(height, 0)
    scale = height * 4 / maximum if maximum > 0 else 0.0
    shown = values[-2 * width :] if len(values) > 2 * width else values
    levels = [max(round(min(v, maximum) * scale), 1) if v > 0 else 0 for v in shown]
    levels += [0] * (2 * width - len(levels))
    return [
        "".join(
            _CELLS[min(max(levels[2 * c] - 4 * row, 0), 4)][
                min(max(levels[2 * c + 1] - 4 * row, 0), 4)
            ]
            for c in range(width)
        )
        for row in range(height - 1, -1, -1)
    ]


@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=90),
    width=st.integers(-1, 40),
    height=st.integers(-1, 9),
    maximum=st.sampled_from([100.0, 12.5, 1.0, 0.0, -3.0]),
)
def test_the_graph_is_the_reference_drawing(
    values: list[float], width: int, height: int, maximum: float
) -> None:
    assert braille_graph(values, width, height, maximum) == reference_graph(
        values, width, height, maximum
    )
