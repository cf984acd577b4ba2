"""Where the dashboard's data comes from: the live machine or a deterministic fake.

The app only sees this small protocol, so live data, the fake used by snapshot tests and the
screenshot script, and (later) replayed recordings all feed the same widgets.
"""

from __future__ import annotations

from typing import Protocol

from perftop.system.samples import ProcessSnapshot, SystemSample


class SystemSource(Protocol):
    def sample_system(self) -> SystemSample: ...

    def sample_processes(self) -> ProcessSnapshot: ...


class LiveSource:
    """psutil and /proc on this machine; constructed lazily so `--help` stays fast."""

    def __init__(self) -> None:
        from perftop.system.processes import ProcessCollector
        from perftop.system.sampler import SystemSampler

        self._system = SystemSampler()
        self._processes = ProcessCollector()

    def sample_system(self) -> SystemSample:
        return self._system.sample()

    def sample_processes(self) -> ProcessSnapshot:
        return self._processes.sample()


class FakeSource:
    """The deterministic machine of `perftop.system.fake`, one tick per call pair."""

    def __init__(self) -> None:
        from perftop.system.fake import FakeProcessCollector, FakeSystemSampler

        self._system = FakeSystemSampler()
        self._processes = FakeProcessCollector()

    def sample_system(self) -> SystemSample:
        return self._system.sample()

    def sample_processes(self) -> ProcessSnapshot:
        return self._processes.sample()
