"""Partial updates resend only the cells that changed (ui/exact_updates.py), and the table
and meters ask for no more than those (issue 16: bytes to the terminal)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate
from textual.strip import Strip

from perftop.ui import exact_updates
from perftop.ui.widgets.process_table import changed_spans

RED = Style(color="red")


def rendered(line: str, x: int, spans: list[tuple[int, int, int]]) -> str:
    """What one line's update sends: a widget at column `x` showing `line`."""
    console = Console(file=io.StringIO(), color_system="standard", width=80)
    strip = Strip([Segment(line[:4], RED), Segment(line[4:])])
    update = ChopsUpdate([{x: strip}], spans, [[x + len(line)]])
    return update.render_segments(console)


def test_an_update_starts_at_its_first_changed_cell() -> None:
    assert exact_updates.install(), "this Textual's ChopsUpdate is the one it was written for"
    out = rendered("abcdefghijklmnop", 10, [(0, 18, 20)])
    assert out == "\x1b[1;19Hij", repr(out)  # columns 18-19 only (1-based 19), not from 10
    # A span over the styled start keeps its style.
    out = rendered("abcdefghijklmnop", 10, [(0, 12, 15)])
    assert out.startswith("\x1b[1;13H") and "cd" in out and "\x1b[31m" in out, repr(out)
    assert "ab" not in out
    # Two spans on one line: two short writes, not the line twice.
    out = rendered("abcdefghijklmnop", 0, [(0, 1, 2), (0, 14, 16)])
    assert out.count("\x1b[") == 4 and "b" in out and out.endswith("op"), repr(out)


def test_a_wide_character_keeps_the_update_at_the_widget_edge() -> None:
    exact_updates.install()
    out = rendered("ab漢字efgh", 10, [(0, 17, 18)])
    assert out.startswith("\x1b[1;11H"), repr(out)  # from the edge: no half a character


def test_changed_spans_are_the_runs_that_differ() -> None:
    old = "  12345 root      S    0.0   0.0   1.1M    3     0B/s     0B/s 05:13 line_io_tool"
    new = "  12345 root      S    1.0   0.0   1.1M    3     0B/s     0B/s 05:13 line_io_tool"
    assert changed_spans(old, new) == [(23, 24)]
    both = old.replace("12345", "12346").replace("0.0   0.0", "1.0   0.0")
    assert changed_spans(old, both) == [(6, 7), (23, 24)], "far apart: two writes"
    assert changed_spans(old, both, gap=20) == [(6, 24)], "near: one write"
    assert changed_spans(old, old) == [(0, 1)]
