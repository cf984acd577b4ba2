"""The short human formats of `perftop.ui.fmt`."""

from __future__ import annotations

import pytest

from perftop.ui.fmt import human_bytes, human_count, human_rate, human_uptime, printable


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0m"),
        (59, "0m"),
        (42 * 60 + 59, "42m"),
        (5 * 3600 + 7 * 60, "5h 07m"),
        (3 * 86400 + 5 * 3600 + 7 * 60 + 30, "3d 5h 07m"),
    ],
)
def test_uptime_is_to_the_minute(seconds: float, text: str) -> None:
    assert human_uptime(seconds) == text


def test_bytes_rates_counts_and_printable() -> None:
    assert (human_bytes(512), human_bytes(1536), human_bytes(20 * 2**20)) == ("512B", "1.5K", "20M")
    assert human_rate(None) == "-" and human_rate(2048) == "2.0K/s"
    assert (human_count(950), human_count(12_300)) == ("950", "12.3k")
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
