"""Codec version 2: the network, wait, container and cgroup fields, pressure and container
limits round-trip exactly, and a version 1 tick (what recordings and snapshots written before
hold) still decodes, its new figures None."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from perftop.system import codec
from perftop.system.fake import FakeProcessCollector, FakeSystemSampler
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.system.timeline import Timeline

MIB = 1 << 20


def stream(n: int) -> list[tuple[SystemSample, ProcessSnapshot]]:
    system = FakeSystemSampler(container=(2.0, 512 * MIB))
    procs = FakeProcessCollector()
    return [(system.sample(), procs.sample()) for _ in range(n)]


def decode_all(ticks: list[tuple[SystemSample, ProcessSnapshot]], every: int) -> list[Any]:
    enc = codec.TickEncoder(every)
    identities: dict[int, codec.Statics] = {}
    base: codec.Columns | None = None
    out = []
    for sample, snapshot in ticks:
        tick = enc.encode(sample, snapshot)
        identities.update(tick.new_identities)
        data = codec.unpack(codec.pack(tick.data))
        if tick.keyframe:
            base = codec.tick_columns(data, None)
        back = codec.tick_processes(data, None if tick.keyframe else base, identities)
        out.append((codec.tick_system(data), back, data))
    return out


def test_every_new_field_round_trips() -> None:
    ticks = stream(12)
    for (sample, snapshot), (s, p, data) in zip(ticks, decode_all(ticks, 5), strict=True):
        assert s == sample and s.pressure is not None and s.container is not None
        assert p == snapshot and p.net_at == snapshot.net_at is not None
        assert data[4] == codec.CODEC_VERSION
        app = p.rows[2301]
        assert app.container == "app.service" and app.cgroups == snapshot.rows[2301].cgroups
        assert (app.net_rx_bytes_per_s, app.wait_percent) == (
            snapshot.rows[2301].net_rx_bytes_per_s,
            snapshot.rows[2301].wait_percent,
        )


def test_a_process_moved_to_another_cgroup_gets_a_new_identity() -> None:
    sample, snapshot = stream(1)[0]
    moved = copy.deepcopy(snapshot)
    moved.rows[2301].cgroups = ("/elsewhere",)
    enc = codec.TickEncoder(10)
    enc.encode(sample, snapshot)
    tick = enc.encode(sample, moved)
    assert [s[7] for s in tick.new_identities.values()] == [("/elsewhere",)]


def as_version_1(data: list[Any]) -> list[Any]:
    """A version 2 tick as perftop wrote it before: four parts, a ten-field system sample,
    eight dynamic fields."""
    system, ts, cores, frame = copy.deepcopy(data[:4])
    if frame[0] == codec.KEYFRAME:
        frame = frame[: 2 + 8]
    else:
        kind, gone, patches, added = frame
        frame = [kind, gone, patches[:8], added[:9]]
    return [system[:10], ts, cores, frame]


def test_a_version_1_tick_decodes_with_the_new_figures_unknown() -> None:
    ticks = stream(4)
    decoded = decode_all(ticks, 3)
    identities = {}
    enc = codec.TickEncoder(3)
    base = None
    for (sample, snapshot), (_, _, data) in zip(ticks, decoded, strict=True):
        tick = enc.encode(sample, snapshot)
        identities.update({i: s[:6] for i, s in tick.new_identities.items()})  # v1's six
        old = codec.unpack(codec.pack(as_version_1(data)))
        if tick.keyframe:
            base = codec.tick_columns(old, None)
        back = codec.tick_processes(old, None if tick.keyframe else base, identities)
        system = codec.tick_system(old)
        assert system == dataclasses.replace(sample, pressure=None, container=None)
        assert back.net_at is None
        for pid, r in back.rows.items():
            was = snapshot.rows[pid]
            assert (r.cpu_percent, r.rss_bytes, r.cmdline) == (
                was.cpu_percent,
                was.rss_bytes,
                was.cmdline,
            )
            assert (r.net_rx_bytes_per_s, r.wait_percent, r.container, r.cgroups) == (
                None,
                None,
                "",
                (),
            )


def test_a_version_1_timeline_of_a_snapshot_still_reads() -> None:
    timeline = Timeline(10, 5)
    for sample, snapshot in stream(7):
        timeline.append(sample, snapshot)
    plain = timeline.to_plain()
    plain["ticks"] = [as_version_1(t) for t in plain["ticks"]]
    plain["identities"] = [entry[:7] for entry in plain["identities"]]  # id + six fields
    back = Timeline.from_plain(plain, 100)
    assert len(back) == 7
    assert back.processes_at(-1).rows[2301].container == ""
    assert back.sample_at(-1).pressure is None


def test_a_later_version_is_refused_in_one_line() -> None:
    data = decode_all(stream(1), 1)[0][2]
    data[4] = later = codec.CODEC_VERSION + 1
    with pytest.raises(ValueError, match=f"version {later} is not one this perftop reads"):
        codec.tick_processes(data, None, {})
    bad = copy.deepcopy(decode_all(stream(1), 1)[0][2])
    bad[0][10] = [[[1.0, 2.0, 3.0, "x"], None], None, None, None]
    with pytest.raises(ValueError, match="pressure total"):
        codec.tick_system(bad)
