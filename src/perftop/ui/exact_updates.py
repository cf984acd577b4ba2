"""Partial screen updates that resend only the cells that changed, as curses does.

Textual 8 sends a partial refresh (`Widget.refresh(region)`) from the *left edge of the
widget* to the region's right end: `ChopsUpdate.render_segments` crops a line's chop at its end
but not at its start (its own comment: "TODO: crop to x extents"). So a CPU% figure that changes
in the middle of a process row resends the row's first 30 cells with it, and a history graph's
newest cell at column 50 resends the 49 before it, every tick. Over SSH, at 1 s, those bytes
were most of what perftop wrote (bench/README.md, `bench_bytes.py`).

`install()` replaces that one method with the same code cropped at both ends. Written by hand
because Textual offers no setting for it; kept to the one method, and skipped (stock behaviour,
more bytes, same picture) on a Textual whose ChopsUpdate does not look as this expects.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.control import Control

_installed = False


def _render_segments(self: Any, console: Console) -> str:
    """`ChopsUpdate.render_segments`, each chop cropped to the span at its start too."""
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops = self.chops
    chop_ends = self.chop_ends
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                append(move_to(x, y).segment.text)
                append(strip.render(console))
                continue
            start = x
            if x < x1:
                # Where the line has a wide character (a CJK command line) a cut could split
                # it, and half a character cannot be redrawn: start at the widget's edge then,
                # as Textual does.
                text = strip.text
                if text.isascii() or strip.cell_length == len(text):
                    start = x1
            strip = strip.crop(start - x, min(end, x2) - x)
            append(move_to(start, y).segment.text)
            append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def install() -> bool:
    """Use `_render_segments` for every partial update from now on; False where this
    Textual's update class is not the one it was written against."""
    global _installed
    if _installed:
        return True
    try:
        from textual._compositor import ChopsUpdate
    except ImportError:
        return False
    init = getattr(ChopsUpdate.__init__, "__code__", None)
    if init is None or init.co_varnames[1:4] != ("chops", "spans", "chop_ends"):
        return False
    ChopsUpdate.render_segments = _render_segments  # type: ignore[method-assign]
    _installed = True
    return True
