"""The process table: collecting it, viewing it (sort, filter, tree) and acting on it.

`ProcessCollector` samples every process once per tick. On Linux it reads /proc itself
(see `procfs` for why); elsewhere it falls back to psutil behind the same API. The view
model (`SortKey`, `ViewOptions`, `build_view`) is pure: the widget hands it a snapshot and
options and draws the rows it gets back (`stable_order` then keeps that order from shuffling
on noise). `send_signal` and `renice` raise the typed errors
of `errors`, whose `message` the UI shows as is.
"""

from __future__ import annotations

import dataclasses
import enum
import operator
import os
import sys
import time
from collections.abc import Callable, Collection, Container, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from perftop.system.errors import AccessDenied, ProcessError, ProcessGone
from perftop.system.proccgroups import in_group
from perftop.system.samples import ProcessRow, ProcessSnapshot

if TYPE_CHECKING:
    from perftop.system.process_extras import ProcessExtras
    from perftop.system.threads import ThreadReader
    from perftop.system.trend import Growth

    GrowthOf = Callable[[ProcessRow], Growth | None]  # a row's memory trend (growth.py)

_LINUX = sys.platform.startswith("linux")
# Two readings of one process's start time may differ by the rounding of the boot time
# (NTP can move /proc/stat's btime by a second); a reused PID starts later than that.
_START_TOLERANCE_S = 1.0
# psutil's status names, shown as the one-letter states of ps and htop.
_STATE_LETTERS = {
    "running": "R",
    "sleeping": "S",
    "disk-sleep": "D",
    "stopped": "T",
    "tracing-stop": "t",
    "zombie": "Z",
    "dead": "X",
    "idle": "I",
    "parked": "P",
    "waking": "W",
    "locked": "L",
    "waiting": "W",
}


class _Table(Protocol):
    want_shared: bool  # read SHR (procfs.py reads a file more for it)

    def sample(self) -> ProcessSnapshot: ...

    def renew(self, pid: int) -> None:
        """Read all of `pid` afresh next tick (it was reniced)."""

    @property
    def active(self) -> Collection[int] | None:
        """The PIDs that may have run since the last tick (procfs.py); None: unknown."""


@dataclass(slots=True)
class _PsKnown:
    create_time: float
    name: str
    user: str
    cmdline: str
    cpu_s: float
    io: tuple[int, int] | None


def _shared_of(mem: Any) -> int | None:
    shared = getattr(mem, "shared", None)  # Linux's only
    return int(shared) if isinstance(shared, int) else None


