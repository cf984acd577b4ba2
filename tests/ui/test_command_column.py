"""The COMMAND column as htop draws it, and more (issue 18): the program's name highlighted, an
interpreter's script first (system/command_line.py), ← → to read a long command line, and
tagged rows marked so that they read without colour too."""

from __future__ import annotations

import dataclasses

import pytest
from rich.style import Style
from textual.geometry import Region
from textual.pilot import Pilot

from perftop.app import PerftopApp
from perftop.system.samples import ProcessSnapshot
from perftop.system.source import FakeSource
from perftop.ui.screens.help import screen_actions
from perftop.ui.widgets.line_diff import styled
from perftop.ui.widgets.process_table import (
    SCROLL_STEP,
    TAG_MARK,
    ProcessTable,
    layout,
    shown,
)
from tests.ui.helpers import make_app, table, ticks
from tests.ui.test_exact_updates import spy

# The fake machine's own rows with interpreters' command lines in place of a few of theirs.
COMMANDS = {
    821: "node --max-old-space-size=512 /srv/web/dist/index.js --port 8080",
    822: "java -Xmx1g -cp /opt/shop/lib/* com.example.shop.OrderService --env prod",
    906: "/usr/bin/python3 -u -m celery -A shop worker --loglevel=info",
    702: "/usr/bin/python3.11 -X dev /srv/etl/nightly_import.py --since 2024-01-01",
}


class InterpretersSource(FakeSource):
    def sample_processes(self) -> ProcessSnapshot:
        snapshot = super().sample_processes()
        for pid, cmdline in COMMANDS.items():
            if pid in snapshot.rows:
                snapshot.rows[pid] = dataclasses.replace(snapshot.rows[pid], cmdline=cmdline)
        return snapshot


def interpreters_app() -> PerftopApp:
    return make_app(InterpretersSource)


def line_of(rows: ProcessTable, pid: int) -> int:
    """The screen line a PID is drawn on."""
    index = next(i for i, v in enumerate(rows.rows) if v.row.pid == pid)
    y = index - rows.top + 1
    assert 1 <= y < rows.size.height, f"{pid} is off screen"
    return y


def text(rows: ProcessTable, y: int) -> str:
    return rows.render_line(y).text


def command_left(rows: ProcessTable) -> int:
    (command,) = [p for p in layout(rows.columns, rows.size.width) if not p.column.width]
    return command.left


async def test_an_interpreter_reads_by_what_it_runs_first() -> None:
    async with interpreters_app().run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        rows = table(pilot)
        left = command_left(rows)
        for pid, starts in [
            (821, "dist/index.js --port 8080  (node --max-old-space-size=512 /srv/web/"),
            (822, "OrderService --env prod  (java -Xmx1g -cp /opt/shop/lib/* com.example"),
            (906, "celery -A shop worker --loglevel=info  (/usr/bin/python3 -u -m celery)"),
            (2301, "app.py --workers 4  (python3 app.py)"),
        ]:
            line = text(rows, line_of(rows, pid))
            assert line[left:].startswith(starts[: rows.size.width - left]), line


async def test_the_programs_name_is_drawn_bold_in_its_own_style() -> None:
    async with interpreters_app().run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        rows = table(pilot)
        left = command_left(rows)
        plain = rows.get_component_rich_style("process-table--basename")
        assert plain.bold, "bold, so that it reads without colour (NO_COLOR) too"
        for pid, name in [(821, "dist/index.js"), (1, "init"), (2420, "perftop"), (906, "celery")]:
            segments = list(rows.render_line(line_of(rows, pid)))
            named = [s for s in segments if s.style is not None and s.style.bold]
            assert [s.text for s in named] == [name], segments
            assert len(segments) <= 3, "styled runs cost bytes: before, the name, after"
        # Where it starts: after /sbin/ for init, first for node's script (with its folder:
        # index.js alone says little).
        assert text(rows, line_of(rows, 1))[left:].startswith("/sbin/init")
        # The cursor's line is one style across, as htop's selection bar.
        assert len(list(rows.render_line(line_of(rows, rows.rows[rows.cursor].row.pid)))) == 1
        # A kernel thread has no name to pick out.
        assert len(list(rows.render_line(line_of(rows, 13)))) == 1


async def test_the_name_is_bold_under_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = interpreters_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        rows = table(pilot)
        segments = list(rows.render_line(line_of(rows, 821)))
        assert any(
            s.text == "dist/index.js" and s.style is not None and s.style.bold for s in segments
        )


async def test_left_and_right_scroll_only_the_command_text() -> None:
    async with interpreters_app().run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        rows = table(pilot)
        left = command_left(rows)
        width = rows.size.width - left
        before = {y: text(rows, y) for y in range(1, rows.size.height)}
        await pilot.press("right")
        assert rows.command_offset == SCROLL_STEP
        assert f"COMMAND «{SCROLL_STEP}" in text(rows, 0)
        for y, old in before.items():
            new = text(rows, y)
            assert new[:left] == old[:left], "PID, CPU% and the rest stay where they are"
            v = rows.rows[rows.top + y - 1]
            command = (v.tree_prefix + shown(v.row).text)[SCROLL_STEP:]
            assert new[left:] == command[:width].ljust(width)
        await pilot.press("left")
        assert rows.command_offset == 0 and "«" not in text(rows, 0)
        assert {y: text(rows, y) for y in before} == before
        await pilot.press("left")
        assert rows.command_offset == 0, "← at the start stays there, as in htop"


