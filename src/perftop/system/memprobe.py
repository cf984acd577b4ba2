"""One look at a process's memory beyond its RSS: its kinds (smaps_rollup) and the cgroup limit
it lives under. Read off the UI thread, for the selected process and for leak suspects."""

from __future__ import annotations

from dataclasses import dataclass

from perftop.system.cgroup_memory import CgroupMemory, read_cgroup_memory
from perftop.system.errors import AccessDenied
from perftop.system.smaps import SmapsRollup, read_smaps_rollup


@dataclass(frozen=True, slots=True)
class MemoryProbe:
    smaps: SmapsRollup | None  # None: unreadable (see `smaps_denied`) or not offered
    smaps_denied: bool
    cgroup: CgroupMemory | None  # None: no limit binds it


def read_memory_probe(
    pid: int, proc_root: str = "/proc", sys_root: str = "/sys/fs/cgroup"
) -> MemoryProbe:
    """ProcessGone if the process does not exist."""
    try:
        smaps, denied = read_smaps_rollup(pid, proc_root), False
    except AccessDenied:
        smaps, denied = None, True
    return MemoryProbe(smaps, denied, read_cgroup_memory(pid, proc_root, sys_root))
