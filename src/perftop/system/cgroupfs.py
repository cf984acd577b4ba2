"""Where the cgroup hierarchies are mounted and what one group's files say, for v1, v2 and the
hybrid layout (v1 controllers, plus a v2 tree at /sys/fs/cgroup/unified that holds none or
few of them).

The mounts come from `/proc/self/mountinfo`, not from guessed paths: a container without a
cgroup namespace sees its own group mounted as the root (the mount's `root` field is then
`/docker/ID`, which is also what `/proc/PID/cgroup` names), and a v1 controller may be
co-mounted with another (`cpu,cpuacct`). Everything takes a `root` prefix that is put before
every mount point, so the tests build whole trees under a temporary directory.

Each figure is read from the first place that has it: the v2 directory, then the v1
controller's. In a hybrid layout the v2 tree has `cpu.stat` (usage) and the pressure files
for every group, but the quota, the throttling and the memory figures are only in the v1
controllers'; in a v2 layout a controller its parent did not enable (`cgroup.subtree_control`)
has no files in the group. A missing or malformed file is None, never an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import NamedTuple

from perftop.system.pressure import PressureSet, read_cgroup_pressure

# The v1 controllers the kernel knows (Documentation/admin-guide/cgroup-v1); a mount's other
# options (rw, relatime, xattr, ...) are not controllers. `name=X` is a named hierarchy.
V1_CONTROLLERS = frozenset(
    [
        "cpu",
        "cpuacct",
        "cpuset",
        "memory",
        "devices",
        "freezer",
        "net_cls",
        "net_prio",
        "blkio",
        "perf_event",
        "hugetlb",
        "pids",
        "rdma",
        "misc",
    ]
)
# v1 writes "no memory limit" as the largest page-aligned counter (9223372036854771712 on
# 4 KiB pages); anything this large is none.
V1_UNLIMITED = 1 << 62
_MAX_READ = 64 * 1024  # the largest file read here is io.stat of a box with many disks
_MAX_PROCS_READ = 4 << 20  # cgroup.procs of a root group: ~7 bytes a process


class Hierarchy(NamedTuple):
    """One mounted hierarchy: its version, v1 controllers, where it is, and which group of
    it the mount shows (`root`, as /proc/PID/cgroup names groups)."""

    version: int
    controllers: frozenset[str]
    mount: str
    root: str = "/"

    def directory(self, path: str) -> str | None:
        """The directory of group `path` (as /proc/PID/cgroup names it); None if this mount
        does not show that group."""
        root = self.root.rstrip("/")
        if root and path != root and not path.startswith(root + "/"):
            return None
        rest = [p for p in path[len(root) :].split("/") if p]
        if any(p in (".", "..") for p in rest):
            return None
        return os.path.join(self.mount, *rest)

    def path_of(self, relative: str) -> str:
        """The group path of a directory `relative` to the mount point."""
        parts = [p for p in (self.root + "/" + relative).split("/") if p]
        return "/" + "/".join(parts)


class CgroupMounts(NamedTuple):
    v2: Hierarchy | None = None
    v1: tuple[Hierarchy, ...] = ()

    @property
    def layout(self) -> str:
        """`v2`, `v1`, `hybrid` (both mounted) or `none`."""
        if self.v2 is not None and self.v1:
            return "hybrid"
        if self.v2 is not None:
            return "v2"
        return "v1" if self.v1 else "none"

    def v1_for(self, controller: str) -> Hierarchy | None:
        for h in self.v1:
            if controller in h.controllers:
                return h
        return None

    def hierarchies(self) -> tuple[Hierarchy, ...]:
        """v2 first, then the v1 ones: the order figures are looked for in."""
        return ((self.v2,) if self.v2 is not None else ()) + self.v1


def _unescape(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        code = text[i + 1 : i + 4]
        if text[i] == "\\" and len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str, root: str = "/") -> CgroupMounts:
    """The cgroup mounts of a mountinfo text; mount points prefixed with `root`. Where a
    hierarchy is mounted twice, the mount that shows most of it (shortest root) wins."""
    v2: Hierarchy | None = None
    v1: dict[frozenset[str], Hierarchy] = {}
    for line in text.splitlines():
        before, sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        fstype, options = tail[0], tail[2].split(",")
        mount_root, point = _unescape(fields[3]), _unescape(fields[4])
        if not point.startswith("/"):
            continue
        mount = os.path.join(root, point.lstrip("/")) if point != "/" else root
        if fstype == "cgroup2":
            h = Hierarchy(2, frozenset(), mount, mount_root)
            if v2 is None or len(h.root) < len(v2.root):
                v2 = h
        elif fstype == "cgroup":
            controllers = frozenset(
                o for o in options if o in V1_CONTROLLERS or o.startswith("name=")
            )
            if not controllers:
                continue
            old = v1.get(controllers)
            if old is None or len(mount_root) < len(old.root):
                v1[controllers] = Hierarchy(1, controllers, mount, mount_root)
    return CgroupMounts(v2, tuple(sorted(v1.values(), key=lambda h: sorted(h.controllers))))


def read_mounts(proc_root: str = "/proc", root: str = "/") -> CgroupMounts:
    """This process's view of the cgroup mounts; no mounts where mountinfo is unreadable."""
    text = read_text(os.path.join(proc_root, "self", "mountinfo"), 1 << 20)
    return parse_mountinfo(text or "", root)


