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

import pickle
import threading
from typing import TYPE_CHECKING

from perftop import children
from perftop.forked import ForkedCall, fork_call

if TYPE_CHECKING:
    from perftop.profiling.backend import ProfilerOptions
    from perftop.profiling.session import ProfileSession
    from perftop.system.processes import Figures
    from perftop.system.samples import ProcessSnapshot, SystemSample
    from perftop.system.source import SystemSource


class FirstTick:
    """The first tick, read in a forked child from construction on; and the LiveSource the
    app samples from then on, made on a thread, whose own first read (the base of the next
    tick's rates) waits until the first frame is drawn (`opened`).

    A child, not a thread: reading ~475 processes is thousands of system calls, and a thread
    gets the GIL back after each only when the importing main thread lets it go (every 5 ms):
    beside the imports the read took 0.24 s instead of 0.05, finished after them, and slowed
    them by ~60 ms. The child runs on the other core, with a GIL of its own, and hands the
    tick back pickled. Where it cannot fork, the thread reads the tick itself, as before."""

    def __init__(self, wanted: Figures | None = None, *, fork: bool = True) -> None:
        self.wanted = wanted  # what the first screen shows: only those are measured
        self._done = threading.Event()  # the source is made and has read its first tick
        self._read = threading.Event()  # the first tick is in (or could not be read)
        self._go = threading.Event()  # the source's own first read may start
        self._source: SystemSource | None = None
        self._tick: tuple[SystemSample, ProcessSnapshot] | None = None
        self._taken = False
        self._error: BaseException | None = None
        self._forked = _fork_tick(wanted) if fork else None
        if self._forked is None:
            self._go.set()
        threading.Thread(target=self._run, name="perftop-first-tick", daemon=True).start()

    def _run(self) -> None:
        if self._forked is not None:
            self._tick = _unpickled(self._forked.result())
            self._forked = None
            if self._tick is None:
                self._go.set()  # the child failed: nothing to show until this thread reads
            else:
                self._read.set()
            self._go.wait()
        try:
            from perftop.system.source import LiveSource

            source = LiveSource()
            if self.wanted is not None:
                # The network and the waits are a third of a first tick's CPU at ~475
                # processes (both unshown by default).
                source.want(**self.wanted._asdict())
            self._source = source
            tick = (source.sample_system(), source.sample_processes())
            if not self._read.is_set():
                self._tick = tick
        except BaseException as exc:  # handed to whoever asks: the sampler's worker
            self._error = exc
        finally:
            self._read.set()
            self._done.set()

    def opened(self) -> None:
        """The first frame is drawn: the source's own first read may start (before, it
        would have slowed that frame by its CPU)."""
        self._go.set()

    def source(self) -> SystemSource:
        """The source (the app's `source_factory`); raises what making it raised."""
        self._go.set()
        self._done.wait()
        if self._source is None:
            assert self._error is not None
            raise self._error
        return self._source

    def take(self, wait: bool = True) -> tuple[SystemSample, ProcessSnapshot] | None:
        """The first tick, once; None after that, or where sampling it failed (the app's
        sampler then reads the machine itself, and meets the error there). `wait=False`:
        None, and the tick kept, while it is still being read."""
        if not wait and not self._read.is_set():
            return None
        self._read.wait()
        if self._taken:
            return None
        self._taken = True
        tick, self._tick = self._tick, None
        if wait:
            self._go.set()  # the first frame went without it: nothing left to wait for
        return tick


def _fork_tick(wanted: Figures | None) -> ForkedCall | None:
    """The first tick read in a child (`forked.fork_call`), or None where it cannot fork."""

    def read() -> bytes:
        from perftop.system.source import LiveSource

        source = LiveSource()
        if wanted is not None:
            source.want(**wanted._asdict())
        return pickle.dumps((source.sample_system(), source.sample_processes()), protocol=5)

    try:
        return fork_call(read, name="perftop-first-tick")
    except (OSError, children.ChildrenClosed):
        return None


def _unpickled(data: bytes | None) -> tuple[SystemSample, ProcessSnapshot] | None:
    """The child's tick; None where it failed (it said nothing: the thread meets the error).
    Our own child's bytes, read from a pipe only it could write: safe to unpickle."""
    if not data:
        return None
    try:
        tick: tuple[SystemSample, ProcessSnapshot] = pickle.loads(data)
    except Exception:
        return None
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
