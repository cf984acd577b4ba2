"""htop's columns (TIME+, NCPU%, PPID, PRI, NI, VIRT, SHR, TTY, MINFLT, MAJFLT): parsed from the
stat line, SHR's statm read only while wanted, written as htop writes them, sorted, encoded
(codec version 3) and still read from what older perftops wrote."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import gzip
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from perftop.config import sort_key_named
from perftop.formats.recording import RecordingReader, RecordingWriter
from perftop.formats.snapshot import dumps_snapshot, loads_snapshot
from perftop.system import codec, procfs
from perftop.system.fake import FakeProcessCollector, FakeSystemSampler
from perftop.system.history import SystemHistory
from perftop.system.processes import (
    DEFAULT_COLUMNS,
    OPTIONAL_COLUMNS,
    ProcessCollector,
    SortKey,
    ViewOptions,
    build_view,
    default_reverse,
)
from perftop.system.samples import ProcessRow, ProcessSnapshot
from perftop.system.tty import split_dev, tty_name
from perftop.ui.widgets import htop_cells as htop
from perftop.ui.widgets.process_table import _BY_KEY, SHOWN
from tests.unit.test_processes import row

HTOP_KEYS = (
    SortKey.TIME,
    SortKey.NCPU,
    SortKey.PPID,
    SortKey.PRIORITY,
    SortKey.NICE,
    SortKey.VIRT,
    SortKey.SHR,
    SortKey.TTY,
    SortKey.MINFLT,
    SortKey.MAJFLT,
)
HTOP_FIELDS = (
    "cpu_time_s",
    "priority",
    "virt_bytes",
    "shared_bytes",
    "tty_nr",
    "minor_faults",
    "major_faults",
)
TCK = procfs.CLOCK_TICKS
PAGE = procfs.PAGE_SIZE
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def dev(major: int, minor: int) -> int:
    """A device number as the kernel writes it in /proc (new_encode_dev)."""
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)


def stat_line(
    pid: int,
    comm: str,
    *,
    utime: int = 0,
    stime: int = 0,
    priority: int = 20,
    nice: int = 0,
    tty: int = 0,
    minflt: int = 0,
    majflt: int = 0,
    vsize: int = 0,
    rss: int = 0,
    start: int = 100,
) -> bytes:
    """A /proc/PID/stat line with every field told apart (stat(5)'s numbers in comments)."""
    fields = [
        "S",  # 3 state
        "1",  # 4 ppid
        "8",  # 5 pgrp
        "9",  # 6 session
        str(tty),  # 7 tty_nr
        "10",  # 8 tpgid
        "4194560",  # 9 flags
        str(minflt),  # 10 minflt
        "55",  # 11 cminflt
        str(majflt),  # 12 majflt
        "57",  # 13 cmajflt
        str(utime),  # 14 utime
        str(stime),  # 15 stime
        "3",  # 16 cutime
        "4",  # 17 cstime
        str(priority),  # 18 priority
        str(nice),  # 19 nice
        "2",  # 20 num_threads
        "0",  # 21 itrealvalue
        str(start),  # 22 starttime
        str(vsize),  # 23 vsize
        str(rss),  # 24 rss
        "18446744073709551615",  # 25 rsslim
    ]
    return f"{pid} ({comm}) {' '.join(fields)} 0 0 0\n".encode()


# -- the stat line ---------------------------------------------------------------------------


def test_parse_stat_reads_htops_fields_whatever_the_name_holds() -> None:
    line = stat_line(
        42,
        "my (odd) proc) x",
        utime=1100,
        stime=400,
        priority=25,
        nice=5,
        tty=dev(136, 3),
        minflt=1234,
        majflt=56,
        vsize=123_456_789,
        rss=33,
    )
    s = procfs.parse_stat(line)
    assert s.name == "my (odd) proc) x"
    assert (s.ppid, s.cpu_ticks, s.nice, s.num_threads, s.start_ticks) == (1, 1500, 5, 2, 100)
    assert (s.tty_nr, s.minor_faults, s.major_faults) == (dev(136, 3), 1234, 56)
    assert (s.priority, s.vsize_bytes, s.rss_pages) == (25, 123_456_789, 33)
    real_time = procfs.parse_stat(stat_line(7, "migration/0", priority=-100))
    assert real_time.priority == -100 and real_time.nice == 0


@linux_only
def test_parse_stat_agrees_with_the_kernels_own_figures() -> None:
    """Our own process, read as the table reads it and as the standard library reports it."""
    import os
    import resource

    s = procfs.parse_stat(procfs.read_small(f"/proc/{os.getpid()}/stat"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    assert s.priority == 20 + os.getpriority(os.PRIO_PROCESS, 0)  # SCHED_OTHER
    assert s.minor_faults <= usage.ru_minflt + 10_000  # read before the rusage: lower or close
    assert s.minor_faults > 0 and s.vsize_bytes > s.rss_pages * procfs.PAGE_SIZE


# -- TTY --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nr", "name"),
    [
        (0, "?"),
        (dev(136, 0), "pts/0"),
        (dev(136, 300), "pts/300"),  # a minor past 255: the extended encoding
        (dev(137, 44), "pts/300"),  # the old layout of the same terminal
        (dev(4, 1), "tty1"),
        (dev(4, 64), "ttyS0"),
        (dev(5, 1), "console"),
        (dev(188, 2), "ttyUSB2"),
        (dev(166, 0), "ttyACM0"),
        (dev(204, 65), "ttyAMA1"),
        (dev(3, 17), "ttyq1"),
        (dev(250, 1), "?"),  # no name known for it: ps says `?` too
    ],
)
def test_tty_names_as_ps_gives_them(nr: int, name: str) -> None:
    assert tty_name(nr) == name


def test_split_dev_inverts_the_kernels_encoding() -> None:
    for major, minor in ((136, 0), (136, 300), (4, 64), (259, 70_000)):
        assert split_dev(dev(major, minor)) == (major, minor)


# -- what the cells read ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "label"),
    [
        (0.0, "0:00.00"),
        (83.45, "1:23.45"),
        (3599.99, "59:59.99"),
        (3600.0, "1h00:00"),
        (5 * 3600 + 3 * 60 + 12.7, "5h03:12"),
        (3 * 86400 + 5 * 3600 + 12 * 60 + 59, "3d05h12m"),
        (123 * 86400 + 5 * 3600 + 59 * 60, "123d05h"),
        (2 * 365 * 86400 + 12 * 86400 + 3600, "2y012d"),
        (1_234_567 * 365 * 86400.0, "1234567y"),
        (10**7 * 365 * 86400.0, "eternity"),
    ],
)
def test_time_plus_is_written_as_htop_writes_it(seconds: float, label: str) -> None:
    assert htop.cpu_time_label(seconds) == label
    assert len(label) <= _BY_KEY[SortKey.TIME].width


def test_time_plus_sorts_on_what_it_reads() -> None:
    """Two times that read the same sort as equal (their rows keep their places); two that
    read differently sort in their order."""
    times = [0, 0.004, 0.01, 59.99, 3599.994, 3600.2, 3600.9, 86399, 86400, 90061.5]
    times += [10 * 86400 + 59, 10 * 86400 + 3601, 400 * 86400, 400 * 86400 + 3600, 4e10]
    for a in times:
        for b in times:
            same_label = htop.cpu_time_label(a) == htop.cpu_time_label(b)
            assert same_label == (htop.shown_cpu_time(a) == htop.shown_cpu_time(b)), (a, b)
            if a < b and not same_label:
                assert htop.shown_cpu_time(a) < htop.shown_cpu_time(b), (a, b)


def test_counts_priorities_and_unknowns() -> None:
    counts = (0, 9_999_999, 12_345_678, 456_000_000, 1_500_000_000)
    labels = ["0", "9999999", "12.3M", "456M", "1.5G"]
    assert [htop.count_label(n) for n in counts] == labels
    assert htop.shown_count(12_345_678) == 12_300_000.0 and htop.shown_count(7) == 7.0
    assert [htop.priority_label(p) for p in (20, 0, -51, -100)] == ["20", "0", "-51", "RT"]
    view = build_view(ProcessSnapshot(0.0, {1: row(1, 1)}, 4), ViewOptions())
    for key in HTOP_KEYS:
        if key not in (SortKey.NCPU, SortKey.PPID, SortKey.NICE):  # always known
            assert _BY_KEY[key].cell(view[0], 0.0) == "-", key
            assert key not in SHOWN or SHOWN[key](view[0]) is None, key


def test_every_fake_cell_fits_its_column_and_ncpu_is_per_machine() -> None:
    snapshot = FakeProcessCollector(start_tick=100).sample()
    view = build_view(snapshot, ViewOptions())
    for v in view:
        for key in HTOP_KEYS:
            column = _BY_KEY[key]
            assert 0 < len(column.cell(v, 0.0)) <= column.width, (key, v.row.pid)
    app = next(v for v in view if v.row.pid == 2301)
    assert _BY_KEY[SortKey.NCPU].cell(app, 0.0) == f"{app.row.cpu_percent / 4:.1f}"
    assert _BY_KEY[SortKey.TTY].cell(app, 0.0) == "pts/0"
    kernel = next(v for v in view if v.row.pid == 16)
    assert _BY_KEY[SortKey.PRIORITY].cell(kernel, 0.0) == "RT"
    assert _BY_KEY[SortKey.VIRT].cell(kernel, 0.0) == "0B", "a kernel thread maps nothing"


# -- the view model --------------------------------------------------------------------------


def test_the_columns_are_optional_sortable_and_named_as_htop_names_them() -> None:
    assert set(HTOP_KEYS) <= OPTIONAL_COLUMNS and not set(HTOP_KEYS) & set(DEFAULT_COLUMNS)
    assert SortKey.TIME.value == "TIME+" and SortKey.NCPU.value == "NCPU%"
    assert sort_key_named("TIME+") is sort_key_named("time") is SortKey.TIME
    assert sort_key_named("ncpu") is SortKey.NCPU and sort_key_named("CPU") is SortKey.CPU
    assert sort_key_named("ni") is sort_key_named("nice") is SortKey.NICE
    assert sort_key_named("pri") is SortKey.PRIORITY and sort_key_named("majflt") is SortKey.MAJFLT
    descending = {SortKey.TIME, SortKey.NCPU, SortKey.VIRT, SortKey.SHR}
    descending |= {SortKey.MINFLT, SortKey.MAJFLT}
    assert {k for k in HTOP_KEYS if default_reverse(k)} == descending


def test_sorting_by_time_plus_and_virt_on_the_fake_machine() -> None:
    snapshot = FakeProcessCollector(start_tick=30).sample()
    by_time = build_view(snapshot, ViewOptions(sort_key=SortKey.TIME, reverse=True))
    times = [v.row.cpu_time_s or 0.0 for v in by_time]
    assert times == sorted(times, reverse=True)
    # Up three days at 1 %, an nginx worker has used more than the app at 92 % for 30 min.
    assert [v.row.pid for v in by_time][:3] == [821, 822, 2301]
    by_virt = build_view(snapshot, ViewOptions(sort_key=SortKey.VIRT, reverse=True))
    assert [v.row.pid for v in by_virt][:1] == [2301]
    by_tty = build_view(snapshot, ViewOptions(sort_key=SortKey.TTY, reverse=False))
    assert {v.row.pid for v in by_tty[:5]} == {1513, 2301, 2302, 2410, 2420}, "pts/0 first"


# -- the collector: the stat line's fields, and SHR only while wanted -----------------------


class MiniProc:
    """A /proc with stat, statm and cmdline files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        (root / "stat").write_text("cpu  1 2 3 4\nbtime 1700000000\n")
        (root / "meminfo").write_text("MemTotal:        1000000 kB\n")
        self.now = 1000.0

    def put(self, pid: int, rss: int = 256, shared: int = 40, **stat: Any) -> None:
        d = self.root / str(pid)
        d.mkdir(exist_ok=True)
        (d / "stat").write_bytes(stat_line(pid, f"p{pid}", rss=rss, **stat))
        (d / "statm").write_text(f"9000 {rss} {shared} 10 0 500 0\n")
        (d / "cmdline").write_bytes(f"/bin/p{pid}\0".encode())
        (d / "io").write_text("read_bytes: 0\nwrite_bytes: 0\n")


def test_rows_carry_htops_fields(tmp_path: Path) -> None:
    proc = MiniProc(tmp_path / "proc")
    proc.put(10, utime=2 * TCK, stime=TCK // 2, priority=30, nice=10, tty=dev(4, 2))
    proc.put(11, minflt=777, majflt=3, vsize=50 << 20)
    row = procfs.ProcfsTable(str(proc.root), lambda: proc.now).sample().rows
    assert row[10].cpu_time_s == pytest.approx(2.5) and row[10].priority == 30
    assert (row[10].nice, tty_name(row[10].tty_nr or 0)) == (10, "tty2")
    assert (row[11].minor_faults, row[11].major_faults, row[11].virt_bytes) == (777, 3, 50 << 20)
    assert row[10].shared_bytes is None, "SHR is not read unless it is wanted"
    # Every field in its place (the row is built positionally, for speed).
    assert row[11] == ProcessRow(
        pid=11,
        ppid=1,
        name="p11",
        user=row[11].user,
        state="S",
        cpu_percent=0.0,
        mem_percent=100.0 * 256 * PAGE / 1_024_000_000,
        rss_bytes=256 * PAGE,
        num_threads=2,
        read_bytes_per_s=0.0,
        write_bytes_per_s=0.0,
        start_time=1_700_000_000 + 100 / TCK,
        cmdline="/bin/p11",
        nice=0,
        cpu_time_s=0.0,
        priority=20,
        virt_bytes=50 << 20,
        tty_nr=0,
        minor_faults=777,
        major_faults=3,
    )


def test_statm_is_read_only_while_shr_is_wanted_and_the_rss_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = MiniProc(tmp_path / "proc")
    proc.put(10, rss=100, shared=30)
    proc.put(11, rss=200, shared=50)
    reads: list[str] = []
    real = procfs.read_small

    def counting(path: str, size: int = 2048) -> bytes:
        if path.endswith("/statm"):
            reads.append(path.rsplit("/", 2)[1])
        return real(path, size)

    monkeypatch.setattr(procfs, "read_small", counting)
    collector = ProcessCollector(str(proc.root), use_procfs=True, clock=lambda: proc.now)
    collector.sample()
    proc.now += 1
    collector.sample()
    assert reads == [], "not shown: no statm read at all"

    collector.want(shared=True)
    proc.now += 1
    rows = collector.sample().rows
    assert sorted(reads) == ["10", "11"], "quiet rows are read afresh the tick SHR is asked for"
    assert (rows[10].shared_bytes, rows[11].shared_bytes) == (30 * PAGE, 50 * PAGE)

    reads.clear()
    proc.put(10, rss=100, shared=31, utime=5)  # it ran, its RSS did not move
    proc.put(11, rss=210, shared=52, utime=5)  # it ran and its RSS moved
    proc.now += 1
    rows = collector.sample().rows
    assert reads == ["11"], "the RSS that did not move keeps its SHR"
    assert (rows[10].shared_bytes, rows[11].shared_bytes) == (30 * PAGE, 52 * PAGE)

    reads.clear()
    collector.want(shared=False)
    proc.now += 1
    rows = collector.sample().rows
    assert reads == [] and rows[10].shared_bytes is None and rows[11].shared_bytes is None


@linux_only
def test_the_live_table_and_the_psutil_fallback_give_the_figures() -> None:
    import os

    live = ProcessCollector()
    live.want(shared=True)
    me = live.sample().rows[os.getpid()]
    assert me.cpu_time_s is not None and me.cpu_time_s > 0
    assert me.priority is not None and me.virt_bytes and me.virt_bytes > me.rss_bytes
    assert me.shared_bytes is not None and 0 < me.shared_bytes <= me.rss_bytes
    assert me.minor_faults and me.major_faults is not None and me.tty_nr is not None
    fallback = ProcessCollector(use_procfs=False)
    fallback.want(shared=True)
    same = fallback.sample().rows[os.getpid()]
    assert same.cpu_time_s is not None and same.virt_bytes and same.shared_bytes is not None
    assert same.priority is None and same.tty_nr is None, "psutil has no such figure: '-'"


# -- the codec, recordings and snapshots ----------------------------------------------------


def stream(n: int) -> list[tuple[Any, ProcessSnapshot]]:
    system, procs = FakeSystemSampler(), FakeProcessCollector()
    out = []
    for _ in range(n):
        sample, snapshot = system.sample(), procs.sample()
        snapshot.rows[2301].shared_bytes = None  # not read at that tick: None round-trips
        out.append((sample, snapshot))
    return out


def encoded(ticks: list[tuple[Any, ProcessSnapshot]], every: int) -> list[Any]:
    enc = codec.TickEncoder(every)
    out = []
    identities: dict[int, codec.Statics] = {}
    for sample, snapshot in ticks:
        tick = enc.encode(sample, snapshot)
        identities.update(tick.new_identities)
        out.append((tick.keyframe, codec.unpack(codec.pack(tick.data))))
    return [identities, *out]


def decode(identities: dict[int, codec.Statics], ticks: list[Any]) -> list[ProcessSnapshot]:
    base: codec.Columns | None = None
    out = []
    for keyframe, data in ticks:
        if keyframe:
            base = codec.tick_columns(data, None)
        out.append(codec.tick_processes(data, None if keyframe else base, identities))
    return out


def test_the_codec_round_trips_htops_fields() -> None:
    ticks = stream(9)
    identities, *frames = encoded(ticks, 4)
    assert all(data[4] == codec.CODEC_VERSION for _, data in frames)
    back = decode(identities, frames)
    for (_, snapshot), got in zip(ticks, back, strict=True):
        assert got == snapshot
        app = got.rows[2301]
        assert app.cpu_time_s == snapshot.rows[2301].cpu_time_s and app.shared_bytes is None
        assert got.rows[1513].tty_nr == 136 << 8 and got.rows[16].priority == -100


def as_version(data: list[Any], version: int) -> list[Any]:
    """A version 3 tick as an older perftop wrote it: fewer dynamic fields (and parts)."""
    fields = codec._FIELDS_OF_VERSION[version]
    system, ts, cores, frame, _, net_at = copy.deepcopy(data)
    if frame[0] == codec.KEYFRAME:
        frame = frame[: 2 + fields]
    else:
        kind, gone, patches, added = frame
        frame = [kind, gone, patches[:fields], added[: 1 + fields]]
    if version == 1:
        return [system[:10], ts, cores, frame]
    return [system, ts, cores, frame, version, net_at]


@pytest.mark.parametrize("version", [1, 2])
def test_older_ticks_decode_with_htops_fields_unknown(version: int) -> None:
    ticks = stream(6)
    identities, *frames = encoded(ticks, 4)
    old = [(keyframe, as_version(data, version)) for keyframe, data in frames]
    for (_, snapshot), got in zip(ticks, decode(identities, old), strict=True):
        for pid, got_row in got.rows.items():
            assert all(getattr(got_row, f) is None for f in HTOP_FIELDS), pid
            want = dataclasses.replace(snapshot.rows[pid], **dict.fromkeys(HTOP_FIELDS))
            if version == 1:
                continue  # version 1 lacks the network and waits too (test_codec_v2.py)
            assert got_row == want


def test_a_version_2_recording_still_replays(tmp_path: Path) -> None:
    path = tmp_path / "old.perftop"
    ticks = stream(5)
    with RecordingWriter(path) as writer:
        for sample, snapshot in ticks:
            writer.append(sample, snapshot)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for seq, blob in db.execute("SELECT seq, data FROM ticks").fetchall():
            old = codec.pack(as_version(codec.unpack(blob), 2))
            db.execute("UPDATE ticks SET data = ? WHERE seq = ?", (old, seq))
        db.execute("UPDATE meta SET value = '2' WHERE key = 'version'")
    reader = RecordingReader(path)
    assert len(reader) == 5
    last = reader.processes_at(4)
    assert last.rows[2301].cpu_time_s is None and last.rows[2301].wait_percent is not None


def test_a_version_2_snapshot_still_opens() -> None:
    snapshot_ticks = stream(3)
    sample, processes = snapshot_ticks[-1]
    from perftop.formats.snapshot import Snapshot

    history = SystemHistory(capacity=5)
    history.append(sample)
    doc = json.loads(
        gzip.decompress(dumps_snapshot(Snapshot(1.0, "box", history, sample, processes)))
    )
    assert doc["version"] >= 3 and "cpu_time_s" in doc["processes"]["rows"][0]
    for saved in doc["processes"]["rows"]:
        for f in HTOP_FIELDS:
            del saved[f]
    doc["version"] = 2
    old = loads_snapshot(gzip.compress(json.dumps(doc).encode(), mtime=0), "old.perftop")
    assert all(r.cpu_time_s is None and r.tty_nr is None for r in old.processes.rows.values())
    assert old.processes.rows[2301].rss_bytes == processes.rows[2301].rss_bytes
