"""Issue 17 on the dashboard: the NET/s, RX/s, TX/s, WAIT% and CONTAINER columns (chosen,
sorted, marked when the network's figures are older than the tick), what the machine is asked
to measure, the detail pane's connections and WAIT%, the pressure meters shown and hidden, the
meters against a container's limits, and the help's word on what NET/s leaves out. On the
fake machine, and the detail pane's connections on this one."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen

from perftop.system.fake import FakeProcessCollector
from perftop.system.history import SystemHistory
from perftop.system.netsockets import NOT_COUNTED
from perftop.system.processes import SortKey, ViewOptions
from perftop.system.samples import ProcessSnapshot
from perftop.system.source import FakeSource, LiveSource
from perftop.ui.screens.help import HelpScreen
from perftop.ui.widgets.compact_meters import CompactMeters
from perftop.ui.widgets.meters import CpuPanel, MemoryPanel, SystemPanel, used_of
from perftop.ui.widgets.process_detail import ProcessDetailPane
from perftop.ui.widgets.process_table import STALE_MARK
from tests.ui.helpers import make_app, table, ticks, until

MIB = 1 << 20
NEW = (
    SortKey.PID,
    SortKey.USER,
    SortKey.CPU,
    SortKey.WAIT,
    SortKey.NET,
    SortKey.RX,
    SortKey.TX,
    SortKey.CONTAINER,
    SortKey.COMMAND,
)


def line_of(pilot: Pilot[None], pid: int) -> str:
    t = table(pilot)
    index = next(i for i, v in enumerate(t.rows) if v.row.pid == pid)
    t.move_to_pid(pid)
    return t.render_line(index - t.top + 1).text


def text_of(widget: object) -> str:
    return "\n".join("".join(t for t, _ in line) for line in widget._shown)  # type: ignore[attr-defined]


async def test_the_new_columns_read_and_sort() -> None:
    app = make_app(view=ViewOptions(columns=NEW))
    async with app.run_test(size=(140, 40)) as pilot:
        await ticks(pilot, 3)
        assert table(pilot).render_line(0).text.split()[:8] == [
            "PID", "USER", "CPU%▼", "WAIT%", "NET/s", "RX/s", "TX/s", "CONTAINER",
        ]  # fmt: skip
        app_row = table(pilot).rows[0].row
        assert app_row.pid == 2301
        cells = line_of(pilot, 2301).split()
        assert cells[3] == f"{app_row.wait_percent:.1f}"
        assert cells[7] == "app.service"
        assert "/s" in cells[4] and STALE_MARK not in cells[4]
        db = line_of(pilot, 2210).split()
        assert db[4:8] == ["-", "-", "-", "docker:db"], "another user's sockets: not counted"

        for key in (SortKey.NET, SortKey.WAIT):
            app.dashboard.options.sort_key = key
            app.dashboard.view_changed()
            await pilot.pause()
            values = [
                (v.row.net_bytes_per_s if key is SortKey.NET else v.row.wait_percent)
                for v in table(pilot).rows
            ]
            known = [v for v in values if v is not None]
            assert known == sorted(known, reverse=True) and known, key
            assert values[: len(known)] == known, "the unknown ones (-) last"
        assert table(pilot).rows[0].row.pid == 2301


class StaleNet(FakeSource):
    """The network read three ticks before the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.processes = Stale()


class Stale(FakeProcessCollector):
    def sample(self) -> ProcessSnapshot:
        snapshot = super().sample()
        return dataclasses.replace(snapshot, net_at=snapshot.timestamp - 3.0)


async def test_network_figures_older_than_the_tick_are_marked() -> None:
    app = make_app(StaleNet, ViewOptions(columns=NEW))
    app.dashboard.options.net_stale_after_s = 1.5  # as with one tick a second
    async with app.run_test(size=(140, 40)) as pilot:
        await ticks(pilot, 3)
        cells = line_of(pilot, 2301).split()
        assert cells[4].endswith(STALE_MARK) and cells[5].endswith(STALE_MARK), cells
        assert line_of(pilot, 2210).split()[4] == "-", "an uncounted one stays a dash"


