"""htop's reflexes on the dashboard: M/P/T sort, u picks a user, \\ filters, Insert tags and
F9/F7/F8 then act on every tagged process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from textual import events
from textual.pilot import Pilot

from perftop.system.processes import SortKey, ViewOptions
from perftop.system.source import FakeSource, LiveSource
from perftop.ui.screens.dialogs import Confirm, SignalMenu, UserMenu
from tests.ui.helpers import make_app, table, ticks


async def until_rows(pilot: Pilot[None], n: int) -> None:
    """Tick until the filtered table shows `n` rows (children just started may lack their
    command line for a tick)."""
    for _ in range(50):
        if len(table(pilot).rows) == n:
            return
        await ticks(pilot, 1)
    raise AssertionError(f"the table never showed {n} rows: {len(table(pilot).rows)}")


@pytest.fixture
def children() -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    marker = f"perftop-tag-test-{os.getpid()}-{time.monotonic_ns()}"
    procs = [
        subprocess.Popen([sys.executable, "-c", "import signal\nsignal.pause()", marker])
        for _ in range(3)
    ]
    yield marker, procs
    for proc in procs:
        proc.kill()
        proc.wait()


async def test_m_p_t_sort_as_htop() -> None:
    app = make_app(FakeSource)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        options = app.dashboard.options
        await pilot.press("M")
        assert (options.sort_key, options.reverse) == (SortKey.MEM, True)
        await pilot.press("T")
        assert (options.sort_key, options.reverse) == (SortKey.TIME, True)
        assert "sorted by TIME+▼" in str(app.screen.query_one("#status").render())
        await pilot.press("P")
        assert (options.sort_key, options.reverse) == (SortKey.CPU, True)
        cpus = [v.cpu_display for v in table(pilot).rows]
        assert cpus == sorted(cpus, reverse=True)


async def test_u_shows_one_users_processes_and_all_again() -> None:
    app = make_app(FakeSource)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        users = {v.row.user for v in table(pilot).rows}
        assert len(users) > 1, "the fake machine has several users"
        await pilot.press("u")
        menu = app.screen
        assert isinstance(menu, UserMenu)
        await pilot.press("down", "enter")  # the user with the most processes
        await pilot.pause()
        user = app.dashboard.options.user
        assert user is not None
        assert {v.row.user for v in table(pilot).rows} == {user}
        assert f"user: {user}" in str(app.screen.query_one("#status").render())
        await pilot.press("u", "home", "enter")  # All users
        await pilot.pause()
        assert app.dashboard.options.user is None
        assert {v.row.user for v in table(pilot).rows} == users


async def test_backslash_opens_the_filter() -> None:
    app = make_app(FakeSource)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        await pilot.press("backslash")
        box = app.screen.query_one("#filter")
        assert box.display and box.has_focus


async def test_tagged_processes_get_the_signal_together(
    children: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    marker, procs = children
    app = make_app(LiveSource, ViewOptions(filter_text=marker, sort_key=SortKey.PID, reverse=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        await until_rows(pilot, 3)
        shown = table(pilot)
        assert [v.row.pid for v in shown.rows] == sorted(p.pid for p in procs)
        await pilot.press("insert", "insert")  # tags the first two, moving down as it goes
        tagged = set(sorted(p.pid for p in procs)[:2])
        assert set(app.dashboard.acts.tags) == tagged
        assert shown.tagged == frozenset(tagged)
        assert "2 tagged" in str(app.screen.query_one("#status").render())
        await pilot.press("f9")
        menu = app.screen
        assert isinstance(menu, SignalMenu) and menu.pid is None
        await pilot.press("enter")  # SIGTERM
        assert isinstance(app.screen, Confirm)
        assert "2 tagged processes" in app.screen.question
        await pilot.press("y")
        await pilot.pause()
        by_pid = {p.pid: p for p in procs}
        for pid in tagged:
            assert by_pid[pid].wait(timeout=10) == -15
        untagged = next(p for p in procs if p.pid not in tagged)
        assert untagged.poll() is None, "the untagged one is left alone"
        # The tags of processes gone are dropped as the table learns they are.
        for _ in range(100):
            if not app.dashboard.acts.tags:
                break
            await ticks(pilot, 1)
        assert not app.dashboard.acts.tags


async def test_f8_renices_every_tagged_process(
    children: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    marker, procs = children
    app = make_app(LiveSource, ViewOptions(filter_text=marker))
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        await until_rows(pilot, 3)
        await pilot.press("insert", "insert", "insert", "f8")
        await pilot.pause()
        for proc in procs:
            assert os.getpriority(os.PRIO_PROCESS, proc.pid) == 1
        await pilot.press("U")
        assert not app.dashboard.acts.tags and not table(pilot).tagged


async def test_a_read_only_table_offers_no_tagging() -> None:
    app = make_app(FakeSource)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        assert app.dashboard.check_action("tag", ())
        app.dashboard.acts.machine = None  # no live machine behind the table: read-only
        assert not app.dashboard.check_action("tag", ())
        assert not app.dashboard.check_action("kill", ())


async def test_keys_typed_behind_the_one_that_opens_the_filter_go_into_it() -> None:
    """`/worker⏎` in one read (a paste, a fast typist over SSH): Textual hands each key to the
    widget focused when it arrives, so "worker" went to the table, and its `k` opened the kill
    menu, its Enter profiled the selected row (guarded_app.py)."""
    app = make_app(FakeSource)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        burst = [("slash", "/"), *((c, c) for c in "worker"), ("enter", "\r")]
        for key, character in burst:
            app.post_message(events.Key(key, character))
        for _ in range(200):
            if app.dashboard.options.filter_text == "worker":
                break
            await pilot.pause(0.01)
        await pilot.pause()
        assert app.dashboard.options.filter_text == "worker"
        assert app.screen is app.dashboard, "no kill menu, no profile"
        assert app.focused is table(pilot), "Enter gave the table its focus back"


async def test_h_shows_user_threads_as_rows_under_their_process() -> None:
    app = make_app(FakeSource)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        source = app.dashboard.machine()
        assert isinstance(source, FakeSource)
        assert not any(v.row.thread_of for v in table(pilot).rows)
        await pilot.press("H")
        assert source.processes.with_threads, "threads are read only once asked for"
        for _ in range(20):
            if any(v.row.thread_of for v in table(pilot).rows):
                break
            await ticks(pilot, 1)
        rows = table(pilot).rows
        threads = [v for v in rows if v.row.thread_of is not None]
        assert threads, "the next tick's threads are rows"
        status = str(app.screen.query_one("#status").render())
        assert f"{len(app.dashboard.snapshot.threads)} user threads (H)" in status
        await pilot.press("t")  # the tree: each thread right under its process
        await pilot.pause()
        rows = table(pilot).rows
        pids = [v.row.pid for v in rows]
        thread = next(v for v in rows if v.row.thread_of is not None)
        owner = pids.index(thread.row.thread_of or 0)
        assert rows[owner].depth + 1 == thread.depth
        assert owner < pids.index(thread.row.pid)
        await pilot.press("H")
        assert not source.processes.with_threads
        assert not any(v.row.thread_of for v in table(pilot).rows)