@dataclass(frozen=True, slots=True)
class ProcCgroups:
    """A process's groups from /proc/PID/cgroup: its v2 path and each v1 controller's."""

    v2: str | None = None
    v1: dict[str, str] = field(default_factory=dict)  # controller (or name=X) -> path

    def paths(self) -> list[str]:
        """Every distinct path, v2's first."""
        out = [self.v2] if self.v2 is not None else []
        out += [p for p in self.v1.values() if p not in out]
        return out

    def primary(self) -> str:
        """The path that says most about where the process runs: the deepest of them
        (in a hybrid layout the v2 path may be `/` while the memory controller's is not)."""
        paths = self.paths()
        return max(paths, key=lambda p: p.rstrip("/").count("/")) if paths else "/"

    def path_in(self, h: Hierarchy) -> str | None:
        if h.version == 2:
            return self.v2
        for controller in h.controllers:
            if controller in self.v1:
                return self.v1[controller]
        return None


def parse_proc_cgroup(text: str) -> ProcCgroups:
    """/proc/PID/cgroup's `hierarchy-ID:controllers:path` lines."""
    v2: str | None = None
    v1: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[2].startswith("/"):
            continue
        hierarchy, controllers, path = parts
        path = path.removesuffix(" (deleted)")
        if hierarchy == "0" and controllers == "":
            v2 = path
        else:
            for c in controllers.split(","):
                if c:
                    v1[c] = path
    return ProcCgroups(v2, v1)


# /proc/PID/cgroup's text -> what it says: the processes of one group share one (frozen)
# ProcCgroups, its paths and controller names. Kept for each process, a parse of its own
# was ~0.9 KB a process where v1's ten controllers each name a path (tracemalloc at 2,000).
_PARSED: dict[str, ProcCgroups] = {}
_PARSED_MAX = 1024  # distinct texts: one per group a process sits in; cleared past this


def read_proc_cgroups(pid: int | str, proc_root: str = "/proc") -> ProcCgroups | None:
    text = read_text(os.path.join(proc_root, str(pid), "cgroup"), 1 << 16)
    if text is None:
        return None
    parsed = _PARSED.get(text)
    if parsed is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        parsed = _PARSED[text] = parse_proc_cgroup(text)
    return parsed


# --- one group's files ----------------------------------------------------------------------


