"""Where perftop's bytes to the terminal go: bytes per second by screen row.

Run on demand: `python bench/bench_bytes.py [--seconds 20] [--procs 475] [--warmup 3]`.

Runs perftop alone in a 120x40 pseudo-terminal, as `bench_dashboard.py` does, records what it
writes over the steady-state window, and charges each byte to the place (row and column) of the
cursor move before it: Textual addresses each widget's part of a changed line with
`CSI row;col H` at the widget's left edge, so places map to widgets (row 1 the top bar, then the
CPU and memory panels, disks and network, the process table, the status line and the footer),
and a change to one widget is judged by its own bytes.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence

from bench_dashboard import ROWS, PtyProcess, Sleepers, child_env, monitors

_CURSOR = re.compile(rb"\x1b\[(\d+);(\d+)H")


def bytes_by_place(stream: bytes) -> tuple[Counter[tuple[int, int]], Counter[tuple[int, int]]]:
    """(bytes charged to each 1-based (row, column) a cursor move went to, moves there).

    Textual moves the cursor to the left edge of each widget whose part of a line it resends,
    so a column tells the widgets of a row apart; (0, 0) holds what came before any move.
    """
    per_place: Counter[tuple[int, int]] = Counter()
    moves: Counter[tuple[int, int]] = Counter()
    place, pos = (0, 0), 0
    for match in _CURSOR.finditer(stream):
        per_place[place] += match.start() - pos
        place, pos = (int(match.group(1)), int(match.group(2))), match.start()
        moves[place] += 1
    per_place[place] += len(stream) - pos
    return per_place, moves


def record(seconds: float, warmup: float, procs: int) -> tuple[bytes, float]:
    """perftop's output over a `seconds` window, `warmup` s after its first screen."""
    perftop = monitors()[0]
    sleepers = Sleepers(lifetime_s=int(seconds + warmup) + 60)
    try:
        sleepers.top_up(procs)
        time.sleep(1.0)  # let the spawn burst settle
        with tempfile.TemporaryDirectory(prefix="bench-bytes-") as config_home:
            running = PtyProcess(perftop.argv, perftop.pattern, child_env(config_home))
            try:
                running.screen_seen.wait(15)
                time.sleep(warmup)
                chunks: list[bytes] = []
                start = time.monotonic()
                running.recorded = chunks
                time.sleep(seconds)
                running.recorded = None
                wall = time.monotonic() - start
            finally:
                running.stop()
    finally:
        sleepers.kill()
    return b"".join(chunks), wall


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="recorded window (s)")
    parser.add_argument("--procs", type=int, default=475, help="top the machine up to N processes")
    parser.add_argument("--warmup", type=float, default=3.0, help="s after first screen")
    parser.add_argument("--save", metavar="FILE", help="also write the raw stream here")
    args = parser.parse_args(argv)
    stream, wall = record(args.seconds, args.warmup, args.procs)
    if args.save:
        with open(args.save, "wb") as f:
            f.write(stream)
    per_place, moves = bytes_by_place(stream)
    print(f"{len(stream) / wall / 1e3:.2f} KB/s over {wall:.1f} s\n")
    print("| row | column | B/s | rewrites/s |")
    print("| --- | --- | --- | --- |")
    for place in sorted(per_place):
        if per_place[place] and place[0] <= ROWS:
            row, column = place
            print(
                f"| {row} | {column} | {per_place[place] / wall:.0f} | {moves[place] / wall:.1f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
