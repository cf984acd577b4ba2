"""The thread that reads the machine's ticks for the app: one for the app's whole life.

Not a Textual worker per tick, as it was: a thread worker, its task, the timer that re-armed it
and the three state messages each worker sends were ~0.3 ms of the UI thread's CPU a tick,
about a thirtieth of perftop's own at ~475 processes (bench/README.md, "Figures of
2026-12-04, later"). The app asks for a tick (`ask`), from its timer or a test; the thread
reads it, and the reading posts its `Sampled` message. Asking while a tick is being read asks
for one more after it, never two at once: ticks never overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["TickThread"]


class TickThread:
    """Runs `read` once per `ask()`, on a daemon thread started at the first ask. Whatever
    `read` raises goes to `failed` (the app raises it on its own thread, where a failed
    worker's error went), and the thread ends."""

    def __init__(self, read: Callable[[], None], failed: Callable[[BaseException], None]) -> None:
        self._read = read
        self._failed = failed
        self._asked = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def ask(self) -> None:
        if self._stopped:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="perftop-ticks", daemon=True)
            self._thread.start()
        self._asked.set()

    def stop(self) -> None:
        """No tick after the one being read, if any (the app is going)."""
        self._stopped = True
        self._asked.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while True:
            self._asked.wait()
            self._asked.clear()
            if self._stopped:
                return
            try:
                self._read()
            except BaseException as exc:  # handed over whole, as a failed worker's was
                if not self._stopped:
                    self._failed(exc)
                return
