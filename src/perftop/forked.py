"""A function of perftop's own run in a child process: heavy work that must never hold up the
screen or the exit.

Some exports take minutes (pyinstrument's HTML renders in time quadratic in the stack's depth:
275 s at 50,000 frames) and cannot be interrupted from another thread. Run in a fork instead,
such work is ended by a signal: on cancel, on quit, and however perftop ends, as a target of
perftop/children.py (SIGTERM then SIGKILL; its death signal if perftop is killed outright).

A fork, not a fresh interpreter: the work is a closure over data already in memory (a profile,
a snapshot), which a fork has for free and no pickling could carry as cheaply. The child keeps
only the forking thread, so it touches nothing of the parent's but that data: its signal
handlers are reset (perftop/children.py), its standard streams go to /dev/null so nothing it
prints lands on the screen, and every other inherited descriptor is closed. It ends with
`os._exit`: no atexit handler of the parent runs twice.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

from perftop import children

__all__ = ["ForkedCall", "fork_call"]

_MAX_FD = 65536  # closerange's upper bound: past any descriptor a TUI process holds


class Forked:
    """A forked child, looking enough like a `subprocess.Popen` for perftop/children.py."""

    def __init__(self, pid: int, name: str) -> None:
        self.pid = pid
        self.args = [name]
        self.returncode: int | None = None
        # The waiting thread and terminate_all (at exit, on the main thread) may both reap.
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        with self._lock:
            if self.returncode is None:
                try:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:  # reaped elsewhere: its status is lost
                    self.returncode = -signal.SIGKILL
                else:
                    if pid:
                        self.returncode = os.waitstatus_to_exitcode(status)
            return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(0.01)
        return code

    def send_signal(self, sig: int) -> None:
        # Only while unreaped (checked under the lock), so a recycled PID is never signalled.
        with self._lock:
            if self.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, sig)


class ForkedCall:
    """`fn` running in a child: `result()` waits for what it returned, `cancel()` ends it."""

    KILL_AFTER_S = 1.0  # a child still there this long after SIGTERM gets SIGKILL

    def __init__(self, child: Forked, reader: int) -> None:
        self.child = child
        self._reader = reader

    @property
    def pid(self) -> int:
        return self.child.pid

    def result(self) -> bytes | None:
        """Block until the child ends; what `fn` returned, or None if it did not finish (it
        raised, was cancelled or was killed). Call once, from a thread of the caller's."""
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self._reader, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(self._reader)
        code = self.child.wait()
        children.untrack(self.child)
        return b"".join(chunks) if code == 0 else None

    def cancel(self) -> None:
        """End the child without waiting: SIGTERM now, SIGKILL if it is still there later."""
        self.child.send_signal(signal.SIGTERM)
        timer = threading.Timer(self.KILL_AFTER_S, self.child.send_signal, (signal.SIGKILL,))
        timer.daemon = True
        timer.start()


def _own_signals() -> None:
    """In the child: every handler perftop or Textual installed back to the default, and no
    wake-up byte written to the parent's event loop; then SIGTERM and SIGHUP end it by an
    exception, so that what it has in hand is cleaned up on the way out (a temporary file of
    write_atomic's), and the signals perftop/children.py blocked for the fork are let in."""
    signal.set_wakeup_fd(-1)
    for sig in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            if callable(signal.getsignal(sig)):
                signal.signal(sig, signal.SIG_DFL)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, children.ENDING_SIGNALS)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # the status a shell gives a process ended by `signum`


def fork_call(fn: Callable[[], bytes], *, name: str) -> ForkedCall:
    """Run `fn` in a forked child, tracked by perftop/children.py until `result()` reaps it.

    Raises `children.ChildrenClosed` once perftop is ending, OSError if it cannot fork.
    """
    reader, writer = os.pipe()

    def child_main() -> NoReturn:
        _own_signals()
        # No collection: a finaliser of some parent object (a socket) would close its
        # descriptor, closed below and perhaps reused by then for what `fn` writes.
        gc.disable()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        keep = sorted({0, 1, 2, writer})
        for low, high in zip(keep, [*keep[1:], _MAX_FD], strict=True):
            os.closerange(low + 1, high)
        # What Textual had them capture (a print goes to its event loop) is the parent's.
        sys.stdout = sys.stderr = open(1, "w", closefd=False)  # noqa: SIM115
        data = fn()
        view = memoryview(data)
        while view:
            view = view[os.write(writer, view) :]
        os._exit(0)

    try:
        child = children.fork(child_main, lambda pid: Forked(pid, name))
    except BaseException:
        os.close(reader)
        raise
    finally:
        os.close(writer)
    return ForkedCall(child, reader)
