"""A snapshot carries the ticks of its window, to rewind through; redacted and checked like
the rest of it."""

from __future__ import annotations

import gzip
import json

import pytest

from perftop.formats.errors import FormatError
from perftop.formats.snapshot import dumps_snapshot, loads_snapshot
from tests.ui.files_helpers import fake_snapshot


def test_the_ticks_round_trip() -> None:
    snap = fake_snapshot(30, with_timeline=True)
    back = loads_snapshot(dumps_snapshot(snap))
    assert back.timeline is not None and snap.timeline is not None
    assert len(back.timeline) == 30
    assert [back.timeline.processes_at(i) for i in (0, 17, 29)] == [
        snap.timeline.processes_at(i) for i in (0, 17, 29)
    ]
    assert back.timeline.sample_at(29) == snap.sample


def test_redaction_masks_the_command_lines_of_every_tick() -> None:
    snap = fake_snapshot(5, with_timeline=True)
    raw = gzip.decompress(dumps_snapshot(snap, redact=True)).decode()
    assert "--workers" not in raw, "python3 app.py --workers 4: its arguments masked"
    back = loads_snapshot(dumps_snapshot(snap, redact=True))
    assert back.timeline is not None
    assert back.timeline.processes_at(0).rows[2301].cmdline == "python3 ***"


def test_a_damaged_timeline_is_one_line() -> None:
    doc = json.loads(gzip.decompress(dumps_snapshot(fake_snapshot(5, with_timeline=True))))
    doc["timeline"]["ticks"][2][3] = {"not": "a frame"}
    with pytest.raises(FormatError, match=r"s\.perftop: "):
        loads_snapshot(json.dumps(doc).encode(), "s.perftop")


def test_a_snapshot_without_ticks_still_opens() -> None:
    back = loads_snapshot(dumps_snapshot(fake_snapshot(5)))
    assert back.timeline is None and back.sample is not None
