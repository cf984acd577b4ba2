"""The cgroup tree with, per group, CPU use against its quota, throttling, memory against its
limit, OOM kills, I/O, pressure and processes; rates between two reads.

The tree is the union of every shown hierarchy's directories (cgroupfs.SHOWN_V1 and the v2
one), so a hybrid box whose memory controller has groups the v2 tree lacks shows them too; a
group's figures come from whichever hierarchy has them (cgroupfs.read_group), and a figure no
hierarchy keeps for it is None (the view shows `-`). The walk is bounded (MAX_GROUPS,
MAX_DEPTH) and never follows links.

Counters become rates in `CgroupSampler`, which keeps the previous read of each group: CPU%
(100 = one core, as the process table's), the share of the quota's enforcement periods in
which the group was throttled, and I/O bytes a second. A group removed and made again under
the same name starts over (its counters went backwards), with no rate for one read.

Cost: about 0.4 ms a group (a dozen small files in each hierarchy that has it); the machine's
root group's process lists, one a hierarchy and ~1 ms each at 2,000 processes, are not read
(cgroupfs.read_group). The dev VM's hybrid tree of 5 groups: 2.1 ms at 475 processes, 2.9 ms at
2,000 (thread CPU a read). The view reads it only while it is shown.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from perftop.system.cgroupfs import (
    SHOWN_V1,
    CgroupMounts,
    GroupCounters,
    read_group,
    read_mounts,
)
from perftop.system.pressure import PressureSet

MAX_GROUPS = 4096  # a box with more shows the first ones, and says so (`truncated`)
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class CgroupStats:
    """One group at one read. Rates are None on the first read and where a counter is not
    kept; limits are None where there is none."""

    path: str
    depth: int  # ancestors shown above it (a container's own root group is 0)
    procs: int  # processes in this group itself (every shown hierarchy's cgroup.procs)
    procs_total: int  # with its descendants
    pids: tuple[int, ...]  # this group's own processes
    cpu_percent: float | None
    cpu_usage_s: float | None
    quota_cores: float | None  # its own cpu.max / cfs_quota_us over the period
    effective_quota_cores: float | None  # the tightest of it and its ancestors'
    nr_periods: int | None
    nr_throttled: int | None
    throttled_s: float | None
    throttled_percent: float | None  # of the interval's enforcement periods
    memory_bytes: int | None
    memory_limit_bytes: int | None
    effective_memory_limit_bytes: int | None
    oom_kills: int | None
    io_read_bytes: int | None
    io_write_bytes: int | None
    io_read_bytes_per_s: float | None
    io_write_bytes_per_s: float | None
    pressure: PressureSet | None
    versions: tuple[int, ...]  # which hierarchies (2, 1) hold it

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] or "/"

    @property
    def parent(self) -> str | None:
        if self.path == "/":
            return None
        return self.path.rsplit("/", 1)[0] or "/"

    @property
    def quota_percent(self) -> float | None:
        """The quota in the CPU% unit (100 = one core)."""
        return None if self.quota_cores is None else self.quota_cores * 100.0

    @property
    def memory_percent(self) -> float | None:
        if self.memory_bytes is None or not self.memory_limit_bytes:
            return None
        return 100.0 * self.memory_bytes / self.memory_limit_bytes


@dataclass(frozen=True, slots=True)
class CgroupSnapshot:
    """The whole tree at one read, parents before children (siblings by name)."""

    timestamp: float
    layout: str  # v2, v1, hybrid, none
    groups: tuple[CgroupStats, ...]
    interval_s: float | None  # since the previous read; None on the first
    truncated: bool = False

    def get(self, path: str) -> CgroupStats | None:
        for g in self.groups:
            if g.path == path:
                return g
        return None

    def pids_under(self, path: str) -> frozenset[int]:
        """The processes of `path` and its descendants: what the table shows filtered to it."""
        path = path.rstrip("/") or "/"
        prefix = path.rstrip("/") + "/"
        return frozenset(
            pid
            for g in self.groups
            if path == "/" or g.path == path or g.path.startswith(prefix)
            for pid in g.pids
        )


def walk_paths(
    mounts: CgroupMounts, max_groups: int = MAX_GROUPS, max_depth: int = MAX_DEPTH
) -> tuple[list[str], bool]:
    """Every group path of the shown hierarchies, sorted (parents first); and whether the
    walk stopped at `max_groups`."""
    shown = [h for h in mounts.hierarchies() if h.version == 2 or h.controllers & SHOWN_V1]
    found: set[str] = set()
    truncated = False
    for h in shown:
        if not os.path.isdir(h.mount):
            continue
        found.add(h.path_of(""))
        stack: list[tuple[str, int]] = [("", 0)]
        while stack:
            relative, depth = stack.pop()
            if depth >= max_depth:
                continue
            try:
                with os.scandir(os.path.join(h.mount, relative)) as entries:
                    subs = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
            except OSError:
                continue
            for name in subs:
                sub = f"{relative}/{name}" if relative else name
                path = h.path_of(sub)
                if path not in found:
                    if len(found) >= max_groups:
                        truncated = True
                        break
                    found.add(path)
                stack.append((sub, depth + 1))
    return sorted(found, key=lambda p: [s for s in p.split("/") if s]), truncated


_NOTHING = GroupCounters()  # the previous read of a group first seen: no rates


def _cores(quota_us: int | None, period_us: int | None) -> float | None:
    if quota_us is None or not period_us:
        return None
    return quota_us / period_us


def _tighter(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _delta(now: int | None, before: int | None) -> int | None:
    if now is None or before is None or now < before:
        return None
    return now - before


class CgroupSampler:
    """Reads the tree; each `sample()` gives rates over the time since the previous one.

    `root` is put before every mount point and `proc_root` is where `self/mountinfo` is
    read, so a test hands it a whole fake machine. Not thread-safe: one caller samples.
    """

    def __init__(
        self,
        root: str = "/",
        proc_root: str = "/proc",
        clock: Callable[[], float] = time.monotonic,
        *,
        max_groups: int = MAX_GROUPS,
        mounts: CgroupMounts | None = None,
    ) -> None:
        self.root = root
        self.proc_root = proc_root
        self._clock = clock
        self._max_groups = max_groups
        self._mounts = mounts
        self._last: dict[str, GroupCounters] = {}
        self._last_at: float | None = None

    @property
    def mounts(self) -> CgroupMounts:
        if self._mounts is None or self._mounts.layout == "none":
            self._mounts = read_mounts(self.proc_root, self.root)
        return self._mounts

    def sample(self, pids: Collection[int] | None = None) -> CgroupSnapshot:
        """The tree now. `pids`, every process of the machine (the dashboard's snapshot has
        them; None: /proc is listed), gives the root group those no other group holds."""
        mounts = self.mounts
        at = self._clock()
        paths, truncated = walk_paths(mounts, self._max_groups)
        counters = {p: read_group(mounts, p) for p in paths}
        root = counters.get("/")
        if root is not None and any(h.root == "/" for h in mounts.hierarchies()):
            elsewhere = {pid for c in counters.values() for pid in c.pids}
            every = self._every_pid() if pids is None else pids
            root.pids = tuple(sorted(p for p in every if p not in elsewhere))
        dt = None if self._last_at is None else at - self._last_at
        groups = tuple(self._stats(paths, counters, dt))
        self._last, self._last_at = counters, at
        return CgroupSnapshot(time.time(), mounts.layout, groups, dt, truncated)

    def _every_pid(self) -> list[int]:
        try:
            return [int(n) for n in os.listdir(self.proc_root) if n.isdigit()]
        except OSError:
            return []

    def _stats(
        self, paths: list[str], counters: dict[str, GroupCounters], dt: float | None
    ) -> Iterator[CgroupStats]:
        totals = _totals(paths, counters)
        quota: dict[str, float | None] = {}
        memory: dict[str, float | None] = {}
        depth: dict[str, int] = {}
        for path in paths:
            c = counters[path]
            before = self._last.get(path) if dt else None
            prev = before or _NOTHING
            parent = None if path == "/" else path.rsplit("/", 1)[0] or "/"
            depth[path] = depth[parent] + 1 if parent in depth else 0
            own_quota = _cores(c.quota_us, c.period_us)
            quota[path] = _tighter(own_quota, quota.get(parent) if parent else None)
            memory[path] = _tighter(
                None if c.memory_limit_bytes is None else float(c.memory_limit_bytes),
                memory.get(parent) if parent else None,
            )
            effective_memory = memory[path]
            yield CgroupStats(
                path=path,
                depth=depth[path],
                procs=len(c.pids),
                procs_total=totals[path],
                pids=c.pids,
                cpu_percent=_rate(c.cpu_usage_ns, prev.cpu_usage_ns, dt, 1e-7),
                cpu_usage_s=None if c.cpu_usage_ns is None else c.cpu_usage_ns / 1e9,
                quota_cores=own_quota,
                effective_quota_cores=quota[path],
                nr_periods=c.nr_periods,
                nr_throttled=c.nr_throttled,
                throttled_s=None if c.throttled_ns is None else c.throttled_ns / 1e9,
                throttled_percent=_throttled(c, before),
                memory_bytes=c.memory_bytes,
                memory_limit_bytes=c.memory_limit_bytes,
                effective_memory_limit_bytes=(
                    None if effective_memory is None else int(effective_memory)
                ),
                oom_kills=c.oom_kills,
                io_read_bytes=c.io_read_bytes,
                io_write_bytes=c.io_write_bytes,
                io_read_bytes_per_s=_rate(c.io_read_bytes, prev.io_read_bytes, dt),
                io_write_bytes_per_s=_rate(c.io_write_bytes, prev.io_write_bytes, dt),
                pressure=c.pressure,
                versions=c.sources,
            )


def _rate(
    now: int | None, before: int | None, dt: float | None, scale: float = 1.0
) -> float | None:
    d = _delta(now, before)
    if d is None or not dt or dt <= 0:
        return None
    return d * scale / dt


def _throttled(c: GroupCounters, before: GroupCounters | None) -> float | None:
    if before is None or c.quota_us is None:
        return None
    periods = _delta(c.nr_periods, before.nr_periods)
    throttled = _delta(c.nr_throttled, before.nr_throttled)
    if periods is None or throttled is None:
        return None
    return 100.0 * throttled / periods if periods else 0.0


def _totals(paths: list[str], counters: dict[str, GroupCounters]) -> dict[str, int]:
    """Processes of each group with its descendants' (a PID in two hierarchies once)."""
    under: dict[str, set[int]] = {p: set(counters[p].pids) for p in paths}
    for path in reversed(paths):  # children come after parents: fold them upwards
        if path == "/":
            continue
        parent = path.rsplit("/", 1)[0] or "/"
        if parent in under:
            under[parent] |= under[path]
    return {p: len(s) for p, s in under.items()}
