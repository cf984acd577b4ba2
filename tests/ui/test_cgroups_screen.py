"""The cgroup view on its own, over a fake sampler: the tree and its figures, sorting (within
the tree and flat), live updates, Enter returning the group's path, Esc returning None; and
the same screen over a real CgroupSampler on a fake hybrid machine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable

from perftop.system.cgroups import CgroupSampler, CgroupSnapshot, CgroupStats
from perftop.system.pressure import Pressure, PressureLine, PressureSet
from perftop.ui.screens.cgroups import CgroupScreen, ordered, short_name
from tests.ui.helpers import until
from tests.unit.cgroup_trees import DOCKER_ID, HYBRID_MOUNTINFO, hybrid_tree, machine

MIB = 1 << 20


def stats(path: str, depth: int, **figures: object) -> CgroupStats:
    base = CgroupStats(
        path=path,
        depth=depth,
        procs=1,
        procs_total=1,
        pids=(1,),
        cpu_percent=None,
        cpu_usage_s=None,
        quota_cores=None,
        effective_quota_cores=None,
        nr_periods=None,
        nr_throttled=None,
        throttled_s=None,
        throttled_percent=None,
        memory_bytes=None,
        memory_limit_bytes=None,
        effective_memory_limit_bytes=None,
        oom_kills=None,
        io_read_bytes=None,
        io_write_bytes=None,
        io_read_bytes_per_s=None,
        io_write_bytes_per_s=None,
        pressure=None,
        versions=(2,),
    )
    return replace(base, **figures)  # type: ignore[arg-type]


PSI = PressureSet(Pressure(PressureLine(12.5, 1, 1, 1), None), None, None)
GROUPS = (
    stats("/", 0, cpu_percent=150.0, procs_total=9),
    stats("/system.slice", 1, cpu_percent=20.0),
    stats(
        "/system.slice/app.service",
        2,
        cpu_percent=5.0,
        quota_cores=0.5,
        nr_throttled=3,
        throttled_s=1.25,
        throttled_percent=75.0,
        memory_bytes=400 * MIB,
        memory_limit_bytes=512 * MIB,
        oom_kills=2,
        pressure=PSI,
    ),
    stats(f"/system.slice/docker-{DOCKER_ID}.scope", 2, cpu_percent=15.0),
    stats("/user.slice", 1, cpu_percent=90.0),
)


class FakeSampler:
    def __init__(self) -> None:
        self.groups = GROUPS
        self.calls = 0

    def sample(self) -> CgroupSnapshot:
        self.calls += 1
        return CgroupSnapshot(0.0, "v2", self.groups, 1.0)


class Host(App[None]):
    def __init__(self, sampler: object) -> None:
        super().__init__()
        self.sampler = sampler
        self.result: str | None = "unset"

    def on_mount(self) -> None:
        screen = CgroupScreen(self.sampler, interval_s=0.05)  # type: ignore[arg-type]
        self.push_screen(screen, self._done)

    def _done(self, path: str | None) -> None:
        self.result = path


def rows(app: App[None]) -> list[list[str]]:
    table = app.screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def test_ordered_keeps_children_under_their_parent() -> None:
    by_cpu = [g.path for g in ordered(GROUPS, "cpu", tree=True)]
    assert by_cpu == [
        "/",
        "/user.slice",
        "/system.slice",
        f"/system.slice/docker-{DOCKER_ID}.scope",
        "/system.slice/app.service",
    ]
    flat = [g.path for g in ordered(GROUPS, "cpu", tree=False)]
    assert flat[:2] == ["/", "/user.slice"] and flat[-1] == "/system.slice/app.service"
    by_memory = [g.path for g in ordered(GROUPS, "memory", tree=False)]
    assert by_memory[0] == "/system.slice/app.service", "None sorts last"


async def test_the_tree_its_figures_and_enter() -> None:
    sampler = FakeSampler()
    app = Host(sampler)
    async with app.run_test(size=(160, 20)) as pilot:
        screen = app.screen
        assert isinstance(screen, CgroupScreen)
        await until(pilot, lambda: screen.reads >= 1, "the first read shown")
        shown = rows(app)
        assert [r[0] for r in shown] == [
            "/",
            "  user.slice",
            "  system.slice",
            f"    {short_name(f'docker-{DOCKER_ID}.scope')}",
            "    app.service",
        ]
        app_row = shown[-1]
        assert app_row[2:] == [
            "1",
            "5.0",
            "50",
            "75 1.2s",
            "400M",
            "512M",
            "2",
            "-",
            "12.5",
            "-",
            "-",
        ]
        assert shown[3][1] == f"docker:{DOCKER_ID[:12]}" and app_row[1] == "app.service"
        assert shown[1][5] == "-", "no quota, no throttling: a dash"

        # Live: a figure changes in place, without moving the cursor off its group.
        await pilot.press("down", "down")
        assert screen.current_path == "/system.slice"
        sampler.groups = (*GROUPS[:1], replace(GROUPS[1], memory_bytes=MIB), *GROUPS[2:])
        await until(pilot, lambda: rows(app)[2][6] == "1.0M", "the new figure shown")
        assert screen.current_path == "/system.slice"

        await pilot.press("enter")
        await until(pilot, lambda: app.result != "unset", "the screen answered")
    assert app.result == "/system.slice"


async def test_sorting_and_flat_and_escape() -> None:
    app = Host(FakeSampler())
    async with app.run_test(size=(160, 20)) as pilot:
        screen = app.screen
        assert isinstance(screen, CgroupScreen)
        await until(pilot, lambda: screen.reads >= 1, "the first read shown")
        await pilot.press("s")  # cpu -> memory
        assert screen.sort_key == "memory"
        await pilot.press("t")
        assert rows(app)[0][0] == "/system.slice/app.service", "flat, the biggest memory first"
        await pilot.press("t")
        assert rows(app)[0][0] == "/"
        await pilot.press("escape")
        await until(pilot, lambda: app.result != "unset", "the screen answered")
    assert app.result is None


async def test_a_failing_read_is_said_and_retried() -> None:
    class Failing(FakeSampler):
        def sample(self) -> CgroupSnapshot:
            self.calls += 1
            if self.calls == 1:
                raise PermissionError(13, "Permission denied")
            return super().sample()

    sampler = Failing()
    app = Host(sampler)
    async with app.run_test(size=(160, 20)) as pilot:
        screen = app.screen
        assert isinstance(screen, CgroupScreen)
        await until(pilot, lambda: screen.reads >= 1, "the failed read shown")
        assert screen.error is not None and "Permission denied" in screen.error
        await until(pilot, lambda: len(rows(app)) == 5, "the next read shown")


async def test_over_a_real_sampler_on_a_fake_hybrid_machine(tmp_path: Path) -> None:
    hybrid_tree(tmp_path)
    root, proc = machine(tmp_path, HYBRID_MOUNTINFO)
    app = Host(CgroupSampler(root, proc))
    async with app.run_test(size=(160, 20)) as pilot:
        screen = app.screen
        assert isinstance(screen, CgroupScreen)
        await until(pilot, lambda: screen.reads >= 2, "two reads shown")
        names = [r[0].strip() for r in rows(app)]
        assert short_name(DOCKER_ID) in names and "ssh.service" in names and "mem-only" in names
        docker = next(r for r in rows(app) if r[0].strip() == short_name(DOCKER_ID))
        assert docker[1] == f"docker:{DOCKER_ID[:12]}" and docker[4] == "20"
        assert docker[7] == "256M" and docker[8] == "1"