def read_text(path: str, limit: int = _MAX_READ) -> str | None:
    """A small kernel file's text; None where it is missing or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            chunk = os.read(fd, min(65536, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_int(text: str | None) -> int | None:
    """A non-negative decimal; None for anything else (`max`, `-1`, junk)."""
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isdigit() and text.isascii() and len(text) < 24 else None


def parse_keyed(text: str | None) -> dict[str, int]:
    """A flat-keyed file (`cpu.stat`, `memory.events`, `memory.oom_control`): `key value`
    lines, the values that are numbers."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            value = parse_int(parts[1])
            if value is not None:
                out.setdefault(parts[0], value)
    return out


def parse_cpu_max(text: str | None) -> tuple[int, int] | None:
    """v2 `cpu.max` (`50000 100000`, or `max 100000`: none) as (quota µs, period µs)."""
    parts = (text or "").split()
    if len(parts) != 2:
        return None
    quota, period = parse_int(parts[0]), parse_int(parts[1])
    if quota is None or not period:
        return None
    return quota, period


def parse_memory_limit(text: str | None, version: int) -> int | None:
    """`memory.max` (`max`: none) or v1's `memory.limit_in_bytes` (huge: none)."""
    value = parse_int(text)
    if value is None or (version == 1 and value >= V1_UNLIMITED):
        return None
    return value


def parse_io_stat(text: str | None) -> tuple[int, int] | None:
    """v2 `io.stat` (`8:0 rbytes=1 wbytes=2 rios=...` a device) summed: (read, written)."""
    if text is None:
        return None
    read = written = 0
    for line in text.splitlines():
        for part in line.split()[1:]:
            key, _, value = part.partition("=")
            number = parse_int(value)
            if number is None:
                continue
            if key == "rbytes":
                read += number
            elif key == "wbytes":
                written += number
    return read, written


def parse_blkio(text: str | None) -> tuple[int, int] | None:
    """v1 `blkio.*io_service_bytes*` (`8:0 Read 4096` lines, then `Total N`) summed."""
    if text is None:
        return None
    read = written = 0
    seen = False
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        number = parse_int(parts[2])
        if number is None:
            continue
        seen = True
        if parts[1] == "Read":
            read += number
        elif parts[1] == "Write":
            written += number
    return (read, written) if seen or text.strip().startswith("Total") else None


def parse_procs(text: str | None) -> tuple[int, ...]:
    return tuple(int(t) for t in (text or "").split() if t.isdigit() and t.isascii())


# The v1 block I/O byte counts, most useful first: the throttle layer counts all I/O on every
# kernel since 4.x; the CFQ and BFQ ones only under those schedulers.
_BLKIO_FILES = (
    "blkio.throttle.io_service_bytes_recursive",
    "blkio.throttle.io_service_bytes",
    "blkio.io_service_bytes_recursive",
    "blkio.bfq.io_service_bytes_recursive",
)


@dataclass(slots=True)
class GroupCounters:
    """What one group's files say at one moment; None: not kept for this group."""

    cpu_usage_ns: int | None = None
    quota_us: int | None = None  # None: no quota
    period_us: int | None = None
    nr_periods: int | None = None
    nr_throttled: int | None = None
    throttled_ns: int | None = None
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    oom_kills: int | None = None
    io_read_bytes: int | None = None
    io_write_bytes: int | None = None
    pressure: PressureSet | None = None
    pids: tuple[int, ...] = ()
    sources: tuple[int, ...] = ()  # the versions whose directories hold this group


