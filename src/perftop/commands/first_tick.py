"""The machine's first tick, taken on a thread while the TUI is still importing.

The first screen waits on two things that do not depend on each other: Textual and the screens
being imported (a quarter of a second, the Python interpreter busy) and the first read of
every process (tens of milliseconds at a few hundred processes, mostly the kernel filling
/proc files, which runs beside the imports on another core). Started before the imports, the
read is done by the time the app asks for it, and the dashboard shows data in its first ticks
instead of a tick later (bench/bench_startup.py: "first sample shown").
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perftop.system.samples import ProcessSnapshot, SystemSample
    from perftop.system.source import SystemSource


class FirstTick:
    """A LiveSource made, and sampled once, on its own thread from construction on."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._source: SystemSource | None = None
        self._tick: tuple[SystemSample, ProcessSnapshot] | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name="perftop-first-tick", daemon=True).start()

    def _run(self) -> None:
        try:
            from perftop.system.source import LiveSource

            source = LiveSource()
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

    def take(self) -> tuple[SystemSample, ProcessSnapshot] | None:
        """The first tick, once; None after that, or where sampling it failed (the app's
        sampler then reads the machine itself, and meets the error there)."""
        self._done.wait()
        tick, self._tick = self._tick, None
        return tick