class _PsutilTable:
    """The portable path: psutil, still caching per (pid, create time) what never changes."""

    def __init__(self, ps: Any, clock: Callable[[], float]) -> None:
        self._ps = ps
        self._clock = clock
        self._known: dict[int, _PsKnown] = {}
        self._last: float | None = None
        self.active: set[int] | None = None
        self.want_shared = False  # as procfs's: the figure comes with memory_info anyway
        try:
            self._mem_total = int(ps.virtual_memory().total)
            self._cores = int(ps.cpu_count() or 1)
        except (OSError, ps.Error):
            self._mem_total, self._cores = 0, os.cpu_count() or 1

    def renew(self, pid: int) -> None:
        pass  # every row is read afresh each tick

    def _learn(self, proc: Any, create: float) -> _PsKnown:
        ps = self._ps
        try:
            user = str(proc.username())
        except (ps.AccessDenied, KeyError):
            user = ""
        try:
            cmdline = " ".join(proc.cmdline())
        except (ps.AccessDenied, ps.ZombieProcess):
            cmdline = ""
        return _PsKnown(create, str(proc.name()), user, cmdline, 0.0, None)

    def sample(self) -> ProcessSnapshot:
        ps = self._ps
        now = self._clock()
        dt = now - self._last if self._last is not None else 0.0
        fresh: dict[int, _PsKnown] = {}
        rows: dict[int, ProcessRow] = {}
        for proc in ps.process_iter():
            try:
                with proc.oneshot():
                    create = float(proc.create_time())
                    prev = self._known.get(proc.pid)
                    if prev is None or abs(prev.create_time - create) > 1e-3:
                        info, prev = self._learn(proc, create), None
                    else:
                        info = prev
                    times = proc.cpu_times()
                    mem = proc.memory_info()
                    rss = int(mem.rss)
                    state = _STATE_LETTERS.get(str(proc.status()), "?")
                    ppid, threads, nice = int(proc.ppid()), int(proc.num_threads()), proc.nice()
                    try:
                        counters = proc.io_counters()
                        io: tuple[int, int] | None = (counters.read_bytes, counters.write_bytes)
                    except (ps.AccessDenied, AttributeError, NotImplementedError):
                        io = None  # another user's process, or a platform without it
            except (ps.NoSuchProcess, ps.AccessDenied, OSError):
                continue  # exited mid-read (ZombieProcess included) or hidden from us
            cpu_s = float(times.user + times.system)
            cpu = 0.0
            read_rate = write_rate = None
            if prev is not None and dt > 0:
                cpu = max((cpu_s - prev.cpu_s) / dt * 100.0, 0.0)
                if io is not None and prev.io is not None:
                    read_rate = max(io[0] - prev.io[0], 0) / dt
                    write_rate = max(io[1] - prev.io[1], 0) / dt
            elif io is not None:
                read_rate = write_rate = 0.0
            info.cpu_s, info.io = cpu_s, io
            fresh[proc.pid] = info
            rows[proc.pid] = ProcessRow(
                pid=proc.pid,
                ppid=ppid,
                name=info.name,
                user=info.user,
                state=state,
                cpu_percent=min(cpu, 100.0 * self._cores),
                mem_percent=100.0 * rss / self._mem_total if self._mem_total else 0.0,
                rss_bytes=rss,
                num_threads=threads,
                read_bytes_per_s=read_rate,
                write_bytes_per_s=write_rate,
                start_time=create,
                cmdline=info.cmdline or info.name,
                nice=int(nice) if isinstance(nice, int) else 0,
                # What psutil gives everywhere; PRI, TTY and the faults stay unknown ('-').
                cpu_time_s=cpu_s,
                virt_bytes=int(mem.vms),
                shared_bytes=_shared_of(mem) if self.want_shared else None,
            )
        self._known, self._last = fresh, now
        return ProcessSnapshot(timestamp=time.time(), rows=rows, core_count=self._cores)


class ProcessCollector:
    """Samples the process table; call `sample()` once per tick from one worker. With
    `extras` (process_extras.py) the rows carry NET/s, WAIT% and CONTAINER too."""

    def __init__(
        self,
        proc_root: str = "/proc",
        psutil_module: Any = None,
        use_procfs: bool | None = None,
        clock: Callable[[], float] | None = None,
        extras: ProcessExtras | None = None,
    ) -> None:
        self.extras = extras
        self._root = proc_root
        self._threads: ThreadReader | None = None
        if use_procfs is None:
            use_procfs = _LINUX and os.path.isdir(proc_root)
        self._table: _Table
        if use_procfs:
            from perftop.system import procfs

            self._table = procfs.ProcfsTable(proc_root, clock or procfs.boottime_clock)
            self.backend = "procfs"
        else:
            self._table = _PsutilTable(psutil_module or _psutil(), clock or time.monotonic)
            self.backend = "psutil"

    def want(self, *, shared: bool, threads: bool = False) -> None:
        """Measure SHR only while it shows: on /proc it is a file more a process; read the
        user threads (threads.py) only while they are rows, a directory and a file each."""
        self._table.want_shared = shared
        if not threads:
            self._threads = None
        elif self._threads is None and self.backend == "procfs":
            from perftop.system.threads import ThreadReader

            self._threads = ThreadReader(self._root)

    def renew(self, pid: int) -> None:
        """What was done to `pid` without it running (a renice) shows next tick."""
        self._table.renew(pid)

    def sample(self) -> ProcessSnapshot:
        snapshot = self._table.sample()
        if self.extras is not None:
            snapshot = self.extras.fill(snapshot, self._table.active)
        if self._threads is not None:
            snapshot = dataclasses.replace(snapshot, threads=self._threads.read(snapshot))
        return snapshot


# --- the view model -------------------------------------------------------------------


