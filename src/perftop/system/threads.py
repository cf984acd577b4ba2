"""User threads as rows of their own (htop's `H`), read only while they are shown.

Each thread of a process with more than one is a row like its process's: the memory, the
user, the command are the process's (threads share them), the name, state, CPU%, TIME+ and
priority are the thread's own, from /proc/<pid>/task/<tid>/stat. Its `ppid` is the process,
so the tree draws threads under it, and `thread_of` marks it as a thread.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

from perftop.system.procfs import CLOCK_TICKS, parse_stat, read_boot_time, read_small
from perftop.system.samples import ProcessRow, ProcessSnapshot

_GONE = (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError)


class ThreadReader:
    """The threads of a snapshot's processes, with their CPU% since the last read."""

    def __init__(
        self, proc_root: str = "/proc", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._root = proc_root
        self._clock = clock
        # tid -> (its start, in clock ticks since boot, and its CPU ticks at the last read):
        # the start tells a reused TID from the thread it was.
        self._known: dict[int, tuple[int, int]] = {}
        self._last: float | None = None
        boot = read_boot_time(proc_root)
        self._boot = boot if boot is not None else time.time() - time.monotonic()

    def read(self, snapshot: ProcessSnapshot) -> dict[int, ProcessRow]:
        now = self._clock()
        dt = now - self._last if self._last is not None else 0.0
        known: dict[int, tuple[int, int]] = {}
        out: dict[int, ProcessRow] = {}
        ceiling = 100.0 * max(snapshot.core_count, 1)
        for pid, row in snapshot.rows.items():
            if row.num_threads < 2 or not row.cmdline:  # one thread, or a kernel thread
                continue
            task = f"{self._root}/{pid}/task"
            try:
                tids = os.listdir(task)
            except (*_GONE, OSError):
                continue  # exited since the table was read, or hidden from us
            for name in tids:
                if not name.isdigit() or (tid := int(name)) == pid:
                    continue  # the main thread is the process's own row
                try:
                    stat = parse_stat(read_small(f"{task}/{name}/stat"))
                except (*_GONE, OSError, ValueError):
                    continue
                prev = self._known.get(tid)
                cpu = 0.0
                if prev is not None and prev[0] == stat.start_ticks and dt > 0:
                    cpu = min(max((stat.cpu_ticks - prev[1]) / CLOCK_TICKS / dt * 100, 0), ceiling)
                known[tid] = (stat.start_ticks, stat.cpu_ticks)
                out[tid] = thread_row(
                    row,
                    tid,
                    name=stat.name,
                    state=stat.state,
                    cpu_percent=cpu,
                    # Its own start, so that acting on it checks the thread's identity.
                    start_time=self._boot + stat.start_ticks / CLOCK_TICKS,
                    cpu_time_s=stat.cpu_ticks / CLOCK_TICKS,
                    priority=stat.priority,
                    nice=stat.nice,
                    minor_faults=stat.minor_faults,
                    major_faults=stat.major_faults,
                )
        self._known, self._last = known, now
        return out


def thread_row(process: ProcessRow, tid: int, **own: Any) -> ProcessRow:
    """Thread `tid` of `process` as a row: the process's, with the thread's `own` figures; a
    thread's I/O, sockets and waits are counted with its process's, so not repeated."""
    return dataclasses.replace(
        process,
        pid=tid,
        ppid=process.pid,
        num_threads=1,
        read_bytes_per_s=None,
        write_bytes_per_s=None,
        net_rx_bytes_per_s=None,
        net_tx_bytes_per_s=None,
        wait_percent=None,
        blkio_percent=None,
        thread_of=process.pid,
        **own,
    )
