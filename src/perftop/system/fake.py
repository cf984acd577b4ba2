"""A deterministic machine for snapshot tests, the screenshot script and demos.

`FakeSystemSampler` and `FakeProcessCollector` have the same `sample()` as the live
collectors, but every value is a smooth function of a tick counter: no clock, no
randomness, so two runs draw the same screen. Timestamps start at 2026-01-01 00:00 UTC.
The machine: 4 cores, 16 GiB RAM, 2 GiB swap, disks sda and nvme0n1, interfaces eth0 and lo,
one CPU temperature, and ~30 processes in a tree (systemd, sshd → bash → python3 app.py,
postgres and its workers, nginx and its workers, kernel threads).

Two processes show what the growth model (growth.py) is for: the app (2301) leaks a MiB every
ten ticks inside a cgroup limited to 1 GiB, so it is a leak suspect due to run out within the
hour once the window has filled; the postgres backend running a query (2210) allocates
and frees, a sawtooth that must never be flagged. The fake machine runs as alice: the memory
maps (smaps_rollup) of other users' processes are unreadable, as they would be, and so are
their sockets: their NET/s is `-`. Its network, WAIT%, containers, cgroup tree and pressure
are in fake_extras.py; it runs on the host, not in a container, unless asked to
(`FakeSystemSampler(container=...)`).
"""

from __future__ import annotations

import functools
import math
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perftop.system.cgroup_memory import CgroupMemory
from perftop.system.detail import MemoryInfo, ProcessDetail
from perftop.system.errors import AccessDenied, ProcessGone
from perftop.system.fake_extras import (
    CGROUP_OF,
    LABEL_OF,
    connections_of,
    htop_figures,
    net_of,
    pressure_at,
    wait_of,
)
from perftop.system.fake_nvml import FakeGpuUser, FakeNvml
from perftop.system.gpu import GpuReader
from perftop.system.memprobe import MemoryProbe
from perftop.system.samples import (
    ContainerSample,
    CpuSample,
    DiskSample,
    MemorySample,
    NetSample,
    ProcessRow,
    ProcessSnapshot,
    SystemSample,
    TempSample,
)
from perftop.system.smaps import SmapsRollup
from perftop.system.threads import thread_row

EPOCH = 1_767_225_600.0
GIB = 1024**3
MIB = 1024**2
CORES = 4
MEM_TOTAL = 16 * GIB
SWAP_TOTAL = 2 * GIB
BOOT_AGE_S = 3 * 86400 + 4 * 3600 + 17 * 60  # uptime at tick 0
# Signals whose default action ends a process (what the fake machine does with them).
_ENDING_SIGNALS = frozenset(
    {signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGABRT}
)
LEAKER, SAWTOOTH = 2301, 2210
LEAKER_CGROUP = "/user.slice/user-1000.slice/app.service"
LEAKER_LIMIT = 1 * GIB
# The sawtooth: a query allocating up to SAW_MIB over SAW_TICKS ticks, then freeing it all and
# idling two ticks. Its phase puts ticks 39 and 40, the moments the snapshot tests picture, in
# the trough: their RSS column reads as it did before the sawtooth was added.
SAW_MIB, SAW_TICKS = 24.0, 20
FAKE_USER = "alice"  # whom the fake perftop runs as
# With GPUs (FakeSystemSampler(gpus=)): the app trains on the first, its worker on the second.
GPU_USERS = {
    2301: FakeGpuUser(gpu=0, sm=78.0, memory_bytes=18 * GIB),
    2302: FakeGpuUser(gpu=1, sm=35.0, memory_bytes=6 * GIB),
}


def _wave(tick: int, period: float, phase: float = 0.0) -> float:
    """A smooth value in -1..1 that repeats every `period` ticks."""
    return math.sin(2 * math.pi * tick / period + phase)


def _clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    return min(max(value, low), high)


