"""Bytes a tick that the history graphs cost, drawn three ways, on a recorded history.

Run on demand: `python bench/bench_graphs.py [--seconds 300] [--save FILE | --load FILE]`.

Records this machine's CPU, memory and disk history at 1 s (or loads one saved before), then
replays it through perftop's braille drawing in three ways and prints what each costs in bytes
to the terminal per tick, after the graphs are full:

- scrolled per sample: the newest sample at the right edge, everything moves a column a tick;
- scrolled per cell: the same, but the drawing moves a whole cell (two samples) every other
  tick, the newest cell half drawn in between;
- fixed time axis (what perftop does, `braille.shown_samples`): samples fill the graph from the
  left, and it jumps left by a quarter of its width when full.

The cost model is Textual's: a line that changed is resent from the widget's left edge to its
last changed cell (about 20 bytes of cursor move and colour codes, plus 3 bytes a braille cell
and 1 a blank one); an unchanged line costs nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from perftop.system.sampler import SystemSampler
from perftop.ui.braille import braille_graph, shown_samples

LINE_OVERHEAD = 20  # cursor move, colour codes and reset around a changed line
# (name, series index, graph width, graph height, fixed maximum or None to scale to the peak)
GRAPHS = (
    ("cpu", 0, 56, 3, 100.0),
    ("memory", 1, 56, 4, 100.0),
    ("disk", 2, 56, 2, None),
    ("core sparkline", 3, 18, 1, 100.0),
)

Window = Callable[[list[float], int, int], list[float]]


def per_sample(values: list[float], ticks: int, width: int) -> list[float]:
    tail = values[max(ticks - 2 * width, 0) : ticks]
    return [0.0] * (2 * width - len(tail)) + tail


def per_cell(values: list[float], ticks: int, width: int) -> list[float]:
    end = ticks + ticks % 2  # a cell holds samples (2k, 2k+1); the newest may be alone in it
    return [values[i] if 0 <= i < ticks else 0.0 for i in range(end - 2 * width, end)]


def fixed_axis(values: list[float], ticks: int, width: int) -> list[float]:
    return values[ticks - shown_samples(ticks, width) : ticks]


SCHEMES: tuple[tuple[str, Window], ...] = (
    ("scrolled per sample", per_sample),
    ("scrolled per cell", per_cell),
    ("fixed time axis", fixed_axis),
)


def line_cost(before: str, after: str) -> int:
    changed = [x for x, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    if not changed:
        return 0
    return LINE_OVERHEAD + sum(1 if ch == " " else 3 for ch in after[: changed[-1] + 1])


def bytes_per_tick(
    values: list[float], width: int, height: int, top: float | None, window: Window
) -> float:
    costs: list[int] = []
    before: list[str] | None = None
    for ticks in range(1, len(values) + 1):
        shown = window(values, ticks, width)
        peak = top if top is not None else max(max(shown, default=0.0), 1024.0)
        rows = braille_graph(shown, width, height, peak)
        if before is not None and ticks > 2 * width:  # only once the graph is full
            costs.append(sum(line_cost(b, a) for b, a in zip(before, rows, strict=True)))
        before = rows
    return statistics.mean(costs) if costs else 0.0


def record(seconds: int) -> list[list[float]]:
    sampler = SystemSampler()
    series: list[list[float]] = []
    for _ in range(seconds):
        time.sleep(1.0)
        s = sampler.sample()
        disk = sum(d.read_bytes_per_s + d.write_bytes_per_s for d in s.disks)
        core = s.cpu.per_core_percent[0] if s.cpu.per_core_percent else 0.0
        series.append([s.cpu.total_percent, s.memory.used_percent, disk, core])
    return series


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300, help="history to record (s)")
    parser.add_argument("--save", metavar="FILE", help="keep the recorded history here")
    parser.add_argument("--load", metavar="FILE", help="replay a history saved with --save")
    args = parser.parse_args(argv)
    if args.load:
        with open(args.load) as f:
            series = json.load(f)
    else:
        print(f"recording {args.seconds} s of history...", file=sys.stderr)
        series = record(args.seconds)
        if args.save:
            with open(args.save, "w") as f:
                json.dump(series, f)
    print(f"{len(series)} samples\n")
    print("| graph | " + " | ".join(name for name, _ in SCHEMES) + " |")
    print("| --- |" + " --- |" * len(SCHEMES))
    for name, index, width, height, top in GRAPHS:
        values = [row[index] for row in series]
        costs = [bytes_per_tick(values, width, height, top, window) for _, window in SCHEMES]
        print(f"| {name} ({width}x{height}) | " + " | ".join(f"{c:.0f} B" for c in costs) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
