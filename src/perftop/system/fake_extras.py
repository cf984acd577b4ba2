"""The fake machine's (fake.py) network, waiting, containers and cgroups: what issue 17's
columns, detail lines, meters and cgroup view show on it, as smooth functions of the tick;
and htop's columns (TIME+, PRI, VIRT, SHR, TTY, the page faults).

It runs as alice, not root, so, as on a real machine (netsockets.NOT_COUNTED), only her
processes' sockets are counted: the others' NET/s reads `-`. Its postgres runs in a docker
container named `db`; the app that leaks (fake.LEAKER) is a systemd user service with a CPU
quota of two cores and the 1 GiB memory limit fake.py gives it; there is no delay accounting,
so BLKIO is unknown, as on a stock kernel since 5.14.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from perftop.system.cgroups import CgroupSnapshot, CgroupStats
from perftop.system.containers import Container, ContainerNames, parse_container
from perftop.system.netsockets import Connection
from perftop.system.pressure import Pressure, PressureLine, PressureSet
from perftop.system.samples import ProcessRow

if TYPE_CHECKING:
    from perftop.system.fake import FakeProcessCollector

DB_ID = "9c41d2e87b3a" + "0f" * 26
DB_SCOPE = f"/system.slice/docker-{DB_ID}.scope"
APP_SERVICE = "/user.slice/user-1000.slice/app.service"  # fake.LEAKER_CGROUP
SESSION = "/user.slice/user-1000.slice/session-3.scope"
GIB = 1024**3
MIB = 1024**2

# Each fake process's cgroup (kernel threads: the root group).
CGROUP_OF: dict[int, str] = {
    1: "/init.scope",
    305: "/system.slice/systemd-journald.service",
    331: "/system.slice/systemd-udevd.service",
    612: "/system.slice/dbus.service",
    640: "/system.slice/cron.service",
    655: "/system.slice/rsyslog.service",
    702: "/system.slice/containerd.service",
    811: "/system.slice/ssh.service",
    820: "/system.slice/nginx.service",
    821: "/system.slice/nginx.service",
    822: "/system.slice/nginx.service",
    900: DB_SCOPE,
    905: DB_SCOPE,
    906: DB_SCOPE,
    908: DB_SCOPE,
    909: DB_SCOPE,
    2210: DB_SCOPE,
    1500: SESSION,
    1512: SESSION,
    1513: SESSION,
    2410: SESSION,
    2420: SESSION,
    2301: APP_SERVICE,
    2302: APP_SERVICE,
}


def _label(path: str) -> str:
    c = parse_container(path)
    if c is None:
        return ""
    return (c._replace(name="db") if c.runtime == "docker" else c).label()


LABEL_OF = {pid: _label(path) for pid, path in CGROUP_OF.items()}


class FakeNames(ContainerNames):
    """The fake docker's one name, without its state files."""

    def _look_up(self, c: Container) -> str | None:
        return "db" if c.id == DB_ID else None


def _wave(tick: int, period: float, phase: float = 0.0) -> float:
    return math.sin(2 * math.pi * tick / period + phase)


@dataclass(frozen=True, slots=True)
class _Traffic:
    rx: float  # mean bytes/s
    tx: float
    peers: tuple[tuple[str, str], ...]  # (local, remote) of its connections


# Alice's processes that talk: the app serving clients and querying the database, her ssh.
TRAFFIC: dict[int, _Traffic] = {
    2301: _Traffic(
        1.3 * 1024**2,
        160_000.0,
        (
            ("10.0.0.7:8000", "10.0.0.31:52114"),
            ("10.0.0.7:8000", "10.0.0.44:60871"),
            ("10.0.0.7:41220", "10.0.0.5:5432"),
        ),
    ),
    2302: _Traffic(2_000.0, 800.0, (("10.0.0.7:41236", "10.0.0.5:5432"),)),
    1512: _Traffic(180.0, 1_400.0, (("10.0.0.7:22", "192.168.1.20:50412"),)),
}
# Mean WAIT%: the app's nine threads queue behind the busy cores; the query waits a little.
WAIT: dict[int, float] = {2301: 14.0, 2302: 3.0, 2210: 6.0, 821: 0.4, 822: 0.3, 2420: 0.3}


def net_of(pid: int, user: str, me: str, t: int) -> tuple[float | None, float | None]:
    """(rx, tx) bytes/s of a fake process at tick `t`; None for another user's (uncounted)."""
    if user != me:
        return None, None
    traffic = TRAFFIC.get(pid)
    if traffic is None:
        return 0.0, 0.0
    w = _wave(t, 9 + pid % 5, pid)
    return traffic.rx * (1.0 + 0.5 * w), traffic.tx * (1.0 - 0.4 * w)


def connections_of(pid: int, t: int) -> tuple[Connection, ...]:
    """Its connections at tick `t`, busiest first, the traffic split between them."""
    traffic = TRAFFIC.get(pid)
    if traffic is None:
        return ()
    rx, tx = net_of(pid, "", "", t)
    n = len(traffic.peers)
    out = []
    for i, (local, remote) in enumerate(traffic.peers):
        share = (n - i) / (n * (n + 1) / 2)  # the first gets the most
        r, w = (rx or 0.0) * share, (tx or 0.0) * share
        out.append(Connection(local, remote, "ESTABLISHED", r, w, int(r * 3600), int(w * 3600)))
    return tuple(out)


def wait_of(pid: int, state: str, t: int) -> float | None:
    if state == "Z":
        return None  # a zombie has no schedstat
    mean = WAIT.get(pid, 0.0)
    return max(mean * (1.0 + 0.4 * _wave(t, 7 + pid % 3, pid)), 0.0)


