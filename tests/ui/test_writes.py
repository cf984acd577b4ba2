"""Background writes (perftop/ui/writes.py): a slow export shows that it is writing, can be
cancelled, and never keeps perftop from quitting."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
from textual.pilot import Pilot

from perftop.app import PerftopApp
from perftop.formats.atomic import write_atomic
from perftop.ui.writes import Write
from tests.ui.helpers import make_app, ticks


def slow_write(path: Path) -> None:
    """An export that would take for ever (pyinstrument's HTML of a deep profile)."""
    while True:
        time.sleep(0.05)


async def until(pilot: Pilot[None], check: object, what: str) -> None:
    """Wait for `check()` to be true, a condition bounded at 20 s of a loaded machine."""
    assert callable(check)
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.02)


def titles(app: PerftopApp) -> list[str]:
    return [n.title for n in app._notifications]


def ended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_a_slow_export_says_it_is_writing_and_ctrl_x_cancels_it(tmp_path: Path) -> None:
    target = tmp_path / "deep.html"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        app.write_in_background(target, "pyinstrument HTML", lambda: slow_write(target))
        (job,) = app.writes
        await until(pilot, lambda: "Writing" in titles(app), "the writing toast")
        await pilot.press("ctrl+x")
        await until(pilot, lambda: not app.writes, "the write to end")
        assert ended(job.call.pid)
        assert "Writing" not in titles(app) and "Cancelled" in titles(app)
        assert not target.exists()
        # The screen is still perftop's, and a quick write still works after it.
        other = tmp_path / "quick.txt"
        app.write_in_background(other, "text", lambda: write_atomic(other, "hello"))
        await until(pilot, lambda: not app.writes, "the quick write")
        # The toast comes after the write has ended: wait for it, on a loaded machine too.
        await until(pilot, lambda: "Saved" in titles(app), "the saved toast")
        assert other.read_text() == "hello"


async def test_a_quick_write_only_says_where_the_file_went(tmp_path: Path) -> None:
    target = tmp_path / "quick.txt"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        app.write_in_background(target, "text", lambda: write_atomic(target, "x"))
        (job,) = app.writes
        await until(pilot, lambda: not app.writes, "the write")
        app._show_writing(job)  # its timer, firing after the write was done
        await pilot.pause()
        assert titles(app) == ["Saved"]


async def test_a_failing_write_says_why(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "x.txt"  # no such directory
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        app.write_in_background(target, "text", lambda: write_atomic(target, "x"))
        await until(pilot, lambda: not app.writes, "the write")
        # The toast comes after the write has ended (CI once read none): wait for it.
        await until(pilot, lambda: bool(list(app._notifications)), "the error toast")
        (toast,) = list(app._notifications)
        assert toast.severity == "error" and str(target.parent) in toast.message


async def test_quitting_while_writing_ends_the_writer_at_once(tmp_path: Path) -> None:
    target = tmp_path / "deep.html"
    app = make_app()
    job: Write | None = None
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        app.write_in_background(target, "pyinstrument HTML", lambda: slow_write(target))
        (job,) = app.writes
        await pilot.press("q")
    assert app.return_code == 0
    assert job is not None and job.done.wait(10), "the writer outlived the app"
    assert ended(job.call.pid)