class FakeSystemSampler:
    """The fake machine's meters; each `sample()` is one tick later than the previous.
    `pressure`: False for a kernel without PSI; `container`: run inside one, limited to
    `(cores, memory bytes)`; `gpus`: that many NVIDIA GPUs, read through `GpuReader` from a
    fake NVML (fake_nvml.py) as the live machine's are, or through the library `nvml` makes
    from the tick being sampled (a test's own)."""

    def __init__(
        self,
        start_tick: int = 0,
        *,
        pressure: bool = True,
        container: tuple[float, int] | None = None,
        gpus: int = 0,
        nvml: Callable[[Callable[[], int]], Any] | None = None,
    ) -> None:
        self.tick = start_tick
        self.pressure = pressure
        self.container = container
        if nvml is None and gpus:
            nvml = functools.partial(FakeNvml, gpus, users=GPU_USERS)
        # No GPUs: a reader that never looks for a driver.
        self.gpu = GpuReader(None if nvml is None else nvml(self._sampling), present=lambda: False)

    def _sampling(self) -> int:
        """The tick `sample()` is taking (it counts on at its start)."""
        return self.tick - 1

    def sample(self) -> SystemSample:
        t = self.tick
        self.tick += 1
        base = (38.0, 22.0, 64.0, 12.0)
        cores = tuple(_clamp(b + 14.0 * _wave(t, 23 + 4 * i, i)) for i, b in enumerate(base))
        total = sum(cores) / CORES
        cpu = CpuSample(
            total_percent=total,
            user_percent=total * 0.68,
            system_percent=total * 0.26,
            iowait_percent=total * 0.06,
            per_core_percent=cores,
            freq_mhz=2800.0 + 400.0 * _wave(t, 31),
            freq_max_mhz=3600.0,
        )
        used = int(6.2 * GIB + 0.6 * GIB * _wave(t, 97))
        cached, buffers = int(5.1 * GIB), 310 * MIB
        free = MEM_TOTAL - used - cached - buffers
        memory = MemorySample(
            total_bytes=MEM_TOTAL,
            used_bytes=used,
            available_bytes=free + cached + buffers,
            free_bytes=free,
            cached_bytes=cached,
            buffers_bytes=buffers,
            swap_total_bytes=SWAP_TOTAL,
            swap_used_bytes=int(260 * MIB + 20 * MIB * _wave(t, 211)),
        )
        return SystemSample(
            timestamp=EPOCH + t,
            cpu=cpu,
            memory=memory,
            disks=(
                self._disk("nvme0n1", t, 2.4 * MIB, 6.1 * MIB, 0.0),
                self._disk("sda", t, 180_000.0, 420_000.0, 1.3),
            ),
            nets=(
                self._net("eth0", t, 1.8 * MIB, 310_000.0, 0.4),
                self._net("lo", t, 42_000.0, 42_000.0, 2.2),
            ),
            temps=(TempSample("coretemp Package id 0", 52.0 + 6.0 * _wave(t, 41), 84.0, 100.0),),
            load_avg=(
                1.9 + 0.5 * _wave(t, 60),
                1.7 + 0.3 * _wave(t, 300),
                1.5 + 0.1 * _wave(t, 900),
            ),
            uptime_s=float(BOOT_AGE_S + t),
            core_count=CORES,
            hostname="demo-host",
            pressure=pressure_at(t) if self.pressure else None,
            container=self._container(t),
            gpus=self.gpu.sample(),
            notice=self.gpu.untold_error(),
        )

    def _container(self, t: int) -> ContainerSample | None:
        if self.container is None:
            return None
        cores, memory = self.container
        return ContainerSample(
            how="/.dockerenv",
            cpu_limit_cores=cores,
            cpu_percent=None if t == 0 else _clamp(70.0 + 20.0 * _wave(t, 29)),
            memory_limit_bytes=memory,
            memory_used_bytes=int(memory * (0.55 + 0.1 * _wave(t, 53))),
        )

    @staticmethod
    def _disk(name: str, t: int, read: float, write: float, phase: float) -> DiskSample:
        r = read * (1.0 + 0.8 * _wave(t, 17, phase))
        w = write * (1.0 + 0.8 * _wave(t, 13, phase + 1.0))
        # Totals grow by the mean rate a tick: monotonic, as real counters are.
        return DiskSample(
            name=name,
            read_bytes_per_s=r,
            write_bytes_per_s=w,
            read_ops_per_s=r / 16_384,
            write_ops_per_s=w / 8_192,
            read_bytes_total=int(40 * GIB + read * t),
            write_bytes_total=int(90 * GIB + write * t),
        )

    @staticmethod
    def _net(name: str, t: int, rx: float, tx: float, phase: float) -> NetSample:
        r = rx * (1.0 + 0.7 * _wave(t, 19, phase))
        w = tx * (1.0 + 0.7 * _wave(t, 29, phase))
        return NetSample(
            name=name,
            rx_bytes_per_s=r,
            tx_bytes_per_s=w,
            rx_packets_per_s=r / 1_200,
            tx_packets_per_s=w / 900,
            rx_bytes_total=int(12 * GIB + rx * t),
            tx_bytes_total=int(3 * GIB + tx * t),
        )


