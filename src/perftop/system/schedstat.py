"""Waiting, not busy: how long each process was runnable but waiting for a CPU, and, where the
kernel's delay accounting is on, how long it waited for block I/O.

`/proc/PID/schedstat` is three numbers: time on a CPU (ns), time runnable on a run queue
waiting for one (ns, `run_delay`), and time slices run. Its second figure over an interval
is WAIT%: 100 = one thread waited the whole interval, as CPU% counts one core. A box whose
cores are all busy shows here who is starved of them.

`/proc/PID/stat` field 42, `delayacct_blkio_ticks`, is the time spent waiting for block I/O
in clock ticks; it counts only with delay accounting on (`kernel.task_delayacct`, off by
default since Linux 5.14, or the `delayacct` boot option), and is 0 otherwise, so BLKIO% is
None (shown `-`) when the sysctl says off.

Both files describe one thread: /proc/PID/ has the main thread's. For processes the caller
says are multi-threaded the figures are summed over `/proc/PID/task/*/` (up to MAX_THREADS
threads; a bigger process is summed over the first ones, an undercount), so a busy worker
thread is not hidden behind an idle main one. Threads that end between two reads take their
last interval's waiting with them, which makes the sum go down: that read gives no figure.

Cost: one more small /proc read a process a tick, as dear as the stat line itself (~12 µs on
the 2-core dev VM: 7 ms at 475 processes, 32 ms at 2,000, thread CPU). A caller that knows
which processes did not run since the last tick (procfs.py's unchanged stat lines, state not
R or D) may leave them out and pass `alive`: their readings are kept, and the next figure
covers the whole time since.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MAX_THREADS = 1024
_READ = 2048
# stat(5) field 42, counted from the first field after the command name (field 3).
_BLKIO_FIELD = 42 - 3


def parse_schedstat(data: bytes) -> tuple[int, int, int] | None:
    """(on-CPU ns, run-queue wait ns, time slices); None if `data` is not a schedstat line."""
    parts = data.split()
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    run, wait, slices = (int(p) for p in parts)
    return run, wait, slices


def parse_blkio_ticks(data: bytes) -> int | None:
    """Field 42 of a /proc/PID/stat line (block I/O delay, clock ticks); None if absent."""
    close = data.rfind(b")")
    if close < 0:
        return None
    fields = data[close + 1 :].split()
    if len(fields) <= _BLKIO_FIELD or not fields[_BLKIO_FIELD].isdigit():
        return None
    return int(fields[_BLKIO_FIELD])


def delay_accounting(proc_root: str = "/proc") -> bool | None:
    """`kernel.task_delayacct`: True on, False off; None where the sysctl is missing (a kernel
    before 5.14, which counts unless booted with `nodelayacct`)."""
    try:
        with open(os.path.join(proc_root, "sys/kernel/task_delayacct"), "rb") as f:
            value = f.read(16).strip()
    except OSError:
        return None
    return value not in (b"0", b"")


def _read(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, _READ)
    except OSError:
        return None
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class SchedFigures:
    """One process over the last interval; None where unknown (first read, unreadable, delay
    accounting off, a thread ended)."""

    wait_percent: float | None  # runnable, waiting for a CPU; 100 = one thread all along
    run_percent: float | None  # on a CPU, by the scheduler's clock
    blkio_percent: float | None  # waiting for block I/O (delay accounting)
    wait_s: float | None  # run-queue wait since the threads read started, seconds


@dataclass(slots=True)
class _Reading:
    key: object  # what tells a reused PID apart (its start time, where given)
    at: float
    run_ns: int
    wait_ns: int
    blkio_ticks: int | None
    threads: bool


def read_process(
    proc_root: str, pid: int, threads: bool, blkio: bool
) -> tuple[int, int, int | None] | None:
    """(on-CPU ns, wait ns, blkio ticks or None) of `pid`, summed over its threads if
    `threads`; None if it cannot be read (gone, or not Linux)."""
    base = os.path.join(proc_root, str(pid))
    if threads:
        try:
            tids = os.listdir(os.path.join(base, "task"))[:MAX_THREADS]
        except OSError:
            return None
        dirs = [os.path.join(base, "task", t) for t in tids]
    else:
        dirs = [base]
    run = wait = 0
    ticks: int | None = 0 if blkio else None
    seen = False
    for d in dirs:
        data = _read(os.path.join(d, "schedstat"))
        figures = parse_schedstat(data) if data is not None else None
        if figures is None:
            continue  # a thread that ended meanwhile
        seen = True
        run += figures[0]
        wait += figures[1]
        if ticks is not None:
            stat = _read(os.path.join(d, "stat"))
            t = parse_blkio_ticks(stat) if stat is not None else None
            ticks = None if t is None else ticks + t
    return (run, wait, ticks) if seen else None


class SchedSampler:
    """WAIT% (and BLKIO% with delay accounting) of the processes asked for, between reads."""

    def __init__(
        self,
        proc_root: str = "/proc",
        clock: Callable[[], float] = time.monotonic,
        *,
        blkio: bool | None = None,
    ) -> None:
        self.proc_root = proc_root
        self._clock = clock
        on = delay_accounting(proc_root) if blkio is None else blkio
        self.blkio = on is not False  # read field 42 unless the sysctl says it is off
        self._last: dict[int, _Reading] = {}

    def sample(
        self,
        pids: Iterable[int] | Mapping[int, object],
        multi_threaded: Collection[int] = (),
        alive: Collection[int] | None = None,
    ) -> dict[int, SchedFigures]:
        """Figures of each PID of `pids` readable. A mapping's values (start times) tell a
        reused PID from the process that had it; PIDs in `multi_threaded` are summed over
        their threads. With `alive`, the PIDs not asked for this time keep their reading (a
        later figure covers the whole time since), so a caller may skip the processes that
        did not run; without it, only those asked for are kept."""
        keys = pids if isinstance(pids, Mapping) else None
        found: dict[int, SchedFigures] = {}
        asked: set[int] = set()
        readings: dict[int, _Reading] = {}
        for pid in pids:
            asked.add(pid)
            threads = pid in multi_threaded
            got = read_process(self.proc_root, pid, threads, self.blkio)
            if got is None:
                continue  # gone, or hidden
            now = self._clock()
            key = keys.get(pid) if keys else None
            reading = _Reading(key, now, got[0], got[1], got[2], threads)
            readings[pid] = reading
            found[pid] = _figures(reading, self._last.get(pid))
        if alive is not None:
            for pid, reading in self._last.items():
                if pid not in asked and pid in alive:
                    readings[pid] = reading
        self._last = readings
        return found


def _figures(now: _Reading, before: _Reading | None) -> SchedFigures:
    wait_s = now.wait_ns / 1e9
    if before is None or before.key != now.key or before.threads != now.threads:
        return SchedFigures(None, None, None, wait_s)
    dt = now.at - before.at
    if dt <= 0:
        return SchedFigures(None, None, None, wait_s)
    waited, ran = now.wait_ns - before.wait_ns, now.run_ns - before.run_ns
    wait = 100.0 * waited / (dt * 1e9) if waited >= 0 else None
    run = 100.0 * ran / (dt * 1e9) if ran >= 0 else None
    blkio = None
    if now.blkio_ticks is not None and before.blkio_ticks is not None:
        ticks = now.blkio_ticks - before.blkio_ticks
        blkio = 100.0 * ticks / CLOCK_TICKS / dt if ticks >= 0 else None
    return SchedFigures(wait, run, blkio, wait_s)
