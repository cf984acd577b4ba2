"""The Linux process table read straight from /proc, incrementally.

This module owns the hot path of perftop's process table on Linux: one small read of
`/proc/<pid>/stat` (and `/proc/<pid>/io`) per process per tick, and a cache, keyed by
(pid, start time), of everything that does not change while a process lives.

Why hand-parse /proc instead of calling psutil: `psutil.process_iter` with the 8 attributes
the table shows costs 48-80 ms per tick at 475 processes and ~195 ms at 2000 (ARCHITECTURE.md:
username 66 ms, cpu_percent 60, num_threads 53, name 45, cmdline 45, ...). Most of that is
per-call overhead: psutil opens a file (often the same `stat` file several times), builds a
named tuple and wraps errors for each attribute. `stat` alone carries state, ppid, CPU
ticks, nice, threads, start time and RSS, and htop's TIME+, PRI, VIRT, TTY and page faults,
so one `os.open`/`os.read`/`os.close` (the cheapest file read in CPython: no buffered file
object, no decoding) gives a row. SHR alone needs another file (`statm`): it is read only
while the column shows (`want_shared`), and only for the processes whose RSS moved.

The stat file of each process is kept open between ticks and re-read with `pread`, which
costs about half of an open, read and close (no path walk, no new open file in the kernel);
its io file too, once read, while descriptors are to spare (stat's come first).

A process of one thread is first asked `schedstat`, its time on a CPU in nanoseconds, a third
as dear to read as `stat`: unchanged, it has not run since its stat line was read, and that
line holds. Each process's stat line is still read in its I/O turn (below), for what moves
without the process running: a renice by another tool, pages reclaimed from it (a renice by
perftop is read at the next tick: `renew`). A process of many threads is read every tick:
schedstat counts its first thread only. /proc itself is listed again only when the kernel's
newest PID (/proc/loadavg) moved since the last listing, or in turn (`_pids`).

Most processes sleep through most ticks, so the stat line itself is the cache key: when it is
byte for byte the one read last tick (no CPU tick, page fault, state or RSS change) and the
process showed nothing last tick either, its row is reused as is, unparsed. `/proc/<pid>/io`
(the other read per process, and as dear as `stat`) is read only when it can tell something:
when the stat line changed (the process ran), while the process keeps doing I/O, and for the
others in turn every `IO_RECHECK_TICKS` ticks, which catches I/O done in runs too short to move
the stat line; that I/O is spread over the time since the last read, so no byte is lost.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import resource
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from perftop.system.samples import ProcessRow, ProcessSnapshot

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Set in the `flags` field of kernel threads (include/linux/sched.h); their cmdline is empty
# for good, so the table shows `[name]` and never re-reads it.
PF_KTHREAD = 0x00200000
# A stat line is well under 1 KiB; the table shows a line of the command, not 128 KiB of it
# (the detail view reads it whole).
_STAT_READ = 2048
_SCHED_READ = 128  # three numbers
_CMDLINE_READ = 4096
# Fields after the command name that parse_stat reads: up to rss, stat(5) field 24.
_STAT_FIELDS = 22
# One-letter states, pre-decoded: a dict lookup is cheaper than decoding on every row.
_STATES = {letter.encode(): letter for letter in "RSDZTtXxKWPI"}
# Errors of a process that exits while we read it (ENOENT, ESRCH) or that hides from us.
_GONE = (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError)
# How often, in ticks, the I/O counters of a process whose stat line did not move are re-read.
IO_RECHECK_TICKS = 5
# States of a process that may be queued for a CPU, or about to be, while its stat line stays.
_QUEUED = frozenset("RD")


def _descriptor_cap() -> int:
    """How many stat, schedstat and io files may stay open, all kinds together: half the soft
    limit on open files, so that the rest of perftop (and a huge process count) never runs out
    of descriptors."""
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return 0
    if soft == resource.RLIM_INFINITY:
        return 1 << 16
    return max(soft // 2 - 32, 0)


def _close_all(fds: dict[int, int]) -> None:
    # A copy taken in one step: at exit, the table's thread may still be adding to `fds`
    # (perftop ended while its first tick was being read), and iterating the dict itself
    # then raised "dictionary changed size" in a traceback on the way out.
    for fd in list(fds.values()):
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()


def _pread_kept(fds: dict[int, int], pid: int, size: int) -> bytes:
    """What `pid`'s kept descriptor in `fds` reads; b"" where there is none or it failed (its
    process reaped), which is then closed."""
    fd = fds.get(pid)
    if fd is None:
        return b""
    try:
        data = os.pread(fd, size, 0)
    except OSError:
        data = b""
    if not data:
        del fds[pid]
        os.close(fd)
    return data


def _single_threaded(known: _Known) -> bool:
    # /proc/<pid>/schedstat is the main thread's alone: it tells nothing of the others.
    return known.row is not None and known.row.num_threads == 1


def boottime_clock() -> float:
    """Seconds since boot, on the same clock as the `starttime` field of /proc/<pid>/stat."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