@dataclass(frozen=True, slots=True)
class _FakeProc:
    pid: int
    ppid: int
    name: str
    user: str
    cmdline: str  # '' for a kernel thread
    cpu: float  # mean CPU%, per core
    rss_mib: float
    threads: int = 1
    io: float | None = 0.0  # mean bytes/s read+write; None: not readable
    age_s: float = BOOT_AGE_S
    state: str = "S"
    nice: int = 0


_PROCS: tuple[_FakeProc, ...] = (
    _FakeProc(1, 0, "systemd", "root", "/sbin/init splash", 0.1, 12.5),
    _FakeProc(2, 0, "kthreadd", "root", "", 0.0, 0.0),
    _FakeProc(13, 2, "ksoftirqd/0", "root", "", 0.3, 0.0),
    _FakeProc(15, 2, "rcu_preempt", "root", "", 0.2, 0.0),
    _FakeProc(16, 2, "migration/0", "root", "", 0.0, 0.0),
    _FakeProc(88, 2, "kworker/0:1-events", "root", "", 0.4, 0.0, state="I"),
    _FakeProc(91, 2, "kworker/1:2-mm_percpu_wq", "root", "", 0.1, 0.0, state="I"),
    _FakeProc(305, 1, "systemd-journal", "root", "/lib/systemd/systemd-journald", 0.3, 48.0),
    _FakeProc(331, 1, "systemd-udevd", "root", "/lib/systemd/systemd-udevd", 0.0, 7.1),
    _FakeProc(612, 1, "dbus-daemon", "messagebus", "@dbus-daemon --system", 0.0, 5.2, io=None),
    _FakeProc(640, 1, "cron", "root", "/usr/sbin/cron -f", 0.0, 2.9),
    _FakeProc(655, 1, "rsyslogd", "syslog", "/usr/sbin/rsyslogd -n -iNONE", 0.1, 6.0, 4),
    _FakeProc(702, 1, "containerd", "root", "/usr/bin/containerd", 0.6, 44.0, 14),
    _FakeProc(811, 1, "sshd", "root", "sshd: /usr/sbin/sshd -D [listener]", 0.0, 8.4),
    _FakeProc(820, 1, "nginx", "root", "nginx: master process /usr/sbin/nginx", 0.0, 3.1),
    _FakeProc(821, 820, "nginx", "www-data", "nginx: worker process", 1.2, 9.8),
    _FakeProc(822, 820, "nginx", "www-data", "nginx: worker process", 0.9, 9.6),
    _FakeProc(
        900,
        1,
        "postgres",
        "postgres",
        "/usr/lib/postgresql/16/bin/postgres -D /var/lib/postgresql/16/main",
        0.2,
        31.0,
    ),
    _FakeProc(905, 900, "postgres", "postgres", "postgres: 16/main: checkpointer", 0.1, 12.0),
    _FakeProc(906, 900, "postgres", "postgres", "postgres: 16/main: background writer", 0.2, 9.0),
    _FakeProc(908, 900, "postgres", "postgres", "postgres: 16/main: walwriter", 0.3, 8.2),
    _FakeProc(909, 900, "postgres", "postgres", "postgres: 16/main: autovacuum launcher", 0.0, 7.7),
    _FakeProc(
        2210,
        900,
        "postgres",
        "postgres",
        "postgres: 16/main: app appdb 10.0.0.5(51234) SELECT",
        18.0,
        86.0,
        age_s=3_600,
    ),
    _FakeProc(1500, 811, "sshd", "root", "sshd: alice [priv]", 0.0, 11.0, age_s=7_200),
    _FakeProc(1512, 1500, "sshd", "alice", "sshd: alice@pts/0", 0.2, 7.0, age_s=7_200),
    _FakeProc(1513, 1512, "bash", "alice", "-bash", 0.0, 5.5, age_s=7_200),
    _FakeProc(
        2301,
        1513,
        "python3",
        "alice",
        "python3 app.py --workers 4",
        92.0,
        812.0,
        9,
        age_s=1_800,
        state="R",
    ),
    _FakeProc(
        2302,
        2301,
        "python3",
        "alice",
        "python3 -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5)",
        6.0,
        96.0,
        2,
        age_s=1_800,
    ),
    _FakeProc(2410, 1513, "sh", "alice", "sh", 0.0, 0.0, io=None, age_s=60, state="Z"),
    _FakeProc(
        2420,
        1513,
        "perftop",
        "alice",
        "/usr/bin/python3 /usr/local/bin/perftop",
        2.1,
        38.0,
        3,
        age_s=30,
        nice=5,
    ),
)


