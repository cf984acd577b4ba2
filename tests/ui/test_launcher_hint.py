"""A live flame of a launcher (a shell with Python under it) sampled with perf by auto: the
screen says, once, which process under it to profile instead (profiling/backends.py,
`python_under`)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator

import pytest

from perftop.app import AppConfig, PerftopApp
from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.session import ProfileSession
from perftop.system.source import FakeSource
from perftop.ui.screens.profile import ProfileScreen
from tests.e2e.harness import wait_until
from tests.hand_backend import HandBackend
from tests.launched import running
from tests.ui.helpers import ticks, until


@pytest.fixture
def launcher() -> Iterator[tuple[int, int]]:
    """(a bash PID, the sleeping Python PID under it)."""
    python = [sys.executable, "-c", "import signal; signal.pause()"]  # until killed
    shell = subprocess.Popen(["bash", "-c", shlex.join(python) + "; true"], start_new_session=True)
    try:
        yield shell.pid, wait_until(lambda: running(shell.pid, sys.executable), "bash's Python")
    finally:
        os.killpg(shell.pid, 9)
        shell.wait()


def hints(app: PerftopApp) -> list[str]:
    return [n.message for n in app._notifications if "is not Python" in n.message]


@pytest.mark.parametrize("source", ["perf", "py-spy"])
async def test_a_launchers_flame_by_perf_names_the_python_process_under_it(
    launcher: tuple[int, int], source: str
) -> None:
    shell, child = launcher
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600))
    backend = HandBackend()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        session = ProfileSession(shell, ProfilerOptions(), lambda: backend, source=source)
        await app.push_screen(ProfileScreen(session, title=f"PID {shell} bash"))
        backend.feed(10)
        await until(pilot, lambda: session.profile.total_samples == 10, "a batch")
        if source == "py-spy":  # following it into its children already (--subprocesses)
            assert hints(app) == []
            return
        await until(pilot, lambda: hints(app), "the hint")
        (hint,) = hints(app)
        assert f"PID {shell} (bash) is not Python" in hint and f"perftop --pid {child}" in hint
        backend.feed(10)
        await until(pilot, lambda: session.profile.total_samples == 20, "another batch")
        assert len(hints(app)) == 1, "said once"
