"""A real cgroup with a CPU quota and a memory limit, a CPU burner inside: the sampler reads the
limit, the use and the throttling. As root, where the machine's cgroupfs can be written: v2
where it holds the cpu and memory controllers, else v1's cpu, cpuacct and memory hierarchies
(the hybrid layout of our own machines). Each group is made below the test's own group in
that hierarchy, and removed at the end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from perftop.system.cgroupfs import CgroupMounts, Hierarchy, read_mounts, read_proc_cgroups
from perftop.system.cgroups import CgroupSampler, CgroupSnapshot, CgroupStats
from perftop.system.containers import read_own_limits
from tests.waiting import wait_until

MIB = 1 << 20
NAME = f"perftop-test-{os.getpid()}"
QUOTA_US, PERIOD_US = 20_000, 100_000  # a fifth of a core
LIMIT = 256 * MIB
BURNER = """
import sys
sys.stdin.readline()  # moved into the group: what it allocates now is charged there
block = bytearray(32 << 20)
for i in range(0, len(block), 4096):
    block[i] = 1
print("ready", flush=True)
while True:
    pass
"""

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0, reason="needs root on Linux"
)


@dataclass
class Made:
    cpu_path: str  # where the quota and the throttling are
    usage_path: str | None  # where CPU usage is counted (v1: cpuacct), if it is the same group
    memory_path: str
    dirs: list[Path]
    burner: subprocess.Popen[str]


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _v2_setup(mounts: CgroupMounts) -> list[tuple[Hierarchy, Path, str]] | None:
    h = mounts.v2
    if h is None or h.mount != "/sys/fs/cgroup":
        return None
    available = (Path(h.mount) / "cgroup.controllers").read_text().split()
    own = read_proc_cgroups("self")
    if "cpu" not in available or "memory" not in available or own is None or own.v2 != "/":
        return None  # a non-root group with processes cannot enable controllers below it
    _write(Path(h.mount) / "cgroup.subtree_control", "+cpu +memory")
    return [(h, Path(h.mount) / NAME, "/" + NAME)]


def _v1_setup(mounts: CgroupMounts) -> list[tuple[Hierarchy, Path, str]] | None:
    own = read_proc_cgroups("self")
    out: list[tuple[Hierarchy, Path, str]] = []
    for controller in ("cpu", "cpuacct", "memory"):
        h = mounts.v1_for(controller)
        if h is None or own is None:
            return None
        path = own.path_in(h) or "/"
        group = path.rstrip("/") + "/" + NAME
        d = h.directory(group)
        if d is None:
            return None
        if all(d != str(x[1]) for x in out):
            out.append((h, Path(d), group))
    return out


@pytest.fixture
def made() -> Iterator[Made]:
    mounts = read_mounts()
    plan = _v2_setup(mounts) if mounts.layout == "v2" else _v1_setup(mounts)
    if not plan:
        pytest.skip(f"no writable cpu and memory cgroups here ({mounts.layout} layout)")
    dirs: list[Path] = []
    burner: subprocess.Popen[str] | None = None
    try:
        for _h, d, _group in plan:
            try:
                d.mkdir()
            except OSError as e:
                pytest.skip(f"cgroupfs not writable: {e}")
            dirs.append(d)
        by_controller: dict[str, str] = {}
        for h, d, group in plan:
            if h.version == 2:
                _write(d / "cpu.max", f"{QUOTA_US} {PERIOD_US}")
                _write(d / "memory.max", str(LIMIT))
                by_controller = {"cpu": group, "cpuacct": group, "memory": group}
            else:
                if "cpu" in h.controllers:
                    _write(d / "cpu.cfs_period_us", str(PERIOD_US))
                    _write(d / "cpu.cfs_quota_us", str(QUOTA_US))
                if "memory" in h.controllers:
                    _write(d / "memory.limit_in_bytes", str(LIMIT))
                by_controller.update(
                    dict.fromkeys(h.controllers & {"cpu", "cpuacct", "memory"}, group)
                )
        burner = subprocess.Popen(
            [sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _h, d, _group in plan:
            _write(d / "cgroup.procs", str(burner.pid))
        assert burner.stdin is not None and burner.stdout is not None
        burner.stdin.write("go\n")
        burner.stdin.flush()
        assert burner.stdout.readline().strip() == "ready"
        cpu = by_controller["cpu"]
        usage = cpu if by_controller["cpuacct"] == cpu else None
        yield Made(cpu, usage, by_controller["memory"], dirs, burner)
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()
        for d in dirs:
            wait_until(lambda d=d: _gone(d), 10, f"{d} emptied and removed")  # type: ignore[misc]


def _gone(d: Path) -> bool:
    try:
        d.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False  # the killed burner still leaving the group
    return True


def test_the_limit_the_use_and_the_throttling_are_read(made: Made) -> None:
    sampler = CgroupSampler()
    seen: dict[str, CgroupStats | None] = {}

    def read() -> CgroupSnapshot:
        snap = sampler.sample()
        seen.update(cpu=snap.get(made.cpu_path), memory=snap.get(made.memory_path))
        return snap

    read()
    cpu, memory = seen["cpu"], seen["memory"]
    assert cpu is not None and memory is not None, "the groups made are in the tree"
    assert cpu.quota_percent == pytest.approx(100.0 * QUOTA_US / PERIOD_US)
    assert memory.memory_limit_bytes == LIMIT
    assert memory.memory_bytes is not None and memory.memory_bytes >= 32 * MIB
    assert made.burner.pid in (cpu.pids + memory.pids)

    last = [time.monotonic()]

    def throttled() -> bool:
        if time.monotonic() - last[0] < 1.0:
            return False  # rates over a second, as the view reads them
        last[0] = time.monotonic()
        read()
        c = seen["cpu"]
        return (
            c is not None
            and (c.nr_throttled or 0) > 0
            and c.throttled_percent is not None
            and c.throttled_percent > 50
        )

    wait_until(throttled, 30, "the burner throttled in most periods")
    c = seen["cpu"]
    assert c is not None and c.throttled_s is not None and c.throttled_s > 0
    if made.usage_path is not None:
        assert c.cpu_percent is not None
        assert 0 < c.cpu_percent < 100.0 * QUOTA_US / PERIOD_US * 1.5, "held to its quota"


def test_the_burners_own_limits(made: Made) -> None:
    limits = read_own_limits(made.burner.pid)
    assert limits.cpu_limit_cores == pytest.approx(QUOTA_US / PERIOD_US)
    assert limits.memory_limit_bytes == LIMIT
    assert limits.memory_usage_bytes is not None and limits.memory_usage_bytes >= 32 * MIB
