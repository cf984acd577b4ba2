"""Pause, step, jump, go to a time, click a graph, back to live; replaying a recording."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from textual.widgets import Input, Static

from perftop.app import AppConfig, PerftopApp
from perftop.formats.recording import RecordingReader, RecordingWriter
from perftop.system.processes import ViewOptions
from perftop.system.source import FakeSource
from perftop.ui.screens.dialogs import GoToTime
from perftop.ui.start import RecordingFile
from perftop.ui.widgets.meters import CpuPanel
from tests.ui.helpers import make_app, table, ticks, until

LEAKY = 2301  # the fake machine's app: its RSS grows a MiB every ten ticks


def banner(app: PerftopApp) -> Static:
    return app.dashboard.query_one("#moment-banner", Static)


def banner_text(app: PerftopApp) -> str:
    return str(banner(app).render()) if banner(app).display else ""


def rss_of(app: PerftopApp, pid: int) -> int:
    for view in app.dashboard.query_one("#processes").rows:  # type: ignore[attr-defined]
        if view.row.pid == pid:
            return int(view.row.rss_bytes)
    raise AssertionError(f"PID {pid} not in the table")


def clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


async def test_pause_holds_the_moment_while_ticks_go_on_and_space_returns_to_live() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 25)
        assert not banner(app).display, "live: no paused marker"
        await pilot.press("space")
        kept = len(app.timeline)
        paused_at = app.timeline.timestamp(-1)
        held = rss_of(app, LEAKY)
        cpu_figure = app.dashboard.sample.cpu.total_percent  # type: ignore[union-attr]
        assert f"paused at {clock(paused_at)}" in banner_text(app)

        await ticks(pilot, 20)  # the machine goes on: 2 MiB more for the leaky app
        assert len(app.timeline) == kept + 20
        assert rss_of(app, LEAKY) == held, "the table stays at the paused moment"
        assert app.dashboard.sample.cpu.total_percent == cpu_figure  # type: ignore[union-attr]
        assert app.dashboard.cursor is not None and app.dashboard.cursor.behind == 20
        assert "20 s before live" in banner_text(app)

        await pilot.press("space")
        assert not banner(app).display
        assert rss_of(app, LEAKY) > held, "back to live: the newest tick"
        assert app.dashboard.sample.timestamp == app.timeline.timestamp(-1)  # type: ignore[union-attr]


async def test_step_back_and_forward_shows_the_processes_as_they_were() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 40)
        for _ in range(12):
            await pilot.press("left_square_bracket")
        cursor = app.dashboard.cursor
        assert cursor is not None and cursor.behind == 12
        then = app.timeline.processes_at(cursor.index)  # type: ignore[arg-type]
        assert rss_of(app, LEAKY) == then.rows[LEAKY].rss_bytes
        assert rss_of(app, LEAKY) < app.timeline.processes_at(-1).rows[LEAKY].rss_bytes
        assert app.dashboard.snapshot is not None
        assert app.dashboard.snapshot.timestamp == app.timeline.timestamp(-13)

        await pilot.press("right_square_bracket", "right_square_bracket")
        assert cursor.behind == 10
        # Stepping onto the newest tick stays paused there: only space returns to live.
        for _ in range(15):
            await pilot.press("right_square_bracket")
        assert cursor.behind == 0 and not cursor.is_live
        assert "paused at" in banner_text(app)


async def test_the_paused_table_keeps_the_users_sort_and_filter() -> None:
    app = make_app(view=ViewOptions(filter_text="postgres"))
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 15)
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        rows = table(pilot).rows
        assert rows and all("postgres" in (v.row.name + " ".join(v.row.cmdline)) for v in rows)
        cpu = [v.cpu_display for v in rows]
        assert cpu == sorted(cpu, reverse=True)
        # Changing the sort while paused re-sorts the paused moment, not the live one.
        await pilot.press("I")
        cpu = [v.cpu_display for v in table(pilot).rows]
        assert cpu == sorted(cpu)
        assert app.dashboard.snapshot is not None
        assert app.dashboard.snapshot.timestamp == app.timeline.timestamp(-4)


async def test_jump_a_minute_and_clamp_at_the_oldest_tick() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 150)  # fake ticks are one second apart
        newest = app.timeline.timestamp(-1)
        await pilot.press("left_curly_bracket")
        cursor = app.dashboard.cursor
        assert cursor is not None and cursor.time == newest - 60
        await pilot.press("left_curly_bracket", "left_curly_bracket", "left_curly_bracket")
        assert cursor.time == app.timeline.timestamp(0), "clamped to the oldest kept"
        await pilot.press("right_curly_bracket")
        assert cursor.time == app.timeline.timestamp(0) + 60


async def test_go_to_a_time_typed_as_clock_or_as_seconds_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 100)
        newest = app.timeline.timestamp(-1)
        await pilot.press("at")
        assert isinstance(app.screen, GoToTime)
        app.screen.query_one(Input).value = "-30s"
        await pilot.press("enter")
        await pilot.pause()
        cursor = app.dashboard.cursor
        assert cursor is not None and cursor.time == newest - 30

        await pilot.press("at")
        app.screen.query_one(Input).value = clock(newest - 75)
        await pilot.press("enter")
        await pilot.pause()
        assert cursor.time == newest - 75

        await pilot.press("at")
        app.screen.query_one(Input).value = "yesterday-ish"
        await pilot.press("enter")
        await pilot.pause()
        assert cursor.time == newest - 75, "a time that does not parse moves nothing"
        assert any("time of day" in n.message for n in app._notifications)


async def test_clicking_a_graph_goes_to_that_moment_and_marks_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 30)
        panel = app.dashboard.query_one("#cpu", CpuPanel)
        # The CPU graph's rows start after the meter and the usr/sys line; the panel has a
        # border. Cell 5 holds samples 10 and 11 (oldest first): a click takes the newer.
        assert panel._graph_at is not None
        first_row = panel._graph_at[0]
        # Clicks are placed relative to the panel's outer edge: add its border and padding.
        dx = panel.content_region.x - panel.region.x
        dy = panel.content_region.y - panel.region.y
        await pilot.click("#cpu", offset=(dx + 5, dy + first_row))
        await pilot.pause()
        cursor = app.dashboard.cursor
        assert cursor is not None and not cursor.is_live
        assert cursor.index == 11
        assert app.dashboard.sample is not None
        assert app.dashboard.sample.timestamp == app.timeline.timestamp(11)
        # The cursor cell is drawn in its own style on the graph's rows.
        graph_rows = panel._shown[first_row : first_row + 1]
        assert any(style == panel.cursor_style for line in graph_rows for _, style in line)
        # A click past the newest sample (the graph's empty right part) does nothing.
        await pilot.click("#cpu", offset=(dx + 50, dy + first_row))
        await pilot.pause()
        assert cursor.index == 11


async def test_a_moment_older_than_the_graph_window_gets_its_own_stretch() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 300)
        for _ in range(4):
            await pilot.press("left_curly_bracket")
        panel = app.dashboard.query_one("#cpu", CpuPanel)
        assert panel._graph_at is not None
        window = panel._graph_at[2]
        assert window.cursor is not None, "the moment is on the graph"
        assert window.first_behind - window.cursor == 240
        assert window.values[window.cursor] == app.history.series("cpu.total").last(241)[0]


async def test_snapshot_taken_while_paused_holds_that_moment() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 30)
        for _ in range(10):
            await pilot.press("left_square_bracket")
        snapshot = app.current_snapshot()
        assert snapshot is not None
        assert snapshot.created == app.timeline.timestamp(-11)
        assert snapshot.sample is not None and snapshot.sample.timestamp == snapshot.created
        assert snapshot.processes.timestamp == snapshot.created
        assert len(snapshot.history) == len(app.history) - 10
        assert snapshot.history.timestamps().latest() == snapshot.created


def _record(path: Path, n: int) -> None:
    source = FakeSource()
    with RecordingWriter(path) as writer:
        for _ in range(n):
            writer.append(source.sample_system(), source.sample_processes())


async def test_replaying_a_recording_steps_plays_and_refuses_to_act(tmp_path: Path) -> None:
    path = tmp_path / "box.rec"
    _record(path, 200)
    reader = RecordingReader(path)
    app = PerftopApp(FakeSource, AppConfig(start=RecordingFile(reader)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.dashboard.play_every == 1.0, "plays at the pace it was recorded"
        app.dashboard.play_every = 0.02
        text = banner_text(app)
        assert "recording of" in text and "1/200" in text and "space: play" in text
        assert len(app.history) == 200
        assert app.dashboard.snapshot is not None
        assert app.dashboard.snapshot.timestamp == reader.timestamp(0)
        first_rss = rss_of(app, LEAKY)

        await pilot.press("right_curly_bracket")  # a minute on
        assert "61/200" in banner_text(app)
        assert rss_of(app, LEAKY) == reader.processes_at(60).rows[LEAKY].rss_bytes > first_rss

        await pilot.press("space")  # play
        assert "playing" in banner_text(app)

        def index() -> int:
            cursor = app.dashboard.cursor
            return -1 if cursor is None or cursor.index is None else cursor.index

        # Playing steps on a timer: wait for the steps rather than for a time.
        await until(pilot, lambda: index() > 65, "the replay to play past tick 66")
        await pilot.press("space")  # pause
        assert "playing" not in banner_text(app)

        await pilot.press("k")
        await pilot.pause()
        assert not any(s.__class__.__name__ == "SignalMenu" for s in app.screen_stack)
        offered = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert not offered & {"kill", "renice(1)", "profile", "toggle_detail"}, offered
        assert len(app.history) == 200, "a replay never samples the live machine"
    reader.close()


async def test_acting_on_a_paused_row_whose_process_is_gone_is_refused() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 5)
        await pilot.press("space")
        current = table(pilot).current
        assert current is not None
        # It exits on the fake machine while the screen looks at the past.
        app.source().send_signal(current.row.pid, signal.SIGKILL)
        await pilot.press("f8")
        await pilot.press("p")
        await pilot.pause()
        gone = [n for n in app._notifications if "has exited since that moment" in n.message]
        assert len(gone) == 2
        assert app.screen is app.dashboard, "no profile screen opened"
