"""Where the dashboard's data comes from, and where what it does to a process goes: the live
machine or a deterministic fake.

The app only sees this small protocol, so live data and the fake used by snapshot tests, the
screenshot script and `--demo` feed the same widgets. Effects (signals, renice) and the
detail pane go through the same source as the data, so the fake machine acts only on itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from perftop.system.samples import ProcessSnapshot, SystemSample

if TYPE_CHECKING:
    from perftop.system.cgroups import CgroupSnapshot
    from perftop.system.containers import ContainerNames
    from perftop.system.detail import ProcessDetail
    from perftop.system.gpu import GpuReader
    from perftop.system.memprobe import MemoryProbe
    from perftop.system.process_extras import ProcessExtras
    from perftop.system.smaps import SmapsRollup


class CgroupReader(Protocol):
    """The cgroup tree, read again on each call (cgroups.CgroupSampler, or the fake's)."""

    def sample(self) -> CgroupSnapshot: ...


class SystemSource(Protocol):
    def sample_system(self) -> SystemSample: ...

    def sample_processes(self) -> ProcessSnapshot: ...

    def send_signal(self, pid: int, sig: int, start_time: float | None = None) -> None:
        """Send `sig`; with `start_time`, refuse (ProcessGone) if the PID was reused."""

    def renice(self, pid: int, delta: int) -> int:
        """Add `delta` to the nice value; the new value. ProcessError if refused."""

    def start_time(self, pid: int) -> float | None:
        """Start time in epoch seconds; None if unreadable. ProcessGone if it does not exist."""

    def read_detail(self, pid: int) -> ProcessDetail:
        """Everything the detail pane shows. ProcessError if the process is gone."""

    def probe_memory(self, pid: int) -> MemoryProbe:
        """Memory by kind and the cgroup limit, for a leak suspect. ProcessError if gone."""

    def cgroups(self) -> CgroupReader:
        """A reader of the cgroup tree, for the cgroup view (each view opened has its own)."""

    def container_names(self) -> ContainerNames | None:
        """What names containers (their runtimes' state files), for the cgroup view."""

    def want(
        self,
        *,
        net: bool,
        wait: bool,
        shared: bool = False,
        threads: bool = False,
        gpu: bool = False,
    ) -> None:
        """Measure each process's network, its wait for a CPU, its shared memory (SHR), its
        threads, its GPU use only while they are shown (the table's columns or sort, the
        detail pane, `H`): unshown, they cost nothing. Until asked, everything is measured
        (`perftop serve` never asks)."""


# The detail pane is re-read every tick; its smaps_rollup, which costs ~12 µs per resident
# MiB (smaps.py), only this often for the same process.
SMAPS_EVERY_S = 5.0


class LiveSource:
    """psutil and /proc on this machine; constructed lazily so `--help` stays fast."""

    def __init__(self) -> None:
        from perftop.system.process_extras import ProcessExtras
        from perftop.system.processes import ProcessCollector
        from perftop.system.sampler import SystemSampler

        self._system = SystemSampler()
        self._extras: ProcessExtras = ProcessExtras()
        self._processes = ProcessCollector(extras=self._extras)
        self._gpu_pids: set[int] = set()  # the rows given GPU figures last tick
        self._want_gpu = True
        # The detail's last memory kinds: (pid, start time, read at, kinds, refused).
        self._smaps: tuple[int, float | None, float, SmapsRollup | None, bool] | None = None

    def sample_system(self) -> SystemSample:
        return self._system.sample()

    def sample_processes(self) -> ProcessSnapshot:
        snapshot = self._processes.sample()
        self._gpu_pids = with_gpus(snapshot, self._system.gpu, self._gpu_pids, self._want_gpu)
        return snapshot

    def send_signal(self, pid: int, sig: int, start_time: float | None = None) -> None:
        from perftop.system.processes import send_signal

        send_signal(pid, sig, start_time)

    def renice(self, pid: int, delta: int) -> int:
        from perftop.system.processes import renice

        value = renice(pid, delta)
        self._processes.renew(pid)  # a sleeping process's NI moves without it running
        return value

    def start_time(self, pid: int) -> float | None:
        from perftop.system.processes import process_start_time

        return process_start_time(pid)

    def read_detail(self, pid: int) -> ProcessDetail:
        from perftop.system.detail import read_detail

        now = time.monotonic()
        last = self._smaps
        fresh = last is None or last[0] != pid or now - last[2] >= SMAPS_EVERY_S
        detail = read_detail(pid, smaps=fresh)
        if fresh or last is None or last[1] != detail.create_time:  # a PID reused: afresh
            if not fresh:
                detail = read_detail(pid)
            self._smaps = (pid, detail.create_time, now, detail.smaps, "smaps" in detail.denied)
        else:
            detail.smaps = last[3]
            if last[4]:
                detail.denied = (*detail.denied, "smaps")
        self._table_figures(detail)
        self._system.gpu.fill_detail(detail)
        return detail

    def _table_figures(self, detail: ProcessDetail) -> None:
        """What the table's collector knows of the process: its connections with their rates,
        its wait and its container. Read on the detail's thread: each is replaced whole by
        the sampler's, never changed in place."""
        extras = self._extras
        net = extras.net_snapshot
        counted = net.of(detail.pid) if net is not None else None
        if net is not None and counted is not None:
            detail.tcp, detail.tcp_at = tuple(counted.connections()), net.timestamp
        latest = extras.latest
        wait = latest.waits.get(detail.pid)
        if wait is not None:
            detail.wait_percent, detail.blkio_percent = wait.wait_percent, wait.blkio_percent
            detail.wait_at = latest.at
        label = latest.labels.get(detail.pid)
        if label:
            detail.container = label

    def probe_memory(self, pid: int) -> MemoryProbe:
        from perftop.system.memprobe import read_memory_probe

        return read_memory_probe(pid)

    def cgroups(self) -> CgroupReader:
        from perftop.system.cgroups import CgroupSampler

        return CgroupSampler()

    def container_names(self) -> ContainerNames | None:
        from perftop.system.containers import ContainerNames

        return ContainerNames()  # the view's own: the table's is the sampler thread's

    def want(
        self,
        *,
        net: bool,
        wait: bool,
        shared: bool = False,
        threads: bool = False,
        gpu: bool = False,
    ) -> None:
        self._extras.want(net, wait)
        self._processes.want(shared=shared, threads=threads)
        self._want_gpu = gpu


class FakeSource:
    """The deterministic machine of `perftop.system.fake`, one tick per call pair; what is
    done to its processes changes it, and nothing real. `pressure` False: a kernel without
    PSI; `container`: perftop in a container limited to (cores, memory bytes); `gpus`: that
    many NVIDIA GPUs (fake_nvml.py), two of its processes on them; `nvml`: a test's own fake
    library instead, made from the machine's tick (a driver that refuses at some tick)."""

    def __init__(
        self,
        *,
        pressure: bool = True,
        container: tuple[float, int] | None = None,
        gpus: int = 0,
        nvml: Callable[[Callable[[], int]], Any] | None = None,
    ) -> None:
        from perftop.system.fake import FakeProcessCollector, FakeSystemSampler

        self._system = FakeSystemSampler(
            pressure=pressure, container=container, gpus=gpus, nvml=nvml
        )
        self.processes = FakeProcessCollector()
        self._gpu_pids: set[int] = set()
        self.wanted_gpu = True
        self.wanted = (True, True)  # as the dashboard last asked (tests read it)
        self.wanted_shared = False

    def sample_system(self) -> SystemSample:
        return self._system.sample()

    def sample_processes(self) -> ProcessSnapshot:
        snapshot = self.processes.sample()
        self._gpu_pids = with_gpus(snapshot, self._system.gpu, self._gpu_pids, self.wanted_gpu)
        return snapshot

    def send_signal(self, pid: int, sig: int, start_time: float | None = None) -> None:
        self.processes.send_signal(pid, sig, start_time)

    def renice(self, pid: int, delta: int) -> int:
        return self.processes.renice(pid, delta)

    def start_time(self, pid: int) -> float | None:
        return self.processes.start_time(pid)

    def read_detail(self, pid: int) -> ProcessDetail:
        detail = self.processes.read_detail(pid)
        self._system.gpu.fill_detail(detail)
        return detail

    def probe_memory(self, pid: int) -> MemoryProbe:
        return self.processes.probe_memory(pid)

    def cgroups(self) -> CgroupReader:
        from perftop.system.fake_extras import FakeCgroups

        return FakeCgroups(self.processes)

    def container_names(self) -> ContainerNames | None:
        from perftop.system.fake_extras import FakeNames

        return FakeNames()

    def want(
        self,
        *,
        net: bool,
        wait: bool,
        shared: bool = False,
        threads: bool = False,
        gpu: bool = False,
    ) -> None:
        self.wanted = (net, wait)  # the fake's figures cost nothing: always there
        self.wanted_shared = shared
        self.wanted_gpu = gpu  # its GPU use goes through a GpuReader as the live one's
        self.processes.with_threads = threads


def demo_source() -> FakeSource:
    """`--demo`'s machine: the fake one, with two GPUs to show their panel and columns."""
    return FakeSource(gpus=2)


def with_gpus(
    snapshot: ProcessSnapshot, gpu: GpuReader, before: set[int], wanted: bool
) -> set[int]:
    """Each row's GPU use from NVML's per-process accounting, on the sampler's thread, while
    something shows it (`wanted`); a machine without GPUs does nothing. Returns the PIDs given
    figures (`before` next tick: their rows are cleared once it is no longer wanted)."""
    if not wanted:
        gpu.last_processes = {}  # the detail pane's, when it opens: none rather than stale
    if not before and not (wanted and gpu.active):
        return before
    from perftop.system.gpu import fill_rows

    return fill_rows(snapshot.rows, gpu.processes() if wanted else {}, before)