class FakeProcessCollector:
    """The fake machine's process table; each `sample()` is one tick later.

    Acting on it (signals, renice) changes the fake machine and nothing else: a signal that
    ends a process removes its row, SIGSTOP and SIGCONT change its state, renice its nice.
    """

    def __init__(self, start_tick: int = 0) -> None:
        self.tick = start_tick
        self.gone: set[int] = set()  # ended by a signal
        self.stopped: set[int] = set()  # SIGSTOP'd
        self.nice: dict[int, int] = {}  # reniced
        self.signals: list[tuple[int, int]] = []  # (pid, signal) as sent, for tests
        self.with_threads = False  # the user threads as rows too (SystemSource.want)

    def _find(self, pid: int) -> _FakeProc:
        for p in _PROCS:
            if p.pid == pid and pid not in self.gone:
                return p
        raise ProcessGone(pid)

    def start_time(self, pid: int) -> float | None:
        return EPOCH - self._find(pid).age_s

    def send_signal(self, pid: int, sig: int, start_time: float | None = None) -> None:
        proc = self._find(pid)
        if start_time is not None and abs(EPOCH - proc.age_s - start_time) > 1.0:
            raise ProcessGone(pid, reused=True)
        self.signals.append((pid, sig))
        if sig in (signal.SIGSTOP, signal.SIGTSTP):
            self.stopped.add(pid)
        elif sig == signal.SIGCONT:
            self.stopped.discard(pid)
        elif sig in _ENDING_SIGNALS:
            self.gone.add(pid)

    def renice(self, pid: int, delta: int) -> int:
        proc = self._find(pid)
        value = max(-20, min(19, self.nice.get(pid, proc.nice) + delta))
        self.nice[pid] = value
        return value

    def rss_bytes(self, p: _FakeProc, t: int) -> int:
        """The process's RSS at tick `t`: flat, but for the leaker and the sawtooth."""
        mib = p.rss_mib
        if p.pid == LEAKER:
            mib += t / 10  # a MiB every ten ticks
        elif p.pid == SAWTOOTH:
            mib += SAW_MIB * max((t + 1) % SAW_TICKS - 1, 0) / SAW_TICKS
        return int(mib * MIB)

    def probe_memory(self, pid: int) -> MemoryProbe:
        p = self._find(pid)
        try:
            smaps: SmapsRollup | None = self._smaps(p)
        except AccessDenied:
            smaps = None
        return MemoryProbe(smaps, smaps is None, self._cgroup(p))

    def _smaps(self, p: _FakeProc) -> SmapsRollup:
        if p.user != FAKE_USER:
            raise AccessDenied(p.pid, "read the memory map of")
        rss = self.rss_bytes(p, max(self.tick - 1, 0))
        anonymous = rss - int(p.rss_mib * MIB * 0.15)  # what grows is the heap
        shared = int(p.rss_mib * MIB * 0.05)
        return SmapsRollup(
            rss_bytes=rss,
            pss_bytes=rss - shared // 2,
            anonymous_bytes=anonymous,
            file_bytes=rss - anonymous,
            shared_bytes=shared,
            swap_bytes=0,
            uss_bytes=rss - shared,
        )

    def _cgroup(self, p: _FakeProc) -> CgroupMemory | None:
        if p.pid != LEAKER:
            return None
        usage = self.rss_bytes(p, max(self.tick - 1, 0)) + 16 * MIB
        return CgroupMemory(LEAKER_CGROUP, LEAKER_LIMIT, usage, 2)

    def read_detail(self, pid: int) -> ProcessDetail:
        p = self._find(pid)
        t = max(self.tick - 1, 0)
        rss = self.rss_bytes(p, t)
        try:
            smaps: SmapsRollup | None = self._smaps(p)
            denied: tuple[str, ...] = ()
        except AccessDenied:
            smaps, denied = None, ("smaps",)
        return ProcessDetail(
            pid=pid,
            name=p.name,
            cmdline=tuple(p.cmdline.split()),
            cwd="/",
            exe=f"/usr/bin/{p.name}",
            user=p.user,
            status="stopped" if pid in self.stopped else "sleeping",
            create_time=EPOCH - p.age_s,
            num_threads=p.threads,
            nice=self.nice.get(pid, p.nice),
            memory=MemoryInfo(rss, int(p.rss_mib * MIB * 4), 0),
            cgroup=f"0::{CGROUP_OF.get(pid, '/')}\n",
            container=LABEL_OF.get(pid) or None,
            smaps=smaps,
            cgroup_memory=self._cgroup(p),
            denied=denied,
            tcp=connections_of(pid, t) if p.user == FAKE_USER else None,
            tcp_at=EPOCH + t if p.user == FAKE_USER else None,
            wait_percent=None if t == 0 else wait_of(pid, p.state, t),
            wait_at=EPOCH + t,
        )

    def sample(self) -> ProcessSnapshot:
        snapshot = self.rows_at(self.tick)
        self.tick += 1
        return snapshot

    def rows_at(self, t: int) -> ProcessSnapshot:
        """The table at tick `t`, as it stands after what was done to it."""
        rows: dict[int, ProcessRow] = {}
        for i, p in enumerate(_PROCS):
            if p.pid in self.gone:
                continue
            wobble = _wave(t, 11 + i % 7, i)
            cpu = _clamp(p.cpu * (1.0 + 0.3 * wobble), 0.0, 100.0 * CORES) if p.cpu else 0.0
            rss = self.rss_bytes(p, t)
            io = None if p.io is None else (p.cpu + 0.5) * 40_000.0 * (1.0 + wobble)
            state = p.state
            if p.pid == 88 and t % 2:
                state = "R"
            if p.pid in self.stopped:
                state = "T"
            rx, tx = net_of(p.pid, p.user, FAKE_USER, t)
            nice = self.nice.get(p.pid, p.nice)
            htop = htop_figures(p.pid, not p.cmdline, p.cpu, p.rss_mib, rss, p.age_s + t, nice)
            rows[p.pid] = ProcessRow(
                pid=p.pid,
                ppid=p.ppid,
                name=p.name,
                user=p.user,
                state=state,
                cpu_percent=cpu,
                mem_percent=100.0 * rss / MEM_TOTAL,
                rss_bytes=rss,
                num_threads=p.threads,
                read_bytes_per_s=None if io is None else io * 0.3,
                write_bytes_per_s=None if io is None else io * 0.7,
                start_time=EPOCH - p.age_s,
                cmdline=p.cmdline,
                nice=nice,
                net_rx_bytes_per_s=None if t == 0 else rx,
                net_tx_bytes_per_s=None if t == 0 else tx,
                wait_percent=None if t == 0 else wait_of(p.pid, state, t),
                container=LABEL_OF.get(p.pid, ""),
                cgroups=(CGROUP_OF.get(p.pid, "/"),),
                **htop._asdict(),  # TIME+ … MAJFLT, named as ProcessRow names them
            )
        threads = _threads_of(rows) if self.with_threads else {}
        return ProcessSnapshot(EPOCH + t, rows, CORES, net_at=EPOCH + t, threads=threads)


def _threads_of(rows: dict[int, ProcessRow]) -> dict[int, ProcessRow]:
    """Each multi-threaded process's other threads, TIDs `pid * 100 + k`, sharing its CPU%."""
    out: dict[int, ProcessRow] = {}
    for pid, row in rows.items():
        if row.num_threads < 2 or not row.cmdline:
            continue
        share = row.cpu_percent / row.num_threads
        for k in range(1, row.num_threads):
            tid = pid * 100 + k
            out[tid] = thread_row(
                row, tid, state="S", cpu_percent=share * (1.0 + 0.5 * ((k % 3) - 1))
            )
    return out
