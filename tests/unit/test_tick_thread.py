"""TickThread: one read per ask, never two at once, an error handed over, and a stop kept."""

from __future__ import annotations

import threading

from perftop.ui.tick_thread import TickThread
from tests.waiting import wait_until


class Reader:
    """A read that can be held open, counting reads and how many ran at once."""

    def __init__(self) -> None:
        self.reads = 0
        self.running = 0
        self.most_at_once = 0
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.entered.set()
        self.release.wait(10)
        with self.lock:
            self.running -= 1
            self.reads += 1


def test_each_ask_reads_once_and_asks_during_a_read_make_one_more_after_it() -> None:
    read, errors = Reader(), []
    ticks = TickThread(read, errors.append)
    ticks.ask()
    wait_until(lambda: read.reads == 1, 10, "the first tick read")
    read.release.clear()
    read.entered.clear()
    ticks.ask()
    assert read.entered.wait(10)  # the second read is under way, held
    for _ in range(5):
        ticks.ask()  # asked again and again while it reads
    read.release.set()
    wait_until(lambda: read.reads == 3, 10, "one more read after the held one")
    assert read.most_at_once == 1 and errors == []
    ticks.stop()
    wait_until(lambda: not ticks.alive, 10, "the thread gone")
    assert read.reads == 3


def test_what_a_read_raises_is_handed_over_and_the_thread_ends() -> None:
    errors: list[BaseException] = []
    boom = RuntimeError("the machine is on fire")

    def read() -> None:
        raise boom

    ticks = TickThread(read, errors.append)
    ticks.ask()
    wait_until(lambda: not ticks.alive and ticks._thread is not None, 10, "the thread ended")
    assert errors == [boom]


def test_no_read_after_stop() -> None:
    read = Reader()
    ticks = TickThread(read, lambda _: None)
    ticks.ask()
    wait_until(lambda: read.reads == 1, 10, "a tick read")
    ticks.stop()
    ticks.ask()
    wait_until(lambda: not ticks.alive, 10, "the thread gone")
    assert read.reads == 1