class StatFields(NamedTuple):
    name: str
    state: str
    ppid: int
    flags: int
    cpu_ticks: int
    nice: int
    num_threads: int
    start_ticks: int
    rss_pages: int
    tty_nr: int
    minor_faults: int
    major_faults: int
    priority: int
    vsize_bytes: int


def parse_stat(data: bytes) -> StatFields:
    """Parse one /proc/<pid>/stat line (raises ValueError when it is malformed).

    The command name sits between the first '(' and the *last* ')': it may itself contain
    spaces and parentheses, so the fixed fields are split after the last ')'.
    """
    open_paren = data.find(b"(")
    close_paren = data.rfind(b")")
    if open_paren < 0 or close_paren < open_paren:
        raise ValueError("malformed stat line")
    fields = data[close_paren + 2 :].split()
    if len(fields) < _STAT_FIELDS:  # cut short (a truncated read, a foreign file)
        raise ValueError(f"stat line has {len(fields)} fields after the name, not {_STAT_FIELDS}+")
    # Indexes below are the stat(5) field numbers minus 3 (pid and comm come before).
    # Positional: keywords cost a tenth more on the hot path, and the order is StatFields'.
    return StatFields(
        data[open_paren + 1 : close_paren].decode("utf-8", "replace"),  # 2 comm
        _STATES.get(fields[0]) or fields[0].decode("ascii", "replace"),  # 3 state
        int(fields[1]),  # 4 ppid
        int(fields[6]),  # 9 flags
        int(fields[11]) + int(fields[12]),  # 14 utime + 15 stime
        int(fields[16]),  # 19 nice
        int(fields[17]),  # 20 num_threads
        int(fields[19]),  # 22 starttime
        int(fields[21]),  # 24 rss
        int(fields[4]),  # 7 tty_nr
        int(fields[7]),  # 10 minflt
        int(fields[9]),  # 12 majflt
        int(fields[15]),  # 18 priority
        int(fields[20]),  # 23 vsize
    )


def read_small(path: str, size: int = _STAT_READ) -> bytes:
    """Read up to `size` bytes of a file with raw syscalls (fastest for tiny /proc files)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


def parse_io(data: bytes) -> tuple[int, int]:
    """(read_bytes, write_bytes) from a /proc/<pid>/io text: the bytes that hit storage."""
    fields = data.split()
    # The kernel has printed these lines in one fixed order since 2.6.20: take the fast path
    # when the labels are where they always are, scan for them otherwise.
    if len(fields) >= 12 and fields[8] == b"read_bytes:" and fields[10] == b"write_bytes:":
        return int(fields[9]), int(fields[11])
    read_bytes = write_bytes = 0
    for line in data.splitlines():
        if line.startswith(b"read_bytes:"):
            read_bytes = int(line[11:])
        elif line.startswith(b"write_bytes:"):
            write_bytes = int(line[12:])
    return read_bytes, write_bytes


def read_cmdline(proc_root: str, pid: int, limit: int = _CMDLINE_READ) -> str:
    """The command line as one display string ('' when empty or unreadable)."""
    try:
        data = read_small(f"{proc_root}/{pid}/cmdline", limit)
    except OSError:
        return ""
    return data.replace(b"\0", b" ").strip().decode("utf-8", "replace")


def read_boot_time(proc_root: str) -> float | None:
    """Boot time in epoch seconds from the `btime` line of /proc/stat, as psutil reads it."""
    try:
        with open(f"{proc_root}/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime"):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def read_mem_total(proc_root: str) -> int:
    """Total RAM in bytes from /proc/meminfo (sysconf when it cannot be read)."""
    try:
        with open(f"{proc_root}/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PHYS_PAGES")) * PAGE_SIZE


def read_start_time(pid: int, proc_root: str = "/proc") -> float | None:
    """A process's start time in epoch seconds, as the table shows it; None if it is gone."""
    boot = read_boot_time(proc_root)
    try:
        stat = parse_stat(read_small(f"{proc_root}/{pid}/stat"))
    except (OSError, ValueError):
        return None
    return (boot or 0.0) + stat.start_ticks / CLOCK_TICKS


