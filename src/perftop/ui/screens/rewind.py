"""Pausing and rewinding a screen that shows ticks: the moment looked at, and replay.

Given every tick kept (the app's Timeline, or a recording), a `Cursor` says which one is
looked at; the screen draws that tick, sorted and filtered as set, while the graphs go on and
mark it. Replaying a recording (`replay`) is the same, read-only, with space playing the
ticks in order instead of returning to live. The dashboard is the one screen built on this;
it says how to draw a tick (`_draw`) and its status line (`_update_status`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import on
from textual.screen import Screen
from textual.widgets import Static

from perftop.formats.errors import FormatError
from perftop.system.history import SystemHistory
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.system.timeline import Cursor, TickSource, parse_moment
from perftop.ui.screens.dialogs import GoToTime
from perftop.ui.widgets.meters import Panel

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


class RewindableScreen(Screen[None]):
    """Pause, step, jump, go to a time, click a graph; play a recording. Needs a `#moment-banner`
    Static in the screen, and the subclass's `history`, `_draw` and `_update_status`."""

    MOMENT_ACTIONS = frozenset({"toggle_pause", "step", "jump", "goto_time"})
    history: SystemHistory

    def __init__(self, *, ticks: TickSource | None, replay: str | None, play_every: float) -> None:
        super().__init__()
        # Every tick kept (the app's Timeline, or a recording), and where the screen looks.
        self.ticks = ticks
        self.cursor = Cursor(ticks) if ticks is not None else None
        self.replay = replay  # "recording of HOST": replayed read-only; None when live
        self.play_every = play_every  # seconds between ticks when a replay plays
        self._playing: Timer | None = None
        self._live: tuple[SystemSample, ProcessSnapshot] | None = None  # the newest tick

    def _draw(self, sample: SystemSample | None, snapshot: ProcessSnapshot | None) -> None:
        raise NotImplementedError

    def _update_status(self) -> None:
        raise NotImplementedError

    @property
    def paused(self) -> bool:
        return self.cursor is not None and not self.cursor.is_live

    def _show_moment(self) -> None:
        """Show the tick under the cursor, or the newest when live."""
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None:
            return
        index = cursor.index
        if index is None:
            if self._live is not None:
                self._draw(*self._live)
            self._update_banner()
            return
        try:
            sample, snapshot = ticks.sample_at(index), ticks.processes_at(index)
        except FormatError as exc:  # a damaged record in a recording: say so, stay put
            self.notify(str(exc), severity="error")
            return
        self._draw(sample, snapshot)

    def _update_banner(self) -> None:
        cursor, ticks = self.cursor, self.ticks
        if cursor is None or ticks is None:
            return
        banner = self.query_one("#moment-banner", Static)
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
        self._show_moment()
        self._update_status()

    def action_toggle_pause(self) -> None:
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

    def action_step(self, n: int) -> None:
        if self.cursor is not None:
            self._stop_playing()
            self.cursor.step(n)
            self._moved()

    def action_jump(self, seconds: float) -> None:
        if self.cursor is not None:
            self._stop_playing()
            self.cursor.jump_seconds(seconds)
            self._moved()

    def action_goto_time(self) -> None:
        ticks = self.ticks
        if ticks is None or not len(ticks):
            self.notify("nothing recorded yet")
            return

        def clock(i: int) -> str:
            return time.strftime("%H:%M:%S", time.localtime(ticks.timestamp(i)))

        def chosen(text: str | None) -> None:
            if text is None or self.cursor is None:
                return
            try:
                when = parse_moment(text, ticks.timestamp(len(ticks) - 1))
            except ValueError as exc:
                self.notify(str(exc), severity="error")
                return
            if when < ticks.timestamp(0):
                self.notify(f"the history kept starts at {clock(0)}: going there")
            self._stop_playing()
            self.cursor.jump_to(when)
            self._moved()

        self.app.push_screen(GoToTime(f"{clock(0)} to {clock(len(ticks) - 1)}"), chosen)

    @on(Panel.MomentClicked)
    def _graph_clicked(self, event: Panel.MomentClicked) -> None:
        """A click on a graph: go to that sample's moment (graphs and ticks keep step)."""
        if self.cursor is None:
            return
        stamps = self.history.timestamps().last(event.behind + 1)
        if len(stamps) == event.behind + 1:
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
        self._playing = self.set_interval(self.play_every, self._play_step)

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
            self._update_banner()
