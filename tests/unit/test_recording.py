"""Recordings on disk: exact replay, bounds, crash safety, and hostile files."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perftop.formats import recording
from perftop.formats.errors import FormatError
from perftop.formats.recording import RecordingReader, RecordingWriter, looks_like_recording
from perftop.system.fake import EPOCH
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.system.source import FakeSource
from perftop.system.timeline import Cursor

Tick = tuple[SystemSample, ProcessSnapshot]


def _ticks(n: int, churn: bool = False) -> list[Tick]:
    """The fake machine's first n ticks; with churn, a new short-lived job every tick."""
    source, out = FakeSource(), []
    for t in range(n):
        sample, snap = source.sample_system(), source.sample_processes()
        if churn:
            template = snap.rows[1513]
            for pid in range(100_000 + max(t - 2, 0), 100_000 + t + 1):
                snap.rows[pid] = dataclasses.replace(
                    template, pid=pid, start_time=float(pid), cmdline=f"job {pid}"
                )
        out.append((sample, snap))
    return out


def _record(path: Path, ticks: list[Tick], **bounds: int) -> None:
    with RecordingWriter(path, **bounds) as writer:  # type: ignore[arg-type]
        for sample, snap in ticks:
            writer.append(sample, snap)


def _assert_replays(reader: RecordingReader, ticks: list[Tick], first: int = 0) -> None:
    for i in range(len(reader)):
        assert reader.sample_at(i) == ticks[first + i][0], i
        assert reader.processes_at(i) == ticks[first + i][1], i


def test_a_five_minute_recording_replays_identically(tmp_path: Path) -> None:
    path = tmp_path / "rec.perftop"
    ticks = _ticks(300, churn=True)
    _record(path, ticks)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with RecordingReader(path) as reader:
        assert len(reader) == 300 and reader.dropped == 0
        assert reader.timestamps() == [s.timestamp for s, _ in ticks]
        assert (reader.first, reader.last) == (EPOCH, EPOCH + 299)
        _assert_replays(reader, ticks)
        # The live view's cursor drives a replay the same way.
        cursor = Cursor(reader)
        cursor.jump_seconds(-60)
        assert cursor.index == 239 and cursor.label() == "paused at 00:03:59"
        assert reader.processes_at(cursor.index) == ticks[239][1]


def test_a_second_session_continues_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rec.perftop"
    ticks = _ticks(25, churn=True)
    _record(path, ticks[:13])
    _record(path, ticks[13:])
    with RecordingReader(path) as reader:
        assert len(reader) == 25
        _assert_replays(reader, ticks)


def test_appends_from_another_thread(tmp_path: Path) -> None:
    path, ticks = tmp_path / "rec.perftop", _ticks(5)
    writer = RecordingWriter(path)
    worker = threading.Thread(target=lambda: [writer.append(*t) for t in ticks])
    worker.start()
    worker.join()
    writer.close()
    with RecordingReader(path) as reader:
        _assert_replays(reader, ticks)
        assert len(reader) == 5


def test_the_size_bound_drops_whole_old_groups(tmp_path: Path) -> None:
    path, ticks = tmp_path / "rec.perftop", _ticks(800, churn=True)
    every, limit = 10, 150_000
    with RecordingWriter(path, max_bytes=limit, keyframe_every=every) as writer:
        for sample, snap in ticks:
            writer.append(sample, snap)
            assert path.stat().st_size < limit + 60_000  # about one group over, at most
    with RecordingReader(path) as reader:
        first = round(reader.first - EPOCH)  # type: ignore[operator]
        assert first % every == 0 and reader.last == ticks[-1][0].timestamp
        assert len(reader) >= 40  # the bound keeps as much as fits, not just the last group
        _assert_replays(reader, ticks, first)