@dataclass(slots=True)
class _Known:
    """What the table remembers about one (pid, start time) between ticks."""

    start_ticks: int
    start_time: float
    name: str
    user: str
    cmdline: str
    kernel: bool
    io_denied: bool
    cpu_ticks: int
    io: tuple[int, int] | None
    stat: bytes = b""  # the stat line as read last tick
    row: ProcessRow | None = None  # the row reported last tick
    io_at: float = 0.0  # clock time of the read that gave `io`
    io_busy: bool = False  # that read found I/O since the one before: read it every tick
    # schedstat as read just before `stat`, through a descriptor kept since: b"" for none.
    sched: bytes = b""
    # `row` holds while schedstat does not move, out of its I/O turn: one thread, no CPU or
    # I/O shown, a command line known (ProcfsTable._calm). Set each time the row is built.
    calm: bool = False


class ProcfsTable:
    """Samples every process from /proc; rates are deltas against the previous sample.

    CPU% follows htop: 100 % is one core. A process first seen at this tick is measured
    over its own life if it started after the previous tick (a short burst still shows),
    else 0 (no baseline yet), as htop does on its first screen.
    """

    def __init__(
        self, proc_root: str = "/proc", clock: Callable[[], float] = boottime_clock
    ) -> None:
        self._root = proc_root
        self._clock = clock
        boot = read_boot_time(proc_root)
        self._boot_time = boot if boot is not None else time.time() - clock()
        self._mem_total = read_mem_total(proc_root)
        self._core_count = os.cpu_count() or 1
        self._known: dict[int, _Known] = {}
        self._users: dict[int, str] = {}
        self._last_tick: float | None = None
        self._ticks = 0
        # The newest PID handed out (/proc/loadavg's last field) when /proc was last listed,
        # and the PIDs that listing gave, less those gone since: see `_pids`.
        self._last_pid = b""
        self._listed: list[int] = []
        self._loadavg_fd: dict[int, int] = {}  # {0: descriptor}, closed as the others are
        self._listed_always = False
        self._stat_fds: dict[int, int] = {}  # pid -> its stat file, open between ticks
        self._io_fds: dict[int, int] = {}  # pid -> its io file, the same way
        self._sched_fds: dict[int, int] = {}  # pid -> its schedstat file, the same way
        self._sched_ok = True  # this kernel has /proc/<pid>/schedstat (CONFIG_SCHED_INFO)
        self._renew: set[int] = set()  # PIDs whose stat line is to be read next tick (renew)
        # The processes that may have run or waited for a CPU since the last tick: their stat
        # line moved, or they are runnable (R) or in disk sleep (D). WAIT% reads only these
        # (schedstat.py): a process whose stat line is unchanged and asleep did not queue.
        self.active: set[int] = set()
        # SHR: statm is read, for the processes whose RSS moved, only while this is set.
        self.want_shared = False
        self._fd_cap = _descriptor_cap()
        weakref.finalize(self, _close_all, self._stat_fds)
        weakref.finalize(self, _close_all, self._io_fds)
        weakref.finalize(self, _close_all, self._sched_fds)
        weakref.finalize(self, _close_all, self._loadavg_fd)

    def _read_stat(self, pid: int) -> bytes:
        return self._read_kept(self._stat_fds, pid, "stat", _STAT_READ)

    def _read_kept(self, fds: dict[int, int], pid: int, name: str, size: int) -> bytes:
        """/proc/<pid>/<name>, through a descriptor kept open on it between ticks.

        A kept descriptor belongs to the process it was opened on: once that process is reaped,
        reading it fails (ESRCH) even if its PID was reused, so it never gives another
        process's line; the path is then opened afresh. The kernel checks the right to read
        io at each read, so a kept one is refused as a fresh open would be.
        """
        data = _pread_kept(fds, pid, size)
        if data:
            return data
        fd = os.open(f"{self._root}/{pid}/{name}", os.O_RDONLY)
        try:
            data = os.pread(fd, size, 0)
        except BaseException:
            os.close(fd)
            raise
        if self._room_for(fds):
            fds[pid] = fd
        else:
            os.close(fd)
        return data

    def _room_for(self, fds: dict[int, int]) -> bool:
        """Whether one more descriptor may be kept in `fds`; stat's are worth most (read each
        tick), then schedstat's, then io's: one of a lesser kind is closed to make room."""
        kinds = (self._stat_fds, self._sched_fds, self._io_fds)
        if sum(map(len, kinds)) < self._fd_cap:
            return True
        for lesser in reversed(kinds):
            if lesser is fds:
                return False
            if lesser:
                os.close(lesser.pop(next(iter(lesser))))
                return True
        return False

    def _schedstat(self, pid: int) -> tuple[bytes, bool]:
        """(`/proc/<pid>/schedstat`, whether through a descriptor kept since an earlier tick).

        Only a kept descriptor's line can tell that a process has not run since (it belongs to
        the process its stat line was checked against); one opened now is a baseline only.
        b"" where it cannot be read."""
        fds = self._sched_fds
        data = _pread_kept(fds, pid, _SCHED_READ)
        if data:
            return data, True
        try:
            return self._read_kept(fds, pid, "schedstat", _SCHED_READ), False
        except FileNotFoundError:
            # No such file for a live process: a kernel without it. Gone: its stat says so.
            self._sched_ok = not os.path.exists(f"{self._root}/{pid}/stat")
            return b"", False
        except OSError:
            return b"", False

    def _pids(self) -> list[int]:
        """The PIDs to read this tick: /proc listed afresh, or last tick's while no process
        (nor thread) was made since. The kernel's newest PID says so: a fork bumps it, and a
        process that ends is found gone as it is read. Listing /proc cost 0.8 ms a tick at
        ~480 processes, a sixth of the table's tick. Listed in turn anyway every
        `IO_RECHECK_TICKS` ticks, in case this /proc is another PID namespace's than ours."""
        last = self._newest_pid()
        if last and last == self._last_pid and self._ticks % IO_RECHECK_TICKS != 0:
            return self._listed
        try:
            names = os.listdir(self._root)
        except OSError:
            names = []
        self._last_pid = last
        self._listed = [int(entry) for entry in names if entry.isdigit()]
        return self._listed

    def _newest_pid(self) -> bytes:
        """The last field of /proc/loadavg, through a descriptor kept open; b"" if unreadable."""
        fds = self._loadavg_fd
        try:
            if not fds:
                if self._listed_always:
                    return b""
                fds[0] = os.open(f"{self._root}/loadavg", os.O_RDONLY)
            return os.pread(fds[0], 128, 0).rsplit(None, 1)[1]
        except FileNotFoundError:  # not a kernel's /proc (a test's): list it every tick
            self._listed_always = True
            return b""
        except (OSError, IndexError):
            return b""

    def renew(self, pid: int) -> None:
        """Read `pid`'s stat line afresh next tick: something done to it without it running
        (a renice) shows at once, not at its turn. Safe from another thread: the PID leaves
        the set only once its line is read after it was put there."""
        self._renew.add(pid)

    def _user_of(self, pid: int) -> str:
        # The owner is the uid of the /proc/<pid> directory; names are looked up once per uid
        # because pwd may go through NSS (LDAP, sssd) and be slow.
        uid = os.stat(f"{self._root}/{pid}").st_uid
        name = self._users.get(uid)
        if name is None:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = str(uid)
            self._users[uid] = name
        return name

    def _learn(self, pid: int, stat: StatFields) -> _Known:
        kernel = bool(stat.flags & PF_KTHREAD)
        return _Known(
            start_ticks=stat.start_ticks,
            start_time=self._boot_time + stat.start_ticks / CLOCK_TICKS,
            name=stat.name,
            user=self._user_of(pid),
            # A kernel thread has no command line; the view shows it as [name].
            cmdline="" if kernel else read_cmdline(self._root, pid),
            kernel=kernel,
            io_denied=False,
            cpu_ticks=0,
            io=None,
        )

    def _calm(self, info: _Known) -> bool:
        """Whether `info.row` holds for as long as schedstat does not move (out of the I/O
        turn): what `_quiet` asks of a row, less what it asks of the tick, for a process of
        one thread (schedstat counts only its first) on a kernel with schedstat."""
        row = info.row
        return (
            self._sched_ok
            and row is not None
            and row.num_threads == 1
            and not info.io_busy
            and row.cpu_percent == 0.0
            and not row.read_bytes_per_s
            and not row.write_bytes_per_s
            and bool(info.cmdline or info.kernel)
        )

    def _quiet(self, prev: _Known | None, data: bytes, pid: int, now: float) -> bool:
        """Whether last tick's row still holds: same stat line, and nothing shown moved."""
        if prev is None or prev.stat != data or prev.io_busy:
            return False
        row = prev.row
        return (
            row is not None
            and row.cpu_percent == 0.0
            and not row.read_bytes_per_s
            and not row.write_bytes_per_s
            and bool(prev.cmdline or prev.kernel)  # else its command line is retried below
            and (row.shared_bytes is not None) == self.want_shared  # SHR just asked for, or not
            and (
                prev.io_denied
                or (pid + self._ticks) % IO_RECHECK_TICKS != 0
                or self._io_unmoved(prev, pid, now)
            )
        )

    def _io_unmoved(self, prev: _Known, pid: int, now: float) -> bool:
        """At a quiet process's turn, whether its I/O counters are still those read last: its
        row then holds, unparsed (a fifth of the processes each tick were re-read in full for
        their turn). Else the full read follows, which reads them again."""
        if prev.io is None:
            return False
        try:
            io = parse_io(self._read_kept(self._io_fds, pid, "io", _STAT_READ))
        except (OSError, ValueError):
            return False
        if io != prev.io:
            return False
        prev.io_at = now  # what they gain from now on is spread from here
        return True

    def sample(self) -> ProcessSnapshot:
        now = self._clock()
        wall = time.time()
        last = self._last_tick
        dt = now - last if last is not None else 0.0
        self._ticks += 1
        root = self._root
        mem_total = self._mem_total or 1
        cpu_cap = 100.0 * self._core_count
        known, renew = self._known, self._renew
        fresh: dict[int, _Known] = {}
        rows: dict[int, ProcessRow] = {}
        active: set[int] = set()
        want_shared, turn = self.want_shared, self._ticks
        pids = self._pids()
        for pid in pids:
            prev = known.get(pid)
            try:
                sched = b""
                if self._sched_ok and (prev is None or prev.calm or _single_threaded(prev)):
                    sched, kept = self._schedstat(pid)
                    row = prev.row if prev is not None else None
                    if (
                        kept
                        and prev is not None
                        and prev.calm
                        and row is not None
                        and sched == prev.sched
                        and (pid + turn) % IO_RECHECK_TICKS
                        and pid not in renew
                        and (row.shared_bytes is not None) == want_shared
                    ):
                        # Most processes, most ticks: calm since its row was built, and it
                        # has not run since (schedstat counts its time on a CPU in ns), so
                        # neither stat line nor row is read again. In turn, each is read
                        # anyway: a renice or a reclaim moves it unrun.
                        fresh[pid] = prev
                        rows[pid] = row
                        if row.state in _QUEUED:
                            active.add(pid)
                        continue
                if pid in renew:
                    renew.discard(pid)
                data = self._read_stat(pid)
                if self._quiet(prev, data, pid, now):
                    assert prev is not None and prev.row is not None
                    prev.sched = sched
                    fresh[pid] = prev
                    rows[pid] = prev.row
                    if prev.row.state in _QUEUED:
                        active.add(pid)
                    continue
                stat = parse_stat(data)
                # Same pid with another start time: the pid was reused by a new process.
                if prev is None or prev.start_ticks != stat.start_ticks:
                    info = self._learn(pid, stat)
                    prev = None
                else:
                    info = prev
            except (*_GONE, ValueError):
                continue  # exited between listdir and read, or a stat we cannot parse
            moved = prev is None or data != prev.stat
            if moved or stat.state in _QUEUED:
                active.add(pid)
            info.stat, info.sched = data, sched
            if not info.kernel and stat.name != info.name:
                # comm changed: the process exec'd (or renamed itself); its cmdline is stale.
                info.name = stat.name
                info.cmdline = read_cmdline(root, pid)
            elif not info.kernel and not info.cmdline and stat.state != "Z":
                # Caught between fork and exec, or mid-exit: try again next tick.
                info.cmdline = read_cmdline(root, pid)
            # The interval this process is measured over: since the last tick if we knew it,
            # since its start if it was born after the last tick, else none yet.
            born_since = last is not None and stat.start_ticks / CLOCK_TICKS > last
            if prev is not None:
                span = dt
            elif born_since:
                span = now - stat.start_ticks / CLOCK_TICKS
            else:
                span = 0.0
            cpu = 0.0
            if span > 0:
                base_ticks = prev.cpu_ticks if prev is not None else 0
                cpu = (stat.cpu_ticks - base_ticks) / CLOCK_TICKS / span * 100.0
                cpu = min(max(cpu, 0.0), cpu_cap)
            info.cpu_ticks = stat.cpu_ticks
            read_rate, write_rate = self._io_rates(
                info, pid, now, moved or info.io_busy, span if prev is None else dt, born_since
            )
            fresh[pid] = info
            rss = stat.rss_pages * PAGE_SIZE
            shared = self._shared(pid, rss, info.row) if self.want_shared else None
            # Positional, in ProcessRow's field order: with 27 fields, keywords cost twice as
            # much (~0.5 µs a row); test_htop_columns.py and test_processes.py check each one.
            info.row = rows[pid] = ProcessRow(
                pid,
                stat.ppid,
                stat.name,
                info.user,
                stat.state,
                cpu,
                100.0 * rss / mem_total,  # mem_percent
                rss,
                stat.num_threads,
                read_rate,
                write_rate,
                info.start_time,
                # '' marks a kernel thread; a user process without one (a zombie) shows its name.
                info.cmdline or ("" if info.kernel else stat.name),
                stat.nice,
                None,  # net_rx_bytes_per_s … cgroups: process_extras.py fills them
                None,
                None,
                None,
                "",
                (),
                stat.cpu_ticks / CLOCK_TICKS,  # cpu_time_s
                stat.priority,
                stat.vsize_bytes,
                shared,
                stat.tty_nr,
                stat.minor_faults,
                stat.major_faults,
            )
            info.calm = self._calm(info)
        # Forget processes that are gone: memory follows the live process count. A kept
        # descriptor is of a process read this tick or known from the last.
        self._known = fresh
        self._listed = list(fresh)  # less the processes found gone
        gone = (known.keys() | set(pids)) - fresh.keys()
        for fds in (self._stat_fds, self._sched_fds, self._io_fds):
            for pid in gone:
                fd = fds.pop(pid, None)
                if fd is not None:
                    os.close(fd)
        self._last_tick = now
        self.active = active
        return ProcessSnapshot(timestamp=wall, rows=rows, core_count=self._core_count)

    def _shared(self, pid: int, rss: int, last: ProcessRow | None) -> int | None:
        """SHR in bytes: last tick's while the RSS has not moved (shared pages are resident
        ones: they seldom change alone), else statm's third field; None if unreadable."""
        if last is not None and last.shared_bytes is not None and last.rss_bytes == rss:
            return last.shared_bytes
        try:
            return int(read_small(f"{self._root}/{pid}/statm", 256).split(None, 3)[2]) * PAGE_SIZE
        except (OSError, ValueError, IndexError):
            return None

    def _io_rates(
        self, info: _Known, pid: int, now: float, ran: bool, span: float, born_since: bool
    ) -> tuple[float | None, float | None]:
        """Read and storage-write rates in bytes/s; None where the counters cannot be read.

        `ran`: the stat line moved (or the process did I/O last time), so I/O seen now happened
        since the last tick (`span`); otherwise the counters are read only in turn, and what
        they gained is spread over the time since they were last read.
        """
        if info.io_denied:
            return None, None
        first = info.io is None and not born_since
        if not (ran or first or (pid + self._ticks) % IO_RECHECK_TICKS == 0):
            return (0.0, 0.0) if info.io is not None else (None, None)
        try:
            io = parse_io(self._read_kept(self._io_fds, pid, "io", _STAT_READ))
        except PermissionError:
            # Another user's process: it stays denied for its life, so stop asking.
            info.io_denied = True
            return None, None
        except (OSError, ValueError):
            return None, None
        before = (0, 0) if born_since and info.io is None else info.io
        if not ran and before is not None:
            span = now - info.io_at
        info.io, info.io_at = io, now
        if before is None or span <= 0:
            info.io_busy = False
            return 0.0, 0.0  # no baseline yet
        read = max(io[0] - before[0], 0)
        write = max(io[1] - before[1], 0)
        info.io_busy = bool(read or write)
        return read / span, write / span