class SortKey(enum.Enum):
    """The table's columns; the value is the column title. In the sort menu's order (the
    later columns after the first ones); COLUMNS has the table's."""

    PID = "PID"
    USER = "USER"
    STATE = "S"
    CPU = "CPU%"
    MEM = "MEM%"
    RSS = "RSS"
    GROWTH = "GROWTH"
    THREADS = "THR"
    READ = "READ/s"
    WRITE = "WRITE/s"
    START = "START"
    COMMAND = "COMMAND"
    WAIT = "WAIT%"
    NET = "NET/s"
    RX = "RX/s"
    TX = "TX/s"
    CONTAINER = "CONTAINER"
    # htop's columns (its titles), not shown by default.
    TIME = "TIME+"
    NCPU = "NCPU%"
    PPID = "PPID"
    PRIORITY = "PRI"
    NICE = "NI"
    VIRT = "VIRT"
    SHR = "SHR"
    TTY = "TTY"
    MINFLT = "MINFLT"
    MAJFLT = "MAJFLT"
    # NVML's per-process accounting (gpu.py), where the machine has NVIDIA GPUs.
    GPU = "GPU%"
    GPU_MEM = "GPU MEM"


# The columns in the order the table places them (F2 puts one it adds at its place here).
COLUMNS: tuple[SortKey, ...] = (
    SortKey.PID,
    SortKey.PPID,
    SortKey.USER,
    SortKey.PRIORITY,
    SortKey.NICE,
    SortKey.STATE,
    SortKey.CPU,
    SortKey.NCPU,
    SortKey.WAIT,
    SortKey.MEM,
    SortKey.VIRT,
    SortKey.RSS,
    SortKey.SHR,
    SortKey.GROWTH,
    SortKey.GPU,
    SortKey.GPU_MEM,
    SortKey.TIME,
    SortKey.THREADS,
    SortKey.MINFLT,
    SortKey.MAJFLT,
    SortKey.READ,
    SortKey.WRITE,
    SortKey.NET,
    SortKey.RX,
    SortKey.TX,
    SortKey.START,
    SortKey.TTY,
    SortKey.CONTAINER,
    SortKey.COMMAND,
)
# Chosen in F2 or [processes] columns, not shown by default: each would push the 80-column
# table past its width (the command column keeps its 7).
OPTIONAL_COLUMNS = frozenset(
    {
        SortKey.GROWTH,
        SortKey.WAIT,
        SortKey.NET,
        SortKey.RX,
        SortKey.TX,
        SortKey.CONTAINER,
        SortKey.TIME,
        SortKey.NCPU,
        SortKey.PPID,
        SortKey.PRIORITY,
        SortKey.NICE,
        SortKey.VIRT,
        SortKey.SHR,
        SortKey.TTY,
        SortKey.MINFLT,
        SortKey.MAJFLT,
        SortKey.GPU,
        SortKey.GPU_MEM,
    }
)
DEFAULT_COLUMNS: tuple[SortKey, ...] = tuple(k for k in COLUMNS if k not in OPTIONAL_COLUMNS)
# Text columns read best A→Z, PIDs and priorities ascending (as htop: the most favoured
# first); for the measures the biggest comes first.
_ASCENDING = frozenset(
    {
        SortKey.PID,
        SortKey.PPID,
        SortKey.USER,
        SortKey.STATE,
        SortKey.PRIORITY,
        SortKey.NICE,
        SortKey.TTY,
        SortKey.CONTAINER,
        SortKey.COMMAND,
    }
)


def sort_key_for_column(index: int) -> SortKey:
    """The sort key of the column at `index` (as the widget numbers its columns)."""
    return COLUMNS[index]


def cycle_sort_key(key: SortKey, step: int = 1, among: Sequence[SortKey] = COLUMNS) -> SortKey:
    """The next (or, with step=-1, previous) of the columns shown, `among`, wrapping around;
    from a key not shown (picked in the sort menu), the first (or last) one shown."""
    if key not in among:
        return among[0] if step > 0 else among[-1]
    return among[(among.index(key) + step) % len(among)]


def default_reverse(key: SortKey) -> bool:
    """The direction a freshly picked column sorts in (True: descending)."""
    return key not in _ASCENDING


