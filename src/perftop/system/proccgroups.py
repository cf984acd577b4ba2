"""Each process's cgroups, for the process table: its CONTAINER label and whether it belongs to
the group picked in the cgroup view (ui/screens/cgroups.py), read once per process.

A process's cgroup almost never changes while it lives (a move into a container's group
happens before it runs), so /proc/PID/cgroup is read the first time a (PID, start time) is
seen, not every tick: ~12 µs a process once, then nothing. `retain` drops the processes gone.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from perftop.system.cgroupfs import ProcCgroups, read_proc_cgroups
from perftop.system.containers import Container, ContainerNames, container_of_paths

MAX_KNOWN = 65536


class _Known(NamedTuple):
    key: object
    groups: ProcCgroups | None
    container: Container | None


def in_group(paths: tuple[str, ...] | list[str], group: str) -> bool:
    """Whether any of a process's cgroup `paths` is `group` or below it. Pure: the view's
    filter calls it with the paths the collector put on the row."""
    group = group.rstrip("/")
    if not group:
        return True  # the root holds every process
    prefix = group + "/"
    return any(p == group or p.startswith(prefix) for p in paths)


class ProcessCgroups:
    """Cached per (PID, start time): the paths of its groups and its container."""

    def __init__(self, names: ContainerNames | None = None, proc_root: str = "/proc") -> None:
        self.names = names
        self.proc_root = proc_root
        self._known: dict[int, _Known] = {}

    def _get(self, pid: int, key: object) -> _Known:
        known = self._known.get(pid)
        if known is None or known.key != key:
            groups = read_proc_cgroups(pid, self.proc_root)
            container = container_of_paths(groups.paths()) if groups is not None else None
            if container is not None and self.names is not None:
                container = self.names.named(container)
            known = _Known(key, groups, container)
            if len(self._known) >= MAX_KNOWN:
                self._known.clear()  # never reached by a live table: retain() keeps it small
            self._known[pid] = known
        return known

    def container(self, pid: int, start: object = None) -> Container | None:
        return self._get(pid, start).container

    def label(self, pid: int, start: object = None) -> str:
        """The CONTAINER cell: `docker:web`, `nginx.service`; '' for none (or gone)."""
        c = self._get(pid, start).container
        return c.label() if c is not None else ""

    def cgroup(self, pid: int, start: object = None) -> str:
        """The CGROUP cell: the deepest of its groups' paths; '' where unreadable."""
        groups = self._get(pid, start).groups
        return groups.primary() if groups is not None else ""

    def paths(self, pid: int, start: object = None) -> tuple[str, ...]:
        """Every distinct path of its groups (v2's first); () where unreadable."""
        groups = self._get(pid, start).groups
        return tuple(groups.paths()) if groups is not None else ()

    def is_under(self, pid: int, group: str, start: object = None) -> bool:
        """Whether the process is in `group` or below it, in any hierarchy: the table's
        filter once a group is picked in the cgroup view."""
        return in_group(self.paths(pid, start), group)

    def retain(self, alive: Collection[int]) -> None:
        for pid in [p for p in self._known if p not in alive]:
            del self._known[pid]
