"""perftop.forked: a function run in a forked child, ended on cancel and with perftop."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from perftop import children
from perftop.forked import fork_call
from tests.waiting import wait_until


def gone(pid: int, within: float = 5.0) -> bool:
    """The process has ended (reaped or a zombie) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def forever() -> bytes:
    while True:
        time.sleep(0.05)


def test_the_child_runs_the_function_and_answers_with_what_it_returned() -> None:
    parent = os.getpid()
    call = fork_call(lambda: f"{os.getpid()} {os.getppid()}".encode(), name="test")
    assert call.child in children.tracked()
    pid, ppid = (int(x) for x in (call.result() or b"").split())
    assert pid == call.pid != parent and ppid == parent
    assert call.child not in children.tracked()  # reaped and forgotten


def test_a_function_that_raises_gives_no_answer() -> None:
    def fail() -> bytes:
        raise ValueError("broken")

    call = fork_call(fail, name="test")
    assert call.result() is None
    assert call.child.returncode == 1


def test_what_the_child_prints_never_reaches_the_terminal(
    capfd: pytest.CaptureFixture[str],
) -> None:
    def noisy() -> bytes:
        print("to stdout", flush=True)
        os.write(2, b"to stderr\n")
        return b"done"

    assert fork_call(noisy, name="test").result() == b"done"
    out, err = capfd.readouterr()
    assert "to stdout" not in out and "to stderr" not in err


def test_cancel_ends_a_child_that_would_run_for_ever() -> None:
    call = fork_call(forever, name="test")
    call.cancel()
    assert call.result() is None
    assert call.child.returncode == 128 + signal.SIGTERM  # its own exit, after cleaning up


def test_a_child_deaf_to_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    ready = tmp_path / "ready"

    def deaf() -> bytes:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        ready.touch()
        return forever()

    call = fork_call(deaf, name="test")
    wait_until(ready.exists, 10, "the child to say it is deaf")
    call.cancel()
    assert call.result() is None
    assert call.child.returncode == -signal.SIGKILL


def test_terminate_all_ends_forked_children_as_perftop_does_at_exit() -> None:
    call = fork_call(forever, name="test")
    children.terminate_all(timeout=2.0)
    assert gone(call.pid)
    assert call.result() is None


def test_perftop_handlers_do_not_run_in_the_child() -> None:
    # The parent's SIGTERM handler (perftop's ends every child) must not run in the child,
    # where it would end the parent's children: the child gets its own.
    ran: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: ran.append(signum))
    try:
        call = fork_call(forever, name="test")
        call.cancel()
        assert call.result() is None
        assert call.child.returncode == 128 + signal.SIGTERM
        assert ran == []
    finally:
        signal.signal(signal.SIGTERM, previous)