@dataclass
class ViewOptions:
    sort_key: SortKey = SortKey.CPU
    reverse: bool = True
    filter_text: str = ""
    tree: bool = False
    cpu_per_core: bool = True  # False: machine-wide, 100 % = every core busy
    follow_pid: int | None = None  # the widget keeps this row selected; see index_of_pid
    show_kernel_threads: bool = True
    columns: tuple[SortKey, ...] = DEFAULT_COLUMNS  # visible, in this order ([processes] columns)
    growth_window_s: float = 300.0  # GROWTH's fit ([processes] growth_window)
    cgroup: str | None = None  # only the processes in this cgroup or under it (the cgroup view)
    user: str | None = None  # only this user's processes (htop's `u`); None: everyone's
    threads: bool = False  # user threads as rows of their own (htop's `H`), under their process
    # The NET columns are marked when their figures are older than this (the network is read
    # on its own budget, netsockets.py): 1.5 ticks, set by the dashboard from its refresh.
    net_stale_after_s: float = 1.5


class Figures(NamedTuple):
    """The costly figures a table measures only while they are shown (`SystemSource.want`)."""

    net: bool
    wait: bool
    shared: bool
    threads: bool
    gpu: bool


NET_KEYS = frozenset({SortKey.NET, SortKey.RX, SortKey.TX})
GPU_KEYS = frozenset({SortKey.GPU, SortKey.GPU_MEM})


def figures_shown(options: ViewOptions, detail: bool) -> Figures:
    """What `options` shows (a column, the sort), or the detail pane (`detail`) does."""
    shown = {*options.columns, options.sort_key}
    return Figures(
        net=detail or bool(shown & NET_KEYS),
        wait=detail or SortKey.WAIT in shown,
        shared=SortKey.SHR in shown,
        threads=options.threads,
        gpu=detail or bool(shown & GPU_KEYS),
    )


@dataclass(slots=True)
class ViewRow:
    """One line of the table. Not frozen: a frozen dataclass sets each field through
    `object.__setattr__`, three times slower to build, and one is built per process per tick."""

    row: ProcessRow
    depth: int
    tree_prefix: str
    cpu_display: float
    matched: bool
    growth: Growth | None = None  # the memory trend, where the view was given one
    net_stale: bool = False  # its NET figures are older than the tick (ViewOptions)
    cores: int = 1  # the snapshot's: NCPU% is the machine-wide CPU%, whatever cpu_display


def is_kernel_thread(row: ProcessRow) -> bool:
    """Kernel threads are the rows without a command line (collectors guarantee it)."""
    return not row.cmdline


def display_command(row: ProcessRow) -> str:
    """The command column: the command line, or `[name]` for a kernel thread, as htop."""
    return row.cmdline or f"[{row.name}]"


def filter_text_matches(row: ProcessRow, text: str) -> bool:
    """Case-insensitive substring match over name, command line, user and PID."""
    needle = text.strip().lower()
    if not needle:
        return True
    return (
        needle in row.name.lower()
        or needle in row.cmdline.lower()
        or needle in row.user.lower()
        or needle in str(row.pid)
    )


def _io_value(value: float | None) -> tuple[bool, float]:
    # None (not readable) sorts below every number, 0 included.
    return (value is not None, value or 0.0)


def _tty_value(row: ProcessRow) -> tuple[bool, bool, int]:
    # By device number, as ps sorts (tty1 < ttyS0 < pts/0 < pts/10); no terminal after those
    # with one, unknown ('-') last.
    nr = row.tty_nr
    return (nr is None, nr == 0, nr or 0)


_SORT_VALUES: dict[SortKey, Callable[[ProcessRow], Any]] = {
    SortKey.PID: lambda r: r.pid,
    SortKey.USER: lambda r: r.user.lower(),
    SortKey.STATE: lambda r: r.state,
    SortKey.CPU: lambda r: r.cpu_percent,
    SortKey.MEM: lambda r: r.mem_percent,
    SortKey.RSS: lambda r: r.rss_bytes,
    SortKey.THREADS: lambda r: r.num_threads,
    SortKey.READ: lambda r: _io_value(r.read_bytes_per_s),
    SortKey.WRITE: lambda r: _io_value(r.write_bytes_per_s),
    SortKey.START: lambda r: r.start_time,
    SortKey.COMMAND: lambda r: display_command(r).lower(),
    SortKey.WAIT: lambda r: _io_value(r.wait_percent),
    SortKey.NET: lambda r: _io_value(r.net_bytes_per_s),
    SortKey.RX: lambda r: _io_value(r.net_rx_bytes_per_s),
    SortKey.TX: lambda r: _io_value(r.net_tx_bytes_per_s),
    # A→Z, the processes in no container after those in one.
    SortKey.CONTAINER: lambda r: (not r.container, r.container.lower()),
    SortKey.TIME: lambda r: _io_value(r.cpu_time_s),
    SortKey.NCPU: lambda r: r.cpu_percent,  # the same order as CPU%: one core count a tick
    SortKey.PPID: lambda r: r.ppid,
    # Unknown after every figure (the ascending ones too, where None sorts first otherwise).
    SortKey.PRIORITY: lambda r: (r.priority is None, r.priority or 0),
    SortKey.NICE: lambda r: r.nice,
    SortKey.VIRT: lambda r: _io_value(r.virt_bytes),
    SortKey.SHR: lambda r: _io_value(r.shared_bytes),
    SortKey.TTY: _tty_value,
    SortKey.MINFLT: lambda r: _io_value(r.minor_faults),
    SortKey.MAJFLT: lambda r: _io_value(r.major_faults),
    SortKey.GPU: lambda r: _io_value(r.gpu_percent),
    SortKey.GPU_MEM: lambda r: _io_value(r.gpu_memory_bytes),
}


