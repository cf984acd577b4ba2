"""History graphs drawn with Unicode braille, two samples per cell and four dots of height.

Written by hand rather than with plotext: plotext builds a whole figure (axes, canvas, global
state) per call, which costs milliseconds per graph per tick, and perftop redraws several graphs
every second under a CPU budget of a few percent. This is one pass over the values.

The graphs have a fixed time axis (`shown_samples`): each new sample takes the next free
column and the drawing jumps left by a quarter of its width once it is full, instead of
scrolling by one column every tick. Bytes to the terminal are the reason: Textual resends a
changed line from the widget's left edge to the last cell that changed, and a graph scrolled
every tick changes every line that has any shape in it, every tick. With the axis fixed, only
the lines the newest sample reaches change between jumps. Measured (bench/README.md): on two
recorded histories the CPU graph costs 165-220 bytes a tick against 285-368 scrolled per
sample and 276-287 scrolled per cell, the disk graph 24-45 against 177 and 99-110; in the
running dashboard at steady state all the graphs together cost 950-1180 bytes a second against
1200-1250 scrolled per sample. The price is the flat line (memory, most of the time): scrolled
it is free, since a uniform line shifted is the same line, while here its bottom line is
resent every tick, about 170-220 bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import repeat

_BASE = 0x2800
# Dot bits of a braille cell filled from the bottom up to 0..4 dots, left and right column.
_LEFT_FILL = (0, 0x40, 0x44, 0x46, 0x47)
_RIGHT_FILL = (0, 0x80, 0xA0, 0xB0, 0xB8)
# Every cell by (left dots, right dots). An empty cell is a space, not U+2800: it looks the
# same, is one byte instead of three in UTF-8, and is what most of a quiet graph is made of.
_CELLS = tuple(
    tuple(chr(_BASE | left | right) if left | right else " " for right in _RIGHT_FILL)
    for left in _LEFT_FILL
)


def shown_samples(ticks: int, width: int) -> int:
    """How many of the newest samples a graph `width` cells wide shows after `ticks` samples.

    Samples fill the graph from the left, one dot column each; when a new one finds it full,
    the graph drops its oldest quarter (whole cells, so a cell keeps its pair of samples) and
    the sample goes to the first free column. So a graph always shows between three quarters
    and all of its width of history, and the newest sample the tick it arrives.
    """
    slots = 2 * max(width, 0)
    step = max(slots // 8 * 2, 2)
    if ticks <= slots:
        return max(ticks, 0)
    return slots - step + 1 + (ticks - slots - 1) % step


def braille_graph(
    values: Sequence[float], width: int, height: int, maximum: float = 100.0
) -> list[str]:
    """Render the last `2 * width` values as `height` rows of braille, oldest on the left.

    Values are drawn from the left edge (pass the `shown_samples` newest ones for a fixed time
    axis); columns past the last value stay blank. Each sample is a filled column (like btop)
    so a spike stays visible; values are clamped to [0, maximum]. Returns exactly `height`
    strings of exactly `width` characters.
    """
    if width <= 0 or height <= 0:
        return [""] * max(height, 0)
    scale = height * 4 / maximum if maximum > 0 else 0.0
    shown = values[len(values) - 2 * width :] if len(values) > 2 * width else values
    # A non-zero value always shows at least one dot. No min() or max() calls: this runs for
    # every sample of every graph each tick.
    levels = [(round((v if v < maximum else maximum) * scale) or 1) if v > 0 else 0 for v in shown]
    levels.extend([0] * (2 * width - len(levels)))
    # Each cell's column of characters, top row first, then the rows read across them: zip
    # and join do per character in C what a per-cell, per-row expression did in Python
    # (a 56x4 graph: 255 µs, several graphs a tick).
    columns = map(_column, levels[0::2], levels[1::2], repeat(height))
    return ["".join(row) for row in zip(*columns, strict=True)]


@lru_cache(maxsize=2048)  # a few hundred in use: (4 x height + 1)² per height shown
def _column(left: int, right: int, height: int) -> tuple[str, ...]:
    """The characters of one cell's column `height` rows tall, filled `left` and `right` dots
    up from the bottom, top row first."""
    return tuple(
        _CELLS[min(max(left - floor, 0), 4)][min(max(right - floor, 0), 4)]
        for floor in range(4 * (height - 1), -1, -4)
    )


def bar(fraction: float, width: int) -> str:
    """A meter bar with eighth-block precision, exactly `width` characters."""
    if width <= 0:
        return ""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if full < width else ""
    return ("█" * full + partial).ljust(width)[:width]
