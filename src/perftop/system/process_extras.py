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

And the network and the waits only while something shows them (`want`: the screen's columns,
sort and detail pane): at 475 processes and 300 sockets the network's budget is ~5 ms of CPU
a second, most of it the kernel walking its socket tables, and WAIT% ~1 ms a tick.

A row reused unchanged by the table (procfs.py's quiet rows) is the same object as last tick's,
so every field written here is written on every row, every tick.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, NamedTuple

from perftop.system.containers import ContainerNames
from perftop.system.proccgroups import ProcessCgroups
from perftop.system.samples import ProcessRow, ProcessSnapshot
from perftop.system.schedstat import SchedFigures, SchedSampler

if TYPE_CHECKING:
    from perftop.system.netsockets import NetSampler, NetSnapshot


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
        net_budget_percent: float | None = None,
        make_net: Callable[[], NetSampler] | None = None,
        make_sched: Callable[[], SchedSampler] | None = None,
    ) -> None:
        self._make_net = make_net or (lambda: _net_sampler(proc_root, net_budget_percent))
        self._make_sched = make_sched or (lambda: SchedSampler(proc_root))
        # Made when first wanted: unshown (the default columns), the network's sampler and
        # its netlink code are never imported, 10 ms of a first screen.
        self.net: NetSampler | None = None
        self.sched = self._make_sched()
        # (network, waits): what is wanted (`want`, any thread) and what is measured (the
        # sampler's thread, which alone swaps the samplers).
        self.wanted = (True, True)
        self._measured = (False, True)
        self.names = names if names is not None else ContainerNames()
        self.cgroups = ProcessCgroups(self.names, proc_root)
        # The latest tick's figures and container of each process, for the detail pane,
        # read from its thread: replaced whole every tick (one assignment), never changed.
        self.latest: Latest = Latest(None, {}, {})
        # A process that neither ran nor queued since the last tick waited for nothing.
        self._idle = SchedFigures(0.0, 0.0, 0.0 if self.sched.blkio else None, None)
        self._has_proc = os.path.isdir(os.path.join(proc_root, "self"))
        self._plain = False  # the last tick measured neither the network nor the waits

    def close(self) -> None:
        if self.net is not None:
            self.net.close()

    def want(self, net: bool, wait: bool) -> None:
        """Measure the network, the waits, only while something shows them. Each starts
        afresh when wanted again: its first figures would otherwise average the whole gap."""
        self.wanted = (net, wait)

    @property
    def net_snapshot(self) -> NetSnapshot | None:
        """The last network read, None while the network is not measured."""
        return self.net.snapshot if self._measured[0] and self.net is not None else None

    def _follow_wanted(self) -> tuple[bool, bool]:
        net, wait = self.wanted
        if net and not self._measured[0]:
            self.close()
            self.net = self._make_net()
        if wait and not self._measured[1]:
            self.sched = self._make_sched()
        self._measured = (net, wait)
        return net, wait

    def fill(self, snapshot: ProcessSnapshot, active: Collection[int] | None) -> ProcessSnapshot:
        """`snapshot` with the rows' extra fields set and its `net_at`; `active`: the PIDs
        that may have run since the last tick (None: all)."""
        rows = snapshot.rows
        if not self._has_proc or not rows:
            return snapshot
        net_on, wait_on = self._follow_wanted()
        starts = {pid: r.start_time for pid, r in rows.items()}
        net = self.net.sample(starts) if net_on and self.net is not None else None
        asked = starts if active is None else {p: starts[p] for p in active if p in starts}
        waits: dict[int, SchedFigures] = {}
        if wait_on:
            threaded = [p for p in asked if rows[p].num_threads > 1]
            waits = self.sched.sample(asked, threaded, alive=starts)
        known, idle = self.latest.waits, self._idle
        labels: dict[int, str] = {}
        plain = net is None and not wait_on
        was_plain, self._plain = self._plain, plain
        if plain and was_plain:
            # Neither measured, this tick nor the last: every row already reads None for
            # both (a new row is made so, a quiet one was last tick's). Only a new row needs
            # its container; 0.8 -> 0.1 ms a tick at ~480 processes.
            for pid, r in rows.items():
                if not r.cgroups:
                    self._place(pid, r)
            labels = {pid: r.container for pid, r in rows.items()}
            return self._filled(snapshot, waits, labels, net)
        # NetSnapshot.of inlined: 2,000 rows a tick, most of them without a socket.
        counted = net is not None and net.error is None and net.interval_s is not None
        by_pid, uncounted = (net.processes, net.uncounted) if net is not None else ({}, ())
        for pid, r in rows.items():
            if not counted or pid in uncounted:
                r.net_rx_bytes_per_s = r.net_tx_bytes_per_s = None
            else:
                got = by_pid.get(pid)
                if got is None:
                    r.net_rx_bytes_per_s = r.net_tx_bytes_per_s = 0.0
                else:
                    r.net_rx_bytes_per_s = got.rx_bytes_per_s
                    r.net_tx_bytes_per_s = got.tx_bytes_per_s
            w = waits.get(pid)
            if w is None and wait_on and pid in known and pid not in asked:
                w = waits[pid] = idle  # its reading is kept: the next figure covers the gap
            if w is None:
                r.wait_percent = r.blkio_percent = None
            else:
                r.wait_percent, r.blkio_percent = w.wait_percent, w.blkio_percent
            if not r.cgroups:  # a row new this tick (a quiet one is last tick's, filled)
                self._place(pid, r)
            labels[pid] = r.container
        return self._filled(snapshot, waits, labels, net)

    def _place(self, pid: int, r: ProcessRow) -> None:
        """A new row's container and cgroup paths."""
        r.container = self.cgroups.label(pid, r.start_time)
        r.cgroups = self.cgroups.paths(pid, r.start_time)

    def _filled(
        self,
        snapshot: ProcessSnapshot,
        waits: dict[int, SchedFigures],
        labels: dict[int, str],
        net: NetSnapshot | None,
    ) -> ProcessSnapshot:
        self.latest = Latest(snapshot.timestamp, waits, labels)
        self.cgroups.retain(snapshot.rows)
        net_at = net.timestamp if net is not None else None
        return ProcessSnapshot(snapshot.timestamp, snapshot.rows, snapshot.core_count, net_at)


def _net_sampler(proc_root: str, budget_percent: float | None) -> NetSampler:
    from perftop.system.netsockets import DEFAULT_BUDGET_PERCENT, NetSampler

    budget = DEFAULT_BUDGET_PERCENT if budget_percent is None else budget_percent
    return NetSampler(proc_root, budget_percent=budget)
