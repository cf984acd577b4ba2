"""Typed, immutable samples that the system collectors produce and the UI renders.

Units are in the field names (`_bytes`, `_per_s`, `_percent`, `_c`) so nobody has to guess.
This module is plain data: no psutil, no Textual.

The per-part samples are NamedTuples: perftop defines every one of its records at each start,
before the first frame, and a NamedTuple costs a tenth of a frozen dataclass's `exec`-built
methods to define (bench/README.md, "bench_startup.py"). The GPU's keeps being a dataclass
(its `index` would shadow a tuple's method), as do the tick's own two (a field not compared,
fields made by a factory) and the mutable `ProcessRow`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

from perftop.system.pressure import PressureSet


class Level(enum.Enum):
    """A semantic level that CSS colours; collectors decide it, widgets only render it."""

    OK = "ok"
    WARN = "warn"
    CRIT = "crit"


def level_of(value: float, warn: float, crit: float) -> Level:
    """Map a value onto ok / warn / crit with inclusive thresholds."""
    if value >= crit:
        return Level.CRIT
    if value >= warn:
        return Level.WARN
    return Level.OK


class CpuSample(NamedTuple):
    total_percent: float
    user_percent: float
    system_percent: float
    iowait_percent: float
    per_core_percent: tuple[float, ...]
    freq_mhz: float | None = None
    freq_max_mhz: float | None = None


class MemorySample(NamedTuple):
    total_bytes: int
    used_bytes: int
    available_bytes: int
    free_bytes: int
    cached_bytes: int
    buffers_bytes: int
    swap_total_bytes: int
    swap_used_bytes: int

    @property
    def used_percent(self) -> float:
        return 100.0 * self.used_bytes / self.total_bytes if self.total_bytes else 0.0

    @property
    def swap_percent(self) -> float:
        if not self.swap_total_bytes:
            return 0.0
        return 100.0 * self.swap_used_bytes / self.swap_total_bytes


class DiskSample(NamedTuple):
    """One block device's I/O over the last interval, plus its counters since boot."""

    name: str
    read_bytes_per_s: float
    write_bytes_per_s: float
    read_ops_per_s: float
    write_ops_per_s: float
    read_bytes_total: int
    write_bytes_total: int


class NetSample(NamedTuple):
    """One network interface's traffic over the last interval, plus counters since boot."""

    name: str
    rx_bytes_per_s: float
    tx_bytes_per_s: float
    rx_packets_per_s: float
    tx_packets_per_s: float
    rx_bytes_total: int
    tx_bytes_total: int


class TempSample(NamedTuple):
    label: str
    current_c: float
    high_c: float | None = None
    critical_c: float | None = None


class ContainerSample(NamedTuple):
    """perftop runs in a container whose cgroup limits its CPU or memory (read by
    container_meter.py): the CPU and memory meters measure against these limits, and say so,
    rather than against the host's figures, which `cpu` and `memory` keep."""

    how: str  # what told it is one: `/.dockerenv`, `container=podman`, `cgroup /docker/…`
    cpu_limit_cores: float | None  # its quota (cpu.max, cfs_quota_us), else its cpuset's CPUs
    cpu_percent: float | None  # its use, in % of that limit; None on the first tick
    memory_limit_bytes: int | None
    memory_used_bytes: int | None

    @property
    def memory_percent(self) -> float | None:
        if self.memory_used_bytes is None or not self.memory_limit_bytes:
            return None
        return 100.0 * self.memory_used_bytes / self.memory_limit_bytes


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One NVIDIA GPU at one tick, read through NVML (gpu.py). None: the driver does not
    say (a consumer card without power readings, a clock it hides)."""

    index: int
    uuid: str
    name: str
    util_percent: float | None
    memory_used_bytes: int | None
    memory_total_bytes: int | None
    temperature_c: float | None
    power_w: float | None
    power_limit_w: float | None
    sm_clock_mhz: float | None
    mem_clock_mhz: float | None

    @property
    def memory_percent(self) -> float | None:
        used, total = self.memory_used_bytes, self.memory_total_bytes
        return None if used is None or not total else 100.0 * used / total

    @property
    def memory_free_bytes(self) -> int | None:
        used, total = self.memory_used_bytes, self.memory_total_bytes
        return None if used is None or total is None else max(total - used, 0)


@dataclass(frozen=True, slots=True)
class SystemSample:
    """Everything the dashboard's meters show for one tick."""

    timestamp: float
    cpu: CpuSample
    memory: MemorySample
    disks: tuple[DiskSample, ...] = ()
    nets: tuple[NetSample, ...] = ()
    temps: tuple[TempSample, ...] = ()
    load_avg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    uptime_s: float = 0.0
    core_count: int = 1
    hostname: str = ""
    pressure: PressureSet | None = None  # None: the kernel keeps no PSI (the meters hide)
    container: ContainerSample | None = None  # None: not in a container that limits perftop
    gpus: tuple[GpuSample, ...] = ()  # () : no NVIDIA driver, or it refused (the panel hides)
    # A line to say once, on the tick it happened (the GPUs' driver refused): not a figure of
    # the machine, so neither compared, recorded nor saved.
    notice: str | None = field(default=None, compare=False, metadata={"kept": False})