def _read_v2(d: str, c: GroupCounters) -> None:
    stat = parse_keyed(read_text(os.path.join(d, "cpu.stat")))
    if "usage_usec" in stat:
        c.cpu_usage_ns = stat["usage_usec"] * 1000
    if "nr_throttled" in stat:  # only where the cpu controller is enabled
        c.nr_periods = stat.get("nr_periods")
        c.nr_throttled = stat["nr_throttled"]
        if "throttled_usec" in stat:
            c.throttled_ns = stat["throttled_usec"] * 1000
    cpu_max = read_text(os.path.join(d, "cpu.max"))
    if cpu_max is not None:
        quota = parse_cpu_max(cpu_max)
        c.period_us = quota[1] if quota else parse_int((cpu_max.split() or ["", ""])[-1])
        c.quota_us = quota[0] if quota else None
    limit = read_text(os.path.join(d, "memory.max"))  # only where memory is enabled
    if limit is not None:
        c.memory_limit_bytes = parse_memory_limit(limit, 2)
        c.memory_bytes = parse_int(read_text(os.path.join(d, "memory.current")))
        c.oom_kills = parse_keyed(read_text(os.path.join(d, "memory.events"))).get("oom_kill")
    io = parse_io_stat(read_text(os.path.join(d, "io.stat")))
    if io is not None:
        c.io_read_bytes, c.io_write_bytes = io
    c.pressure = read_cgroup_pressure(d)


def _read_v1(h: Hierarchy, d: str, c: GroupCounters) -> None:
    has = h.controllers
    if "cpuacct" in has and c.cpu_usage_ns is None:
        c.cpu_usage_ns = parse_int(read_text(os.path.join(d, "cpuacct.usage")))
    if "cpu" in has:
        if c.nr_throttled is None:
            stat = parse_keyed(read_text(os.path.join(d, "cpu.stat")))
            if "nr_throttled" in stat:
                c.nr_periods = stat.get("nr_periods")
                c.nr_throttled = stat["nr_throttled"]
                c.throttled_ns = stat.get("throttled_time")
        if c.period_us is None:
            period = parse_int(read_text(os.path.join(d, "cpu.cfs_period_us")))
            if period:
                c.period_us = period
                c.quota_us = parse_int(read_text(os.path.join(d, "cpu.cfs_quota_us")))
    if "memory" in has and c.memory_bytes is None and c.memory_limit_bytes is None:
        c.memory_bytes = parse_int(read_text(os.path.join(d, "memory.usage_in_bytes")))
        limit = read_text(os.path.join(d, "memory.limit_in_bytes"))
        c.memory_limit_bytes = parse_memory_limit(limit, 1)
        oom = parse_keyed(read_text(os.path.join(d, "memory.oom_control")))
        c.oom_kills = oom.get("oom_kill")
    if "blkio" in has and c.io_read_bytes is None:
        for name in _BLKIO_FILES:
            io = parse_blkio(read_text(os.path.join(d, name)))
            if io is not None:
                c.io_read_bytes, c.io_write_bytes = io
                break


def read_group(mounts: CgroupMounts, path: str, *, pids: bool = True) -> GroupCounters:
    """Everything known of group `path`, from every hierarchy that has it. The machine's
    root group's processes are not listed (each hierarchy's list there is every process the
    hierarchy has not put elsewhere): the sampler works them out from the others."""
    c = GroupCounters()
    members: set[int] = set()
    sources: list[int] = []
    for h in mounts.hierarchies():
        d = h.directory(path)
        if d is None or not os.path.isdir(d):
            continue
        if h.version not in sources:
            sources.append(h.version)
        if h.version == 2:
            _read_v2(d, c)
        else:
            _read_v1(h, d, c)
        machine_root = h.root == "/" and d == h.mount  # lists every process: ~1 ms at 2,000
        if pids and not machine_root and (h.version == 2 or h.controllers & _COUNTED):
            members.update(parse_procs(read_text(os.path.join(d, "cgroup.procs"), _MAX_PROCS_READ)))
    c.pids = tuple(sorted(members))
    c.sources = tuple(sources)
    return c


# The v1 hierarchies whose trees the cgroup view shows (and whose members it counts): those
# with figures. Devices, freezer and named ones (systemd's) add groups with nothing to show.
SHOWN_V1 = frozenset({"cpu", "cpuacct", "memory", "blkio", "pids"})
_COUNTED = SHOWN_V1
