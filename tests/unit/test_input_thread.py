"""PerftopDriver's input thread (perftop/terminal.py) sleeps in select until a key, the end
of a lone Escape's wait, or a stop: Textual's woke ten times a second whatever happened."""

from __future__ import annotations

import asyncio
import os
import pty
import selectors
import threading
import tty
from typing import Any

import pytest
from textual import events
from textual.message import Message

from perftop import terminal
from perftop.terminal import PerftopDriver
from tests.waiting import wait_until


class CountingSelector(selectors.SelectSelector):
    timeouts: list[float | None] = []

    def select(self, timeout: float | None = None) -> Any:
        CountingSelector.timeouts.append(timeout)
        return super().select(timeout)


def test_the_input_thread_sleeps_until_a_key_an_escape_s_wait_or_a_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(terminal.selectors, "SelectSelector", CountingSelector)
    CountingSelector.timeouts = []
    master, slave = pty.openpty()
    tty.setraw(slave)  # as Textual sets its terminal: a key arrives alone, not with a line

    async def make() -> PerftopDriver:
        return PerftopDriver(None)  # type: ignore[arg-type]  # no app: messages are caught

    driver = asyncio.run(make())
    driver.fileno = slave
    got: list[Message] = []
    driver.process_message = got.append  # type: ignore[method-assign]
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        wait_until(lambda: CountingSelector.timeouts == [None], 10, "asleep with no timeout")
        os.write(master, b"a")
        wait_until(lambda: any(isinstance(m, events.Key) and m.key == "a" for m in got), 10, "a")
        wait_until(lambda: CountingSelector.timeouts[-1] is None, 10, "asleep again")
        os.write(master, b"\x1b")  # alone: a key only once the parser stops waiting for more
        wait_until(
            lambda: any(isinstance(m, events.Key) and m.key == "escape" for m in got),
            10,
            "escape",
        )
        waits = [t for t in CountingSelector.timeouts if t is not None]
        assert waits and all(0 <= t <= 1 for t in waits), "a wait as long as the parser's"
        wait_until(lambda: CountingSelector.timeouts[-1] is None, 10, "asleep after escape")
        asleep = len(CountingSelector.timeouts)
        driver.exit_event.set()  # as Textual's disable_input does; no key needed to see it
        thread.join(timeout=10)
        assert not thread.is_alive(), "woken by the stop"
        assert len(CountingSelector.timeouts) == asleep, "woken once, by the stop"
    finally:
        driver.exit_event.set()
        os.close(master)
        os.close(slave)


def test_a_sigcont_from_before_the_last_entry_enters_nothing_again() -> None:
    """A background job continued from outside, then `fg`: two SIGCONTs, the first one's
    entry made after `fg`'s. That second SIGCONT leaves and enters nothing (a key pressed then
    was lost); one sent after the entry does, as a stop from outside needs."""
    driver = PerftopDriver.__new__(PerftopDriver)  # no terminal: the decision alone
    calls: list[str] = []

    class App:
        return_code = None

        def refresh(self, **_: Any) -> None:
            calls.append("redraw")

    def resume() -> None:
        calls.append("enter")
        driver._mode_on, driver._entered_at = True, 10.0

    driver._app = App()  # type: ignore[assignment]
    driver._started, driver._mode_on, driver._entered_at = True, True, 10.0
    driver.suspend_application_mode = lambda: calls.append("leave")  # type: ignore[method-assign]
    driver.resume_application_mode = resume  # type: ignore[method-assign]
    driver._continued(9.5)
    assert calls == [], "entered at 10, after it was sent"
    driver._continued(12.0)
    assert calls == ["leave", "enter", "redraw"]
