"""Bounded history of system samples for the graphs: fixed memory however long it runs.

`Ring` is a fixed-capacity ring of floats in an `array('d')` (8 bytes a value, no float
objects); `SystemHistory` keeps one ring per named series. Every series that exists gets a
value on every `append` (0 for a device absent from the sample), so the last value of
each ring belongs to the newest timestamp and a series of length n lines up with
`timestamps().last(n)`. `to_dict` / `from_dict` carry a history in plain lists (snapshots).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from typing import Any, TypeGuard

from perftop.system.samples import SystemSample

DEFAULT_CAPACITY = 3600  # an hour at one sample a second
# Containers come and go with their veth interfaces: without a cap on devices, a busy
# Docker host would grow one pair of rings per container ever started.
MAX_DEVICES = 64
PSI_RESOURCES = ("cpu", "memory", "io")  # the pressure the meters draw, as psi.{resource}


class Ring:
    """A fixed-capacity ring of floats; appending past capacity drops the oldest value."""

    __slots__ = ("_capacity", "_data", "_start")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._data = array("d")
        self._start = 0  # index of the oldest value once the ring is full

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        return len(self._data)

    def append(self, value: float) -> None:
        if len(self._data) < self._capacity:
            self._data.append(value)
        else:
            self._data[self._start] = value
            self._start = (self._start + 1) % self._capacity

    def values(self) -> list[float]:
        """All values, oldest first."""
        data = self._data
        return data[self._start :].tolist() + data[: self._start].tolist()

    def last(self, n: int) -> list[float]:
        """The newest `n` values (fewer if the ring holds fewer), oldest first."""
        data, start = self._data, self._start
        n = min(n, len(data))
        if n <= 0:
            return []
        if len(data) < self._capacity:
            return data[len(data) - n :].tolist()
        # Full: the newest value sits just before `start`; take n back from there, wrapping.
        if start >= n:
            return data[start - n : start].tolist()
        return data[self._capacity - (n - start) :].tolist() + data[:start].tolist()

    def latest(self, default: float = 0.0) -> float:
        if not self._data:
            return default
        return self._data[self._start - 1]

    def max(self, default: float = 0.0) -> float:
        return max(self._data, default=default)


class SystemHistory:
    """Named series of the system's samples, each a `Ring` of the same capacity.

    Names: cpu.total, cpu.user, cpu.system, cpu.iowait, cpu.core{i}, mem.used_percent,
    swap.used_percent, disk.read_bytes_per_s, disk.write_bytes_per_s (summed over disks),
    disk.{name}.read_bytes_per_s, disk.{name}.write_bytes_per_s, net.rx_bytes_per_s,
    net.tx_bytes_per_s (summed over interfaces but loopback), net.{iface}.rx_bytes_per_s,
    net.{iface}.tx_bytes_per_s, load.1; where the kernel keeps PSI, psi.cpu, psi.memory,
    psi.io (`some` avg10, %); inside a container that limits perftop, container.cpu_percent
    and container.mem_percent (of its limits); for each NVIDIA GPU, gpu{i}.util and
    gpu{i}.mem_percent.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY, max_devices: int = MAX_DEVICES) -> None:
        self._capacity = capacity
        self._max_devices = max_devices
        self._series: dict[str, Ring] = {}
        self._timestamps = Ring(capacity)
        # Device key ("disk.sda", "net.eth0") → the append count when it was last present.
        self._device_seen: dict[str, int] = {}
        self._count = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        return len(self._timestamps)

    @property
    def count(self) -> int:
        """Samples appended since the history began, those the rings dropped included: where
        the graphs' fixed time axes stand (see `braille.shown_samples`)."""
        return self._count

    def until(self, behind: int) -> SystemHistory:
        """A copy without the newest `behind` samples: the history as it stood then (a
        snapshot taken while paused holds the moment looked at, not what came after)."""
        data = self.to_dict()
        if behind > 0:
            keep = max(len(data["timestamps"]) - behind, 0)
            data["timestamps"] = data["timestamps"][:keep]
            data["series"] = {
                name: values[: max(len(values) - behind, 0)]
                for name, values in data["series"].items()
            }
        history = SystemHistory.from_dict(data)
        history._count = max(self._count - max(behind, 0), 0)
        return history

    def timestamps(self) -> Ring:
        return self._timestamps

    def names(self) -> list[str]:
        return list(self._series)

    def series(self, name: str) -> Ring:
        """The ring of `name`; an empty ring for a series not seen yet (not stored)."""
        ring = self._series.get(name)
        return ring if ring is not None else Ring(self._capacity)

    def _ring(self, name: str) -> Ring:
        ring = self._series.get(name)
        if ring is None:
            ring = self._series[name] = Ring(self._capacity)
        return ring

    def _track(self, devices: list[str]) -> set[str]:
        """Which of this sample's devices keep their own series, evicting long-gone ones."""
        present = set(devices)
        seen = self._device_seen
        for device in devices:
            if device in seen:
                seen[device] = self._count
        tracked: set[str] = set()
        for device in devices:
            if device not in seen and len(seen) >= self._max_devices:
                gone = [d for d in seen if d not in present]
                if not gone:
                    continue  # every tracked device is live: the newcomer only adds to sums
                oldest = min(gone, key=seen.__getitem__)
                del seen[oldest]
                prefix = oldest + "."
                for name in [n for n in self._series if n.startswith(prefix)]:
                    del self._series[name]
            seen[device] = self._count
            tracked.add(device)
        return tracked

    def to_dict(self) -> dict[str, Any]:
        """`{"capacity", "timestamps": [...], "series": {name: [...]}}`, oldest values first.

        A non-finite value (JSON has none) is written as 0.0, the value of a missing reading.
        """
        return {
            "capacity": self._capacity,
            "timestamps": _finite(self._timestamps.values()),
            "series": {name: _finite(ring.values()) for name, ring in self._series.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], capacity: int | None = None) -> SystemHistory:
        """The history `to_dict` gave; ValueError on a wrong shape or a non-finite value.

        A series shorter than the timestamps belongs to the newest of them, as in the rings.
        `capacity` overrides the stored one; either way only the newest values that fit stay.
        """
        if not isinstance(data, Mapping):
            raise ValueError("history is not an object")
        if capacity is None:
            capacity = data.get("capacity")
        if not _is_int(capacity) or capacity < 1:
            raise ValueError("history capacity is not a positive integer")
        timestamps = _floats(data.get("timestamps"), "timestamps")
        series = data.get("series")
        if not isinstance(series, Mapping):
            raise ValueError("history series is not an object")
        history = cls(capacity)
        for name, raw in series.items():
            if not isinstance(name, str):
                raise ValueError("a history series name is not a string")
            values = _floats(raw, f"series {name!r}")
            if len(values) > len(timestamps):
                raise ValueError(f"series {name!r} is longer than the timestamps")
            ring = history._ring(name)
            for value in values[-capacity:]:
                ring.append(value)
            device, _, rest = name.rpartition(".")
            if device.startswith(("disk.", "net.")) and rest.endswith("_per_s"):
                history._device_seen[device] = len(timestamps)
        for t in timestamps[-capacity:]:
            history._timestamps.append(t)
        history._count = len(timestamps)
        return history

    def append(self, sample: SystemSample) -> None:
        self._count += 1
        values: dict[str, float] = {
            "cpu.total": sample.cpu.total_percent,
            "cpu.user": sample.cpu.user_percent,
            "cpu.system": sample.cpu.system_percent,
            "cpu.iowait": sample.cpu.iowait_percent,
            "mem.used_percent": sample.memory.used_percent,
            "swap.used_percent": sample.memory.swap_percent,
            "load.1": sample.load_avg[0],
        }
        for i, percent in enumerate(sample.cpu.per_core_percent):
            values[f"cpu.core{i}"] = percent
        values["disk.read_bytes_per_s"] = sum(d.read_bytes_per_s for d in sample.disks)
        values["disk.write_bytes_per_s"] = sum(d.write_bytes_per_s for d in sample.disks)
        tracked = self._track(
            [f"disk.{d.name}" for d in sample.disks] + [f"net.{n.name}" for n in sample.nets]
        )
        for disk in sample.disks:
            if f"disk.{disk.name}" in tracked:
                values[f"disk.{disk.name}.read_bytes_per_s"] = disk.read_bytes_per_s
                values[f"disk.{disk.name}.write_bytes_per_s"] = disk.write_bytes_per_s
        # Loopback traffic never leaves the machine: it is kept per interface, not in the sum.
        wire = [n for n in sample.nets if n.name != "lo"]
        values["net.rx_bytes_per_s"] = sum(n.rx_bytes_per_s for n in wire)
        values["net.tx_bytes_per_s"] = sum(n.tx_bytes_per_s for n in wire)
        for net in sample.nets:
            if f"net.{net.name}" in tracked:
                values[f"net.{net.name}.rx_bytes_per_s"] = net.rx_bytes_per_s
                values[f"net.{net.name}.tx_bytes_per_s"] = net.tx_bytes_per_s
        pressure = sample.pressure
        if pressure is not None:
            for resource in PSI_RESOURCES:
                got = pressure.of(resource)
                if got is not None and got.some is not None:
                    values[f"psi.{resource}"] = got.some.avg10
        own = sample.container
        if own is not None:
            if own.cpu_percent is not None:
                values["container.cpu_percent"] = own.cpu_percent
            if own.memory_percent is not None:
                values["container.mem_percent"] = own.memory_percent
        for g in sample.gpus:
            # A figure the GPU does not give reads 0, as a missing device's does.
            values[f"gpu{g.index}.util"] = g.util_percent or 0.0
            values[f"gpu{g.index}.mem_percent"] = g.memory_percent or 0.0
        # A series missing from this sample (a device unplugged, a core offlined) keeps its
        # history and reads 0 now, so every ring stays aligned with the timestamps.
        for name, ring in self._series.items():
            ring.append(values.pop(name, 0.0))
        for name, value in values.items():
            self._ring(name).append(value)
        self._timestamps.append(sample.timestamp)


def _finite(values: list[float]) -> list[float]:
    if all(map(math.isfinite, values)):
        return values
    return [v if math.isfinite(v) else 0.0 for v in values]


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _floats(raw: object, what: str) -> list[float]:
    if not isinstance(raw, list):
        raise ValueError(f"history {what} is not a list")
    out: list[float] = []
    for v in raw:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"history {what} holds a value that is not a number")
        try:
            f = float(v)
        except OverflowError:  # an integer beyond any float
            raise ValueError(f"history {what} holds a number too large") from None
        if not math.isfinite(f):
            raise ValueError(f"history {what} holds a value that is not finite")
        out.append(f)
    return out
