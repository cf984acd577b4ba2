"""The terminal perftop runs in: its modes saved at start and given back at the end, and a
stop from outside (`kill -STOP`, then `kill -CONT`) survived.

Textual 8.2.8's Linux driver answers every SIGCONT by starting application mode again, as if
the process were coming back from its own Ctrl+Z. After a SIGSTOP it never asked for, that
start runs on top of the one still going: it reads the raw modes it had set as "the modes
before", which it then restores on exit (`q` left ICANON, ECHO and ISIG off), and it starts a
second input thread beside the first. Only the second is stopped on exit; the first,
non-daemon, can miss the stop and keeps `threading._shutdown` waiting for ever (Ctrl-C left
a blank screen and a process that never ended).

`PerftopDriver` instead, on a SIGCONT:

- coming back from its own suspension (Ctrl+Z, SIGTSTP), resumes as Textual does;
- after a stop from outside, leaves application mode and enters it again: the terminal's
  modes, the alternate screen and mouse reporting may all have been changed while it was
  stopped (an interactive shell takes the terminal back when its job stops), and entering
  again redraws the whole screen;

either way from the event loop, not inside the signal handler, where the writes could wait on
a lock the interrupted code holds. In the background (a shell's job that was continued without
`fg`) the terminal is not ours to set: the process stops on SIGTTOU as any program does, and
resumes properly on `fg`.

Textual's input thread also wakes ten times a second, pressed or not, to see whether it should
stop and whether a lone Escape has waited long enough to be a key: 0.2-0.25 % of a core, a tenth
of the dashboard's whole cost (bench/README.md). `PerftopDriver`'s input thread sleeps until a
key, the end of an Escape's wait, or a stop (a byte on a pipe of its own).

`TerminalModes` keeps the modes from before the first start and puts them back when perftop
ends, however that is (exit, exception, SIGTERM or SIGHUP, via `perftop.children`), even if
Textual could not.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import selectors
import signal
import sys
import termios
import threading
import time
from codecs import getincrementaldecoder
from typing import Any

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

from perftop import children

# What Textual's application mode turns on, turned off: mouse reporting (all of its modes),
# bracketed paste, focus events, the kitty keyboard protocol; then the normal screen, the
# cursor shown, and lines wrapping again.
_LEAVE_APPLICATION_MODE = (
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?1016l"
    "\x1b[?2004l\x1b[?1004l\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?7h"
)


class TerminalModes:
    """A terminal's termios modes, saved once, restored on demand and when perftop ends."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved: list[Any] | None = None
        # Set while application mode is on: an exit that finds it still on (Textual never got
        # to leave it) also writes the escape sequences that leave it.
        self.in_application_mode = False
        with contextlib.suppress(termios.error, OSError):
            if os.isatty(fd):
                self.saved = termios.tcgetattr(fd)
        if self.saved is not None:
            # On SIGTERM and SIGHUP too (a fatal signal skips atexit): the modes only, as the
            # screen is then given back from the event loop (perftop/commands/tui.py), and
            # escape codes written from a signal handler could land in the middle of a frame.
            children.add_cleanup(self.restore_modes)
            atexit.register(self.restore)

    def restore(self) -> None:
        """At exit: leave application mode if Textual could not, then restore the modes."""
        if self.saved is not None and self.in_application_mode:
            self.in_application_mode = False
            # os.write, not a Python file: no lock that interrupted code could be holding.
            with contextlib.suppress(OSError):
                os.write(self.fd, _LEAVE_APPLICATION_MODE.encode())
        self.restore_modes()

    def restore_modes(self) -> None:
        """Put the saved modes back; safe from a signal handler and in the background."""
        if self.saved is None:
            return
        # A background process that sets the terminal's modes is stopped by SIGTTOU unless it
        # ignores the signal: ending must never stop, whoever has the terminal now.
        previous: Any = None
        with contextlib.suppress(ValueError):  # not the main thread: signals stay as they are
            previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            # TCSANOW: TCSADRAIN would wait for ever on a terminal stopped by ^S.
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
        finally:
            if previous is not None:
                with contextlib.suppress(ValueError):
                    signal.signal(signal.SIGTTOU, previous)


