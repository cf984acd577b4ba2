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

`TerminalModes` keeps the modes from before the first start and puts them back when perftop
ends, however that is (exit, exception, SIGTERM or SIGHUP, via `perftop.children`), even if
Textual could not.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import termios
from typing import Any

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


class PerftopDriver(LinuxDriver):
    """Textual's Linux driver, surviving a SIGSTOP/SIGCONT from outside (see the module
    docstring) and giving the terminal back as it found it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.modes = TerminalModes(sys.__stdin__.fileno() if sys.__stdin__ else 0)
        self._mode_on = False  # application mode is on
        self._started = False  # Textual has started it once (it may have had to wait)

    def start_application_mode(self) -> None:
        self._started = True
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

    def _sigcont_application(self, *args: Any) -> None:
        loop = self._loop  # Driver's: the app's event loop
        if not self._auto_restart or loop.is_closed():
            return
        # call_soon_threadsafe only appends to a deque and writes a byte to a socket: safe
        # wherever the main thread was interrupted.
        loop.call_soon_threadsafe(self._continued)

    def _continued(self) -> None:
        """On the event loop after a SIGCONT: enter application mode, leaving it first if
        it is still on (a stop from outside; after its own Ctrl+Z it is already off)."""
        if not self._started or self._app.return_code is not None:
            return  # not started yet, or ending: Textual's own start or stop is on its way
        if self._mode_on:
            self.suspend_application_mode()
        self.resume_application_mode()
        if self._mode_on:
            # The whole screen, not what changed: what was there may have been written over
            # (a shell's "Stopped", its prompt) or cleared while perftop was stopped.
            self._app.refresh(layout=True)
