"""Exports by extension, opening any file by its content, and speedscope's JSON schema."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from perftop.formats.detect import describe, read_any
from perftop.formats.errors import FormatError
from perftop.formats.export import PROFILE_FORMATS, profile_format_for, write_profile
from perftop.formats.folded import dumps_folded, read_folded
from perftop.formats.snapshot import Snapshot, write_snapshot
from perftop.formats.speedscope import dumps_speedscope, read_speedscope
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from tests.unit.test_formats import build, profiles, stacks_of
from tests.unit.test_snapshot_format import make_snapshot

DATA = Path(__file__).parent.parent / "data"
SCHEMA = json.loads((DATA / "speedscope-file-format-schema.json").read_text())
VALIDATOR = jsonschema.Draft6Validator(SCHEMA)
THREADED = DATA / "pyspy-raw-subprocesses-threads.txt"


# -- extensions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.speedscope.json", "speedscope"),
        ("dir.x/a.JSON", "speedscope"),
        ("a.folded", "folded"),
        ("a.txt", "folded"),
        ("a.html", "html"),
        ("a.pyisession", "pyisession"),
    ],
)
def test_profile_format_for(name: str, fmt: str) -> None:
    assert profile_format_for(name) == fmt


@pytest.mark.parametrize("name", ["a.svg", "a", "a.perftop", "dir.json/a", ".txt"])
def test_unknown_extension_lists_the_known_ones(name: str) -> None:
    with pytest.raises(FormatError) as info:
        profile_format_for(name)
    assert all(ext in str(info.value) for ext in PROFILE_FORMATS)
    assert str(info.value).startswith(name)


# -- round trips through every format, reopened by content -----------------------------------------

READABLE = [".speedscope.json", ".json", ".folded", ".txt", ".pyisession"]
KEEPS_THREADS = {".speedscope.json", ".json", ".folded", ".txt", ".pyisession"}


@pytest.mark.parametrize("ext", READABLE)
def test_export_then_read_any(tmp_path: Path, ext: str) -> None:
    p = read_folded(THREADED)
    path = tmp_path / f"out{ext}"
    fmt = write_profile(p, path)
    assert fmt == PROFILE_FORMATS[ext]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = read_any(path)
    assert isinstance(back, Profile)
    assert stacks_of(back) == stacks_of(p) and back.total_samples == p.total_samples
    assert ext not in KEEPS_THREADS or sorted(back.threads()) == sorted(p.threads())
    assert back.metadata["format"] == fmt


@settings(max_examples=40, deadline=None)
@given(profiles, st.sampled_from(READABLE))
def test_export_round_trip_property(
    tmp_path_factory: pytest.TempPathFactory,
    entries: list[tuple[list[Frame], int, str]],
    ext: str,
) -> None:
    p = build(entries)
    if ext == ".pyisession":  # no separators inside pyinstrument's frame infos
        p = build(
            [e for e in entries if not any("\x00" in f.name or "\x01" in f.name for f in e[0])]
        )
    path = tmp_path_factory.mktemp("rt") / f"p{ext}"
    write_profile(p, path)
    if p.total_samples == 0 and ext in (".folded", ".txt"):
        with pytest.raises(FormatError, match="empty"):
            read_any(path)  # an empty folded file is just an empty file
        return
    back = read_any(path)
    assert isinstance(back, Profile) and back.total_samples == p.total_samples
    if ext in (".folded", ".txt"):  # names that look like `f (x.py:1)` read as frames
        assert dumps_folded(back) == dumps_folded(read_folded(dumps_folded(p)))
    else:
        assert stacks_of(back) == stacks_of(p)


def test_html_export(tmp_path: Path) -> None:
    path = tmp_path / "out.html"
    assert write_profile(read_folded(THREADED), path) == "html"
    assert "pyinstrumentHTMLRenderer" in path.read_text()
    with pytest.raises(FormatError, match="web page"):
        read_any(path)


def test_snapshot_read_any(tmp_path: Path) -> None:
    path = tmp_path / "s.perftop"
    snap = make_snapshot()
    write_snapshot(snap, path)
    back = read_any(path)
    assert isinstance(back, Snapshot) and back.processes == snap.processes
    (tmp_path / "plain.json").write_bytes(json.dumps(json.loads(_gunzip(path))).encode())
    assert isinstance(read_any(tmp_path / "plain.json"), Snapshot)


def _gunzip(path: Path) -> bytes:
    import gzip

    return gzip.decompress(path.read_bytes())


def test_failed_export_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old")

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_profile(read_folded(THREADED), path)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


# -- speedscope output against speedscope's own schema ---------------------------------------------


def test_schema_rejects_what_speedscope_rejects() -> None:
    assert not VALIDATOR.is_valid({"$schema": "x", "shared": {"frames": []}, "profiles": []})
    doc = json.loads(dumps_speedscope(read_folded(THREADED)))
    doc["profiles"][0]["unit"] = "furlongs"
    assert not VALIDATOR.is_valid(doc)


@pytest.mark.parametrize(
    "source", [THREADED, DATA / "pyspy-raw.txt", DATA / "recursion.txt", DATA / "tall.txt"]
)
def test_speedscope_output_is_valid(source: Path) -> None:
    VALIDATOR.validate(json.loads(dumps_speedscope(read_folded(source))))


def test_speedscope_fixtures_are_valid_and_read_back_valid() -> None:
    for name in ("simple-sampled.speedscope.json", "simple-evented.speedscope.json"):
        VALIDATOR.validate(json.loads((DATA / name).read_text()))
        VALIDATOR.validate(json.loads(dumps_speedscope(read_speedscope(DATA / name))))


@settings(max_examples=60, deadline=None)
@given(profiles)
def test_speedscope_output_is_valid_property(entries: list[tuple[list[Frame], int, str]]) -> None:
    VALIDATOR.validate(json.loads(dumps_speedscope(build(entries))))


# -- our folded output against the folded fixtures -------------------------------------------------


def _folded_counts(text: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            stack, _, count = line.rstrip().rpartition(" ")
            out[stack] += int(count)
    return out


@pytest.mark.parametrize(
    "name", ["simple.txt", "simple-crlf.txt", "recursion.txt", "tall.txt", "alternating.txt"]
)
def test_folded_output_matches_the_fixture(name: str) -> None:
    text = (DATA / name).read_text()
    assert _folded_counts(dumps_folded(read_folded(DATA / name))) == _folded_counts(text)


# -- read_any: recognising content and refusing junk -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("simple.txt", "folded"),
        ("pyspy-raw-threads.txt", "folded"),
        ("simple-sampled.speedscope.json", "speedscope"),
        ("simple-evented.speedscope.json", "speedscope"),
        ("pyspy-threads.speedscope.json", "speedscope"),
        ("perf/perf-java-stacks-01.txt", "perf script"),
        ("perf/simple.linux-perf.txt", "perf script"),
    ],
)
def test_recognises_content_whatever_the_name(tmp_path: Path, name: str, fmt: str) -> None:
    misnamed = tmp_path / "profile.data"
    misnamed.write_bytes((DATA / name).read_bytes())
    for path in (DATA / name, misnamed):
        got = read_any(path)
        assert isinstance(got, Profile) and got.metadata["format"] == fmt


def test_speedscope_without_schema_key(tmp_path: Path) -> None:
    doc = json.loads((DATA / "simple-sampled.speedscope.json").read_text())
    del doc["$schema"]
    (tmp_path / "p.json").write_text(json.dumps(doc))
    got = read_any(tmp_path / "p.json")
    assert isinstance(got, Profile) and got.total_samples == 14


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "is empty"),
        (b" \n\t\n", "is empty"),
        (b"\x00\x01\x02binary\xff" * 10, "binary"),
        (b"\x7fELF\x02\x01\x01\x00\x00", "binary"),
        (b"\x1f\x8bjunk", "gzip"),
        (b'{"hello": 1}', "not a speedscope profile"),
        (b"[1, 2]", "not an object"),
        (b"{not json", "not JSON"),
        (b"<!DOCTYPE html><html></html>", "web page"),
        (b"just some words\n", "expected 'frame;frame"),
    ],
)
def test_refuses_junk_naming_the_file(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "thing.bin"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=words) as info:
        read_any(path)
    assert str(info.value).startswith(str(path))


def test_extension_is_a_hint_for_errors(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("a;b 1\n")
    with pytest.raises(FormatError, match="not JSON"):
        read_any(tmp_path / "p.json")
    (tmp_path / "x.perf.txt").write_text("nothing here\n\tx\n")
    with pytest.raises(FormatError, match="no perf script sample"):
        read_any(tmp_path / "x.perf.txt")


def test_directory_and_missing(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="is a directory"):
        read_any(tmp_path)
    with pytest.raises(FormatError, match="cannot read") as info:
        read_any(tmp_path / "missing.json")
    assert "missing.json" in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads anything")
def test_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("a;b 1\n")
    path.chmod(0)
    with pytest.raises(FormatError, match="cannot read"):
        read_any(path)


# -- describe --------------------------------------------------------------------------------------


def test_describe() -> None:
    assert (
        describe(read_any(DATA / "pyspy-threads.speedscope.json"))
        == "speedscope profile, 2 threads, 128 samples"
    )
    one = Profile({"format": "folded"})
    one.add_stack([Frame("a")])
    one.mark_ended("exited")
    assert describe(one) == "folded profile, 1 thread, 1 sample, ended: exited"
    snap = make_snapshot()
    text = describe(snap)
    assert text.startswith("perftop snapshot of box at ")
    assert "20 ticks" in text and f"{len(snap.processes.rows)} processes" in text
    assert "a profile of 220 samples" in text and "redacted" not in text


# -- fuzzing read_any: any bytes, and mutated real files -------------------------------------------

FIXTURES = sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix in (".txt", ".json"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
@example(b"{")
@example(b"\xef\xbb\xbf{}")
@example(b'{"format": 1, "version": 1}')
@example(b'{"frame_records": {}}')
def test_fuzz_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fz") / "f"
    path.write_bytes(data)
    with contextlib.suppress(FormatError):
        read_any(path)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(FIXTURES), st.integers(0, 10**6), st.integers(0, 64), st.binary(max_size=6))
def test_fuzz_mutated_fixtures(
    tmp_path_factory: pytest.TempPathFactory, source: Path, at: int, span: int, junk: bytes
) -> None:
    data = source.read_bytes()
    at %= len(data) + 1
    path = tmp_path_factory.mktemp("mut") / source.name
    path.write_bytes(data[:at] + junk + data[at + span :])
    with contextlib.suppress(FormatError):
        read_any(path)
