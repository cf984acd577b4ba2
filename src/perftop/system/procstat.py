"""The machine-wide files the sampler reads every tick on Linux (`/proc/stat`, `/proc/meminfo`,
`/proc/diskstats`, `/proc/net/dev`), through descriptors kept open and re-read with `pread`.

Why not psutil's calls, as everywhere else: each reopens its file, builds a named tuple of
every field of every line and, for the disks and the interfaces, runs `wrap_numbers` over the
lot. At 1 s spacing (cold caches) those five calls cost ~1.8 ms of CPU a tick on the project's
machine, against ~0.45 ms for the same reads and the few fields the meters show: on an idle
machine that was a tenth of perftop's own CPU (bench/README.md, "Figures of 2026-12-04").

The values are psutil's: the same fields, units and sums (its `_pslinux.py`, which this
follows line for line; `tests/unit/test_procstat.py` compares the two on the machine running
the tests). One difference: a counter that goes back (an interface re-created) is given as it
is, where psutil adds what it had before; the sampler's rates read a drop as 0 either way.
A file laid out otherwise than expected, or a field missing, makes that reader return None:
the sampler then asks psutil for that figure, as on other systems.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from typing import NamedTuple

__all__ = ["CpuTimes", "DiskCounters", "Memory", "NetCounters", "ProcStat"]

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_SECTOR = 512  # /proc/diskstats counts 512-byte sectors whatever the device's own size
_CHUNK = 65536


class CpuTimes(NamedTuple):
    """One `cpu` line of /proc/stat in seconds, named as psutil's `cpu_times()`."""

    user: float
    nice: float
    system: float
    idle: float
    iowait: float
    irq: float
    softirq: float
    steal: float
    guest: float
    guest_nice: float


class Memory(NamedTuple):
    """What `virtual_memory()` and `swap_memory()` give the meters, in bytes."""

    total: int
    available: int
    used: int
    free: int
    cached: int
    buffers: int
    swap_total: int
    swap_used: int


class DiskCounters(NamedTuple):
    read_count: int
    write_count: int
    read_bytes: int
    write_bytes: int


class NetCounters(NamedTuple):
    bytes_sent: int
    bytes_recv: int
    packets_sent: int
    packets_recv: int


class ProcStat:
    """The four files, each opened once and re-read in place; closed with the reader."""

    def __init__(self, proc_root: str = "/proc") -> None:
        self._root = proc_root
        self._fds: dict[str, int] = {}
        weakref.finalize(self, _close_all, self._fds)

    def _read(self, name: str) -> bytes | None:
        """The whole file, from the kept descriptor (opened on first use); None if unreadable."""
        fd = self._fds.get(name)
        try:
            if fd is None:
                fd = self._fds[name] = os.open(f"{self._root}/{name}", os.O_RDONLY | os.O_CLOEXEC)
            data = os.pread(fd, _CHUNK, 0)
            if len(data) < _CHUNK:
                return data
            parts = [data]
            while len(data) == _CHUNK:  # many CPUs or devices: the rest, where it left off
                data = os.pread(fd, _CHUNK, sum(map(len, parts)))
                parts.append(data)
            return b"".join(parts)
        except OSError:
            if fd is not None:
                self._fds.pop(name, None)
                with contextlib.suppress(OSError):
                    os.close(fd)
            return None

    def cpu_times(self) -> tuple[CpuTimes, list[CpuTimes]] | None:
        """The machine's line and each online CPU's (psutil's `cpu_times()` and
        `cpu_times(percpu=True)`), from one read."""
        data = self._read("stat")
        if not data:
            return None
        try:
            return _cpu_times(data)
        except ValueError:  # a number that is not one: not the layout this reads
            return None

    def memory(self) -> Memory | None:
        data = self._read("meminfo")
        if not data:
            return None
        try:
            return _memory(data)
        except ValueError:
            return None

    def disks(self) -> dict[str, DiskCounters] | None:
        """Every line of /proc/diskstats, partitions too (psutil's `perdisk=True`)."""
        data = self._read("diskstats")
        if data is None:
            return None
        try:
            return _disks(data)
        except ValueError:
            return None

    def nets(self) -> dict[str, NetCounters] | None:
        """Every interface of this network namespace (psutil's `pernic=True`)."""
        data = self._read("net/dev")
        if data is None:
            return None
        try:
            return _nets(data)
        except ValueError:
            return None


