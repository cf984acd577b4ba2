"""The memory limit a process lives under: its cgroup's, or the tightest of its ancestors'.

/proc/PID/cgroup names the process's cgroup; under /sys/fs/cgroup, cgroup v2 keeps the limit
in `memory.max` ("max": none) and the usage in `memory.current`, v1 in the memory
controller's `memory.limit_in_bytes` (a huge number: none) and `memory.usage_in_bytes`.
A limit set on an ancestor binds too, so the chain is walked up to the root and the cgroup
with the least headroom wins. Usage counts the working set, as container tools do: the
inactive page cache (`inactive_file` in `memory.stat`) is reclaimed before the OOM killer
runs, so it is not counted against the limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# v1 writes "no limit" as the largest page-aligned counter (9223372036854771712 on 4 KiB pages).
_V1_UNLIMITED = 1 << 62


@dataclass(frozen=True, slots=True)
class CgroupMemory:
    """The binding limit: which cgroup, its limit and its working set, in bytes."""

    path: str  # as /proc/PID/cgroup names it, e.g. /system.slice/app.service
    limit_bytes: int
    usage_bytes: int
    version: int  # 1 or 2

    @property
    def headroom_bytes(self) -> int:
        return max(self.limit_bytes - self.usage_bytes, 0)


def parse_proc_cgroup(text: str) -> tuple[str | None, str | None]:
    """(the v2 path, the v1 memory controller's path) from /proc/PID/cgroup's text."""
    v2 = v1 = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif "memory" in controllers.split(","):
            v1 = path
    return v2, v1


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def _inactive_file(directory: str, keys: tuple[str, ...]) -> int:
    text = _read(os.path.join(directory, "memory.stat"))
    if not text:
        return 0
    stat = dict(line.split(None, 1) for line in text.splitlines() if " " in line)
    for key in keys:
        value = stat.get(key, "").strip()
        if value.isdigit():
            return int(value)
    return 0


def _chain(root: str, path: str) -> list[tuple[str, str]]:
    """(directory, cgroup path) from the process's cgroup up to the root, innermost first."""
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    out = []
    for depth in range(len(parts), -1, -1):
        sub = "/" + "/".join(parts[:depth])
        out.append((os.path.join(root, *parts[:depth]), sub))
    return out


def _tightest(
    chain: list[tuple[str, str]], limit_file: str, usage_file: str, version: int
) -> tuple[bool, CgroupMemory | None]:
    """(whether any cgroup of the chain has the memory files, the one with least headroom)."""
    found = False
    best: CgroupMemory | None = None
    stat_keys = ("inactive_file",) if version == 2 else ("total_inactive_file", "inactive_file")
    for directory, path in chain:
        limit_text = _read(os.path.join(directory, limit_file))
        if limit_text is None:
            continue
        found = True
        if not limit_text.isdigit():  # "max"
            continue
        limit = int(limit_text)
        if version == 1 and limit >= _V1_UNLIMITED:
            continue
        usage_text = _read(os.path.join(directory, usage_file))
        if usage_text is None or not usage_text.isdigit():
            continue
        usage = max(int(usage_text) - _inactive_file(directory, stat_keys), 0)
        candidate = CgroupMemory(path, limit, usage, version)
        if best is None or candidate.headroom_bytes < best.headroom_bytes:
            best = candidate
    return found, best


def _v2_root(sys_root: str) -> str | None:
    for root in (sys_root, os.path.join(sys_root, "unified")):
        if os.path.exists(os.path.join(root, "cgroup.controllers")):
            return root
    return None


def read_cgroup_memory(
    pid: int, proc_root: str = "/proc", sys_root: str = "/sys/fs/cgroup"
) -> CgroupMemory | None:
    """The memory limit that binds `pid` first; None where no cgroup of its limits it, or
    it cannot be read (no cgroups, the process gone)."""
    text = _read(f"{proc_root}/{pid}/cgroup")
    if not text:
        return None
    v2, v1 = parse_proc_cgroup(text)
    if v2 is not None:
        root = _v2_root(sys_root)
        if root is not None:
            found, best = _tightest(_chain(root, v2), "memory.max", "memory.current", 2)
            if found:
                return best
    if v1 is not None:
        chain = _chain(os.path.join(sys_root, "memory"), v1)
        return _tightest(chain, "memory.limit_in_bytes", "memory.usage_in_bytes", 1)[1]
    return None