_BY_PID = operator.attrgetter("pid")


def _growth_key(growth: GrowthOf | None) -> Callable[[ProcessRow], tuple[bool, float]]:
    def value(row: ProcessRow) -> tuple[bool, float]:
        g = growth(row) if growth is not None else None
        # Blank (too little history) sorts below every figure, as an unreadable I/O rate.
        return (False, 0.0) if g is None else (True, g.bytes_per_min)

    return value


def sort_rows(
    rows: list[ProcessRow], key: SortKey, reverse: bool, growth: GrowthOf | None = None
) -> list[ProcessRow]:
    """Sort stably: rows that tie keep ascending PID order in either direction."""
    by_pid = sorted(rows, key=_BY_PID)
    value = _growth_key(growth) if key is SortKey.GROWTH else _SORT_VALUES[key]
    return sorted(by_pid, key=value, reverse=reverse)


def build_view(
    snapshot: ProcessSnapshot,
    options: ViewOptions,
    growth: GrowthOf | None = None,
    growth_of: Container[int] | None = None,
) -> list[ViewRow]:
    """The rows to draw, in order, with their tree prefixes and display CPU; with `growth`,
    each row's memory trend too (GrowthModel.lookup): of every row, or with `growth_of` only
    of the rows whose PID it holds (the leak suspects, when only RSS's mark shows a trend:
    asking each of ~500 rows was a tenth of the UI thread's tick)."""
    rows = list(snapshot.rows.values())
    if options.threads:
        rows.extend(snapshot.threads.values())
    if not options.show_kernel_threads:
        rows = [r for r in rows if not is_kernel_thread(r)]
    if options.cgroup is not None:
        group = options.cgroup
        rows = [r for r in rows if in_group(r.cgroups, group)]
    if options.user is not None:
        user = options.user
        rows = [r for r in rows if r.user == user]
    text = options.filter_text.strip()
    cores = max(snapshot.core_count, 1)
    scale = 1.0 if options.cpu_per_core else 1.0 / cores
    stale = net_is_stale(snapshot, options.net_stale_after_s)
    ordered = sort_rows(rows, options.sort_key, options.reverse, growth)
    if not options.tree:
        if text:
            ordered = [r for r in ordered if filter_text_matches(r, text)]
        # Built every tick for every process: positional arguments, no per-row branching.
        if growth is None:
            return [
                ViewRow(r, 0, "", r.cpu_percent * scale, True, None, stale, cores) for r in ordered
            ]
        if growth_of is not None:
            return [
                ViewRow(
                    r,
                    0,
                    "",
                    r.cpu_percent * scale,
                    True,
                    growth(r) if r.pid in growth_of else None,
                    stale,
                    cores,
                )
                for r in ordered
            ]
        return [
            ViewRow(r, 0, "", r.cpu_percent * scale, True, growth(r), stale, cores) for r in ordered
        ]
    matched = {r.pid for r in rows if filter_text_matches(r, text)}

    by_pid = {r.pid: r for r in rows}
    children: dict[int, list[ProcessRow]] = {}
    roots: list[ProcessRow] = []
    for r in ordered:  # walking in sort order leaves every child list sorted
        if r.ppid in by_pid and r.ppid != r.pid:
            children.setdefault(r.ppid, []).append(r)
        else:
            roots.append(r)
    keep = set(matched)
    if text:
        # A filtered tree keeps the ancestors of each match so the match stays in context.
        for pid in matched:
            parent = by_pid[pid].ppid
            while parent in by_pid and parent not in keep:
                keep.add(parent)
                parent = by_pid[parent].ppid

    out: list[ViewRow] = []
    seen: set[int] = set()
    # Rows left unvisited from the roots sit on a ppid cycle (a PID reused mid-scan): they
    # are drawn as roots rather than dropped.
    for top in [*roots, *ordered]:
        if top.pid in seen or top.pid not in keep:
            continue
        # Iterative depth-first walk: process trees can be deeper than the recursion limit.
        stack: list[tuple[ProcessRow, int, str, str]] = [(top, 0, "", "")]
        while stack:
            row, depth, prefix, indent = stack.pop()
            if row.pid in seen:
                continue
            seen.add(row.pid)
            cpu = row.cpu_percent * scale
            asked = growth_of is None or row.pid in growth_of
            trend = growth(row) if growth is not None and asked else None
            shown = not text or row.pid in matched
            out.append(ViewRow(row, depth, prefix, cpu, shown, trend, stale, cores))
            kids = [k for k in children.get(row.pid, ()) if k.pid in keep and k.pid not in seen]
            for i in range(len(kids) - 1, -1, -1):
                last = i == len(kids) - 1
                branch, carry = ("└─ ", "   ") if last else ("├─ ", "│  ")
                stack.append((kids[i], depth + 1, indent + branch, indent + carry))
    return out


