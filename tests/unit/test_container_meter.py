"""perftop inside a container: its CPU use against its quota and its memory against its limit
(what the meters show), from a fake machine's cgroup files; nothing outside one; the limits
read again after LIMITS_EVERY_S; the levels coloured against the limits."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from perftop.system.container_meter import LIMITS_EVERY_S, OwnContainer, container_levels
from perftop.system.fake import FakeSystemSampler
from perftop.system.levels import Thresholds, levels_of
from perftop.system.samples import Level
from tests.unit.cgroup_trees import MIB, V2_MOUNTINFO, files, machine, proc_cgroup


class Clock:
    now = 10.0

    def __call__(self) -> float:
        return self.now


def container(tmp_path: Path, usage_usec: int, quota: str = "200000 100000") -> Path:
    group = tmp_path / "sys" / "fs" / "cgroup" / "ctr"
    files(tmp_path / "sys" / "fs" / "cgroup", cgroup_controllers="cpu memory")
    files(
        group,
        cgroup_procs="1",
        cpu_max=quota,
        cpu_stat=f"usage_usec {usage_usec}\nuser_usec 0\nsystem_usec 0",
        memory_max=str(512 * MIB),
        memory_current=str(100 * MIB),
    )
    return group


def test_use_against_the_limits(tmp_path: Path) -> None:
    root, proc = machine(tmp_path, V2_MOUNTINFO)
    proc_cgroup(tmp_path, "self", "0::/ctr\n")  # type: ignore[arg-type]
    (tmp_path / ".dockerenv").write_text("")
    container(tmp_path, 5_000_000)
    clock = Clock()
    own = OwnContainer(root, proc, clock)
    first = own.sample()
    assert first is not None and first.how == "/.dockerenv"
    assert (first.cpu_limit_cores, first.cpu_percent) == (2.0, None), "no interval yet"
    assert (first.memory_limit_bytes, first.memory_used_bytes) == (512 * MIB, 100 * MIB)
    assert first.memory_percent is not None and round(first.memory_percent, 2) == 19.53

    clock.now += 2.0
    container(tmp_path, 7_000_000)  # 2 CPU-seconds in 2 s: one core of its two
    second = own.sample()
    assert second is not None and second.cpu_percent == 50.0

    container(tmp_path, 7_000_000, quota="100000 100000")
    clock.now += 1.0
    assert own.sample().cpu_limit_cores == 2.0, "limits read again only now and then"  # type: ignore[union-attr]
    clock.now += LIMITS_EVERY_S
    assert own.sample().cpu_limit_cores == 1.0  # type: ignore[union-attr]


def test_nothing_outside_a_container_or_inside_one_without_limits(tmp_path: Path) -> None:
    root, proc = machine(tmp_path, V2_MOUNTINFO)
    proc_cgroup(tmp_path, "self", "0::/init.scope\n")  # type: ignore[arg-type]
    files(tmp_path / "sys" / "fs" / "cgroup" / "init.scope", cpu_max="max 100000")
    assert OwnContainer(root, proc, Clock()).sample() is None
    (tmp_path / ".dockerenv").write_text("")  # inside now, but nothing limits it
    assert OwnContainer(root, proc, Clock()).sample() is None


def test_levels_against_the_limits() -> None:
    sample = FakeSystemSampler(container=(2.0, 512 * MIB)).sample()
    t = Thresholds()
    host = levels_of(sample, t)
    assert host.cpu is Level.OK
    own = sample.container._replace(cpu_percent=95.0, memory_used_bytes=500 * MIB)
    levels = container_levels(host, dataclasses.replace(sample, container=own), t)
    assert (levels.cpu, levels.memory) == (Level.CRIT, Level.CRIT)
    assert container_levels(host, dataclasses.replace(sample, container=None), t) is host
