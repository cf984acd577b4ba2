"""C on the dashboard: the cgroup view of the fake machine, from the key and the palette; Enter
on a group shows its processes alone (the status line says so, Esc clears it, like the text
filter); Esc in the view leaves the table as it was; no cgroup view of a saved moment."""

from __future__ import annotations

from textual.pilot import Pilot

from perftop.system.fake_extras import APP_SERVICE, DB_SCOPE
from perftop.ui.screens.cgroups import CgroupScreen
from perftop.ui.screens.help import screen_actions
from tests.ui.helpers import make_app, pids, ticks, until


def status(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#status").render())


async def open_view(pilot: Pilot[None]) -> CgroupScreen:
    await pilot.press("C")
    await until(pilot, lambda: isinstance(pilot.app.screen, CgroupScreen), "the cgroup view")
    screen = pilot.app.screen
    assert isinstance(screen, CgroupScreen)
    await until(pilot, lambda: screen.reads >= 1, "its first read shown")
    return screen


async def pick(pilot: Pilot[None], screen: CgroupScreen, path: str) -> None:
    for _ in range(40):
        if screen.current_path == path:
            break
        await pilot.press("down")
    assert screen.current_path == path
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen is not screen, "the view closed")


async def test_enter_on_a_group_filters_the_table_and_escape_clears_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        everyone = sorted(pids(pilot))
        screen = await open_view(pilot)
        assert screen.snapshot is not None
        assert {g.path for g in screen.snapshot.groups} >= {APP_SERVICE, DB_SCOPE, "/"}
        await pick(pilot, screen, APP_SERVICE)
        assert app.screen is app.dashboard
        assert sorted(pids(pilot)) == [2301, 2302], "the app and its worker"
        assert "cgroup: …/user-1000.slice/app.service (2 shown, Esc clears)" in status(pilot)
        await ticks(pilot)
        assert sorted(pids(pilot)) == [2301, 2302], "the filter holds tick after tick"

        await pilot.press("t")  # in the tree view too
        assert sorted(pids(pilot)) == [2301, 2302]
        await pilot.press("t")

        screen = await open_view(pilot)
        await pick(pilot, screen, DB_SCOPE)  # another group replaces it
        assert sorted(pids(pilot)) == [900, 905, 906, 908, 909, 2210]

        await pilot.press("escape")
        assert sorted(pids(pilot)) == everyone
        assert "cgroup:" not in status(pilot)


async def test_escape_in_the_view_keeps_the_table_and_the_root_shows_all() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot, 2)
        everyone = sorted(pids(pilot))
        screen = await open_view(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "back on the dashboard")
        assert sorted(pids(pilot)) == everyone
        screen = await open_view(pilot)
        await pick(pilot, screen, "/")
        assert app.dashboard.options.cgroup is None and "cgroup:" not in status(pilot)


async def test_the_palette_offers_it_and_a_saved_moment_does_not() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ticks(pilot)
        offered = {a.action: a for a in screen_actions(app.screen)}
        assert offered["cgroups"].description == "Cgroup view"
        assert offered["cgroups"].keys == ["C"]
        await pilot.press("ctrl+p")
        await pilot.press(*"cgroup view")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CgroupScreen), "opened from there")
    app.dashboard.machine = None  # what a saved snapshot's dashboard has
    assert not app.dashboard.check_action("cgroups", ())
