"""Random keys on every screen: whatever is pressed, in whatever order, perftop does not crash.

Seeded and bounded, so a failure names its seed and replays exactly. Keys go in one at a time
(each handled before the next) and in bursts sent without waiting, as a fast typist, a paste
or a laggy SSH link delivers them: the palette's crashes were races between a key and the
layout that follows new results. Nothing real is touched: the fake machine, a temporary
export directory, and profiling never attaches.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot

from perftop.app import AppConfig, PerftopApp
from perftop.system.source import FakeSource, SystemSource
from perftop.ui.start import DiffOfFiles, ProfileFile
from tests.ui.files_helpers import base_profile, new_profile, no_source

pytestmark = pytest.mark.slow

KEYS = (
    list("abcdefghijklmnoprstuvwxyzFGIKSN0123456789")
    + ["q"] * 2  # quits the base screen: the run then starts over on a fresh app
    + [f"f{i}" for i in range(1, 13)]
    + ["up", "down", "left", "right", "home", "end", "pageup", "pagedown"] * 3
    + ["enter", "escape", "tab", "shift+tab", "backspace", "delete", "space"] * 3
    + ["ctrl+p"] * 6  # the command palette, where both crashes were
    + ["slash", "question_mark", "at", "less_than_sign", "greater_than_sign"]
    + ["left_square_bracket", "right_square_bracket", "left_curly_bracket"]
    + ["right_curly_bracket", "ctrl+d", "ctrl+u", "ctrl+f", "ctrl+b", "ctrl+s"]
)
KEYS_PER_RUN = 160
SEEDS = (14, 16)  # both crashed Textual 8.2.8 on the dashboard before perftop/ui/guarded_app.py


class _SafeApp(PerftopApp):
    """perftop as a user has it, except that Enter (or m) on a process attaches no profiler,
    and W (or the palette) does not start perf on every CPU."""

    def open_profile(self, pid: int, title: str = "", *, memory: bool = False) -> None:
        self.notify(f"would profile {'the memory of ' if memory else ''}{pid}")

    def open_machine_profile(self) -> None:
        self.notify("would profile every CPU")


def _app(screen: str, export_dir: Path) -> PerftopApp:
    config = AppConfig(delay_s=3600, export_dir=export_dir)
    source: Callable[[], SystemSource] = FakeSource
    if screen == "profile":
        config.start, source = ProfileFile(base_profile(), "base.folded"), no_source
    elif screen == "diff":
        config.start, source = DiffOfFiles(base_profile(), new_profile(), "a → b"), no_source
    return _SafeApp(source, config)


# The keys that open each screen from the one an app starts on.
OPENERS = {
    "dashboard": (),
    "profile": (),
    "diff": (),
    "help": ("f1",),
    "setup": ("f2",),
    "palette": ("ctrl+p",),
}


async def _burst(pilot: Pilot[None], keys: list[str]) -> None:
    """Queue `keys` at once, none waiting for the previous one to be handled."""
    driver = pilot.app._driver
    assert driver is not None
    for key in keys:
        char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(pilot.app)
        driver.send_message(event)
    await pilot.pause()


async def fuzz(screen: str, seed: int, export_dir: Path, budget: int = KEYS_PER_RUN) -> None:
    """Press `budget` random keys, starting on `screen` and again after each quit."""
    rnd = random.Random(f"{screen}-{seed}")
    pressed: list[str] = []
    while len(pressed) < budget:
        app = _app(screen, export_dir)
        try:
            async with app.run_test(size=(rnd.choice((80, 120)), rnd.choice((24, 40)))) as pilot:
                await pilot.press(*OPENERS[screen])
                while len(pressed) < budget and app.return_code is None:
                    if rnd.random() < 0.25:
                        keys = [rnd.choice(KEYS) for _ in range(rnd.randint(2, 6))]
                        pressed += keys
                        await _burst(pilot, keys)
                    else:
                        key = rnd.choice(KEYS)
                        pressed.append(key)
                        await pilot.press(key)
        except Exception as exc:
            raise AssertionError(
                f"{screen}, seed {seed}: crashed after {pressed[-12:]} ({len(pressed)} keys)"
            ) from exc


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("screen", list(OPENERS))
async def test_random_keys_do_not_crash(screen: str, seed: int, tmp_path: Path) -> None:
    await fuzz(screen, seed, tmp_path)
