"""Everything perftop can learn about one process, read on demand for the detail pane.

`read_detail` is slow on purpose (threads, open files, sockets, environment): it runs once
when a person opens a process, never per tick. Each field the kernel refuses is None and
named in `denied`, so the pane can say "permission denied" instead of showing nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import psutil  # type: ignore[import-untyped, unused-ignore]

from perftop.system.cgroup_memory import CgroupMemory, read_cgroup_memory
from perftop.system.errors import AccessDenied, ProcessGone
from perftop.system.netsockets import Connection as TcpConnection
from perftop.system.smaps import SmapsRollup, read_smaps_rollup

MAX_OPEN_FILES = 200
T = TypeVar("T")

# Markers a container runtime leaves in /proc/<pid>/cgroup, most specific first: a pod's
# cgroup also names its runtime (kubepods/.../docker-<id>.scope), and podman's is libpod.
_CONTAINER_MARKERS = (
    ("kubepods", "kubernetes"),
    ("libpod", "podman"),
    ("podman", "podman"),
    ("docker", "docker"),
    ("lxc", "lxc"),
)


class IoTotals(NamedTuple):
    read_bytes: int
    write_bytes: int
    read_count: int
    write_count: int


class MemoryInfo(NamedTuple):
    rss: int
    vms: int
    shared: int  # 0 where the platform does not report it


class ThreadTimes(NamedTuple):
    tid: int
    user_time: float
    system_time: float


class Connection(NamedTuple):
    laddr: str
    raddr: str  # '' for a listening or unconnected socket
    status: str


@dataclass
class ProcessDetail:
    pid: int
    name: str | None = None
    cmdline: tuple[str, ...] | None = None
    cwd: str | None = None
    exe: str | None = None
    user: str | None = None
    status: str | None = None
    create_time: float | None = None
    num_threads: int | None = None
    threads: tuple[ThreadTimes, ...] | None = None
    open_files: tuple[str, ...] | None = None
    connections: tuple[Connection, ...] | None = None
    environ: dict[str, str] | None = None
    cgroup: str | None = None
    container: str | None = None
    io: IoTotals | None = None
    ctx_switches: tuple[int, int] | None = None
    nice: int | None = None
    memory: MemoryInfo | None = None
    cpu_times: tuple[float, float] | None = None
    smaps: SmapsRollup | None = None  # memory by kind; "smaps" in denied when refused
    cgroup_memory: CgroupMemory | None = None  # the cgroup limit that binds it, if any
    denied: tuple[str, ...] = field(default_factory=tuple)
    # From the table's own figures (process_extras.py), attached by the source: its TCP
    # connections with their rates (None: not counted, see netsockets.NOT_COUNTED), the wall
    # time they were read, and WAIT% and BLKIO% over the last tick (None: unknown).
    tcp: tuple[TcpConnection, ...] | None = None
    tcp_at: float | None = None
    wait_percent: float | None = None
    blkio_percent: float | None = None
    wait_at: float | None = None  # the tick those two are of (the pane keeps their history)
    # Its NVIDIA GPUs (gpu.py), attached by the source from the last tick's read: each as
    # `index name (UUID)`, and its SM use (summed over them) and GPU memory; () for none.
    gpus: tuple[str, ...] = ()
    gpu_percent: float | None = None
    gpu_memory_bytes: int | None = None


def guess_container(cgroup_text: str | None) -> str | None:
    """The container runtime a cgroup path points at, or None for a plain host process."""
    if not cgroup_text:
        return None
    lowered = cgroup_text.lower()
    return next((name for marker, name in _CONTAINER_MARKERS if marker in lowered), None)


def _address(addr: Any) -> str:
    if not addr:
        return ""
    if isinstance(addr, str):  # a UNIX socket path
        return addr
    host = f"[{addr.ip}]" if ":" in addr.ip else addr.ip
    return f"{host}:{addr.port}"


def read_cgroup(pid: int, proc_root: str = "/proc") -> str | None:
    """The text of /proc/<pid>/cgroup; None where there is no such file (not Linux)."""
    try:
        with open(f"{proc_root}/{pid}/cgroup", encoding="utf-8", errors="replace") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_detail(
    pid: int, psutil_module: Any = psutil, proc_root: str = "/proc", *, smaps: bool = True
) -> ProcessDetail:
    """Read one process's detail; raises ProcessGone if it does not exist (or exits).
    `smaps`: read its memory by kind too (smaps_rollup, dear for a big process: smaps.py)."""
    ps = psutil_module
    try:
        proc = ps.Process(pid)
    except (ps.NoSuchProcess, ValueError):
        raise ProcessGone(pid) from None
    detail = ProcessDetail(pid=pid)
    denied: list[str] = []

    def get(name: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except ps.AccessDenied:
            denied.append(name)
        except ps.ZombieProcess:
            pass  # a zombie keeps only its pid, name and status: the rest is simply absent
        except ps.NoSuchProcess:
            raise ProcessGone(pid) from None
        except (OSError, NotImplementedError, AttributeError):
            pass  # not available on this platform
        return None

    with proc.oneshot():
        detail.name = get("name", lambda: str(proc.name()))
        detail.cmdline = get("cmdline", lambda: tuple(proc.cmdline()))
        detail.cwd = get("cwd", lambda: str(proc.cwd()))
        detail.exe = get("exe", lambda: str(proc.exe()) or None)
        detail.user = get("user", lambda: str(proc.username()))
        detail.status = get("status", lambda: str(proc.status()))
        detail.create_time = get("create_time", lambda: float(proc.create_time()))
        detail.num_threads = get("num_threads", lambda: int(proc.num_threads()))
        detail.nice = get("nice", lambda: int(proc.nice()))
        detail.memory = get("memory", lambda: _memory(proc.memory_info()))
        detail.cpu_times = get("cpu_times", lambda: _cpu_times(proc.cpu_times()))
        detail.io = get("io", lambda: _io(proc.io_counters()))
        detail.ctx_switches = get("ctx_switches", lambda: _ctx(proc.num_ctx_switches()))
    detail.threads = get("threads", lambda: _threads(proc.threads()))
    detail.open_files = get(
        "open_files", lambda: tuple(f.path for f in proc.open_files()[:MAX_OPEN_FILES])
    )
    detail.connections = get("connections", lambda: _connections(proc.net_connections("inet")))
    detail.environ = get("environ", lambda: dict(proc.environ()))
    try:
        detail.cgroup = read_cgroup(pid, proc_root)
    except PermissionError:
        denied.append("cgroup")
    except (ProcessLookupError, OSError):
        detail.cgroup = None
    detail.container = guess_container(detail.cgroup)
    if os.path.isdir(f"{proc_root}/{pid}"):  # Linux: memory by kind, the cgroup's limit
        try:
            detail.smaps = read_smaps_rollup(pid, proc_root) if smaps else None
        except AccessDenied:
            denied.append("smaps")
        detail.cgroup_memory = read_cgroup_memory(pid, proc_root)
    # The process may have exited while we read it: say so rather than show a half-empty pane.
    with contextlib.suppress(ps.Error):
        if not proc.is_running():
            raise ProcessGone(pid)
    detail.denied = tuple(denied)
    return detail


def _memory(info: Any) -> MemoryInfo:
    return MemoryInfo(int(info.rss), int(info.vms), int(getattr(info, "shared", 0)))


def _cpu_times(times: Any) -> tuple[float, float]:
    return (float(times.user), float(times.system))


def _io(counters: Any) -> IoTotals:
    return IoTotals(
        int(counters.read_bytes),
        int(counters.write_bytes),
        int(counters.read_count),
        int(counters.write_count),
    )


def _ctx(switches: Any) -> tuple[int, int]:
    return (int(switches.voluntary), int(switches.involuntary))


def _threads(threads: Any) -> tuple[ThreadTimes, ...]:
    return tuple(ThreadTimes(int(t.id), float(t.user_time), float(t.system_time)) for t in threads)


def _connections(conns: Any) -> tuple[Connection, ...]:
    return tuple(Connection(_address(c.laddr), _address(c.raddr), str(c.status)) for c in conns)
