"""perftop snapshots: round trip, redaction, versions, and hostile files."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import os
import stat
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from perftop.formats import snapshot as snapshot_module
from perftop.formats.errors import FormatError
from perftop.formats.folded import read_folded
from perftop.formats.snapshot import (
    SNAPSHOT_FORMAT,
    SNAPSHOT_VERSION,
    Snapshot,
    dumps_snapshot,
    loads_snapshot,
    read_snapshot,
    redact_command,
    write_snapshot,
)
from perftop.system.fake import FakeProcessCollector, FakeSystemSampler
from perftop.system.history import SystemHistory
from perftop.system.samples import ProcessRow
from tests.unit.test_formats import json_values, stacks_of

DATA = Path(__file__).parent.parent / "data"


def make_snapshot(ticks: int = 30, with_profile: bool = True) -> Snapshot:
    system, procs = FakeSystemSampler(), FakeProcessCollector()
    history = SystemHistory(capacity=20)
    sample = system.sample()
    for _ in range(ticks):
        sample = system.sample()
        history.append(sample)
    processes = procs.sample()
    rows = processes.rows
    rows[1] = dataclasses.replace(rows[1], cmdline="/sbin/init --token s3cret-arg")
    profile = read_folded(DATA / "pyspy-raw-subprocesses-threads.txt") if with_profile else None
    if profile is not None:
        profile.metadata["title"] = "python parent.py --password hunter2"
        profile.mark_ended("the process exited")
    return Snapshot(
        created=1_700_000_000.5,
        hostname="box",
        history=history,
        sample=sample,
        processes=processes,
        profile=profile,
        profile_title="python parent.py --password hunter2",
    )


def gunzip_json(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(gzip.decompress(data))
    return doc


def gz(doc: object) -> bytes:
    # mtime=0: the same bytes in every process, so pytest-xdist workers collect the same test ids.
    return gzip.compress(json.dumps(doc).encode(), mtime=0)


# -- round trip ------------------------------------------------------------------------------------


def test_round_trip_keeps_everything() -> None:
    snap = make_snapshot()
    data = dumps_snapshot(snap)
    assert data[:2] == b"\x1f\x8b"
    doc = gunzip_json(data)
    assert (doc["format"], doc["version"]) == (SNAPSHOT_FORMAT, SNAPSHOT_VERSION)
    back = loads_snapshot(data, "s.perftop")
    assert (back.created, back.hostname, back.redacted) == (snap.created, "box", False)
    assert back.sample == snap.sample
    assert back.processes == snap.processes
    assert back.history.to_dict() == snap.history.to_dict()
    assert back.history.capacity == 20 and len(back.history) == 20
    assert snap.profile is not None and back.profile is not None
    assert stacks_of(back.profile) == stacks_of(snap.profile)
    assert sorted(back.profile.threads()) == sorted(snap.profile.threads())
    assert back.profile.metadata == snap.profile.metadata
    assert (back.profile.ended, back.profile.end_reason) == (True, "the process exited")
    assert back.profile_title == snap.profile_title
    assert dumps_snapshot(snap) == data  # the same snapshot, the same bytes


def test_plain_json_and_no_profile_or_sample() -> None:
    snap = make_snapshot(with_profile=False)
    snap.sample = None
    back = loads_snapshot(gzip.decompress(dumps_snapshot(snap)))
    assert back.profile is None and back.sample is None and back.profile_title == snap.profile_title
    assert back.processes == snap.processes


def test_non_finite_readings_are_written_as_zero() -> None:
    snap = make_snapshot(with_profile=False)
    assert snap.sample is not None
    cpu = snap.sample.cpu._replace(total_percent=float("nan"))
    snap.sample = dataclasses.replace(snap.sample, cpu=cpu)
    back = loads_snapshot(dumps_snapshot(snap))
    assert back.sample is not None and back.sample.cpu.total_percent == 0.0


def test_write_is_owner_only_and_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.perftop"
    write_snapshot(make_snapshot(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    old = path.read_bytes()

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_snapshot(make_snapshot(ticks=5), path)
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["s.perftop"]
    assert read_snapshot(path).history.to_dict() == make_snapshot().history.to_dict()


# -- redaction -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cmdline", "shown"),
    [
        ("", ""),
        ("python", "python"),
        ("python app.py --token s3cret", "python ***"),
        ("  /usr/bin/python3\t-c  'x'  ", "/usr/bin/python3 ***"),
        ("   ", "   "),
    ],
)
def test_redact_command(cmdline: str, shown: str) -> None:
    assert redact_command(cmdline) == shown


def test_redacted_snapshot_masks_every_command_line() -> None:
    snap = make_snapshot()
    data = dumps_snapshot(snap, redact=True)
    raw = gzip.decompress(data).decode()
    for secret in ("s3cret-arg", "hunter2", "while True"):
        assert secret not in raw
    back = loads_snapshot(data)
    assert back.redacted
    for pid, row in back.processes.rows.items():
        assert row.cmdline == redact_command(snap.processes.rows[pid].cmdline)
    assert back.processes.rows[1].cmdline == "/sbin/init ***"
    assert back.profile is not None and back.profile_title == "python ***"
    assert back.profile.metadata["command"] == "python ***"
    assert back.profile.metadata["process 3187"].endswith("python ***")
    assert snap.processes.rows[1].cmdline.endswith("s3cret-arg")  # the original is untouched
    assert snap.profile is not None and "hunter2" in snap.profile.metadata["title"]


def test_no_environment_is_stored() -> None:
    doc = gunzip_json(dumps_snapshot(make_snapshot()))
    fields = {f.name for f in dataclasses.fields(ProcessRow)}
    assert all(set(row) == fields for row in doc["processes"]["rows"])
    assert not any("env" in name for name in fields)


# -- versions and bad files ------------------------------------------------------------------------

GOOD = gunzip_json(dumps_snapshot(make_snapshot()))


def test_a_newer_version_says_which_this_perftop_reads() -> None:
    later = SNAPSHOT_VERSION + 1
    with pytest.raises(FormatError, match=rf"version {later} is newer.*version {later - 1}"):
        loads_snapshot(gz({**GOOD, "version": later}), "new.perftop")


def test_a_version_1_snapshot_still_opens() -> None:
    processes = {k: v for k, v in GOOD["processes"].items() if k != "net_at"}
    old = loads_snapshot(gz({**GOOD, "version": 1, "processes": processes}), "old.perftop")
    assert old.processes.net_at is None and old.processes.rows


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"format": "other"}, "not a perftop snapshot"),
        ({"version": "1"}, "version is missing"),
        ({"version": 0}, "version is missing"),
        ({"history": []}, "history is missing"),
        ({"history": {**GOOD["history"], "capacity": 0}}, "capacity"),
        ({"history": {**GOOD["history"], "timestamps": [1, "x"]}}, "not a number"),
        ({"sample": {"timestamp": 1.0}}, "sample has no cpu"),
        ({"sample": {**GOOD["sample"], "load_avg": [1, 2]}}, "load_avg does not hold 3"),
        ({"sample": {**GOOD["sample"], "disks": [{"name": 3}]}}, "disks\\[0\\].name"),
        ({"processes": {"rows": {}}}, "rows is not a list"),
        ({"processes": {**GOOD["processes"], "rows": [{"pid": "1"}]}}, "rows\\[0\\].pid"),
        ({"created": "yesterday"}, "created is not a number"),
        ({"created": 10**400}, "created is too large"),
        ({"hostname": None}, "hostname"),
        ({"redacted": 1}, "redacted is not a boolean"),
        ({"profile": []}, "profile is not a speedscope"),
        ({"profile": {"$schema": "speedscope"}}, "shared.frames"),
        ({"profile_metadata": {"a": 1}}, "profile_metadata"),
    ],
)
def test_validation(change: dict[str, object], words: str) -> None:
    with pytest.raises(FormatError, match=words):
        loads_snapshot(gz({**GOOD, **change}), "s.perftop")


def test_missing_optional_fields_take_defaults() -> None:
    doc = json.loads(json.dumps(GOOD))
    for key in ("profile_title", "redacted", "profile_metadata", "profile_ended"):
        del doc[key]
    del doc["processes"]["rows"][0]["nice"]
    back = loads_snapshot(gz(doc))
    assert back.profile_title == "" and not back.redacted
    assert back.processes.rows[doc["processes"]["rows"][0]["pid"]].nice == 0


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x1f\x8b",
        gz(GOOD)[:-20],  # truncated
        gz(GOOD)[:40] + b"\x00" * 40 + gz(GOOD)[80:],  # corrupt
        gzip.compress(b"\xff\xfe not utf-8", mtime=0),
        b"[" * 100_000,
        gzip.compress(b"[" * 100_000, mtime=0),
        b"{}",
        b"null",
    ],
    ids=[
        "empty",
        "magic-only",
        "truncated",
        "corrupt",
        "not-utf8",
        "deep",
        "deep-gz",
        "{}",
        "null",
    ],
)
def test_bad_bytes(data: bytes) -> None:
    with pytest.raises(FormatError):
        loads_snapshot(data, "s.perftop")


def test_decompression_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshot_module, "MAX_DECOMPRESSED_BYTES", 64 * 1024)
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = bomb.compress(b"{" + b" " * (10 * 1024 * 1024)) + bomb.flush()
    assert len(data) < 20_000
    with pytest.raises(FormatError, match="decompresses to more than"):
        loads_snapshot(data, "bomb.perftop")
    with pytest.raises(FormatError, match="larger than"):
        snapshot_module.read_limited(str(DATA / "perf" / "perf-java-stacks-01.txt"), 1000)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        read_snapshot(tmp_path / "missing.perftop")


# -- fuzzing ---------------------------------------------------------------------------------------

VALID = dumps_snapshot(make_snapshot(ticks=3))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
@example(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")
def test_fuzz_bytes(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        loads_snapshot(data)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(VALID)), st.integers(0, 255), st.booleans())
def test_fuzz_mutated_gzip(at: int, byte: int, truncate: bool) -> None:
    data = VALID[:at] if truncate else VALID[:at] + bytes([byte]) + VALID[at + 1 :]
    with contextlib.suppress(FormatError):
        loads_snapshot(data)


PATHS = [
    ("created",),
    ("history",),
    ("history", "series"),
    ("history", "timestamps"),
    ("sample",),
    ("sample", "cpu"),
    ("sample", "cpu", "per_core_percent"),
    ("sample", "disks"),
    ("sample", "temps"),
    ("processes",),
    ("processes", "rows"),
    ("processes", "timestamp"),
    ("profile",),
    ("profile", "profiles"),
    ("profile_metadata",),
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATHS), json_values)
def test_fuzz_structure(path: tuple[str, ...], value: object) -> None:
    doc = json.loads(json.dumps(GOOD))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with contextlib.suppress(FormatError):
        loads_snapshot(json.dumps(doc).encode())
