"""Bounded history: the ring, the named series, device churn, and the fake sampler feeding it."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from perftop.system.fake import FakeSystemSampler
from perftop.system.history import Ring, SystemHistory
from perftop.system.samples import NetSample, SystemSample


def test_ring_is_bounded_and_ordered() -> None:
    ring = Ring(100)
    for i in range(10_000):
        ring.append(float(i))
    assert len(ring) == 100 and ring.capacity == 100
    assert ring.values() == [float(i) for i in range(9_900, 10_000)]
    assert ring.max() == 9_999.0 and ring.latest() == 9_999.0


@pytest.mark.parametrize("count", [0, 1, 5, 7, 8, 13, 21])
def test_ring_last_matches_a_list(count: int) -> None:
    ring, model = Ring(8), []
    for i in range(count):
        ring.append(float(i))
        model.append(float(i))
    model = model[-8:]
    assert ring.values() == model
    for n in range(-1, 11):
        assert ring.last(n) == (model[-n:] if n > 0 else [])


def test_empty_ring_and_bad_capacity() -> None:
    ring = Ring(3)
    assert ring.values() == [] and ring.max() == 0.0 and ring.latest(-1.0) == -1.0
    with pytest.raises(ValueError):
        Ring(0)


def test_series_from_samples() -> None:
    history = SystemHistory(capacity=50)
    fake = FakeSystemSampler()
    samples = [fake.sample() for _ in range(60)]
    for sample in samples:
        history.append(sample)
    last = samples[-1]
    assert len(history) == 50
    assert history.timestamps().values() == [s.timestamp for s in samples[-50:]]
    assert history.series("cpu.total").latest() == last.cpu.total_percent
    assert history.series("cpu.core3").values() == [
        s.cpu.per_core_percent[3] for s in samples[-50:]
    ]
    assert history.series("mem.used_percent").latest() == last.memory.used_percent
    assert history.series("swap.used_percent").latest() == last.memory.swap_percent
    assert history.series("disk.read_bytes_per_s").latest() == pytest.approx(
        sum(d.read_bytes_per_s for d in last.disks)
    )
    assert history.series("disk.sda.write_bytes_per_s").latest() == last.disks[1].write_bytes_per_s
    eth0 = last.nets[0]
    assert eth0.name == "eth0"
    # Loopback is graphed per interface but left out of the machine's network total.
    assert history.series("net.rx_bytes_per_s").latest() == eth0.rx_bytes_per_s
    assert history.series("net.lo.tx_bytes_per_s").latest() == last.nets[1].tx_bytes_per_s
    assert {"cpu.user", "cpu.system", "cpu.iowait", "net.eth0.tx_bytes_per_s"} <= set(
        history.names()
    )


def test_missing_series_is_empty_and_not_stored() -> None:
    history = SystemHistory(capacity=7)
    ring = history.series("disk.nope.read_bytes_per_s")
    assert len(ring) == 0 and ring.capacity == 7
    assert "disk.nope.read_bytes_per_s" not in history.names()


def with_nets(sample: SystemSample, *names: str) -> SystemSample:
    nets = tuple(NetSample(n, 100.0, 200.0, 1.0, 1.0, 0, 0) for n in names)
    return dataclasses.replace(sample, nets=nets)


def test_a_gone_device_keeps_its_history_aligned() -> None:
    history = SystemHistory(capacity=10)
    base = FakeSystemSampler().sample()
    history.append(with_nets(base, "eth0", "usb0"))
    history.append(with_nets(base, "eth0", "usb0"))
    history.append(with_nets(base, "eth0"))
    history.append(with_nets(base, "eth0", "wlan0"))
    assert history.series("net.usb0.rx_bytes_per_s").values() == [100.0, 100.0, 0.0, 0.0]
    assert history.series("net.wlan0.tx_bytes_per_s").values() == [200.0]
    assert history.series("net.rx_bytes_per_s").values() == [200.0, 200.0, 100.0, 200.0]


def test_device_series_are_capped() -> None:
    history = SystemHistory(capacity=10, max_devices=3)
    base = dataclasses.replace(FakeSystemSampler().sample(), disks=())
    history.append(with_nets(base, "a", "b", "c"))
    history.append(with_nets(base, "a", "b", "c", "d"))  # no room and nobody gone: not tracked
    assert "net.d.rx_bytes_per_s" not in history.names()
    assert history.series("net.rx_bytes_per_s").latest() == 400.0  # still in the total
    history.append(with_nets(base, "e", "a", "c"))  # b is gone: e takes its place
    names = history.names()
    assert "net.b.rx_bytes_per_s" not in names and "net.e.rx_bytes_per_s" in names
    devices = {n.split(".")[1] for n in names if n.count(".") == 2 and n.startswith("net.")}
    assert devices == {"a", "c", "e"}


def test_fake_sampler_is_deterministic_and_smooth() -> None:
    a, b = FakeSystemSampler(), FakeSystemSampler()
    first = [a.sample() for _ in range(5)]
    assert first == [b.sample() for _ in range(5)]
    assert [s.timestamp for s in first] == [1_767_225_600 + i for i in range(5)]
    sample = first[0]
    assert sample.core_count == 4 and len(sample.cpu.per_core_percent) == 4
    assert sample.memory.total_bytes == 16 * 1024**3
    assert sample.memory.swap_total_bytes == 2 * 1024**3
    assert [d.name for d in sample.disks] == ["nvme0n1", "sda"]
    assert [n.name for n in sample.nets] == ["eth0", "lo"]
    assert len(sample.temps) == 1
    for earlier, later in itertools.pairwise(first):
        assert abs(later.cpu.total_percent - earlier.cpu.total_percent) < 15
        assert later.disks[0].read_bytes_total >= earlier.disks[0].read_bytes_total


# -- to_dict / from_dict (snapshots) ------------------------------------------------------------


def filled(capacity: int, ticks: int) -> SystemHistory:
    history, fake = SystemHistory(capacity=capacity), FakeSystemSampler()
    base = fake.sample()
    for i in range(ticks):
        # usb0 appears late, so its series is shorter than the timestamps.
        names = ("eth0", "usb0") if i >= ticks - 3 else ("eth0",)
        history.append(with_nets(dataclasses.replace(base, timestamp=float(i)), *names))
    return history


def test_to_dict_from_dict_round_trip() -> None:
    history = filled(capacity=8, ticks=12)
    data = history.to_dict()
    assert data["capacity"] == 8 and data["timestamps"] == [float(i) for i in range(4, 12)]
    assert data["series"]["net.usb0.rx_bytes_per_s"] == [100.0, 100.0, 100.0]
    back = SystemHistory.from_dict(data)
    assert back.to_dict() == data and back.names() == history.names()
    assert back.series("net.usb0.rx_bytes_per_s").values() == [100.0] * 3
    # Appending goes on as it would have: every ring stays aligned with the timestamps.
    sample = with_nets(dataclasses.replace(FakeSystemSampler().sample(), timestamp=12.0), "eth0")
    history.append(sample)
    back.append(sample)
    assert back.to_dict() == history.to_dict()


def test_from_dict_right_aligns_and_trims_to_capacity() -> None:
    data = {"capacity": 5, "timestamps": [1, 2, 3, 4], "series": {"cpu.total": [30, 40]}}
    history = SystemHistory.from_dict(data)
    assert history.series("cpu.total").values() == [30.0, 40.0]
    assert history.timestamps().last(2) == [3.0, 4.0]  # the newest timestamps own the values
    small = SystemHistory.from_dict(data, capacity=3)
    assert small.capacity == 3 and small.timestamps().values() == [2.0, 3.0, 4.0]
    assert small.series("cpu.total").values() == [30.0, 40.0]
    assert SystemHistory.from_dict(data, capacity=1).series("cpu.total").values() == [40.0]


def test_to_dict_writes_non_finite_values_as_zero() -> None:
    history = SystemHistory(capacity=4)
    history.append(dataclasses.replace(FakeSystemSampler().sample(), load_avg=(math.nan, 0, 0)))
    assert history.to_dict()["series"]["load.1"] == [0.0]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ([], "not an object"),
        ({"timestamps": [], "series": {}}, "capacity"),
        ({"capacity": True, "timestamps": [], "series": {}}, "capacity"),
        ({"capacity": 0, "timestamps": [], "series": {}}, "capacity"),
        ({"capacity": 3, "timestamps": {}, "series": {}}, "timestamps is not a list"),
        ({"capacity": 3, "timestamps": ["1"], "series": {}}, "not a number"),
        ({"capacity": 3, "timestamps": [True], "series": {}}, "not a number"),
        ({"capacity": 3, "timestamps": [math.inf], "series": {}}, "not finite"),
        ({"capacity": 3, "timestamps": [10**400], "series": {}}, "too large"),
        ({"capacity": 3, "timestamps": [], "series": []}, "series is not an object"),
        ({"capacity": 3, "timestamps": [1], "series": {1: [1]}}, "name is not a string"),
        ({"capacity": 3, "timestamps": [1], "series": {"a": [1, 2]}}, "longer than"),
        ({"capacity": 3, "timestamps": [1], "series": {"a": None}}, "not a list"),
    ],
)
def test_from_dict_refuses_bad_shapes(data: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SystemHistory.from_dict(data)  # type: ignore[arg-type]
