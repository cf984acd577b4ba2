"""Which cells of a repainted line differ from what is on screen, and a line's styled runs.

Pure, shared by the Line-API widgets (process table, meters, flame): the terminal is sent only
the runs that changed (ui/exact_updates.py), and each style change costs bytes, so a line is
drawn in as few segments as its marks need.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style


def changed_span(old: Sequence[object], new: Sequence[object]) -> tuple[int, int]:
    """The [start, end) columns where two equally wide lines (text, or cells) differ."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = max(len(old), len(new))
    while end > start and end <= limit and old[end - 1] == new[end - 1]:
        end -= 1
    return start, max(end, start + 1)


# Cells alike between two changes on a line that are resent rather than skipped: skipping
# them costs a cursor move and the style again, about this many bytes (ui/exact_updates.py).
SPAN_GAP = 16


def changed_spans(
    old: Sequence[object], new: Sequence[object], gap: int = SPAN_GAP
) -> list[tuple[int, int]]:
    """The [start, end) runs of columns where two equally wide lines differ, runs closer than
    `gap` merged: what the terminal needs resent, as curses would send it, and not the whole
    line when its neighbours traded places."""
    if len(old) != len(new):
        return [changed_span(old, new)]
    spans: list[tuple[int, int]] = []
    start = -1
    same = 0
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if a != b:
            if start < 0:
                start = i
            elif same >= gap:
                spans.append((start, i - same))
                start = i
            same = 0
        elif start >= 0:
            same += 1
    if start >= 0:
        spans.append((start, len(new) - same))
    return spans or [(0, 1)]


def styled(text: str, style: Style, marks: Sequence[tuple[int, int, Style]]) -> list[Segment]:
    """`text` in `style`, but for the [start, end) runs of `marks` (in order, apart) in
    theirs: as few segments as that takes, each a style change the terminal is sent."""
    segments: list[Segment] = []
    done = 0
    for start, end, mark in marks:
        if start < done or start >= end:
            continue
        if start > done:
            segments.append(Segment(text[done:start], style))
        segments.append(Segment(text[start:end], mark))
        done = end
    if done < len(text):
        segments.append(Segment(text[done:], style))
    return segments


def repaint_spans(old: tuple[str, str] | None, new: tuple[str, str]) -> list[tuple[int, int]]:
    """The [start, end) runs of a table line to repaint, from its (text, kind) drawn last to
    the one now: none if the same; whole if new, of another kind (its style is every cell's)
    or width; else the runs whose text changed."""
    if old == new:
        return []
    if old is None or old[1] != new[1] or len(old[0]) != len(new[0]):
        return [(0, len(new[0]))]
    return changed_spans(old[0], new[0])


def scrolled(cursor: int, top: int, rows: int, body: int) -> tuple[int, int]:
    """(cursor, first row shown) for a list of `rows` rows shown `body` at a time: the cursor
    kept on a row, the list scrolled just enough to show it, and never past its end."""
    cursor = min(max(cursor, 0), max(rows - 1, 0))
    if cursor < top:
        top = cursor
    elif cursor >= top + body:
        top = cursor - body + 1
    return cursor, min(max(top, 0), max(rows - body, 0))