def test_the_age_bound_keeps_at_least_that_long(tmp_path: Path) -> None:
    path, ticks = tmp_path / "rec.perftop", _ticks(600, churn=True)
    _record(path, ticks, max_age_s=120, keyframe_every=10)
    with RecordingReader(path) as reader:
        span = reader.last - reader.first  # type: ignore[operator]
        assert 120 <= span < 130
        _assert_replays(reader, ticks, round(reader.first - EPOCH))  # type: ignore[operator]
    # Identities of long-gone jobs went with their ticks: 30 steady + ~3 per kept tick.
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM identities").fetchone()[0] < 30 + 135 + 3


def test_a_failed_write_loses_one_tick_not_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a refused write the encoder starts afresh, so later ticks never point at
    identities that were never stored."""
    path, ticks = tmp_path / "rec.perftop", _ticks(12, churn=True)
    writer = RecordingWriter(path, keyframe_every=100)
    for t in ticks[:4]:
        writer.append(*t)
    real = writer._write

    def full(seq: int, tick: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(writer, "_write", full)
    with pytest.raises(OSError, match="disk is full"):
        writer.append(*ticks[4])  # defines job 100004, which is then never stored
    monkeypatch.setattr(writer, "_write", real)
    for t in ticks[5:]:
        writer.append(*t)
    writer.close()
    with RecordingReader(path) as reader:
        assert len(reader) == 11
        kept = ticks[:4] + ticks[5:]
        for i in range(11):
            assert reader.processes_at(i) == kept[i][1]


_RECORD_FOREVER = """
import sys
from perftop.formats.recording import RecordingWriter
from perftop.system.source import FakeSource
source, writer = FakeSource(), RecordingWriter(sys.argv[1], keyframe_every=20)
n = 0
while True:
    writer.append(source.sample_system(), source.sample_processes())
    n += 1
    if n == 200:
        print("ready", flush=True)