@dataclass(slots=True)
class ProcessRow:
    """One process as the table shows it.

    `cpu_percent` follows htop: 100 % is one whole core. The machine-wide figure is
    `cpu_percent / core_count`, computed by the view, not stored twice.
    """

    pid: int
    ppid: int
    name: str
    user: str
    state: str
    cpu_percent: float
    mem_percent: float
    rss_bytes: int
    num_threads: int
    read_bytes_per_s: float | None
    write_bytes_per_s: float | None
    start_time: float
    cmdline: str
    nice: int = 0
    # TCP payload bytes a second (netsockets.py); None: not counted (another network
    # namespace, another user's sockets without root): the table shows '-'.
    net_rx_bytes_per_s: float | None = None
    net_tx_bytes_per_s: float | None = None
    # Runnable but waiting for a CPU, and waiting for block I/O (schedstat.py), in % of the
    # interval, 100 = one thread all along; None: unknown (first tick, no delay accounting).
    wait_percent: float | None = None
    blkio_percent: float | None = None
    container: str = ""  # `docker:web`, `nginx.service` (containers.py); '' for none
    cgroups: tuple[str, ...] = ()  # its cgroup paths, v2's first: the cgroup view's filter
    # htop's columns, from the stat line (procfs.py); None: not known (a recording of an
    # older perftop, a platform without it), shown '-'.
    cpu_time_s: float | None = None  # user + system CPU since it started (TIME+)
    priority: int | None = None  # the kernel's: 20 + nice, below 0 for real-time (PRI)
    virt_bytes: int | None = None  # its virtual address space (VIRT)
    # Resident pages shared with others (file-backed and shmem: statm's third field), read
    # only while SHR shows (SystemSource.want).
    shared_bytes: int | None = None
    tty_nr: int | None = None  # the controlling terminal's device number, 0 for none (TTY)
    minor_faults: int | None = None  # page faults since it started, without disk (MINFLT)
    major_faults: int | None = None  # and those that read a page from disk (MAJFLT)
    # A user thread shown as a row (threads.py, htop's `H`): the PID of its process; its
    # `pid` is the thread's ID. None: a process.
    thread_of: int | None = None
    # NVML's per-process accounting (gpu.py): SM use in % (summed over its GPUs) and the GPU
    # memory it holds; None: no GPU, or it uses none. `gpu_indices`: the GPUs it runs on.
    gpu_percent: float | None = None
    gpu_memory_bytes: int | None = None
    gpu_indices: tuple[int, ...] = ()

    @property
    def net_bytes_per_s(self) -> float | None:
        rx, tx = self.net_rx_bytes_per_s, self.net_tx_bytes_per_s
        return None if rx is None or tx is None else rx + tx


@dataclass(frozen=True, slots=True)
class ProcessSnapshot:
    """All processes at one tick, keyed by PID."""

    timestamp: float
    rows: dict[int, ProcessRow] = field(default_factory=dict)
    core_count: int = 1
    # Wall time of the network read the rows' NET figures come from: it is read only as often
    # as its CPU budget allows, so it may be older than the tick (the column then says so).
    # Not compared: two snapshots of the same rows are the same tick, whenever NET was read.
    net_at: float | None = field(default=None, compare=False)
    # The user threads of the processes, keyed by thread ID, read only while they are shown
    # (SystemSource.want); not recorded.
    threads: dict[int, ProcessRow] = field(default_factory=dict)
