"""The live flame's baseline: `b` marks the profile so far, `B` loads one from a file, and the
flame is coloured by the change since (ui/screens/baseline.py)."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from perftop.app import AppConfig, PerftopApp
from perftop.formats.export import write_profile
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.profiling.backend import Batch, ProfilerOptions
from perftop.profiling.session import ProfileSession
from perftop.system.source import FakeSource
from perftop.ui.screens.baseline import BaselineFile, LiveBaseline
from perftop.ui.screens.help import screen_actions
from perftop.ui.screens.profile import ProfileScreen
from perftop.ui.widgets.flame import FlameView
from tests.hand_backend import MAIN, WORK, HandBackend
from tests.ui.helpers import ticks, until
from tests.ui.test_viewer import box_style, rgb

OTHER = Frame("other", "app.py", 30)


def feed(backend: HandBackend, stacks: list[tuple[list[Frame], int]]) -> None:
    profile = Profile()
    for stack, count in stacks:
        profile.add_stack(stack, count, "MainThread")
    total = sum(c for _, c in stacks)
    backend.items.put(Batch(profile, 1.0, total, 0, False))


def hue(flame: FlameView, name: str) -> str:
    """`grew` or `shrank` by the box's background: red or blue dominant."""
    r, _, b = rgb(box_style(flame, name))
    return "grew" if r > b else "shrank" if b > r else "same"


def drawn(flame: FlameView, name: str) -> bool:
    try:
        box_style(flame, name)
    except AssertionError:
        return False
    return True


async def live(pilot: Pilot[None], backend: HandBackend) -> ProfileScreen:
    await ticks(pilot)
    session = ProfileSession(4242, ProfilerOptions(), lambda: backend, command="python3 app.py")
    screen = ProfileScreen(session, title="PID 4242 python3 app.py")
    await pilot.app.push_screen(screen)
    return screen


async def test_b_marks_a_baseline_and_the_flame_shows_the_change(tmp_path: Path) -> None:
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600, export_dir=tmp_path))
    backend = HandBackend()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await live(pilot, backend)
        flame = screen.query_one(FlameView)
        keys = {a.action: a.keys for a in screen_actions(screen)}
        assert keys["baseline"] == ["b"] and keys["baseline_file"] == ["B"]
        feed(backend, [([MAIN, WORK], 100)])
        await until(pilot, lambda: screen.profile.total_samples == 100, "the first batch")
        await pilot.press("b")
        await until(pilot, lambda: screen.baseline is not None, "the baseline")
        assert flame.colour_of is not None and "shrank" in str(flame.border_subtitle)
        assert "change since the baseline (marked" in str(flame.border_title)
        # From here on, `other` takes half the time: it grew, `work` shrank.
        feed(backend, [([MAIN, OTHER], 200)])
        await until(pilot, lambda: screen.profile.total_samples == 300, "the second batch")
        await until(pilot, lambda: drawn(flame, "other"), "other's box")
        assert hue(flame, "other") == "grew"
        assert hue(flame, "work") == "shrank"
        # The baseline stands still while the live profile grows on.
        assert screen.baseline is not None and screen.baseline.base.total_samples == 100
        await pilot.press("b")
        await until(pilot, lambda: screen.baseline is None, "the baseline off")
        assert flame.colour_of is None and flame.border_title == "flame"
        screen.stop()


async def test_B_loads_a_baseline_from_a_file(tmp_path: Path) -> None:
    base = Profile()
    base.add_stack([MAIN, OTHER], 10)  # all of it in `other`, none in `work`
    path = tmp_path / "base.pb.gz"
    write_profile(base, path)
    app = PerftopApp(FakeSource, AppConfig(delay_s=3600, export_dir=tmp_path))
    backend = HandBackend()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await live(pilot, backend)
        feed(backend, [([MAIN, WORK], 50)])
        await until(pilot, lambda: screen.profile.total_samples == 50, "a batch")
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, BaselineFile), "the file dialog")
        app.screen.query_one(Input).value = str(tmp_path / "nope.folded")
        await pilot.press("enter")
        await until(
            pilot, lambda: any("nope.folded" in n.message for n in app._notifications), "error"
        )
        assert screen.baseline is None
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, BaselineFile), "the file dialog")
        app.screen.query_one(Input).value = str(path)
        await pilot.press("enter")
        await until(pilot, lambda: screen.baseline is not None, "the baseline read")
        flame = screen.query_one(FlameView)
        assert "base.pb.gz, loaded" in str(flame.border_title)
        await until(pilot, lambda: drawn(flame, "work"), "work's box")
        assert hue(flame, "work") == "grew"
        screen.stop()


def test_nodes_match_the_baseline_by_frame_not_by_id() -> None:
    base = Profile()
    base.add_stack([MAIN, OTHER], 50)
    base.add_stack([MAIN, WORK], 50)
    live = Profile()
    live.add_stack([MAIN, WORK], 75)  # WORK is frame 1 here, 2 in the baseline
    live.add_stack([MAIN, OTHER], 25)
    baseline = LiveBaseline(base, "marked")
    baseline.refresh(live, None)
    main = live.root().children[0]
    work, other = main.children[1], main.children[2]
    assert baseline.delta(work) == 0.25 and baseline.delta(other) == -0.25
    assert baseline.delta(main) == 0.0 and baseline.scale == 0.25
    new = Frame("new", "app.py", 50)
    live.add_stack([MAIN, new], 100)  # a frame the baseline never had
    baseline.refresh(live, None)
    assert baseline.delta(main.children[live.intern(new)]) == 0.5