"""


def test_a_recording_killed_mid_write_still_replays(tmp_path: Path) -> None:
    path = tmp_path / "rec.perftop"
    proc = subprocess.Popen(
        [sys.executable, "-c", _RECORD_FOREVER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        threading.Event().wait(0.3)  # writing as fast as it can: the kill lands mid-write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert Path(f"{path}-wal").exists()  # killed: its last ticks were never checkpointed
    with RecordingReader(path) as reader:
        n = len(reader)
        assert n >= 200
        _assert_replays(reader, _ticks(n))


def test_a_commit_torn_mid_write_is_dropped_and_the_rest_replays(tmp_path: Path) -> None:
    """The files of a writer caught mid-write, its newest commit cut in half. Made from a
    writer still open, whose log holds all its commits: the killed writer above may die
    just after a checkpoint restarted its log, with no commit there to tear."""
    path, ticks = tmp_path / "open.perftop", _ticks(30)
    torn = tmp_path / "torn"
    torn.mkdir()
    writer = RecordingWriter(path, keyframe_every=10)
    try:
        for t in ticks:
            writer.append(*t)
        shutil.copy(path, torn / "rec.perftop")
        shutil.copy(f"{path}-wal", torn / "rec.perftop-wal")
    finally:
        writer.close()
    _tear_last_commit(torn / "rec.perftop-wal")
    with RecordingReader(torn / "rec.perftop") as reader:
        assert len(reader) == 29
        _assert_replays(reader, ticks)


def _tear_last_commit(wal: Path) -> None:
    """Cut the log in the middle of its newest commit frame, as a crash mid-write would.

    SQLite's WAL: a 32-byte header (page size at 8, salts at 16), then frames of a 24-byte
    header (database size at 4, non-zero on a commit; the salts at 8) and one page. Frames
    whose salts differ are left over from before the last checkpoint and are not read.
    """
    data = wal.read_bytes()
    page = int.from_bytes(data[8:12], "big")
    salts, frame, at, last_commit = data[16:24], 24 + page, 32, None
    while at + frame <= len(data) and data[at + 8 : at + 16] == salts:
        if int.from_bytes(data[at + 4 : at + 8], "big"):
            last_commit = at
        at += frame
    assert last_commit is not None
    with open(wal, "r+b") as f:
        f.truncate(last_commit + frame // 2)


def test_a_damaged_last_record_is_skipped_and_a_middle_one_reported(tmp_path: Path) -> None:
    path, ticks = tmp_path / "rec.perftop", _ticks(30)
    _record(path, ticks, keyframe_every=10)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE ticks SET data = x'789c0300' WHERE seq = 29")  # valid zlib, no JSON
        db.execute("UPDATE ticks SET data = x'00ff' WHERE seq = 14")
    with RecordingReader(path) as reader:
        assert len(reader) == 29
        for i in (*range(14), *range(15, 29)):
            assert reader.processes_at(i) == ticks[i][1]
        with pytest.raises(FormatError, match=r"rec\.perftop: damaged record 14"):
            reader.processes_at(14)


def test_files_that_are_not_recordings(tmp_path: Path) -> None:
    text, empty, other, future = (tmp_path / n for n in ("a.txt", "e", "other.db", "v9.perftop"))
    text.write_text("PID USER\n1 root\n")
    empty.write_bytes(b"")
    with contextlib.closing(sqlite3.connect(other)) as db, db:
        db.execute("CREATE TABLE notes(x)")
    _record(future, _ticks(2))
    with contextlib.closing(sqlite3.connect(future)) as db, db:
        db.execute("UPDATE meta SET value = '9' WHERE key = 'version'")
    for path, problem in [
        (text, "not a perftop recording"),
        (empty, "empty file"),
        (other, "another kind"),
        (future, "version '9'"),
    ]:
        with pytest.raises(FormatError, match=problem) as caught:
            RecordingReader(path)
        assert caught.value.source == str(path)
    with pytest.raises(FileNotFoundError):
        RecordingReader(tmp_path / "missing")
    # The writer will not append to someone else's file, nor touch it.
    for path in (text, other):
        before = path.read_bytes()
        with pytest.raises(FormatError):
            RecordingWriter(path)
        assert path.read_bytes() == before
    assert looks_like_recording(future.read_bytes()[:100])
    assert not looks_like_recording(other.read_bytes()[:100])


@pytest.fixture(scope="module")
def small_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "small.perftop"
    _record(path, _ticks(12, churn=True), keyframe_every=5)
    assert not Path(f"{path}-wal").exists()
    return path


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_corrupted_recordings_raise_only_format_error(
    small_recording: Path, data: st.DataObject
) -> None:
    blob = bytearray(small_recording.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(blob) - 1))
        chunk = data.draw(st.binary(min_size=1, max_size=16))
        blob[at : at + len(chunk)] = chunk
    if data.draw(st.booleans()):
        del blob[data.draw(st.integers(0, len(blob))) :]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "fuzz.perftop")
        path.write_bytes(bytes(blob))
        try:
            with RecordingReader(path) as reader:
                for i in range(len(reader)):
                    reader.timestamp(i)
                    try:
                        reader.sample_at(i)
                        reader.processes_at(i)
                    except FormatError as e:
                        assert e.source == str(path)
        except FormatError as e:
            assert e.source == str(path)


def test_replay_history_keeps_step_with_the_ticks_over_a_damaged_record(tmp_path: Path) -> None:
    from perftop.formats.recording import replay_history

    path, ticks = tmp_path / "rec.perftop", _ticks(30)
    _record(path, ticks, keyframe_every=10)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE ticks SET data = x'00ff' WHERE seq = 14")
    with RecordingReader(path) as reader:
        history, damaged = replay_history(reader)
        assert damaged == 1
        assert len(history) == len(reader) == 30
        cpu = history.series("cpu.total").values()
        assert cpu[13] == cpu[14] == ticks[13][0].cpu.total_percent, "the one before repeats"
        assert cpu[15] == ticks[15][0].cpu.total_percent
        assert history.timestamps().values() == [t[0].timestamp for t in ticks]


@pytest.mark.parametrize("bad", ["1e300", "9e999", "-9e999", "-1", str(2**62)])
@pytest.mark.parametrize("seq", [29, 20, 13])  # the last tick, a keyframe, a delta
def test_a_tick_at_an_impossible_time_is_skipped(tmp_path: Path, bad: str, seq: int) -> None:
    import time

    from perftop.formats.recording import replay_history

    path, ticks = tmp_path / "rec.perftop", _ticks(30)
    _record(path, ticks, keyframe_every=10)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(f"UPDATE ticks SET ts = {bad} WHERE seq = ?", (seq,))
    with RecordingReader(path) as reader:
        kept = reader.timestamps()
        assert ticks[seq][0].timestamp not in kept and len(kept) >= 20
        assert all(EPOCH <= t <= EPOCH + 29 for t in kept)
        assert reader.last is not None and time.localtime(reader.last)  # it crashed here
        history, damaged = replay_history(reader)
        assert damaged == 0 and len(history) == len(reader)
        cursor = Cursor(reader)
        cursor.jump_seconds(-5)
        assert cursor.label().startswith("paused at")


# -- the writer opens nothing it should not: no links, no other program's files -------------------


def test_the_writer_does_not_follow_a_dangling_link(tmp_path: Path) -> None:
    target, link = tmp_path / "elsewhere" / "created", tmp_path / "rec.perftop"
    target.parent.mkdir()
    link.symlink_to(target)
    with pytest.raises(FormatError, match="symbolic link"):
        RecordingWriter(link)
    assert not target.exists() and link.is_symlink()  # as root, this made a file under /etc


def test_the_writer_does_not_follow_a_link_to_a_recording(tmp_path: Path) -> None:
    real, link = tmp_path / "real.perftop", tmp_path / "rec.perftop"
    _record(real, _ticks(2))
    before = real.read_bytes()
    link.symlink_to(real)
    with pytest.raises(FormatError, match="symbolic link"):
        RecordingWriter(link)
    assert real.read_bytes() == before


def test_the_writer_refuses_an_empty_database_of_another_program(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(other)) as db, db:
        db.execute("PRAGMA application_id = 1234")
        db.execute("PRAGMA user_version = 7")
    assert other.stat().st_size > 0
    before = other.read_bytes()
    with pytest.raises(FormatError, match="not a perftop recording"):
        RecordingWriter(other)
    assert other.read_bytes() == before and not Path(f"{other}-wal").exists()


def test_the_writer_refuses_an_empty_file_it_did_not_create(tmp_path: Path) -> None:
    empty = tmp_path / "rec.perftop"
    empty.touch(mode=0o644)
    with pytest.raises(FormatError, match="not a perftop recording"):
        RecordingWriter(empty)
    assert empty.read_bytes() == b""


def test_the_writer_leaves_no_file_when_creating_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: RecordingWriter, created: bool) -> tuple[int, int]:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(RecordingWriter, "_open", full)
    path = tmp_path / "rec.perftop"
    with pytest.raises(OSError, match="disk is full"):
        RecordingWriter(path)
    assert list(tmp_path.iterdir()) == []  # was a 0-byte file


def test_a_new_recording_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0)
    try:
        _record(tmp_path / "rec.perftop", _ticks(2))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "rec.perftop").stat().st_mode) == 0o600


def test_the_writer_refuses_a_link_where_sqlite_puts_its_log(tmp_path: Path) -> None:
    path, target = tmp_path / "rec.perftop", tmp_path / "elsewhere"
    Path(f"{path}-wal").symlink_to(target)
    with pytest.raises(FormatError, match="symbolic link"):
        RecordingWriter(path)
    assert not target.exists() and not path.exists()  # and the new file is removed again


def test_an_older_recording_opens_and_a_continued_one_says_this_version(tmp_path: Path) -> None:
    path = tmp_path / "old.perftop"
    _record(path, _ticks(2))
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'version'")
    assert len(RecordingReader(path)) == 2, "a version 1 file still reads"
    _record(path, _ticks(1))  # continued by this perftop: its ticks are this version's
    with contextlib.closing(sqlite3.connect(path)) as db:
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    assert version == recording.VERSION
    assert len(RecordingReader(path)) == 3
