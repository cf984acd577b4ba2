"""Where the dashboard's data comes from, and where what it does to a process goes: the live
machine or a deterministic fake.

The app only sees this small protocol, so live data and the fake used by snapshot tests, the
screenshot script and `--demo` feed the same widgets. Effects (signals, renice) and the
detail pane go through the same source as the data, so the fake machine acts only on itself.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from perftop.system.samples import ProcessSnapshot, SystemSample

if TYPE_CHECKING:
    from perftop.system.detail import ProcessDetail
    from perftop.system.memprobe import MemoryProbe
    from perftop.system.smaps import SmapsRollup


class SystemSource(Protocol):
    def sample_system(self) -> SystemSample: ...

    def sample_processes(self) -> ProcessSnapshot: ...

    def send_signal(self, pid: int, sig: int, start_time: float | None = None) -> None:
        """Send `sig`; with `start_time`, refuse (ProcessGone) if the PID was reused."""

    def renice(self, pid: int, delta: int) -> int:
        """Add `delta` to the nice value; the new value. ProcessError if refused."""

    def start_time(self, pid: int) -> float | None:
        """Start time in epoch seconds; None if unreadable. ProcessGone if it does not exist."""

    def read_detail(self, pid: int) -> ProcessDetail:
        """Everything the detail pane shows. ProcessError if the process is gone."""

    def probe_memory(self, pid: int) -> MemoryProbe:
        """Memory by kind and the cgroup limit, for a leak suspect. ProcessError if gone."""


# The detail pane is re-read every tick; its smaps_rollup, which costs ~12 µs per resident
# MiB (smaps.py), only this often for the same process.
SMAPS_EVERY_S = 5.0


class LiveSource:
    """psutil and /proc on this machine; constructed lazily so `--help` stays fast."""

    def __init__(self) -> None:
        from perftop.system.processes import ProcessCollector
        from perftop.system.sampler import SystemSampler

        self._system = SystemSampler()
        self._processes = ProcessCollector()
        # The detail's last memory kinds: (pid, start time, read at, kinds, refused).
        self._smaps: tuple[int, float | None, float, SmapsRollup | None, bool] | None = None

    def sample_system(self) -> SystemSample:
        return self._system.sample()

    def sample_processes(self) -> ProcessSnapshot:
        return self._processes.sample()

    def send_signal(self, pid: int, sig: int, start_time: float | None = None) -> None:
        from perftop.system.processes import send_signal

        send_signal(pid, sig, start_time)

    def renice(self, pid: int, delta: int) -> int:
        from perftop.system.processes import renice

        return renice(pid, delta)

    def start_time(self, pid: int) -> float | None:
        from perftop.system.processes import process_start_time

        return process_start_time(pid)

    def read_detail(self, pid: int) -> ProcessDetail:
        from perftop.system.detail import read_detail

        now = time.monotonic()
        last = self._smaps
        fresh = last is None or last[0] != pid or now - last[2] >= SMAPS_EVERY_S
        detail = read_detail(pid, smaps=fresh)
        if fresh or last is None or last[1] != detail.create_time:  # a PID reused: afresh
            if not fresh:
                detail = read_detail(pid)
            self._smaps = (pid, detail.create_time, now, detail.smaps, "smaps" in detail.denied)
        else:
            detail.smaps = last[3]
            if last[4]:
                detail.denied = (*detail.denied, "smaps")
        return detail

    def probe_memory(self, pid: int) -> MemoryProbe:
        from perftop.system.memprobe import read_memory_probe

        return read_memory_probe(pid)


class FakeSource:
    """The deterministic machine of `perftop.system.fake`, one tick per call pair; what is
    done to its processes changes it, and nothing real."""

    def __init__(self) -> None:
        from perftop.system.fake import FakeProcessCollector, FakeSystemSampler

        self._system = FakeSystemSampler()
        self.processes = FakeProcessCollector()

    def sample_system(self) -> SystemSample:
        return self._system.sample()

    def sample_processes(self) -> ProcessSnapshot:
        return self.processes.sample()

    def send_signal(self, pid: int, sig: int, start_time: float | None = None) -> None:
        self.processes.send_signal(pid, sig, start_time)

    def renice(self, pid: int, delta: int) -> int:
        return self.processes.renice(pid, delta)

    def start_time(self, pid: int) -> float | None:
        return self.processes.start_time(pid)

    def read_detail(self, pid: int) -> ProcessDetail:
        return self.processes.read_detail(pid)

    def probe_memory(self, pid: int) -> MemoryProbe:
        return self.processes.probe_memory(pid)