# htop's columns. Alice's session runs on /dev/pts/0 (sshd holds the other end: no terminal);
# migration/0 is real-time (SCHED_FIFO 99), which PRI shows as RT.
PTS0 = 136 << 8
ON_PTS0 = frozenset({1513, 2301, 2302, 2410, 2420})
REAL_TIME = frozenset({16})
PAGE = 4096


class HtopFigures(NamedTuple):
    cpu_time_s: float
    priority: int
    virt_bytes: int
    shared_bytes: int
    tty_nr: int
    minor_faults: int
    major_faults: int


def htop_figures(
    pid: int, kernel: bool, cpu: float, rss_mib: float, rss: int, life_s: float, nice: int
) -> HtopFigures:
    """A fake process's TIME+ … MAJFLT: `cpu` its mean CPU% over its `life_s` so far, `rss`
    now against its usual `rss_mib`. A kernel thread maps no memory of its own."""
    priority = -100 if pid in REAL_TIME else 20 + nice
    cpu_time = round(cpu / 100.0 * life_s, 2)  # in the kernel's ticks: hundredths
    tty = PTS0 if pid in ON_PTS0 else 0
    if kernel:
        return HtopFigures(cpu_time, priority, 0, 0, tty, 0, 0)
    usual = int(rss_mib * MIB)
    return HtopFigures(
        cpu_time_s=cpu_time,
        priority=priority,
        virt_bytes=rss + 3 * usual,  # the detail pane's VMS (fake.py) at its usual RSS
        shared_bytes=usual * 3 // 10 // PAGE * PAGE,  # libraries and the like: flat
        tty_nr=tty,
        minor_faults=rss // PAGE + int(cpu * life_s * 2),  # each page touched, then as it runs
        major_faults=int(rss_mib * 1.5),  # its binary and libraries read in at start
    )


def _line(avg10: float, total_s: float) -> PressureLine:
    return PressureLine(avg10, avg10 * 0.8, avg10 * 0.6, int(total_s * 1e6))


def pressure_at(t: int) -> PressureSet:
    """The machine's PSI: CPU contended (the app's threads), a little I/O, no memory."""
    cpu = max(9.0 + 6.0 * _wave(t, 37), 0.0)
    io = max(2.0 + 1.5 * _wave(t, 23, 1.0), 0.0)
    return PressureSet(
        cpu=Pressure(_line(cpu, 4_000 + t * 0.09), _line(0.0, 0.0)),
        memory=Pressure(_line(0.1, 12 + t * 0.001), _line(0.0, 3.0)),
        io=Pressure(_line(io, 900 + t * 0.02), _line(io * 0.4, 300 + t * 0.008)),
    )


class FakeCgroups:
    """The cgroup tree of the fake machine's processes as its table shows them now; rates
    are the table's, so the view and the table agree."""

    def __init__(self, table: FakeProcessCollector) -> None:
        self._table = table
        self._reads = 0

    def sample(self) -> CgroupSnapshot:
        self._reads += 1
        table = self._table
        snapshot = table.rows_at(max(table.tick - 1, 0))
        members: dict[str, list[int]] = {}
        for pid in snapshot.rows:
            members.setdefault(CGROUP_OF.get(pid, "/"), []).append(pid)
        paths = {"/"}
        for path in CGROUP_OF.values():
            parts = path.strip("/").split("/")
            paths.update("/" + "/".join(parts[: i + 1]) for i in range(len(parts)))
        ordered = sorted(paths, key=lambda p: [s for s in p.split("/") if s])
        groups = []
        first = self._reads == 1
        for path in ordered:
            under = [
                pid
                for group, pids in members.items()
                if path == "/" or group == path or group.startswith(path + "/")
                for pid in pids
            ]
            rows = [snapshot.rows[p] for p in under]
            own = tuple(sorted(members.get(path, [])))
            groups.append(_stats(path, own, len(under), rows, table.tick, first))
        return CgroupSnapshot(snapshot.timestamp, "v2", tuple(groups), None if first else 1.0)


def _stats(
    path: str, own: tuple[int, ...], total: int, rows: list[ProcessRow], t: int, first: bool
) -> CgroupStats:
    cpu = sum(r.cpu_percent for r in rows)
    rss = sum(r.rss_bytes for r in rows)
    io = sum((r.read_bytes_per_s or 0.0) + (r.write_bytes_per_s or 0.0) for r in rows)
    depth = 0 if path == "/" else path.count("/")
    quota = memory_limit = None
    throttled = None
    if path == APP_SERVICE:
        quota, memory_limit = 2.0, GIB
        throttled = 0.0 if first else min(max(cpu - 90.0, 0.0) * 4.0, 100.0)
    elif path == DB_SCOPE:
        memory_limit = 2 * GIB
    psi = None
    if path in (APP_SERVICE, "/"):
        level = pressure_at(t).cpu
        psi = PressureSet(level, Pressure(_line(0.0, 0.0), None), None)
    return CgroupStats(
        path=path,
        depth=depth,
        procs=len(own),
        procs_total=total,
        pids=own,
        cpu_percent=None if first else cpu,
        cpu_usage_s=40_000.0 + t * cpu / 100.0,
        quota_cores=quota,
        effective_quota_cores=quota,
        nr_periods=None if quota is None else 10 * t,
        nr_throttled=None if quota is None else 4 * t,
        throttled_s=None if quota is None else 0.02 * t,
        throttled_percent=throttled,
        memory_bytes=rss,
        memory_limit_bytes=memory_limit,
        effective_memory_limit_bytes=memory_limit,
        oom_kills=0 if memory_limit is not None else None,
        io_read_bytes=None,
        io_write_bytes=None,
        io_read_bytes_per_s=None if first else io * 0.3,
        io_write_bytes_per_s=None if first else io * 0.7,
        pressure=psi,
        versions=(2,),
    )
