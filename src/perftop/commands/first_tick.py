"""The machine's first tick, and the profiler `perftop --pid` asks for, started on threads while
the TUI is still importing.

The first screen waits on two things that do not depend on each other: Textual and the screens
being imported (a quarter of a second, the Python interpreter busy) and the first read of
every process (tens of milliseconds at a few hundred processes, mostly the kernel filling
/proc files, which runs beside the imports on another core). Started before the imports, the
read is done by the time the app asks for it, and the dashboard shows data in its first ticks
instead of a tick later (bench/bench_startup.py: "first sample shown").

The same holds for the profiler of `perftop --pid`: py-spy's attach and its first recording
(0.3 s) run in their own process, so started before the imports the first batch is ready about
when the flame view opens, instead of that long after it (bench/bench_profile.py: "first view").
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perftop.profiling.backend import ProfilerOptions
    from perftop.profiling.session import ProfileSession
    from perftop.system.processes import Figures
    from perftop.system.samples import ProcessSnapshot, SystemSample
    from perftop.system.source import SystemSource


class FirstTick:
    """A LiveSource made, and sampled once, on its own thread from construction on."""

    def __init__(self, wanted: Figures | None = None) -> None:
        self._wanted = wanted  # what the first screen shows: only those are measured
        self._done = threading.Event()
        self._source: SystemSource | None = None
        self._tick: tuple[SystemSample, ProcessSnapshot] | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name="perftop-first-tick", daemon=True).start()

    def _run(self) -> None:
        try:
            from perftop.system.source import LiveSource

            source = LiveSource()
            if self._wanted is not None:
                # The network and the waits are a third of a first tick's CPU at ~475
                # processes (both unshown by default), and it competes with the imports.
                source.want(**self._wanted._asdict())
            self._source = source
            self._tick = (source.sample_system(), source.sample_processes())
        except BaseException as exc:  # handed to whoever asks: the sampler's worker
            self._error = exc
        finally:
            self._done.set()

    def source(self) -> SystemSource:
        """The source (the app's `source_factory`); raises what making it raised."""
        self._done.wait()
        if self._source is None:
            assert self._error is not None
            raise self._error
        return self._source

    def take(self, wait: bool = True) -> tuple[SystemSample, ProcessSnapshot] | None:
        """The first tick, once; None after that, or where sampling it failed (the app's
        sampler then reads the machine itself, and meets the error there). `wait=False`:
        None, and the tick kept, while it is still being read."""
        if not wait and not self._done.is_set():
            return None
        self._done.wait()
        tick, self._tick = self._tick, None
        return tick


class EarlySession:
    """A profiling session on `pid`, made and started on its own thread from construction on;
    the app's flame view takes it (`take`) instead of starting one itself."""

    def __init__(self, pid: int, options: ProfilerOptions, command: str) -> None:
        self.pid = pid
        self._done = threading.Event()
        self._session: ProfileSession | None = None
        args = (options, command)
        threading.Thread(
            target=self._run, args=args, name="perftop-first-profile", daemon=True
        ).start()

    def _run(self, options: ProfilerOptions, command: str) -> None:
        try:
            from perftop.profiling.backends import new_session

            session = new_session(self.pid, options, command=command)
            self._session = session
            session.start()  # a refusal leaves it FAILED, with its reason, for the screen
        except Exception:  # the screen starts its own session instead, and meets the error
            self._session = None
        finally:
            self._done.set()

    def take(self, pid: int) -> ProfileSession | None:
        """The session, once, if it is on `pid`; None otherwise (the caller makes its own)."""
        self._done.wait()
        session, self._session = self._session, None
        if session is not None and pid != self.pid:
            session.stop()  # not what was asked for: its py-spy is not left running
            return None
        return session
