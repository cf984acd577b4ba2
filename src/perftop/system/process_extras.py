"""What the process table shows besides /proc/PID/stat: each process's TCP traffic (NET/s,
RX/s, TX/s), its wait for a CPU (WAIT%) and block I/O, its container and cgroups.

`ProcessExtras.fill` runs after the table's own read, on the same sampler thread, and writes
the figures into the rows. Each part keeps to the cost its module measures:

- network (netsockets.py) on its own budget, DEFAULT_BUDGET_PERCENT of a core: between its
  reads the rows get the last read's figures and the snapshot's `net_at` says how old they are;
- WAIT% (schedstat.py, ~12 µs a process) only for the processes the table says may have run
  or queued since the last tick (`active`); the others, which neither ran nor waited, read 0
  and keep their reading, so the next figure covers the whole time since;
- the cgroup paths and container (proccgroups.py) once per process, then from a cache.

A row reused unchanged by the table (procfs.py's quiet rows) is the same object as last tick's,
so every field written here is written on every row, every tick.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import NamedTuple

from perftop.system.containers import ContainerNames
from perftop.system.netsockets import DEFAULT_BUDGET_PERCENT, NetSampler, NetSnapshot
from perftop.system.proccgroups import ProcessCgroups
from perftop.system.samples import ProcessSnapshot
from perftop.system.schedstat import SchedFigures, SchedSampler


class Latest(NamedTuple):
    at: float | None  # the tick's timestamp
    waits: dict[int, SchedFigures]
    labels: dict[int, str]  # CONTAINER


class ProcessExtras:
    """The network, wait and cgroup columns of the rows of one process table."""

    def __init__(
        self,
        proc_root: str = "/proc",
        *,
        names: ContainerNames | None = None,
        net_budget_percent: float = DEFAULT_BUDGET_PERCENT,
        net: NetSampler | None = None,
        sched: SchedSampler | None = None,
    ) -> None:
        self.net = net or NetSampler(proc_root, budget_percent=net_budget_percent)
        self.sched = sched or SchedSampler(proc_root)
        self.names = names if names is not None else ContainerNames()
        self.cgroups = ProcessCgroups(self.names, proc_root)
        # The latest tick's figures and container of each process, for the detail pane,
        # read from its thread: replaced whole every tick (one assignment), never changed.
        self.latest: Latest = Latest(None, {}, {})
        # A process that neither ran nor queued since the last tick waited for nothing.
        self._idle = SchedFigures(0.0, 0.0, 0.0 if self.sched.blkio else None, None)
        self._has_proc = os.path.isdir(os.path.join(proc_root, "self"))

    def close(self) -> None:
        self.net.close()

    @property
    def net_snapshot(self) -> NetSnapshot:
        return self.net.snapshot

    def fill(self, snapshot: ProcessSnapshot, active: Collection[int] | None) -> ProcessSnapshot:
        """`snapshot` with the rows' extra fields set and its `net_at`; `active`: the PIDs
        that may have run since the last tick (None: all)."""
        rows = snapshot.rows
        if not self._has_proc or not rows:
            return snapshot
        starts = {pid: r.start_time for pid, r in rows.items()}
        net = self.net.sample(starts)
        asked = starts if active is None else {p: starts[p] for p in active if p in starts}
        threaded = [p for p in asked if rows[p].num_threads > 1]
        waits = self.sched.sample(asked, threaded, alive=starts)
        known, idle = self.latest.waits, self._idle
        labels: dict[int, str] = {}
        cgroups = self.cgroups
        of = net.of
        for pid, r in rows.items():
            got = of(pid)
            if got is None:
                r.net_rx_bytes_per_s = r.net_tx_bytes_per_s = None
            else:
                r.net_rx_bytes_per_s, r.net_tx_bytes_per_s = got.rx_bytes_per_s, got.tx_bytes_per_s
            w = waits.get(pid)
            if w is None and pid not in asked and pid in known:
                w = idle  # its reading is kept: the next figure covers the time since
            if w is None:
                r.wait_percent = r.blkio_percent = None
            else:
                r.wait_percent, r.blkio_percent = w.wait_percent, w.blkio_percent
                waits[pid] = w
            start = r.start_time
            r.container = labels[pid] = cgroups.label(pid, start)
            r.cgroups = cgroups.paths(pid, start)
        self.latest = Latest(snapshot.timestamp, waits, labels)
        cgroups.retain(rows)
        return ProcessSnapshot(snapshot.timestamp, rows, snapshot.core_count, net.timestamp)
