"""One `SystemSample` per tick: CPU, memory, swap, disk and network rates, sensors, load,
pressure stall figures (pressure.py: four small reads, ~40 µs) and, inside a container that
limits perftop, its use against those limits (container_meter.py).

`SystemSampler` owns the machine-wide counters and their previous values, so rates are
deltas between two of its own ticks on a monotonic clock. Every psutil call is guarded:
a platform without a metric, a container that hides it, or a machine with no swap, disk or
sensor gives an empty or zero value, never an exception.
"""

from __future__ import annotations

import re
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import psutil  # type: ignore[import-untyped, unused-ignore]

from perftop.system.container_meter import OwnContainer
from perftop.system.gpu import GpuReader
from perftop.system.pressure import read_system_pressure
from perftop.system.procstat import ProcStat
from perftop.system.samples import (
    CpuSample,
    DiskSample,
    MemorySample,
    NetSample,
    SystemSample,
    TempSample,
)

FREQ_EVERY_S = 5.0  # the CPU clock shown is at most this old
NO_SENSORS_AGAIN_S = 30.0  # a machine without temperature sensors is asked again this often
# What a missing, hidden or unsupported metric raises across psutil's platforms.
_UNAVAILABLE = (
    OSError,
    RuntimeError,
    NotImplementedError,
    AttributeError,
    ValueError,
    psutil.Error,
)
# RAM-backed and loop devices that never did I/O are noise (a snap-heavy box has dozens).
_QUIET_VIRTUAL = re.compile(r"^(loop|ram|zram)\d+$")
# A partition is its disk's name plus a number, with a "p" between when the disk's name ends
# in a digit (sda1, nvme0n1p2, mmcblk0p1; but dm-10 is not a partition of dm-1).
_TRAILING_NUMBER = re.compile(r"^(.*\D)\d+$")
# Fields of psutil's cpu_times that count time the CPU did no work. Guest time is already
# inside user time on Linux, so it is left out of the total as psutil does.
_IDLE_FIELDS = ("idle", "iowait")
_GUEST_FIELDS = ("guest", "guest_nice")


def _times_total(times: Any) -> float:
    fields: dict[str, float] = times._asdict()
    total = sum(fields.values())
    return total - sum(fields.get(name, 0.0) for name in _GUEST_FIELDS)


def _busy_percent(before: Any, after: Any) -> float:
    total = _times_total(after) - _times_total(before)
    if total <= 0:
        return 0.0
    idle = sum(getattr(after, f, 0.0) - getattr(before, f, 0.0) for f in _IDLE_FIELDS)
    return min(max(100.0 * (total - idle) / total, 0.0), 100.0)


def _share(before: Any, after: Any, fields: tuple[str, ...]) -> float:
    total = _times_total(after) - _times_total(before)
    if total <= 0:
        return 0.0
    part = sum(getattr(after, f, 0.0) - getattr(before, f, 0.0) for f in fields)
    return min(max(100.0 * part / total, 0.0), 100.0)


def _is_partition(name: str, names: set[str]) -> bool:
    match = _TRAILING_NUMBER.match(name)
    if match is None:
        return False
    base = match.group(1)
    if base in names:
        return True
    disk = base[:-1]
    return base.endswith("p") and disk[-1:].isdigit() and disk in names


def _rates(now: tuple[int, ...], before: tuple[int, ...] | None, dt: float) -> list[float]:
    # A counter that went backwards (driver reset, device replaced) gives 0, not a spike.
    if before is None or dt <= 0:
        return [0.0] * len(now)
    return [max(a - b, 0) / dt for a, b in zip(now, before, strict=True)]


