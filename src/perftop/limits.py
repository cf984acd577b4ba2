"""The bounds of perftop's settings, defined once: the config file, the command line, the
profiler's options and the settings form all check against these. Standard library only (the
command line's grammar imports it, and `--help` must stay instant)."""

from __future__ import annotations

MIN_DELAY_S, MAX_DELAY_S = 0.1, 3600.0  # refresh interval
MIN_HISTORY, MAX_HISTORY = 60, 7 * 24 * 3600  # ticks of history kept
MIN_RATE_HZ, MAX_RATE_HZ = 1, 10_000  # profiler sampling rate
