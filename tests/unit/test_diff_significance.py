"""The diff's significance test (model/diff.py): sampling noise flags nothing, a real change is
flagged, and the multiple-comparison correction is Holm's."""

from __future__ import annotations

import random

import pytest

from perftop.model.diff import (
    DEFAULT_ALPHA,
    diff,
    holm_adjusted,
    two_proportion_p,
)
from perftop.model.frames import Frame
from perftop.model.profile import Profile

MAIN = Frame("main", "app.py", 1)
FUNCTIONS = [Frame(f"f{i}", "app.py", 10 + i) for i in range(20)]
# Shares of self time: one function at 10 %, the rest spread over nineteen others.
SHARES = [0.10] + [0.90 / 19] * 19


def draw(rng: random.Random, shares: list[float], n: int) -> Profile:
    p = Profile()
    counts = [0] * len(shares)
    for i in rng.choices(range(len(shares)), weights=shares, k=n):
        counts[i] += 1
    for frame, count in zip(FUNCTIONS, counts, strict=True):
        p.add_stack([MAIN, frame], count)
    return p


def test_the_z_test_matches_a_worked_example() -> None:
    # 10 % of 5,000 against 15 % of 5,000: z = 0.05 / sqrt(0.125 * 0.875 * 2 / 5000) = 7.56
    assert two_proportion_p(500, 5000, 750, 5000) == pytest.approx(4.1e-14, rel=0.05)
    assert two_proportion_p(50, 1000, 50, 1000) == 1.0
    assert two_proportion_p(0, 10, 0, 20) == 1.0
    assert two_proportion_p(1, 0, 1, 10) == 1.0


def test_holm_steps_down_and_stays_monotone() -> None:
    assert holm_adjusted([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjusted([]) == []
    assert holm_adjusted([0.9, 0.5]) == [1.0, 1.0]


def test_profiles_of_the_same_distribution_flag_nothing_in_95_of_100_trials() -> None:
    rng = random.Random(19)
    quiet = 0
    for _ in range(100):
        compared = diff(draw(rng, SHARES, 5000), draw(rng, SHARES, 5000))
        if not compared.significant_changes():
            quiet += 1
    assert quiet >= 95


def test_a_frame_grown_from_10_to_15_percent_over_5000_samples_is_flagged() -> None:
    rng = random.Random(7)
    grown = [0.15] + [0.85 / 19] * 19
    flagged_every_time = True
    for _ in range(20):
        compared = diff(draw(rng, SHARES, 5000), draw(rng, grown, 5000))
        found = compared.significant_changes()
        flagged_every_time &= any(e.frame == FUNCTIONS[0] and e.delta_percent > 0 for e in found)
        first = found[0]
        assert first.p_value is not None and first.p_value < DEFAULT_ALPHA
    assert flagged_every_time


def test_the_table_carries_each_frames_test() -> None:
    rng = random.Random(3)
    grown = [0.15] + [0.85 / 19] * 19
    compared = diff(draw(rng, SHARES, 5000), draw(rng, grown, 5000))
    entries = compared.biggest_changes(50)
    top = entries[0]
    assert top.frame == FUNCTIONS[0] and top.significant
    assert all(e.p_value is not None for e in entries)
    assert sum(e.significant for e in entries) <= 3  # the grown one, and what it displaced


def test_functions_are_tested_whatever_line_they_are_at() -> None:
    """A function whose lines moved between the versions is one function, unchanged."""
    base, new = Profile(), Profile()
    base.add_stack([MAIN, Frame("work", "app.py", 10)], 500)
    base.add_stack([MAIN, Frame("rest", "app.py", 50)], 500)
    new.add_stack([MAIN, Frame("work", "app.py", 12)], 500)  # two lines added above it
    new.add_stack([MAIN, Frame("rest", "app.py", 52)], 500)
    compared = diff(base, new)
    assert compared.significant_changes()  # by line: one line gone, another come
    assert compared.significant_changes(by_function=True) == []
    grown = Profile()
    grown.add_stack([MAIN, Frame("work", "app.py", 12)], 800)
    grown.add_stack([MAIN, Frame("rest", "app.py", 52)], 200)
    (work, rest) = diff(base, grown).significant_changes(by_function=True)
    assert {work.frame, rest.frame} == {Frame("work", "app.py"), Frame("rest", "app.py")}


def test_byte_counts_are_not_tested() -> None:
    base, new = Profile({"unit": "bytes"}), Profile({"unit": "bytes"})
    base.add_stack([MAIN], 1000)
    new.add_stack([MAIN, FUNCTIONS[0]], 100_000)
    compared = diff(base, new)
    assert not compared.testable
    assert compared.significant_changes() == []
    assert all(e.p_value is None for e in compared.biggest_changes(10))