class WakingEvent(threading.Event):
    """The driver's `exit_event`: set, it also writes a byte to `wake_fd`, so that an input
    thread asleep in select sees it at once."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self.wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        with contextlib.suppress(OSError):  # full (it is awake already) or closed
            os.write(self.wake_fd, b"x")


def _drain(fd: int) -> None:
    with contextlib.suppress(OSError):  # non-blocking: BlockingIOError once empty
        while os.read(fd, 512):
            pass


class PerftopDriver(LinuxDriver):
    """Textual's Linux driver, surviving a SIGSTOP/SIGCONT from outside, giving the terminal
    back as it found it, and reading keys without waking when there are none (see the
    module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Kept open for the process's life: closed, a late `exit_event.set()` could write
        # into whatever file was given the number next.
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.exit_event = WakingEvent(self._wake_w)
        self.modes = TerminalModes(sys.__stdin__.fileno() if sys.__stdin__ else 0)
        self._mode_on = False  # application mode is on
        self._started = False  # Textual has started it once (it may have had to wait)
        self._entered_at = float("-inf")  # when application mode was last entered (monotonic)

    def start_application_mode(self) -> None:
        self._started = True
        self._entered_at = time.monotonic()
        self._writer_thread = None  # set again only if the start goes through
        super().start_application_mode()  # type: ignore[no-untyped-call]
        # Textual gives up before starting anything when it may not set the terminal (in the
        # background); the next SIGCONT (on `fg`) starts it then.
        self._mode_on = self._writer_thread is not None
        self.modes.in_application_mode = self._mode_on

    def stop_application_mode(self) -> None:
        if not self._mode_on:
            return
        self._mode_on = False
        super().stop_application_mode()
        self.modes.in_application_mode = False

    def write(self, data: str) -> None:
        if self._writer_thread is None:
            return  # not in application mode (waiting for `fg`): nothing to draw on
        super().write(data)

    def close(self) -> None:
        super().close()
        self.modes.restore_modes()

    def run_input_thread(self) -> None:
        """Textual's (8.2) input loop, but asleep in select until there is something to do:
        a key, a stop, or the moment an escape sequence waited for times out (`tick`)."""
        fileno, wake = self.fileno, self._wake_r
        _drain(wake)  # a stop's byte left from a suspension, when the thread had already ended
        selector = selectors.SelectSelector()
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        try:
            while not self.exit_event.is_set():
                # The parser's own deadline for a sequence it is waiting on (a lone Escape
                # becomes the key then); None: nothing to time out, so sleep until woken.
                due = parser._timeout_time
                timeout = None if due is None else max(due - get_time(), 0.0)
                ready = selector.select(timeout)
                for key, _ in ready:
                    if key.fd == wake:
                        _drain(wake)
                        continue
                    raw = os.read(fileno, 1024 * 4)
                    if not raw:  # at its end (piped): nothing more to read, nor to wait on
                        selector.unregister(fileno)
                        continue
                    for event in parser.feed(decode(raw)):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
            for event in parser.tick():
                self.process_message(event)
        finally:
            selector.close()
            with contextlib.suppress(EOFError, ParseError):
                for _ in parser.feed(""):
                    pass

    def _sigcont_application(self, *args: Any) -> None:
        loop = self._loop  # Driver's: the app's event loop
        if not self._auto_restart or loop.is_closed():
            return
        # call_soon_threadsafe only appends to a deque and writes a byte to a socket: safe
        # wherever the main thread was interrupted.
        loop.call_soon_threadsafe(self._continued, time.monotonic())

    def _continued(self, sent_at: float) -> None:
        """On the event loop after a SIGCONT (`sent_at`): enter application mode, leaving it
        first if it is still on (a stop from outside; after its own Ctrl+Z it is already off).

        Not again if it was entered after that SIGCONT: whatever the terminal went through
        while perftop was stopped came before, and that entry redrew it all. A background job
        continued from outside, then brought back with `fg`, gets two: the first one's entry
        waits out the stop on SIGTTOU and is made after `fg`'s, and a key pressed as the
        second left and entered again was lost (CI, tests/e2e/test_stop_cont.py)."""
        if not self._started or self._app.return_code is not None:
            return  # not started yet, or ending: Textual's own start or stop is on its way
        if self._mode_on and self._entered_at >= sent_at:
            return
        if self._mode_on:
            self.suspend_application_mode()
        self.resume_application_mode()
        if self._mode_on:
            # The whole screen, not what changed: what was there may have been written over
            # (a shell's "Stopped", its prompt) or cleared while perftop was stopped.
            self._app.refresh(layout=True)
