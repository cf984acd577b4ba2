"""History graphs drawn with Unicode braille, two samples per cell and four dots of height.

Written by hand rather than with plotext: plotext builds a whole figure (axes, canvas, global
state) per call, which costs milliseconds per graph per tick, and perftop redraws several graphs
every second under a CPU budget of a few percent. This is one pass over the values.
"""

from __future__ import annotations

from collections.abc import Sequence

# Dot bits of a braille cell, by column (left, right) and row from the bottom (0..3).
_LEFT = (0x40, 0x04, 0x02, 0x01)
_RIGHT = (0x80, 0x20, 0x10, 0x08)
_BASE = 0x2800


def braille_graph(
    values: Sequence[float], width: int, height: int, maximum: float = 100.0
) -> list[str]:
    """Render the last `2 * width` values as `height` rows of braille, newest on the right.

    Each sample is a filled column (like btop) so a spike stays visible; values are clamped to
    [0, maximum]. Returns exactly `height` strings of exactly `width` characters.
    """
    if width <= 0 or height <= 0:
        return [""] * max(height, 0)
    dots_high = height * 4
    tail = list(values[-2 * width :])
    # Right-align: pad on the left with empty samples.
    pad = 2 * width - len(tail)
    levels = [0] * pad
    scale = dots_high / maximum if maximum > 0 else 0.0
    for v in tail:
        level = round(min(max(v, 0.0), maximum) * scale)
        # A non-zero value always shows at least one dot.
        levels.append(max(level, 1) if v > 0 else 0)
    rows: list[str] = []
    for row in range(height - 1, -1, -1):  # top row first
        floor = row * 4
        chars = []
        for cell in range(width):
            code = _BASE
            left, right = levels[2 * cell] - floor, levels[2 * cell + 1] - floor
            for dot in range(min(max(left, 0), 4)):
                code |= _LEFT[dot]
            for dot in range(min(max(right, 0), 4)):
                code |= _RIGHT[dot]
            chars.append(chr(code))
        rows.append("".join(chars))
    return rows


def bar(fraction: float, width: int) -> str:
    """A meter bar with eighth-block precision, exactly `width` characters."""
    if width <= 0:
        return ""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if full < width else ""
    return ("█" * full + partial).ljust(width)[:width]
