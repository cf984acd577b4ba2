"""Acting on real processes from the dashboard: detail pane, signals, renice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from perftop.system.processes import ViewOptions
from perftop.system.source import LiveSource
from perftop.ui.screens.dialogs import Confirm, SignalMenu
from perftop.ui.widgets.process_detail import ProcessDetailPane
from tests.ui.helpers import make_app, table, ticks


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    marker = f"perftop-ui-test-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time\nwhile True: time.sleep(0.1)", marker],
        env={**os.environ, "PERFTOP_SECRET_MARKER": marker},
    )
    proc.marker = marker  # type: ignore[attr-defined]
    yield proc
    proc.kill()
    proc.wait()


def filtered_app(marker: str):  # type: ignore[no-untyped-def]
    return make_app(LiveSource, ViewOptions(filter_text=marker))


async def test_detail_pane_shows_the_selected_process(child: subprocess.Popen[bytes]) -> None:
    app = filtered_app(child.marker)  # type: ignore[attr-defined]
    async with app.run_test(size=(140, 40)) as pilot:
        await ticks(pilot, 2)
        assert table(pilot).current_pid == child.pid
        await pilot.press("i")
        pane = app.screen.query_one(ProcessDetailPane)
        assert pane.display
        body = ""
        for _ in range(200):
            await pilot.pause(0.01)
            body = str(pane.query_one("#detail-body").render())
            if "PERFTOP_SECRET_MARKER" in body:
                break
        assert f"{child.pid} python" in body
        assert os.getcwd() in body
        assert "PERFTOP_SECRET_MARKER" in body, "environment of our own child is readable"
        await pilot.press("i")
        assert not pane.display


async def test_kill_menu_sends_sigterm_after_confirmation(child: subprocess.Popen[bytes]) -> None:
    app = filtered_app(child.marker)  # type: ignore[attr-defined]
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        assert table(pilot).current_pid == child.pid
        await pilot.press("k")
        assert isinstance(app.screen, SignalMenu)
        await pilot.press("enter")  # SIGTERM is preselected
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")  # declining sends nothing
        await pilot.pause()
        assert child.poll() is None
        await pilot.press("f9", "enter", "y")
        await pilot.pause()
        assert child.wait(timeout=5) == -15


async def test_renice_raises_the_nice_value(child: subprocess.Popen[bytes]) -> None:
    app = filtered_app(child.marker)  # type: ignore[attr-defined]
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        before = os.getpriority(os.PRIO_PROCESS, child.pid)
        await pilot.press("f8")
        await pilot.pause()
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == before + 1


async def test_signal_to_a_vanished_process_is_a_message_not_a_crash(
    child: subprocess.Popen[bytes],
) -> None:
    app = filtered_app(child.marker)  # type: ignore[attr-defined]
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        child.kill()
        child.wait()
        await pilot.press("k", "enter", "y")
        await pilot.pause()
        assert app.is_running
        messages = [n.message for n in app._notifications]
        assert any("no longer" in m or "exited" in m or "gone" in m for m in messages), messages
