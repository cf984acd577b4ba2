"""Short, fixed-width human formats for numbers the screens show (bytes, rates, durations).

Pure functions: the widgets, the exports and the tests share them.
"""

from __future__ import annotations

import time

_UNITS = ("B", "K", "M", "G", "T", "P")


def _scaled(n: float) -> tuple[float, int, int]:
    """`n` in its unit: (value, the unit's index in _UNITS, decimals shown)."""
    value = float(n)
    for i in range(len(_UNITS)):
        if abs(value) < 1024 or i == len(_UNITS) - 1:
            return value, i, 0 if i == 0 or abs(value) >= 10 else 1
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def human_bytes(n: float, *, suffix: str = "") -> str:
    """1536 -> '1.5K', like htop: at most 4 significant characters before the unit."""
    value, unit, decimals = _scaled(n)
    return f"{value:.{decimals}f}{_UNITS[unit]}{suffix}"


def shown_bytes(n: float) -> float:
    """The number `human_bytes(n)` reads as, in bytes: the process table sorts on it, so
    that rows read in order and rows that read the same do not trade places."""
    value, unit, decimals = _scaled(n)
    return round(value, decimals) * 1024.0**unit


def human_rate(n: float | None) -> str:
    """Bytes per second; None (not readable) shows as a dash."""
    if n is None:
        return "-"
    return human_bytes(n, suffix="/s")


def human_count(n: float) -> str:
    """Operations or packets per second: 950 -> '950', 12_300 -> '12.3k'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n:.0f}"


def human_duration(seconds: float) -> str:
    """Uptime style: '3d 04:05', '04:05:06'."""
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}"
    return f"{hours:02d}:{minutes:02d}:{s:02d}"


def human_uptime(seconds: float) -> str:
    """Uptime to the minute: '42m', '5h 07m', '3d 5h 07m'.

    Minutes, not seconds: a clock ticking in the top bar would rewrite that line every second
    for no news, and a line rewritten is bytes sent to the terminal (ARCHITECTURE.md, "Budgets").
    """
    minutes = int(seconds) // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def start_time_label(epoch: float, now: float) -> str:
    """htop's START column: clock time today, else the date."""
    if now - epoch < 86400:
        return time.strftime("%H:%M", time.localtime(epoch))
    return time.strftime("%b%d", time.localtime(epoch))


def printable(text: str) -> str:
    """Escape control characters so a hostile process name can never drive the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
