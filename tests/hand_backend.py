"""A profiler backend the test feeds by hand, batch by batch: for the session, the flame
screen and the record command, without py-spy."""

from __future__ import annotations

import queue

from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.profiling.backend import (
    Batch,
    ProfilerBackend,
    ProfilerError,
    ProfilerOptions,
    ThreadStack,
)

MAIN = Frame("main", "app.py", 1)
WORK = Frame("work", "app.py", 9)


class HandBackend(ProfilerBackend):
    def __init__(self, refuse: ProfilerError | None = None) -> None:
        self.items: queue.Queue[Batch | BaseException] = queue.Queue()
        self.refuse = refuse
        self.started: list[ProfilerOptions] = []
        self.paused = False
        self._running = False
        self.refresh: float | None = None  # batches stretched to this, as py-spy's for a pool

    def feed(
        self,
        samples: int,
        *,
        thread: str = "MainThread",
        wall_s: float = 1.0,
        metadata: dict[str, str] | None = None,
        exited: bool = False,
        stopped: bool = False,
        warnings: list[str] | None = None,
    ) -> None:
        profile = Profile(metadata)
        profile.add_stack([MAIN, WORK], samples, thread)
        batch = Batch(profile, wall_s, samples, 0, exited, stopped, warnings or [])
        self.items.put(batch)

    def raise_next(self, exc: BaseException) -> None:
        self.items.put(exc)

    def start(self, pid: int, options: ProfilerOptions) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.started.append(options)
        self._running = True

    def next_batch(self, timeout: float) -> Batch | None:
        try:
            item = (
                self.items.get(timeout=min(timeout, 0.05)) if timeout else self.items.get_nowait()
            )
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            self._running = False
            raise item
        if item.target_exited:
            self._running = False
        return item

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def dump_threads(self, with_locals: bool = False) -> list[ThreadStack]:
        return []

    def stop(self) -> None:
        self._running = False

    @property
    def coverage(self) -> float:
        return 1.0

    @property
    def refresh_s(self) -> float | None:
        return self.refresh

    @property
    def running(self) -> bool:
        return self._running