async def test_right_stops_where_the_longest_command_on_screen_ends() -> None:
    async with interpreters_app().run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        rows = table(pilot)
        width = rows.size.width - command_left(rows)
        visible = rows.rows[rows.top : rows.top + rows.size.height - 1]
        longest = max(len(v.tree_prefix + shown(v.row).text) for v in visible)
        for _ in range(longest // SCROLL_STEP + 3):
            await pilot.press("right")
        assert rows.command_offset == longest - width
        assert any(text(rows, y).rstrip().endswith(")") for y in range(1, rows.size.height))


async def test_ctrl_e_shows_the_end_of_the_cursors_command_and_ctrl_a_its_start() -> None:
    async with interpreters_app().run_test(size=(80, 24)) as pilot:
        await ticks(pilot, 2)
        rows = table(pilot)
        assert rows.move_to_pid(822)
        await pilot.press("ctrl+e")
        assert rows.command_offset > 0
        assert text(rows, line_of(rows, 822)).endswith("Service)")
        await pilot.press("ctrl+a")
        assert rows.command_offset == 0
        await pilot.press("dollar_sign")
        assert rows.command_offset > 0
        await pilot.press("circumflex_accent")
        assert rows.command_offset == 0


async def test_the_scroll_keys_are_listed_in_help() -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        described = {a.action: (a.description, a.keys) for a in screen_actions(pilot.app.screen)}
        assert described["scroll_command(-1)"] == ("Scroll command left", ["←"])
        assert described["scroll_command(1)"] == ("Scroll command right", ["→"])
        assert "scroll_command_home" in described and "scroll_command_end" in described


async def test_tagged_rows_carry_a_mark_and_a_style_and_only_they_repaint() -> None:
    async with interpreters_app().run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        rows = table(pilot)
        y = line_of(rows, 822)
        untagged = text(rows, y)
        painted = spy(rows)
        rows.tagged = frozenset({822})
        assert painted == [(Region(0, y, rows.size.width, 1),)], "that line alone, whole"
        line = text(rows, y)
        first = layout(rows.columns, rows.size.width)[0].width
        assert line[first] == TAG_MARK, "a mark that reads without colour (NO_COLOR)"
        assert line[:first] + " " + line[first + 1 :] == untagged
        (segment,) = list(rows.render_line(y))
        tagged = rows.get_component_rich_style("process-table--tagged")
        assert tagged.bold and segment.style == rows.rich_style + tagged
        painted.clear()
        rows.tagged = frozenset({822})  # the dashboard sets it every tick
        assert painted == []
        rows.tagged = frozenset()
        assert painted == [(Region(0, y, rows.size.width, 1),)]
        assert text(rows, y) == untagged


async def test_a_running_process_colours_its_state_alone() -> None:
    # Processes start and stop running every tick: a whole line's colour resent each time would
    # cost most of the table's bytes, and a line repainted only where its text changed kept
    # the old colour in the rest of it. As htop, only the state letter is coloured.
    async with interpreters_app().run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        rows = table(pilot)
        rows.move_to_pid(1)
        await pilot.pause()
        (state,) = [p for p in layout(rows.columns, rows.size.width) if p.column.key.value == "S"]
        running = [i for i, v in enumerate(rows.rows) if v.row.state == "R" and i != rows.cursor]
        assert running, "the fake machine has a running process"
        y = running[0] - rows.top + 1
        segments = list(rows.render_line(y))
        green = rows.get_component_rich_style("process-table--running")
        (marked,) = [s for s in segments if s.style is not None and s.style.color == green.color]
        assert marked.text == "R"
        assert sum(len(s.text) for s in segments[:1]) == state.left


async def test_a_quiet_tick_repaints_no_command() -> None:
    async with interpreters_app().run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 3)
        rows = table(pilot)
        left = command_left(rows)
        painted = spy(rows)
        await ticks(pilot)
        regions = [r for call in painted for r in call]
        assert regions and () not in painted
        assert all(r.x < left for r in regions if r.width < rows.size.width), regions


async def _interpreters(pilot: Pilot[None]) -> None:
    await ticks(pilot, 40)  # as tests/ui/test_snapshots.py: graphs with a shape
    table(pilot).tagged = frozenset({822})  # as the dashboard sets it (Insert)


def test_dashboard_with_interpreters_120x40(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(interpreters_app(), terminal_size=(120, 40), run_before=_interpreters)


def test_dashboard_with_interpreters_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(interpreters_app(), terminal_size=(80, 24), run_before=_interpreters)


def test_style_of_a_mark_adds_to_its_line() -> None:
    base, mark = Style(color="white"), Style(bold=True)
    segments = styled("ab cron -f", base, [(3, 7, mark)])
    assert [(s.text, s.style) for s in segments] == [("ab ", base), ("cron", mark), (" -f", base)]
    assert [s.text for s in styled("abc", base, [])] == ["abc"]
    assert [s.text for s in styled("abc", base, [(0, 3, mark)])] == ["abc"]