def _close_all(fds: dict[str, int]) -> None:
    for fd in fds.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()


def _cpu_times(data: bytes) -> tuple[CpuTimes, list[CpuTimes]] | None:
    total: CpuTimes | None = None
    cores: list[CpuTimes] = []
    for line in data.split(b"\n"):
        if not line.startswith(b"cpu"):
            break  # the cpu lines come first; the rest (intr, ctxt, ...) is not read
        fields = line.split()
        values = [int(x) / _CLOCK_TICKS for x in fields[1:11]]
        if len(values) < 4:
            return None
        values += [0.0] * (10 - len(values))  # older kernels: fewer columns, as psutil
        times = CpuTimes(*values)
        if fields[0] == b"cpu":
            total = times
        else:
            cores.append(times)
    return None if total is None else (total, cores)


def _memory(data: bytes) -> Memory | None:
    kib: dict[bytes, int] = {}
    for line in data.split(b"\n"):
        fields = line.split()
        if len(fields) >= 2:
            kib[fields[0]] = int(fields[1])
    try:
        total, free = kib[b"MemTotal:"] * 1024, kib[b"MemFree:"] * 1024
        buffers, cached = kib[b"Buffers:"] * 1024, kib[b"Cached:"] * 1024
        available = kib[b"MemAvailable:"] * 1024  # kernels since 3.14
        swap_total, swap_free = kib[b"SwapTotal:"] * 1024, kib[b"SwapFree:"] * 1024
    except KeyError:
        return None  # psutil estimates what is missing: let it
    if available == 0:
        return None  # a kernel bug psutil works round (its issue 1915)
    cached += kib.get(b"SReclaimable:", 0) * 1024  # as `free` counts it, and psutil
    if available > total:
        available = free  # LXC's distorted figures, as psutil and procps read them
    return Memory(
        total=total,
        available=available,
        used=total - available,
        free=free,
        cached=cached,
        buffers=buffers,
        swap_total=swap_total,
        swap_used=swap_total - swap_free,
    )


def _disks(data: bytes) -> dict[str, DiskCounters] | None:
    out: dict[str, DiskCounters] = {}
    for line in data.split(b"\n"):
        fields = line.split()
        n = len(fields)
        if n == 0:
            continue
        if n == 14 or n >= 18:  # Linux 2.6 and later (4.18 and 5.5 added columns)
            name, reads = fields[2], fields[3]
        elif n == 15:  # Linux 2.4
            name, reads = fields[3], fields[2]
        elif n == 7:  # a partition on some 2.6 kernels: reads, sectors, writes, sectors
            out[os.fsdecode(fields[2])] = DiskCounters(
                int(fields[3]), int(fields[5]), int(fields[4]) * _SECTOR, int(fields[6]) * _SECTOR
            )
            continue
        else:
            return None
        # reads, merged, sectors read, ms, writes, merged, sectors written: psutil's columns.
        out[os.fsdecode(name)] = DiskCounters(
            int(reads), int(fields[7]), int(fields[5]) * _SECTOR, int(fields[9]) * _SECTOR
        )
    return out


def _nets(data: bytes) -> dict[str, NetCounters] | None:
    out: dict[str, NetCounters] = {}
    for line in data.split(b"\n")[2:]:  # two header lines
        colon = line.rfind(b":")
        if colon <= 0:
            if line.strip():
                return None
            continue
        fields = line[colon + 1 :].split()
        if len(fields) < 10:
            return None
        out[os.fsdecode(line[:colon].strip())] = NetCounters(
            int(fields[8]), int(fields[0]), int(fields[9]), int(fields[1])
        )
    return out
