"""perftop's own container, for the CPU and memory meters: its limits and its use against them.

Inside a container, /proc/stat and /proc/meminfo still describe the host (unless lxcfs lies
for them), so a meter at 10 % of a 64-core host may be a container pinned at its 2-core quota.
`OwnContainer` reads the limits once every LIMITS_EVERY_S (containers.read_own_limits, ~1 ms:
mountinfo, /proc/self/cgroup and each ancestor's files) and, each tick, only its own group's
counters (cgroupfs.read_group without the process lists, ~0.3 ms) for the use. Outside a
container, or inside one without limits, it answers None after that one read a period.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from perftop.system.cgroupfs import CgroupMounts, read_group, read_mounts
from perftop.system.containers import OwnLimits, read_own_limits
from perftop.system.levels import SampleLevels, Thresholds
from perftop.system.samples import ContainerSample, SystemSample, level_of

LIMITS_EVERY_S = 10.0  # a limit changed by `docker update` shows within this


class OwnContainer:
    """`sample()` once a tick: perftop's container and its use, or None."""

    def __init__(
        self,
        root: str = "/",
        proc_root: str = "/proc",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.proc_root = proc_root
        self._clock = clock
        self._mounts: CgroupMounts | None = None
        self._limits: OwnLimits | None = None
        self._read_at = 0.0
        self._usage: tuple[float, int] | None = None  # (clock, CPU ns) at the last tick

    def _own(self, now: float) -> OwnLimits:
        if self._limits is None or now - self._read_at >= LIMITS_EVERY_S:
            self._mounts = read_mounts(self.proc_root, self.root)
            self._limits = read_own_limits(
                root=self.root, proc_root=self.proc_root, mounts=self._mounts
            )
            self._read_at = now
        return self._limits

    def sample(self) -> ContainerSample | None:
        now = self._clock()
        own = self._own(now)
        cores = own.cpu_limit_cores if own.cpu_limit_cores is not None else own.cpuset_cores
        if not own.inside or (cores is None and own.memory_limit_bytes is None):
            self._usage = None
            return None
        assert self._mounts is not None  # read with the limits
        counters = read_group(self._mounts, own.cgroup, pids=False)
        cpu = None
        if counters.cpu_usage_ns is not None:
            before, self._usage = self._usage, (now, counters.cpu_usage_ns)
            if before is not None and cores and now > before[0]:
                used_ns = max(counters.cpu_usage_ns - before[1], 0)
                cpu = min(100.0 * used_ns / 1e9 / (now - before[0]) / cores, 100.0)
        used = (
            counters.memory_bytes if counters.memory_bytes is not None else own.memory_usage_bytes
        )
        return ContainerSample(
            how=own.how,
            cpu_limit_cores=float(cores) if cores is not None else None,
            cpu_percent=cpu,
            memory_limit_bytes=own.memory_limit_bytes,
            memory_used_bytes=used if own.memory_limit_bytes is not None else None,
        )


def container_levels(levels: SampleLevels, s: SystemSample, t: Thresholds) -> SampleLevels:
    """`levels` with CPU and memory as the meters show them inside a container: against its
    limits, by the same thresholds."""
    own = s.container
    if own is None:
        return levels
    cpu, memory = levels.cpu, levels.memory
    if own.cpu_limit_cores is not None and own.cpu_percent is not None:
        cpu = level_of(own.cpu_percent, t.cpu.warn, t.cpu.crit)
    if own.memory_percent is not None:
        memory = level_of(own.memory_percent, t.memory.warn, t.memory.crit)
    return levels._replace(cpu=cpu, memory=memory)