async def test_the_machine_measures_only_what_is_shown() -> None:
    sources: list[FakeSource] = []

    def source() -> FakeSource:
        sources.append(FakeSource())
        return sources[-1]

    app = make_app(source)
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        assert sources[0].wanted == (False, False), "the default columns show neither"
        app.dashboard.options.columns = (SortKey.PID, SortKey.NET, SortKey.COMMAND)
        app.dashboard.view_changed()
        assert sources[0].wanted == (True, False)
        await pilot.press("i")
        await ticks(pilot)
        assert sources[0].wanted == (True, True), "the detail pane shows both"


async def test_a_dashboard_covered_from_the_start_measures_nothing_dear() -> None:
    """`perftop --pid`: the flame view covers the dashboard before it draws a tick; what it
    shows (nothing) is still told, or the network was read all along (6 % of perftop's CPU
    while profiling)."""
    source = FakeSource()
    app = make_app(lambda: source)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(Screen())
        app.dashboard.told = None  # as before its first draw
        source.wanted = (True, True)  # the machine's own default: everything measured
        await ticks(pilot)
        assert app.dashboard.covered and source.wanted == (False, False)


async def test_the_detail_pane_lists_connections_and_the_wait() -> None:
    app = make_app()
    async with app.run_test(size=(140, 60)) as pilot:
        await ticks(pilot, 3)
        table(pilot).move_to_pid(2301)
        await pilot.press("i")
        pane = app.screen.query_one(ProcessDetailPane)

        def body() -> str:
            return str(pane.query_one("#detail-body").render())

        await until(pilot, lambda: "connections (3 TCP)" in body(), "the app's connections")
        text = body()
        assert "10.0.0.7:8000 -> 10.0.0.31:52114  ESTABLISHED" in text
        assert "10.0.0.7:41220 -> 10.0.0.5:5432" in text
        assert "runnable, waiting for a CPU" in text and "wait" in text
        await ticks(pilot, 3)
        await until(pilot, lambda: " max " in body(), "the wait's history drawn")

        table(pilot).move_to_pid(2210)  # postgres: another user's, not counted
        await until(pilot, lambda: "2210 postgres" in body(), "the other process's detail")
        assert "connections (0)\n(permission denied)" in body()


@pytest.fixture
def talker() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A child that sends ~200 KB/s to a socket of ours, and its PID."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    code = (
        "import socket, sys, time\n"
        f"c = socket.create_connection(('127.0.0.1', {port}))\n"
        "while True:\n    c.sendall(b'x' * 20000); time.sleep(0.1)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, "perftop-ui-net-test"])
    conn, _ = server.accept()

    def drain() -> None:  # read it all: a full window would stop the sender
        with contextlib.suppress(OSError):
            while conn.recv(1 << 16):
                pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    yield child, conn.fileno()
    child.kill()
    child.wait()
    reader.join(10)
    conn.close()
    server.close()


async def test_the_detail_pane_lists_this_machines_connections(
    talker: tuple[subprocess.Popen[bytes], int],
) -> None:
    child, _ = talker
    app = make_app(LiveSource, ViewOptions(filter_text="perftop-ui-net-test"))
    async with app.run_test(size=(140, 50)) as pilot:
        await ticks(pilot, 2)
        assert table(pilot).current_pid == child.pid
        await pilot.press("i")
        pane = app.screen.query_one(ProcessDetailPane)

        def connected() -> bool:
            text = str(pane.query_one("#detail-body").render())
            return "connections (1 TCP" in text and "ESTABLISHED" in text and "K/s" in text

        deadline = time.monotonic() + 20
        while not connected():  # the network is read on its budget: ticks until it is
            assert time.monotonic() < deadline, str(pane.query_one("#detail-body").render())
            await ticks(pilot)
            await pilot.pause(0.05)


