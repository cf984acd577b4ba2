"""The tick codec: exact round trips, delta encoding, and decoding that refuses bad shapes."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import subprocess
import sys
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perftop.system import codec
from perftop.system.fake import FakeProcessCollector, FakeSystemSampler
from perftop.system.samples import (
    CpuSample,
    MemorySample,
    ProcessRow,
    ProcessSnapshot,
    SystemSample,
    TempSample,
)


def _row(pid: int, **changes: Any) -> ProcessRow:
    row = ProcessRow(
        pid=pid,
        ppid=1,
        name=f"p{pid}",
        user="alice",
        state="S",
        cpu_percent=0.0,
        mem_percent=0.5,
        rss_bytes=4096 * pid,
        num_threads=1,
        read_bytes_per_s=0.0,
        write_bytes_per_s=None,
        start_time=1_000.25 + pid,
        cmdline=f"/bin/p{pid} --flag",
    )
    return dataclasses.replace(row, **changes)


def _snap(t: float, *rows: ProcessRow) -> ProcessSnapshot:
    return ProcessSnapshot(t, {r.pid: r for r in rows}, core_count=2)


def _roundtrip(ticks: list[tuple[SystemSample, ProcessSnapshot]], every: int) -> None:
    """Encode a stream, pack it, and decode every tick back from its keyframe alone."""
    enc = codec.TickEncoder(every)
    identities: dict[int, codec.Statics] = {}
    base: codec.Columns | None = None
    for sample, snapshot in ticks:
        tick = enc.encode(sample, snapshot)
        identities.update(tick.new_identities)
        data = codec.unpack(codec.pack(tick.data))
        if tick.keyframe:
            base = codec.tick_columns(data, None)
            assert codec.tick_processes(data, None, identities) == snapshot
        else:
            assert codec.tick_processes(data, base, identities) == snapshot
        assert codec.tick_system(data) == sample


def test_system_samples_round_trip_exactly() -> None:
    fake = FakeSystemSampler()
    for _ in range(5):
        s = fake.sample()
        assert codec.decode_system(json.loads(json.dumps(codec.encode_system(s)))) == s
    bare = SystemSample(
        timestamp=12.5,
        cpu=CpuSample(1.0, 0.5, 0.25, 0.0, (), None, None),
        memory=MemorySample(1, 2, 3, 4, 5, 6, 0, 0),
        temps=(TempSample("x", 40.0),),
        hostname="h\u00e9",
    )
    assert codec.decode_system(codec.unpack(codec.pack(codec.encode_system(bare)))) == bare


def test_fake_process_stream_round_trips_through_keyframes_and_deltas() -> None:
    system, procs = FakeSystemSampler(), FakeProcessCollector()
    _roundtrip([(system.sample(), procs.sample()) for _ in range(25)], every=10)


def test_births_deaths_reparenting_exec_and_odd_values_round_trip() -> None:
    s = FakeSystemSampler().sample()
    a, b, c = _row(10), _row(11), _row(12, cmdline="caf\u00e9 \udcff raw byte")
    ticks = [
        _snap(0.0, a, b, c),
        _snap(1.0, a, _row(11, cpu_percent=12.345678901234567), c),  # a value changes
        _snap(2.0, a, c),  # 11 exits
        _snap(3.0, a, _row(11, start_time=5_000.0), c),  # PID 11 reused by a new process
        _snap(4.0, _row(10, ppid=999), c),  # reparented to a subreaper
        _snap(5.0, _row(10, name="worker", cmdline="worker"), _row(13, write_bytes_per_s=1.5)),
        _snap(6.0, _row(10, read_bytes_per_s=None, nice=-5, state="Z", num_threads=7)),
        _snap(7.0, _row(10, cpu_percent=math.inf, mem_percent=0)),
        _snap(8.0),  # everything gone
        _snap(9.0, a),
    ]
    _roundtrip([(s, p) for p in ticks], every=4)
    _roundtrip([(s, p) for p in ticks], every=1)
    _roundtrip([(s, p) for p in ticks], every=100)


def test_keyframes_come_every_n_ticks_and_deltas_carry_only_changes() -> None:
    enc = codec.TickEncoder(keyframe_every=3)
    s = FakeSystemSampler().sample()
    a, b = _row(10), _row(11)
    frames = [
        enc.encode(s, _snap(0.0, a, b)),
        enc.encode(s, _snap(1.0, a, b)),
        enc.encode(s, _snap(2.0, a, _row(11, rss_bytes=1))),
        enc.encode(s, _snap(3.0, a, b)),
    ]
    assert [f.keyframe for f in frames] == [True, False, False, True]
    # Identities are defined once, where they first appear.
    assert sorted(frames[0].new_identities) == [0, 1]
    assert frames[0].new_identities[0] == (
        10,
        1,
        "p10",
        "alice",
        1_010.25,
        "/bin/p10 --flag",
        "",
        (),
    )
    assert not frames[1].new_identities and not frames[2].new_identities
    assert not frames[3].new_identities and frames[3].referenced == (0, 1)
    kind, gone, patches, added = frames[1].data[3]
    assert (kind, gone, added[0]) == (codec.DELTA, [], [])
    assert patches == [[]] * len(codec.DYNAMIC_FIELDS)
    rss = codec.DYNAMIC_FIELDS.index("rss_bytes")
    assert frames[2].data[3][2][rss] == [[1], [1]]  # slot 1 (PID 11), value 1
    assert sum(map(bool, frames[2].data[3][2])) == 1


def test_a_process_that_vanishes_across_a_keyframe_is_forgotten() -> None:
    """The encoder's intern table holds one group's processes, not every one ever seen."""
    enc = codec.TickEncoder(keyframe_every=2)
    s = FakeSystemSampler().sample()
    first = enc.encode(s, _snap(0.0, _row(10), _row(11)))
    enc.encode(s, _snap(1.0, _row(10)))
    enc.encode(s, _snap(2.0, _row(10)))  # keyframe without PID 11
    enc.encode(s, _snap(3.0, _row(10)))
    back = enc.encode(s, _snap(4.0, _row(10), _row(11)))
    assert 1 in first.new_identities and list(back.new_identities) == [2]
    assert back.new_identities[2] == first.new_identities[1]


def _delta_data() -> list[Any]:
    enc = codec.TickEncoder(10)
    s = FakeSystemSampler().sample()
    enc.encode(s, _snap(0.0, _row(10), _row(11)))
    tick = enc.encode(s, _snap(1.0, _row(10, cpu_percent=3.0), _row(12)))
    return codec.unpack(codec.pack(tick.data))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.pop(), "tick"),
        (lambda d: d[3].__setitem__(0, 7), "unknown kind"),
        (lambda d: d[3][1].append(99), "out of range"),
        (lambda d: d[3][2][1][0].__setitem__(0, -1), "out of range"),
        (lambda d: d[3][2][1][1].__setitem__(0, "fast"), "cpu_percent"),
        (lambda d: d[3][2][1][1].append(1.0), "length"),
        (lambda d: d[3][3][3].append(1.0), "column"),
        (lambda d: d[3][3][0].__setitem__(0, 999), "unknown process identity"),
        (lambda d: d[0][2].__setitem__(0, "16G"), "memory"),
        (lambda d: d[0].__setitem__(3, [["sda", 1, 2, 3]]), "disk"),
        (lambda d: d.__setitem__(2, True), "core count"),
    ],
)
def test_bad_shapes_raise_value_error_with_a_reason(mutate: Any, reason: str) -> None:
    base = codec.tick_columns(codec.unpack(codec.pack(_keyframe_data())), None)
    identities = {0: (10, 1, "a", "u", 0.0, ""), 1: (11, 1, "b", "u", 0.0, ""), 2: _id12()}
    data = _delta_data()
    codec.tick_processes(data, base, identities)  # the unmutated tick decodes
    mutate(data)
    with pytest.raises(ValueError, match=reason):
        codec.tick_system(data)
        codec.tick_processes(data, base, identities)


def _keyframe_data() -> list[Any]:
    enc = codec.TickEncoder(10)
    return enc.encode(FakeSystemSampler().sample(), _snap(0.0, _row(10), _row(11))).data


def _id12() -> codec.Statics:
    return (12, 1, "c", "u", 0.0, "", "", ())


def test_a_delta_needs_its_keyframe_and_statics_are_checked() -> None:
    with pytest.raises(ValueError, match="keyframe"):
        codec.tick_columns(_delta_data(), None)
    assert codec.decode_statics([1, 0, "n", "u", 2.5, "c"]) == (1, 0, "n", "u", 2.5, "c", "", ())
    both = [1, 0, "n", "u", 2.5, "c", "docker:web", ["/docker/x"]]
    assert codec.decode_statics(both) == (1, 0, "n", "u", 2.5, "c", "docker:web", ("/docker/x",))
    with pytest.raises(ValueError, match="cgroups"):
        codec.decode_statics([1, 0, "n", "u", 2.5, "c", "", "/docker/x"])
    with pytest.raises(ValueError, match="name"):
        codec.decode_statics([1, 0, None, "u", 2.5, "c"])


def test_unpack_refuses_garbage_truncation_and_bombs() -> None:
    blob = codec.pack([1, 2, 3])
    for bad in (b"", b"not zlib", blob[:-3], zlib.compress(b"{not json"), zlib.compress(b"\xff")):
        with pytest.raises(ValueError):
            codec.unpack(bad)
    bomb = zlib.compress(b" " * (codec.MAX_UNPACKED_BYTES + 1), 9)
    with pytest.raises(ValueError, match="size limit"):
        codec.unpack(bomb)


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70) | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
)


def _paths(x: Any, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    out = [prefix]
    if isinstance(x, list):
        for i, item in enumerate(x):
            out += _paths(item, (*prefix, i))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_corrupted_tick_decodes_or_raises_value_error(data: st.DataObject) -> None:
    """Replace any one node of a real tick with junk: the decoder never crashes otherwise."""
    tick = copy.deepcopy(data.draw(st.sampled_from([_delta_data(), _keyframe_data()])))
    path = data.draw(st.sampled_from(_paths(tick)[1:]))
    parent = tick
    for i in path[:-1]:
        parent = parent[i]
    parent[path[-1]] = data.draw(_JSONISH)
    base = codec.tick_columns(_keyframe_data(), None)
    identities = {0: (10, 1, "a", "u", 0.0, ""), 1: (11, 1, "b", "u", 0.0, ""), 2: _id12()}
    try:
        codec.tick_system(tick)
        codec.tick_processes(tick, base, identities)
    except ValueError:
        pass


def test_the_codec_timeline_and_recording_never_import_textual() -> None:
    code = (
        "import sys, perftop.system.codec, perftop.system.timeline, perftop.formats.recording\n"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
