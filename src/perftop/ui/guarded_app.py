"""Guards around the crashes of Textual 8.2.8 (the newest 8.x) that random keys find.

Each is Textual's (the first, the third and the fourth happen in a plain Textual app too);
perftop's app derives from `GuardedApp` so that none ends it with a traceback or a blank
screen. Most need two keys in one read: a fast typist, a paste, a laggy SSH link.

- **PageDown/PageUp in the command palette right after results arrive** raised
  `KeyError: 0` in `OptionList._move_page`: the list pages by its lines, and it works those
  out only once it has a size, which it gets at the next layout. `GuardedCommandPalette`
  pages once the list is laid out.
- **A search still running in a palette just closed** (Escape, then Ctrl+P and a letter)
  showed its results in a list already taken away: `NoMatches 'CommandList'` in its worker.
  `GuardedCommandPalette` lets a closed palette's search end quietly.
- **A key queued behind the one that quits** (Ctrl+C then Ctrl+P, F10 then F6) opened a
  screen while the app was ending. Textual mounts nothing once exiting, so the new screen had
  no children and its own `on_mount` raised `NoMatches` ('CommandList', or a menu's
  'OptionList'); an action on a screen being taken apart did the same ('#temps').
  `GuardedApp` drops input, runs no action and opens no screen once an exit is under way:
  whatever those keys meant, the user has already asked to leave.
- **A second Enter queued behind the one that closes a menu** (the palette, F6's sort menu)
  dismissed it twice, and `Screen.dismiss` pops whatever screen is on top: the dashboard went
  too, leaving a blank screen (and the palette's command then ran on a screen taken apart,
  `NoMatches '#temps'`). A screen no longer on the stack pops nothing.
- **Keys typed behind one that moves the focus** (`/worker⏎` in one read) went by the old
  focus: Textual hands each key to the widget focused when the key arrives, and checks the
  bindings when the key comes back up, from the focus then. So "worker" never reached the
  filter box just opened, and its `k` opened the kill menu from the table's screen. A key
  whose widget lost the focus on its way is handed to the widget focused now, as if it had
  arrived now (`_on_key`).
"""

from __future__ import annotations

import asyncio
import weakref
from asyncio import Future
from typing import Any, cast

from rich.console import RenderableType
from textual import events, work
from textual._context import active_message_pump
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.command import CommandList, CommandPalette
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.driver import Driver
from textual.screen import Screen
from textual.widget import AwaitMount

from perftop.ui import exact_updates
from perftop.ui.writes import WritingApp

# What @work wraps: the palette's search itself, run here inside a guard.
_gather = CommandPalette._gather_commands.__wrapped__  # type: ignore[attr-defined]


class GuardedCommandPalette(CommandPalette):
    """Textual's command palette, paging only a list that has been laid out, and searching
    without crashing once it has been closed."""

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP)
    async def _gather_commands(self, search_value: str) -> None:
        try:
            await _gather(self, search_value)
        except NoMatches:
            # Closed while the search ran (Escape, then a key that reopened it, in one read):
            # cancelling the search does not stop it at once, and it then shows its results
            # in a list already taken away.
            if self in self.app.screen_stack:
                raise

    def _action_command_list(self, action: str) -> None:
        if action in ("page_up", "page_down"):
            try:
                commands = self.query_one(CommandList)
            except NoMatches:  # the palette is closing: nothing to page
                return
            if commands.option_count and not commands.scrollable_content_region:
                # New results since the last layout: page once the list has its size.
                self.call_after_refresh(self._page_laid_out, action)
                return
        super()._action_command_list(action)

    def _page_laid_out(self, action: str) -> None:
        try:
            commands = self.query_one(CommandList)
        except NoMatches:
            return
        if commands.scrollable_content_region:
            super()._action_command_list(action)


class GuardedApp(WritingApp):
    """perftop's App underneath its screens: it ignores what is asked of it once it is ending,
    pages the palette safely, drives the terminal with perftop/terminal.py's driver, and
    writes files in the background (perftop/ui/writes.py)."""

    _quitting = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        exact_updates.install()  # a partial refresh resends only its own cells
        # Each key on its way -> the widget it was handed to (see `_on_key`).
        self._handed: weakref.WeakKeyDictionary[events.Key, DOMNode] = weakref.WeakKeyDictionary()

    def exit(
        self,
        result: None = None,
        return_code: int = 0,
        message: RenderableType | None = None,
    ) -> None:
        self._quitting = True
        super().exit(result, return_code, message)

    async def on_event(self, event: events.Event) -> None:
        if self._quitting and isinstance(event, events.InputEvent):
            return  # queued behind the key that quit
        if isinstance(event, events.Key) and not event.is_forwarded and self.focused is not None:
            self._handed[event] = self.focused
        await super().on_event(event)

    async def _on_key(self, event: events.Key) -> None:
        # A key comes back up here once its widget is done with it, to be matched against the
        # bindings of the focus *now*. If the focus moved while the key was on its way (a key
        # before it opened the filter box), it is the focused widget's to handle.
        # Otherwise Textual's App._on_key runs next, as Textual calls each class's handler.
        handed, focused = self._handed.pop(event, None), self.focused
        if handed is not None and focused is not None and focused is not handed:
            event.prevent_default()  # not App._on_key: the bindings of a focus it never had
            again = events.Key(event.key, event.character)
            if not await self._check_bindings(again.key, priority=True):
                self._handed[again] = focused
                focused._forward_event(again)

    async def run_action(
        self, action: Any, default_namespace: DOMNode | None = None, *args: Any, **kwargs: Any
    ) -> bool:
        if self._quitting:
            # A key already on its way to a widget when another quit: the screens are being
            # taken apart, and what the action queries may be gone.
            return True
        if default_namespace is not None and not default_namespace.is_attached:
            return True  # a palette command of a screen closed since the palette opened
        return await super().run_action(action, default_namespace, *args, **kwargs)

    def pop_screen(self) -> AwaitComplete:
        pump = active_message_pump.get(None)
        screen = pump if isinstance(pump, Screen) else getattr(pump, "screen", None)
        if isinstance(screen, Screen) and screen not in self.screen_stack:
            # A screen already dismissed, dismissing itself again (a second Enter queued
            # behind the first): the screen it would pop is the one underneath.
            return AwaitComplete()  # already complete: nothing to wait for
        return super().pop_screen()

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        if self._quitting:
            # A key handled after the one that quit (it was already on its way to a widget):
            # the screen would be mounted empty, as nothing is mounted once exiting.
            wait = kwargs.get("wait_for_dismiss", args[1] if len(args) > 1 else False)
            if wait:
                never: Future[None] = asyncio.get_running_loop().create_future()
                return never  # the app ends before anyone could dismiss it
            return AwaitMount(self.screen, [])
        return super().push_screen(screen, *args, **kwargs)

    def get_driver_class(self) -> type[Driver]:
        """Textual's own driver, but perftop's version of the Linux one (perftop/terminal.py:
        a stop from outside, and the terminal given back as it was found)."""
        driver = super().get_driver_class()
        try:
            from textual.drivers.linux_driver import LinuxDriver
        except ImportError:  # no termios: not a Unix terminal
            return driver
        if driver is not LinuxDriver:  # chosen through TEXTUAL_DRIVER: left alone
            return driver
        from perftop.terminal import PerftopDriver

        return PerftopDriver

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(cast(App[object], self)):
            self.push_screen(GuardedCommandPalette(id="--command-palette"))