async def test_pressure_meters_shown_and_hidden() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        cpu = app.screen.query_one(CpuPanel)
        assert "PSI cpu" in text_of(cpu) and " mem " in text_of(cpu) and " io " in text_of(cpu)
        with_psi = cpu.size.height
        await pilot.resize_terminal(80, 24)
        await ticks(pilot)
        compact = app.screen.query_one(CompactMeters)
        assert "PSI cpu" in text_of(compact)
        rows = compact.size.height

    bare = make_app(lambda: FakeSource(pressure=False))
    async with bare.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        cpu = bare.screen.query_one(CpuPanel)
        assert "PSI" not in text_of(cpu)
        assert cpu.size.height == with_psi, "no row more at this size: a graph row less"
        assert "psi.cpu" not in bare.history.names()
        await pilot.resize_terminal(80, 24)
        await ticks(pilot)
        compact = bare.screen.query_one(CompactMeters)
        assert "PSI" not in text_of(compact)
        assert compact.size.height == rows, "the folded lines keep their rows"
    assert len(app.history.series("psi.cpu")) > 3


async def test_inside_a_container_the_meters_measure_against_its_limits() -> None:
    app = make_app(lambda: FakeSource(container=(2.0, 512 * MIB)))
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        sample = app.dashboard.sample
        assert sample is not None and sample.container is not None
        own = sample.container
        cpu, mem = app.screen.query_one(CpuPanel), app.screen.query_one(MemoryPanel)
        assert cpu.border_title == "cpu · container limit"
        assert mem.border_title == "memory · container limit"
        assert f"{own.cpu_percent:5.1f}%" in text_of(cpu).splitlines()[0]
        assert "of container's 2 cores" in text_of(cpu)
        assert used_of(own.memory_used_bytes or 0, 512 * MIB) in text_of(mem).splitlines()[0]
        top = text_of(app.screen.query_one(SystemPanel))
        assert "in a container" in top and "2 cores, 512M" in top
        await pilot.resize_terminal(80, 24)
        await ticks(pilot)
        lines = text_of(app.screen.query_one(CompactMeters))
        now = app.dashboard.sample
        assert now is not None and now.container is not None
        assert used_of(now.container.memory_used_bytes or 0, 512 * MIB) in lines
    assert len(app.history.series("container.cpu_percent")) >= 3
    assert len(app.history.series("container.mem_percent")) >= 4


async def test_the_help_says_what_net_does_not_count() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        shown = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert shown.count(NOT_COUNTED) == 1
        assert "WAIT%" in shown and "PSI" in shown


class Folded(App[None]):
    def compose(self) -> ComposeResult:
        yield CompactMeters(id="compact")


@pytest.mark.parametrize("cores", [2, 4, 8, 64])
async def test_the_folded_lines_never_grow_a_row_for_pressure(cores: int) -> None:
    sample = FakeSource().sample_system()
    cpu = sample.cpu._replace(per_core_percent=(50.0,) * cores)
    sample = dataclasses.replace(sample, cpu=cpu, core_count=cores)
    bare = dataclasses.replace(sample, pressure=None)
    assert CompactMeters.rows_for(sample, 80) == CompactMeters.rows_for(bare, 80)
    app = Folded()
    async with app.run_test(size=(80, 10)) as pilot:
        meters = app.query_one(CompactMeters)
        meters.styles.height = CompactMeters.rows_for(sample, 80)
        history = SystemHistory()
        history.append(sample)
        meters.show(sample, history)
        await pilot.pause()
        lines = text_of(meters).splitlines()
        assert len(lines) == CompactMeters.rows_for(sample, 80), lines
        assert all(len(line) <= 80 for line in lines), lines
        swap = next(line for line in lines if "Swp" in line)
        if cores == 8:  # five rows of CPU beside five of memory and the rest: none spare
            assert swap.endswith("▏ PSI c9 m0 i3"), "in short, after the swap bar"
        else:
            assert any(line.startswith("PSI cpu  9.0% mem  0.1% io  3.3%") for line in lines)
