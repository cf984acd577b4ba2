"""Pausing and rewinding a screen that shows ticks: the moment looked at, and replay.

Given every tick kept (the app's Timeline, or a recording), a `Cursor` says which one is
looked at; the screen draws that tick, sorted and filtered as set, while the graphs go on and
mark it. Replaying a recording (`replay`) is the same, read-only, with space playing the
ticks in order instead of returning to live. `Rewind` is a part the dashboard is composed of:
the screen keeps the bindings and says how to draw a tick (`draw`) and its status line
(`status`); this owns where it looks and how it moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.screen import Screen
from textual.widgets import Static

from perftop.formats.errors import FormatError
from perftop.system.history import SystemHistory
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.system.timeline import Cursor, TickSource, parse_moment

if TYPE_CHECKING:
    from textual.timer import Timer


def _span(seconds: float) -> str:
    """`42 s`, `5 min 03 s`, `2 h 05 min`: how far back the paused moment is."""
    s = max(round(seconds), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Rewind:
    """Pause, step, jump, go to a time, click a graph; play a recording. Needs a
    `#moment-banner` Static in `screen`."""

    MOMENT_ACTIONS = frozenset({"toggle_pause", "step", "jump", "goto_time"})

    def __init__(
        self,
        screen: Screen[None],
        history: SystemHistory,
        *,
        draw: Callable[[SystemSample, ProcessSnapshot | None], None],
        status: Callable[[], None],
        ticks: TickSource | None,
        replay: str | None,
        play_every: float,
    ) -> None:
        self.screen = screen
        self.history = history
        self._draw = draw
        self._update_status = status
        # Every tick kept (the app's Timeline, or a recording), and where the screen looks.
        self.ticks = ticks
        self.cursor = Cursor(ticks) if ticks is not None else None
        self.replay = replay  # "recording of HOST": replayed read-only; None when live
        self.play_every = play_every  # seconds between ticks when a replay plays
        self._playing: Timer | None = None
        self.live: tuple[SystemSample, ProcessSnapshot] | None = None  # the newest tick

    @property
    def paused(self) -> bool:
        return self.cursor is not None and not self.cursor.is_live

    def show_moment(self) -> None:
        """Show the tick under the cursor, or the newest when live."""
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None:
            return
        index = cursor.index
        if index is None:
            if self.live is not None:
                self._draw(*self.live)
            self.update_banner()
            return
        try:
            sample, snapshot = ticks.sample_at(index), ticks.processes_at(index)
        except FormatError as exc:  # a damaged record in a recording: say so, stay put
            self.screen.notify(str(exc), severity="error")
            return
        self._draw(sample, snapshot)

    def update_banner(self) -> None:
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None:
            return
        banner = self.screen.query_one("#moment-banner", Static)
        index = cursor.index
        if index is None or not len(ticks):
            if banner.display:
                banner.display = False
            return
        keys = "[ ]: step  { }: minute  @: go to time"
        if self.replay is not None:
            state = "playing · space: pause" if self._playing else "space: play"
            clock = time.strftime("%H:%M:%S", time.localtime(ticks.timestamp(index)))
            text = f" {self.replay} · {clock} · {index + 1}/{len(ticks)} · {state}  {keys}"
        else:
            ago = ticks.timestamp(len(ticks) - 1) - ticks.timestamp(index)
            text = f" {cursor.label()} · {_span(ago)} before live · space: live  {keys}"
        banner.update(text, layout=False)
        banner.display = True

    def _moved(self) -> None:
        self.show_moment()
        self._update_status()

    def toggle_pause(self) -> None:
        cursor = self.cursor
        if cursor is None:
            return
        if self.replay is not None:
            self._toggle_play()
        elif cursor.is_live:
            cursor.pause()
        else:
            cursor.live()
        self._moved()

    def step(self, n: int) -> None:
        if self.cursor is not None:
            self._stop_playing()
            self.cursor.step(n)
            self._moved()

    def jump(self, seconds: float) -> None:
        if self.cursor is not None:
            self._stop_playing()
            self.cursor.jump_seconds(seconds)
            self._moved()

    def goto_time(self) -> None:
        ticks = self.ticks
        if ticks is None or not len(ticks):
            self.screen.notify("nothing recorded yet")
            return

        def clock(i: int) -> str:
            return time.strftime("%H:%M:%S", time.localtime(ticks.timestamp(i)))

        def chosen(text: str | None) -> None:
            if text is None or self.cursor is None:
                return
            try:
                when = parse_moment(text, ticks.timestamp(len(ticks) - 1))
            except ValueError as exc:
                self.screen.notify(str(exc), severity="error")
                return
            if when < ticks.timestamp(0):
                self.screen.notify(f"the history kept starts at {clock(0)}: going there")
            self._stop_playing()
            self.cursor.jump_to(when)
            self._moved()

        from perftop.ui.screens.dialogs import GoToTime  # imported once opened

        self.screen.app.push_screen(GoToTime(f"{clock(0)} to {clock(len(ticks) - 1)}"), chosen)

    def graph_clicked(self, behind: int) -> None:
        """A click on a graph: go to that sample's moment (graphs and ticks keep step)."""
        if self.cursor is None:
            return
        stamps = self.history.timestamps().last(behind + 1)
        if len(stamps) == behind + 1:
            self._stop_playing()
            self.cursor.jump_to(stamps[0])
            self._moved()

    def _toggle_play(self) -> None:
        if self._playing is not None:
            self._stop_playing()
            return
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None:
            return
        if cursor.index == len(ticks) - 1:  # at the end: play again from the start
            cursor.jump_to(ticks.timestamp(0))
        self._playing = self.screen.set_interval(self.play_every, self._play_step)

    def _play_step(self) -> None:
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None or cursor.index == len(ticks) - 1:
            self._stop_playing()
            return
        cursor.step(1)
        self._moved()

    def _stop_playing(self) -> None:
        if self._playing is not None:
            self._playing.stop()
            self._playing = None
            self.update_banner()
