"""Which process uses the network: TCP bytes received and sent a second by each process, and
its connections, from the kernel's per-socket counters (sockdiag.py) mapped to processes
through the socket inodes their /proc/PID/fd links name.

The dump of every socket is cheap (one netlink exchange); finding which process holds a
socket is not (a readlink for every open file of every process), so the map from inode to
process is kept and only mended when the dump names a socket it does not know: first the
processes never looked at, then those already holding sockets (a server accepting, a client
connecting), and only then, at most every FULL_RESCAN_S, all of them. A socket still unknown
after that (one no readable process holds) is not looked for again while it lives. Its cost is
measured as it runs (thread CPU time), and a read comes no sooner than `budget_percent` of a
core allows; between reads `sample()` gives the last snapshot, whose `timestamp` says how old.

Rates are per socket between two reads (by its cookie, so a reused inode or port never
mixes two sockets), summed per process; a socket opened since the previous read counts from
zero. A socket held by several processes (inherited across fork) is counted once, for the
highest PID, the child doing the work as a rule.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from perftop.system.sockdiag import DiagError, SockDiag, TcpSocket

NOT_COUNTED = (
    "NET/s counts TCP bytes (IPv4 and IPv6) of the sockets perftop can see: not UDP, QUIC, "
    "raw or Unix sockets, not processes in another network namespace (containers with their "
    "own network) and, without root, not other users' processes; those show '-'. A socket "
    "closed between two reads takes its last interval's bytes with it."
)
FULL_RESCAN_S = 5.0
DEFAULT_BUDGET_PERCENT = 0.5  # of one core: what this part may cost on average
MAX_INTERVAL_S = 10.0  # however dear a read, a figure at least this fresh
_SOCKET = "socket:["
_GONE = object()


@dataclass(frozen=True, slots=True)
class Connection:
    """One TCP connection of a process, for the detail pane."""

    local: str
    remote: str
    state: str
    rx_bytes_per_s: float | None
    tx_bytes_per_s: float | None
    rx_bytes: int | None  # since the socket opened
    tx_bytes: int | None


@dataclass(frozen=True, slots=True)
class ProcessNet:
    pid: int
    rx_bytes_per_s: float | None
    tx_bytes_per_s: float | None
    # (socket, rx/s, tx/s): what `connections()` shows, formatted only when asked for
    sockets: tuple[tuple[TcpSocket, float | None, float | None], ...] = ()

    def connections(self) -> list[Connection]:
        """Its connections, busiest first."""
        out = [
            Connection(s.local, s.remote, s.state_name, rx, tx, s.bytes_received, s.bytes_acked)
            for s, rx, tx in self.sockets
        ]
        out.sort(key=_busiest)
        return out

    @property
    def bytes_per_s(self) -> float | None:
        if self.rx_bytes_per_s is None or self.tx_bytes_per_s is None:
            return None
        return self.rx_bytes_per_s + self.tx_bytes_per_s


@dataclass(frozen=True, slots=True)
class NetSnapshot:
    timestamp: float  # wall clock of the read
    interval_s: float | None  # the rates' interval; None on the first read
    processes: dict[int, ProcessNet] = field(default_factory=dict)  # those holding sockets
    uncounted: frozenset[int] = frozenset()  # another netns, or fds not readable
    error: str | None = None  # sock_diag unusable: nothing is counted
    cost_s: float = 0.0  # thread CPU time of the read

    def of(self, pid: int) -> ProcessNet | None:
        """A process's figures: zero for one without sockets, None where not counted."""
        if self.error is not None or pid in self.uncounted or self.interval_s is None:
            return None
        return self.processes.get(pid) or ProcessNet(pid, 0.0, 0.0)

    def age_s(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.timestamp


def socket_inodes(fd_dir: str) -> frozenset[int] | None:
    """The socket inodes a /proc/PID/fd directory links to; None where it is unreadable."""
    try:
        dfd = os.open(fd_dir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        names = os.listdir(dfd)
        found: set[int] = set()
        for name in names:
            try:
                link = os.readlink(name, dir_fd=dfd)
            except OSError:
                continue  # closed meanwhile
            if link.startswith(_SOCKET) and link.endswith("]") and link[8:-1].isdigit():
                found.add(int(link[8:-1]))
        return frozenset(found)
    except OSError:
        return None
    finally:
        os.close(dfd)


@dataclass(slots=True)
class _Held:
    key: object  # start time, where the caller gives one: a reused PID is read afresh
    countable: bool  # in perftop's network namespace (and that could be read)
    inodes: frozenset[int] | None = None  # None: not looked at yet, or fds unreadable
    looked: bool = False


class NetSampler:
    """Per-process TCP rates and connections; `sample()` is called every tick and reads only
    as often as its budget allows."""

    def __init__(
        self,
        proc_root: str = "/proc",
        *,
        budget_percent: float = DEFAULT_BUDGET_PERCENT,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.thread_time,
        diag: SockDiag | None = None,
    ) -> None:
        self.proc_root = proc_root
        self.budget_percent = budget_percent
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._diag = diag or SockDiag()
        self._netns = self._netns_of("self")
        self._uid = os.geteuid()
        self._held: dict[int, _Held] = {}
        self._owner: dict[int, int] | None = {}  # inode -> PID; None: to be rebuilt
        self._orphans: set[int] = set()  # inodes no readable process holds
        self._last_full: float | None = None
        self._bytes: dict[int, tuple[int, int]] = {}  # cookie -> (acked, received)
        self._last_at: float | None = None
        self._next_at = 0.0
        self.snapshot = NetSnapshot(time.time(), None)

    def close(self) -> None:
        self._diag.close()

    def due(self) -> bool:
        return self._clock() >= self._next_at

    def sample(
        self, pids: Iterable[int] | Mapping[int, object] | None = None, *, force: bool = False
    ) -> NetSnapshot:
        """A fresh snapshot when due (or `force`), else the last one. `pids`: the processes
        to map (a mapping's values, their start times, tell a reused PID); None: all."""
        if not force and not self.due():
            return self.snapshot
        cpu0 = self._cpu_clock()
        snapshot = self._read(pids)
        cost = max(self._cpu_clock() - cpu0, 0.0)
        wait = cost * 100.0 / self.budget_percent if self.budget_percent > 0 else 0.0
        self._next_at = self._clock() + min(wait, MAX_INTERVAL_S)
        self.snapshot = replace(snapshot, cost_s=cost)
        return self.snapshot

    # --- the map from inode to process --------------------------------------------------------

    def _netns_of(self, pid: int | str) -> str | None:
        try:
            return os.readlink(os.path.join(self.proc_root, str(pid), "ns", "net"))
        except OSError:
            return None

    def _learn(self, pid: int, key: object) -> _Held:
        """A process first seen: whether its sockets are in the dump at all (its netns)."""
        countable = self._netns is None or self._netns_of(pid) == self._netns
        held = self._held[pid] = _Held(key, countable)
        return held

    def _look(self, pid: int) -> None:
        held = self._held[pid]
        if held.countable:
            held.inodes = socket_inodes(os.path.join(self.proc_root, str(pid), "fd"))
            held.looked = True
            self._owner = None

    def _owners(self) -> dict[int, int]:
        if self._owner is None:
            owner: dict[int, int] = {}
            for pid, held in self._held.items():
                for inode in held.inodes or ():
                    if owner.get(inode, -1) < pid:
                        owner[inode] = pid
            self._owner = owner
        return self._owner

    def _map(self, current: dict[int, object], sockets: list[TcpSocket], now: float) -> None:
        for pid in [p for p, h in self._held.items() if current.get(p, _GONE) != h.key]:
            del self._held[pid]  # gone, or its PID reused
            self._owner = None
        for pid, key in current.items():
            if pid not in self._held:
                self._learn(pid, key)
        live = {s.inode for s in sockets if s.inode}
        self._orphans &= live
        if self._uid != 0:  # without root another user's fds are unreadable: never look
            self._orphans |= {s.inode for s in sockets if s.inode and s.uid != self._uid}

        def unknown() -> set[int]:
            owner = self._owners()
            return {i for i in live if i not in owner and i not in self._orphans}

        missing = unknown()
        if not missing:
            return
        fresh = [p for p, h in self._held.items() if not h.looked]
        for pid in fresh:
            self._look(pid)
        missing = unknown()
        if len(fresh) == len(self._held):  # that was everyone: a full map already
            self._last_full = now
            self._orphans |= missing
            return
        if missing:
            for pid in [p for p, h in self._held.items() if h.inodes]:
                self._look(pid)
            missing = unknown()
        if missing and (self._last_full is None or now - self._last_full >= FULL_RESCAN_S):
            for pid in self._held:
                self._look(pid)
            self._last_full = now
            self._orphans |= unknown()

    # --- one read -------------------------------------------------------------------------------

    def _pids(self, pids: Iterable[int] | Mapping[int, object] | None) -> dict[int, object]:
        if isinstance(pids, Mapping):
            return dict(pids)
        if pids is not None:
            return dict.fromkeys(pids)
        try:
            return dict.fromkeys(int(n) for n in os.listdir(self.proc_root) if n.isdigit())
        except OSError:
            return {}

    def _read(self, pids: Iterable[int] | Mapping[int, object] | None) -> NetSnapshot:
        stamp = time.time()
        try:
            sockets = self._diag.tcp_sockets()
        except DiagError as e:
            return NetSnapshot(stamp, None, error=e.strerror or str(e))
        now = self._clock()
        current = self._pids(pids)
        self._map(current, sockets, now)
        dt = None if self._last_at is None else now - self._last_at
        first = dt is None or dt <= 0
        owner = self._owners()
        rates: dict[int, list[float]] = {}
        held: dict[int, list[tuple[TcpSocket, float | None, float | None]]] = {}
        seen: dict[int, tuple[int, int]] = {}
        for s in sockets:
            pid = owner.get(s.inode) if s.inode else None
            rx = tx = None
            if s.bytes_acked is not None and s.bytes_received is not None:
                seen[s.cookie] = (s.bytes_acked, s.bytes_received)
                before = self._bytes.get(s.cookie, (0, 0))
                if not first and dt is not None:
                    tx = max(s.bytes_acked - before[0], 0) / dt
                    rx = max(s.bytes_received - before[1], 0) / dt
            if pid is None or pid not in current:
                continue
            sums = rates.setdefault(pid, [0.0, 0.0])
            sums[0] += rx or 0.0
            sums[1] += tx or 0.0
            held.setdefault(pid, []).append((s, rx, tx))
        self._bytes = seen
        self._last_at = now
        processes = {
            pid: ProcessNet(
                pid,
                None if first else rx_tx[0],
                None if first else rx_tx[1],
                tuple(held[pid]),
            )
            for pid, rx_tx in rates.items()
        }
        uncounted = frozenset(
            p for p, h in self._held.items() if not h.countable or (h.looked and h.inodes is None)
        )
        return NetSnapshot(stamp, dt, processes, uncounted)


def _busiest(c: Connection) -> tuple[float, str]:
    return (-((c.rx_bytes_per_s or 0.0) + (c.tx_bytes_per_s or 0.0)), c.remote)
