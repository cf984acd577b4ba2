"""The Textual app: screens, the sampling loop and the command palette. It wires; it does not
compute: collectors live in `perftop.system`, views in `perftop.ui`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

from perftop.profiling.backend import ProfilerOptions
from perftop.profiling.model import Profile
from perftop.system.history import SystemHistory
from perftop.system.processes import ViewOptions
from perftop.system.samples import ProcessSnapshot, SystemSample
from perftop.system.source import SystemSource
from perftop.ui.screens.dashboard import DashboardScreen
from perftop.ui.screens.help import screen_actions


@dataclass
class AppConfig:
    """Everything the CLI (or a test) decides before the app starts."""

    delay_s: float = 1.0
    history_len: int = 3600
    view: ViewOptions = field(default_factory=ViewOptions)
    profile_pid: int | None = None
    profiler: ProfilerOptions = field(default_factory=ProfilerOptions)
    profile_title: str = ""
    opened_profile: Profile | None = None  # a profile read from a file, shown without a backend


class Sampled(Message):
    """One tick of data from the sampler thread; a burst collapses into the newest."""

    def __init__(self, sample: SystemSample, snapshot: ProcessSnapshot) -> None:
        super().__init__()
        self.sample = sample
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Sampled)


class PerftopApp(App[None]):
    TITLE = "perftop"
    # Ctrl-C quits, as in htop and every other monitor (Textual's default only shows a hint).
    BINDINGS = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]
    # Absolute, because Textual resolves a relative path against each subclass's own module.
    CSS_PATH = Path(__file__).parent / "ui" / "perftop.tcss"

    def __init__(
        self,
        source_factory: Callable[[], SystemSource],
        config: AppConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.config = config or AppConfig()
        self.history = SystemHistory(self.config.history_len)
        self._source_factory = source_factory
        self._source: SystemSource | None = None
        self._clock = clock
        self._next_tick = 0.0
        self.dashboard = DashboardScreen(self.history, self.config.view)

    def on_mount(self) -> None:
        self.push_screen(self.dashboard)
        self._sample()
        if self.config.profile_pid is not None:
            self.open_profile(self.config.profile_pid, self.config.profile_title)
        elif self.config.opened_profile is not None:
            from perftop.ui.screens.profile import ProfileScreen

            profile = self.config.opened_profile
            self.push_screen(ProfileScreen(profile, title=self.config.profile_title))

    def open_profile(self, pid: int, title: str = "") -> None:
        """Attach the sampling profiler to `pid` and show its live flame view."""
        from perftop.profiling.pyspy import PySpyBackend
        from perftop.ui.screens.profile import ProfileScreen

        profile = Profile()
        profile.metadata.update({"pid": str(pid), "command": title, "source": "py-spy"})
        screen = ProfileScreen(
            profile,
            backend=PySpyBackend(),
            pid=pid,
            options=self.config.profiler,
            title=f"PID {pid} {title}".strip(),
        )
        self.push_screen(screen)

    def on_dashboard_screen_profile_requested(
        self, message: DashboardScreen.ProfileRequested
    ) -> None:
        self.open_profile(message.pid, message.title)

    # --- sampling: one thread worker, re-armed after each tick so ticks never overlap -------

    def _sample(self) -> None:
        self._next_tick = self._clock() + self.config.delay_s
        # An explicit description: without one Textual builds the app's repr on every tick.
        self.run_worker(
            self._collect, thread=True, exclusive=True, group="sampler", description="sample"
        )

    def _collect(self) -> None:
        if self._source is None:
            self._source = self._source_factory()
        sample = self._source.sample_system()
        snapshot = self._source.sample_processes()
        self.post_message(Sampled(sample, snapshot))

    def on_sampled(self, message: Sampled) -> None:
        self.history.append(message.sample)
        self.dashboard.show(message.sample, message.snapshot)
        self.dashboard.refresh_detail()
        self.set_timer(max(self._next_tick - self._clock(), 0.05), self._sample)

    def sample_now(self) -> None:
        """Tests and the screenshot script drive ticks directly instead of waiting."""
        self._sample()

    # --- command palette: every action of the screen, not only Textual's defaults ------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for entry in screen_actions(screen):
            yield SystemCommand(
                entry.description,
                f"key: {', '.join(entry.keys)}",
                _runner(self, entry.action, entry.node),
            )


def _runner(app: App[None], action: str, node: DOMNode) -> Callable[[], object]:
    def run() -> object:
        return app.run_action(action, node)

    return run