class SystemSampler:
    """Samples the whole machine; call `sample()` once per tick from one worker.

    CPU percentages come from deltas of `cpu_times()` kept here rather than from
    `psutil.cpu_percent(interval=None)`: psutil keeps that baseline per calling thread, so a
    sampler run from a different worker thread each tick would read ~0 % every time.
    """

    def __init__(
        self,
        psutil_module: Any = psutil,
        clock: Callable[[], float] = time.monotonic,
        *,
        proc_root: str = "/proc",
        root: str = "/",
        nvml: Any = None,
        procstat: ProcStat | None = None,
    ) -> None:
        self._ps = psutil_module
        # Linux with the real psutil: the CPU, memory, disk and network counters read from
        # /proc directly, the same values for a fraction of the CPU (procstat.py); psutil
        # still for the rest, and for any of those its reader cannot make out.
        if procstat is None and psutil_module is psutil and sys.platform.startswith("linux"):
            procstat = ProcStat(proc_root)
        self._fast = procstat
        # Read less often than every tick, for what they cost and how slowly they move:
        # psutil's cpu_freq parses /proc/cpuinfo (~150 µs, more with many cores) and its
        # sensors_temperatures globs /sys for sensors (~200 µs where there are none at all).
        self._freq: Any = None
        self._freq_until = float("-inf")
        self._no_temps_until = float("-inf")
        self._clock = clock
        self._proc_root = proc_root
        self._own = OwnContainer(root, proc_root, clock)
        self.gpu = GpuReader(nvml)
        self._hostname = socket.gethostname()
        self._boot_time = self._call(lambda: float(self._ps.boot_time()), 0.0)
        self._last_tick: float | None = None
        self._disk_before: dict[str, tuple[int, int, int, int]] = {}
        self._net_before: dict[str, tuple[int, int, int, int]] = {}
        # Prime the CPU baselines so the first sample covers construction → first tick.
        self._cpu_before, self._cores_before = self._cpu_times()

    @staticmethod
    def _call(fn: Callable[[], Any], default: Any) -> Any:
        try:
            result = fn()
        except _UNAVAILABLE:
            return default
        return default if result is None else result

    def sample(self) -> SystemSample:
        now = self._clock()
        dt = now - self._last_tick if self._last_tick is not None else 0.0
        self._last_tick = now
        cpu = self._cpu()
        cores = len(cpu.per_core_percent) or int(self._call(lambda: self._ps.cpu_count(), 1))
        load = self._call(lambda: tuple(float(x) for x in self._ps.getloadavg()), (0.0,) * 3)
        wall = time.time()
        return SystemSample(
            timestamp=wall,
            cpu=cpu,
            memory=self._memory(),
            disks=self._disks(dt),
            nets=self._nets(dt),
            temps=self._temps(),
            load_avg=load,
            uptime_s=max(wall - self._boot_time, 0.0) if self._boot_time else 0.0,
            core_count=max(cores, 1),
            hostname=self._hostname,
            pressure=read_system_pressure(self._proc_root),
            container=self._call(self._own.sample, None),
            gpus=self.gpu.sample(),
            notice=self.gpu.untold_error(),
        )

    def _cpu_times(self) -> tuple[Any, list[Any]]:
        """The machine's CPU times and each core's, in seconds (psutil's or /proc/stat's:
        the same units, so a baseline from one and a reading from the other still agree)."""
        fast = self._fast.cpu_times() if self._fast is not None else None
        if fast is not None:
            return fast
        total = self._call(lambda: self._ps.cpu_times(), None)
        cores: list[Any] = self._call(lambda: self._ps.cpu_times(percpu=True), [])
        return total, cores

    def _cpu(self) -> CpuSample:
        after, cores_after = self._cpu_times()
        before, self._cpu_before = self._cpu_before, after
        cores_before, self._cores_before = self._cores_before, cores_after
        per_core = tuple(
            _busy_percent(b, a) for b, a in zip(cores_before, cores_after, strict=False)
        )
        if len(cores_before) != len(cores_after):
            # A core went on- or offline: no common baseline this tick.
            per_core = (0.0,) * len(cores_after)
        total = user = system = iowait = 0.0
        if before is not None and after is not None:
            total = _busy_percent(before, after)
            # user includes nice, system includes interrupts: htop's default CPU meter.
            user = _share(before, after, ("user", "nice"))
            system = _share(before, after, ("system", "irq", "softirq"))
            iowait = _share(before, after, ("iowait",))
        now = self._clock()
        if now >= self._freq_until:
            self._freq = self._call(lambda: self._ps.cpu_freq(), None)
            self._freq_until = now + FREQ_EVERY_S
        freq = self._freq
        freq_now = float(freq.current) if freq is not None and freq.current else None
        freq_max = float(freq.max) if freq is not None and freq.max else None
        return CpuSample(
            total_percent=total,
            user_percent=user,
            system_percent=system,
            iowait_percent=iowait,
            per_core_percent=per_core,
            freq_mhz=freq_now,
            freq_max_mhz=freq_max,
        )

    def _memory(self) -> MemorySample:
        fast = self._fast.memory() if self._fast is not None else None
        if fast is not None:
            return MemorySample(
                total_bytes=fast.total,
                used_bytes=fast.used,
                available_bytes=fast.available,
                free_bytes=fast.free,
                cached_bytes=fast.cached,
                buffers_bytes=fast.buffers,
                swap_total_bytes=fast.swap_total,
                swap_used_bytes=fast.swap_used,
            )
        vm = self._call(lambda: self._ps.virtual_memory(), None)
        swap = self._call(lambda: self._ps.swap_memory(), None)
        return MemorySample(
            total_bytes=int(getattr(vm, "total", 0)),
            used_bytes=int(getattr(vm, "used", 0)),
            available_bytes=int(getattr(vm, "available", 0)),
            free_bytes=int(getattr(vm, "free", 0)),
            # Linux and BSD only; elsewhere the meter simply has no cache segment.
            cached_bytes=int(getattr(vm, "cached", 0)),
            buffers_bytes=int(getattr(vm, "buffers", 0)),
            swap_total_bytes=int(getattr(swap, "total", 0)),
            swap_used_bytes=int(getattr(swap, "used", 0)),
        )

    def _disks(self, dt: float) -> tuple[DiskSample, ...]:
        counters: dict[str, Any] | None = self._fast.disks() if self._fast is not None else None
        if counters is None:
            counters = self._call(lambda: self._ps.disk_io_counters(perdisk=True), {})
        names = set(counters)
        current: dict[str, tuple[int, int, int, int]] = {}
        disks: list[DiskSample] = []
        for name in sorted(names):
            c = counters[name]
            now = (int(c.read_bytes), int(c.write_bytes), int(c.read_count), int(c.write_count))
            current[name] = now
            # Partitions are skipped: their I/O is already counted in their disk's.
            if _is_partition(name, names):
                continue
            if _QUIET_VIRTUAL.match(name) and now[0] == now[1] == 0:
                continue
            rates = _rates(now, self._disk_before.get(name), dt)
            disks.append(
                DiskSample(
                    name=name,
                    read_bytes_per_s=rates[0],
                    write_bytes_per_s=rates[1],
                    read_ops_per_s=rates[2],
                    write_ops_per_s=rates[3],
                    read_bytes_total=now[0],
                    write_bytes_total=now[1],
                )
            )
        self._disk_before = current
        return tuple(disks)

    def _nets(self, dt: float) -> tuple[NetSample, ...]:
        counters: dict[str, Any] | None = self._fast.nets() if self._fast is not None else None
        if counters is None:
            counters = self._call(lambda: self._ps.net_io_counters(pernic=True), {})
        current: dict[str, tuple[int, int, int, int]] = {}
        nets: list[NetSample] = []
        # Loopback is kept for the curious but sorted last: it is not the machine's traffic.
        for name in sorted(counters, key=lambda n: (n == "lo", n)):
            c = counters[name]
            now = (
                int(c.bytes_recv),
                int(c.bytes_sent),
                int(c.packets_recv),
                int(c.packets_sent),
            )
            current[name] = now
            rates = _rates(now, self._net_before.get(name), dt)
            nets.append(
                NetSample(
                    name=name,
                    rx_bytes_per_s=rates[0],
                    tx_bytes_per_s=rates[1],
                    rx_packets_per_s=rates[2],
                    tx_packets_per_s=rates[3],
                    rx_bytes_total=now[0],
                    tx_bytes_total=now[1],
                )
            )
        self._net_before = current
        return tuple(nets)

    def _temps(self) -> tuple[TempSample, ...]:
        if not hasattr(self._ps, "sensors_temperatures"):
            return ()  # macOS and Windows builds of psutil have no temperature sensors
        now = self._clock()
        if now < self._no_temps_until:
            return ()
        chips: dict[str, list[Any]] = self._call(lambda: self._ps.sensors_temperatures(), {})
        if not chips:  # none on this machine (a VM, a container): looked for again later
            self._no_temps_until = now + NO_SENSORS_AGAIN_S
        temps: list[TempSample] = []
        for chip, entries in chips.items():
            for entry in entries:
                if entry.current is None:
                    continue
                label = f"{chip} {entry.label}" if entry.label else chip
                temps.append(
                    TempSample(
                        label=label,
                        current_c=float(entry.current),
                        high_c=float(entry.high) if entry.high else None,
                        critical_c=float(entry.critical) if entry.critical else None,
                    )
                )
        return tuple(temps)
