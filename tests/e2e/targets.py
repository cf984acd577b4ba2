"""The end-to-end tests' one way to start a process to profile, and to watch py-spy on it.

A target is a Python script run with its stdin on a pipe: it lives until the test closes
that pipe (or dies, which closes it too), so it is never gone before the test is done with it,
and it never outlives the test. `start_target` returns once the target has been busy (has used
CPU time: its interpreter is set up and it is in its loop, where py-spy can read it), so a
test never races the interpreter's start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import psutil

from tests.e2e.harness import wait_until

# Prepended to every target: a thread that ends the process when its stdin closes.
LIFELINE = textwrap.dedent(
    """
    import os as _os, sys as _sys, threading as _threading

    def _perftop_e2e_lifeline():
        _sys.stdin.buffer.read()  # returns at EOF: the test closed the pipe, or died
        _os._exit(0)

    _threading.Thread(target=_perftop_e2e_lifeline, name="lifeline", daemon=True).start()
    """
)

# The usual target: a hot function with a leaf under it, and a second thread.
TARGET = textwrap.dedent(
    """
    import threading, time

    def perftop_e2e_leaf(n):
        return sum(i * i for i in range(n))

    def perftop_e2e_hot_function():
        while True:
            perftop_e2e_leaf(20000)

    def perftop_e2e_side_thread():
        while True:
            sorted(str(i) for i in range(3000))
            time.sleep(0.001)

    threading.Thread(target=perftop_e2e_side_thread, name="side", daemon=True).start()
    perftop_e2e_hot_function()
    """
)


class Target:
    """A running target; `end()` tells it to exit and waits for it."""

    def __init__(self, proc: subprocess.Popen[bytes], script: Path) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.script = script

    def poll(self) -> int | None:
        return self.proc.poll()

    def cpu_s(self) -> float:
        try:
            times = psutil.Process(self.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def wait_busy(self, cpu_s: float = 0.2, timeout: float = 30.0) -> None:
        """Until it has used `cpu_s` seconds of CPU since it started."""
        wait_until(
            lambda: self.poll() is not None or self.cpu_s() >= cpu_s,
            f"PID {self.pid} ({self.script.name}) to use {cpu_s} s of CPU",
            timeout,
        )
        assert self.poll() is None, f"the target {self.script.name} exited with {self.poll()}"

    def end(self, timeout: float = 10.0) -> int:
        """Tell it to exit (close its stdin) and reap it; its exit status. A stopped target
        is continued first: it could not read its end of the pipe."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: the target dies without a word (what a crash or an OOM kill does)."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()


def start_target(
    directory: Path,
    source: str = TARGET,
    args: Sequence[str] = (),
    *,
    name: str = "e2e_target.py",
    prefix: Sequence[str] = (),
    busy_s: float | None = 0.2,
) -> Target:
    """Write `source` (with the lifeline) to `directory/name` and run it there, with a short
    command line (`python name args`): the profile's head line then has room for its sample
    count. `prefix` goes before the interpreter (setpriv, to run it as another user). Returns
    once it has used `busy_s` s of CPU (None: at once, for a target that mostly sleeps)."""
    script = directory / name
    script.write_text(LIFELINE + source)
    script.chmod(0o644)
    proc = subprocess.Popen(
        [*prefix, sys.executable, name, *args], cwd=directory, stdin=subprocess.PIPE
    )
    target = Target(proc, script)
    if busy_s is not None:
        try:
            target.wait_busy(busy_s)
        except BaseException:
            target.kill()
            raise
    return target


def pyspy_of(pid: int) -> list[psutil.Process]:
    """The py-spy processes sampling `pid`."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "py-spy" and str(pid) in cmdline:
            found.append(proc)
    return found


def wait_pyspy(pid: int, timeout: float = 20.0) -> list[psutil.Process]:
    return wait_until(lambda: pyspy_of(pid), f"a py-spy on PID {pid}", timeout)


def wait_gone(pid: int, timeout: float = 15.0) -> None:
    """Until no py-spy samples `pid`."""
    wait_until(
        lambda: not pyspy_of(pid),
        f"every py-spy on PID {pid} to end",
        timeout,
        lambda: f"still running: {[(p.pid, p.info['cmdline']) for p in pyspy_of(pid)]}",
    )


def pyspy_available() -> bool:
    from shutil import which

    return Path(sys.executable).with_name("py-spy").exists() or which("py-spy") is not None
