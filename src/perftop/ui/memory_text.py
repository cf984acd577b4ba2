"""Words and figures for a memory profile (counts that are bytes), shared by the flame screen
and `perftop record`: sizes, the tracker's name, and what the tracker costs the target.

No Textual here: the headless command uses it too.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["SLOWDOWN", "is_bytes", "size_text", "slowdown_text", "weight_text"]

# How much slower an allocation-heavy Python program (~5 million allocations a second: the
# worst case) runs with each tracker attached as perftop attaches it: bench/bench_memory.py,
# median of 3 rounds on this project's 2-core test machine, load average ~2 (bench/README.md
# has the run): memray with Python's own allocator traced (perftop.profiling.memory_payload:
# without it small objects are invisible), tracemalloc with 64 frames and its snapshot grouped
# before this tracker's own allocations are left out. A program that allocates less is slowed
# less.
SLOWDOWN: dict[str, float] = {
    "memray": 5.8,
    "tracemalloc": 10.6,
}

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def is_bytes(metadata: Mapping[str, str]) -> bool:
    """Whether a profile's counts are bytes (a memory profile), not samples."""
    return metadata.get("unit") == "bytes"


def size_text(n: float) -> str:
    """A size for people: 999 B, 1.5 KiB, 12.3 MiB, 128 MiB, 2.0 GiB."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{value:.0f} B"
            return f"{value:.1f} {unit}" if abs(value) < 100 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def weight_text(n: int, metadata: Mapping[str, str]) -> str:
    """A count as the profile means it: a size for bytes, else a number of samples."""
    return size_text(n) if is_bytes(metadata) else f"{n:,}"


def slowdown_text(tracker: str) -> str:
    """`target up to ~1.9x slower` for a tracker bench/ has measured; '' for another."""
    factor = SLOWDOWN.get(tracker)
    return f"target up to ~{factor:.1f}x slower" if factor is not None else ""