def net_is_stale(snapshot: ProcessSnapshot, after_s: float) -> bool:
    """Whether the snapshot's NET figures are more than `after_s` older than its tick."""
    at = snapshot.net_at
    return at is not None and snapshot.timestamp - at > after_s


def index_of_pid(view: list[ViewRow], pid: int | None) -> int | None:
    """Where the followed process sits in the view now (None if it is not shown)."""
    if pid is None:
        return None
    return next((i for i, v in enumerate(view) if v.row.pid == pid), None)


# --- acting on processes ----------------------------------------------------------------


def process_start_time(pid: int) -> float | None:
    """Start time in epoch seconds, as the collector reports it; None if it cannot be read.

    Raises ProcessGone when the process does not exist.
    """
    if _LINUX and os.path.isdir("/proc/self"):
        from perftop.system import procfs

        start = procfs.read_start_time(pid)
        if start is None:
            raise ProcessGone(pid)
        return start
    psutil = _psutil()
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.NoSuchProcess:
        raise ProcessGone(pid) from None
    except psutil.AccessDenied:
        return None


def _psutil() -> Any:
    """psutil, imported when first needed: the Linux table reads /proc itself, and psutil's
    import is ~5 ms of the first screen (bench/bench_startup.py)."""
    import psutil  # type: ignore[import-untyped, unused-ignore]

    return psutil


def _check_pid(pid: int, action: str) -> None:
    # os.kill(0, …) signals our own process group and -1 every process we may signal.
    if pid <= 0:
        raise ProcessError(f"refusing to {action} PID {pid}", pid)


def send_signal(pid: int, sig: int, start_time: float | None = None) -> None:
    """Send `sig` to `pid`; with `start_time`, refuse if the PID now names another process."""
    _check_pid(pid, "signal")
    if start_time is not None:
        current = process_start_time(pid)
        if current is not None and abs(current - start_time) > _START_TOLERANCE_S:
            raise ProcessGone(pid, reused=True)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        raise ProcessGone(pid) from None
    except PermissionError:
        raise AccessDenied(pid, "signal") from None


def renice(pid: int, delta: int) -> int:
    """Add `delta` to the nice value of `pid` (clamped to -20..19); return the new value."""
    _check_pid(pid, "renice")
    psutil = _psutil()
    try:
        proc = psutil.Process(pid)
        value = max(-20, min(19, int(proc.nice()) + delta))
        proc.nice(value)
    except psutil.NoSuchProcess:
        raise ProcessGone(pid) from None
    except psutil.AccessDenied:
        if delta < 0:
            message = f"permission denied: only root can lower the nice value of PID {pid}"
            raise AccessDenied(pid, "renice", message) from None
        raise AccessDenied(pid, "renice") from None
    return value
