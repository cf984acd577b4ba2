"""Hostile input: each is one FormatError line (exit 2 at the CLI), in bounded time and memory.

Numbers too large for float arithmetic, intervals whose inverse is infinite, decompression
and JSON bombs, and event lists nested so deep that copying the open stack per event was
quadratic. The heavy ones run in a child with a memory limit (tests/unit/bounded.py).
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest

from perftop.formats.detect import read_any
from perftop.formats.errors import FormatError
from perftop.formats.speedscope import SCHEMA, loads_speedscope
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from tests.unit.bounded import run_bounded

HUGE = int("9" * 400)  # float(HUGE) raises OverflowError


def speedscope(profile: dict[str, object], frames: int = 2) -> dict[str, object]:
    return {
        "$schema": SCHEMA,
        "shared": {"frames": [{"name": f"f{i}"} for i in range(frames)]},
        "profiles": [profile],
    }


def sampled(weights: list[object]) -> dict[str, object]:
    return speedscope({"type": "sampled", "samples": [[0, 1]] * len(weights), "weights": weights})


def evented(times: list[object]) -> dict[str, object]:
    kinds = ["O", "O", "C", "C"]
    events = [
        {"type": k, "frame": f, "at": t} for k, f, t in zip(kinds, [0, 1, 1, 0], times, strict=True)
    ]
    return speedscope({"type": "evented", "events": events})


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (sampled([1, HUGE]), "weights must be non-negative numbers"),
        (sampled([0.5, HUGE]), "weights must be non-negative numbers"),
        (sampled([1, 10**16]), "too large to be a sample count"),
        (sampled([1e17, 1e-3]), "too far apart"),
        (evented([0, 1, 2, HUGE]), "has no time"),
        (evented([0, 1, 2, 1e300]), "has no time"),
        (evented([0, 1, -HUGE, 3]), "has no time"),
        (
            speedscope({"type": "sampled", "samples": [], "weights": []})
            | {"shared": {"frames": [{"name": "f", "line": HUGE}]}},
            "line",
        ),
    ],
)
def test_speedscope_numbers_too_large(tmp_path: Path, doc: dict[str, object], words: str) -> None:
    text = json.dumps(doc)
    with pytest.raises(FormatError, match=words):
        loads_speedscope(text, "p.json")
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(FormatError, match=words):  # as `perftop view` and `diff` open it
        read_any(path)


def test_sensible_large_weights_still_count() -> None:
    p = loads_speedscope(json.dumps(sampled([10**12, 1])))
    assert p.total_samples == 10**12 + 1
    p = loads_speedscope(json.dumps(evented([1.7e15, 1.7e15 + 1, 1.7e15 + 3, 1.7e15 + 4])))
    assert p.total_samples > 0


@pytest.mark.parametrize("interval", [5e-324, 1e-300, 1e308])
def test_pyisession_interval_whose_rate_is_infinite(tmp_path: Path, interval: float) -> None:
    path = tmp_path / "p.pyisession"
    path.write_text(
        json.dumps({"frame_records": [[["a\x00a.py\x001"], 1.0]], "min_interval": interval})
    )
    with pytest.raises(FormatError, match="min_interval"):
        read_any(path)


def test_folded_count_too_large(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("a;b 1\na;b " + "9" * 400 + "\n")
    with pytest.raises(FormatError, match="too large") as info:
        read_any(path)
    assert info.value.line == 2


# -- deep evented files: linear, and the same tree as adding every stack -----------------------


def deep_evented(depth: int) -> str:
    events = [{"type": "O", "frame": i % 50, "at": i} for i in range(depth)]
    events += [{"type": "C", "frame": i % 50, "at": 2 * depth - i} for i in reversed(range(depth))]
    return json.dumps(speedscope({"type": "evented", "events": events}, frames=50))


def test_evented_tree_is_the_tree_of_its_stacks() -> None:
    p = loads_speedscope(deep_evented(300))
    expected = Profile()
    ids = [expected.intern(Frame(f"f{i}")) for i in range(50)]
    for d in range(1, 301):  # one unit at each depth on the way in, one on the way out
        expected.add_stack_ids([ids[i % 50] for i in range(d)], 2)
    got = {(tuple(p.frame(i).name for i in s), n) for s, n, _ in p.stacks()}
    want = {(tuple(expected.frame(i).name for i in s), n) for s, n, _ in expected.stacks()}
    assert got == want
    assert p.top_functions(5) == expected.top_functions(5)  # recursion counted once a stack


@pytest.mark.slow
def test_a_deep_evented_file_reads_in_linear_time_and_memory(tmp_path: Path) -> None:
    path = tmp_path / "deep.speedscope.json"
    path.write_text(deep_evented(20_000))  # 1.6 MB: took 156 s and 1.6 GB
    outcome = run_bounded(
        f"""
        from perftop.formats.detect import read_any
        result = read_any({str(path)!r}).total_samples
        """,
        timeout_s=90,
        memory_mb=1536,
    )
    assert outcome.error is None and outcome.result == 2 * 20_000
    assert outcome.maxrss_mb < 600


# -- bombs -----------------------------------------------------------------------------------------


def gzip_of_repeats(path: Path, piece: bytes, total: int, head: bytes, tail: bytes) -> None:
    """A gzip file of head + piece * n + tail, `total` bytes expanded, written in chunks."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = piece * (1024 * 1024 // len(piece))
    with path.open("wb") as f:
        f.write(z.compress(head))
        for _ in range(total // len(block)):
            f.write(z.compress(block))
        f.write(z.compress(tail))
        f.write(z.flush())


@pytest.mark.slow
def test_a_snapshot_gzip_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.perftop"
    gzip_of_repeats(path, b"{},", 480 * 1024 * 1024, b'{"format":"perftop-snapshot","x":[', b"{}]}")
    assert path.stat().st_size < 2 * 1024 * 1024
    outcome = run_bounded(
        f"""
        from perftop.formats.detect import read_any
        read_any({str(path)!r})
        """,
        timeout_s=120,
        memory_mb=3072,
    )
    assert outcome.error is not None and outcome.error.startswith("FormatError: ")
    assert "too large" in outcome.error
    assert outcome.maxrss_mb < 800  # grew past 11.5 GB


@pytest.mark.slow
@pytest.mark.parametrize("piece", [b"{},", b"[[]],", b"[{}],"])
def test_a_plain_json_bomb_is_refused_before_parsing(tmp_path: Path, piece: bytes) -> None:
    path = tmp_path / "bomb.json"
    path.write_bytes(b'{"shared":{"frames":[' + piece * (60 * 1024 * 1024 // len(piece)) + b"{}]}}")
    outcome = run_bounded(
        f"""
        from perftop.formats.detect import read_any
        read_any({str(path)!r})
        """,
        timeout_s=120,
        memory_mb=3072,
    )
    assert outcome.error is not None and "too large to load" in outcome.error
    assert outcome.maxrss_mb < 600  # parsing would take 2-3 GB


def test_a_real_snapshot_is_far_from_the_cost_limit() -> None:
    from perftop.formats.decode import MAX_JSON_COST, json_cost
    from perftop.formats.snapshot import dumps_snapshot
    from tests.unit.test_snapshot_format import make_snapshot

    text = gzip.decompress(dumps_snapshot(make_snapshot()))
    assert json_cost(text) * 1000 < MAX_JSON_COST
