"""The cgroup tree and its figures on fake v2, v1 and hybrid machines, rates between reads,
and parsers that take anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perftop.system.cgroupfs import (
    CgroupMounts,
    Hierarchy,
    parse_blkio,
    parse_cpu_max,
    parse_io_stat,
    parse_keyed,
    parse_memory_limit,
    parse_mountinfo,
    parse_proc_cgroup,
    read_group,
    read_proc_cgroups,
)
from perftop.system.cgroups import CgroupSampler, CgroupSnapshot
from tests.unit.cgroup_trees import (
    DOCKER_ID,
    HYBRID_MOUNTINFO,
    MIB,
    V1_MOUNTINFO,
    V2_MOUNTINFO,
    files,
    hybrid_tree,
    machine,
    v1_tree,
    v2_tree,
)

APP = "/system.slice/app.service"
V2_PIDS = [1, 2, 100, 101, 200]
DOCKER = f"/docker/{DOCKER_ID}"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def sampler(tmp_path: Path, mountinfo: str) -> tuple[CgroupSampler, Clock]:
    root, proc = machine(tmp_path, mountinfo)
    clock = Clock()
    return CgroupSampler(root, proc, clock), clock


def group(snapshot: CgroupSnapshot, path: str):  # type: ignore[no-untyped-def]
    g = snapshot.get(path)
    assert g is not None, f"{path} not in {[g.path for g in snapshot.groups]}"
    return g


# --- mounts -------------------------------------------------------------------------------------


def test_mountinfo_layouts(tmp_path: Path) -> None:
    v2 = parse_mountinfo(V2_MOUNTINFO, "/r")
    assert v2.layout == "v2" and v2.v2 == Hierarchy(2, frozenset(), "/r/sys/fs/cgroup", "/")
    v1 = parse_mountinfo(V1_MOUNTINFO)
    assert v1.layout == "v1" and v1.v2 is None
    cpu = v1.v1_for("cpuacct")
    assert cpu is not None and cpu is v1.v1_for("cpu") and cpu.mount == "/sys/fs/cgroup/cpu,cpuacct"
    assert v1.v1_for("name=systemd") is not None, "rw, xattr are options, not controllers"
    hybrid = parse_mountinfo(HYBRID_MOUNTINFO)
    assert hybrid.layout == "hybrid" and hybrid.v2 is not None
    assert hybrid.v2.mount == "/sys/fs/cgroup/unified"
    assert parse_mountinfo("").layout == "none"


def test_a_container_without_a_cgroup_namespace_sees_its_group_as_the_mount() -> None:
    text = f"1 0 0:1 /docker/{DOCKER_ID} /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
    h = parse_mountinfo(text).v1_for("memory")
    assert h is not None and h.root == DOCKER
    assert h.directory(DOCKER) == "/sys/fs/cgroup/memory"
    assert h.directory(DOCKER + "/sub") == "/sys/fs/cgroup/memory/sub"
    assert h.directory("/elsewhere") is None and h.directory(DOCKER + "/../x") is None
    assert h.path_of("sub") == DOCKER + "/sub"


def test_escaped_mount_points_and_a_second_mount_of_a_hierarchy() -> None:
    text = (
        "1 0 0:1 /sub /mnt/a\\040b - cgroup2 cgroup2 rw\n"
        "2 0 0:1 / /sys/fs/cgroup - cgroup2 cgroup2 rw\n"
        "3 0 0:1 / /x - tmpfs tmpfs rw\n"
        "garbage line\n"
    )
    m = parse_mountinfo(text)
    assert m.v2 is not None and m.v2.mount == "/sys/fs/cgroup", "the fuller mount wins"
    first = parse_mountinfo(text.splitlines()[0])
    assert first.v2 is not None and first.v2.mount == "/mnt/a b"


def test_proc_cgroup() -> None:
    g = parse_proc_cgroup(
        "12:memory:/docker/x\n3:cpu,cpuacct:/docker/x/y\n1:name=systemd:/system.slice/a\n0::/\nbad\n"
    )
    assert g.v2 == "/" and g.v1["cpu"] == g.v1["cpuacct"] == "/docker/x/y"
    assert g.v1["name=systemd"] == "/system.slice/a"
    assert g.primary() == "/docker/x/y", "the deepest path says most"
    assert parse_proc_cgroup("0::/a (deleted)\n").v2 == "/a"


# --- v2 -------------------------------------------------------------------------------------------


def test_v2_figures_and_rates(tmp_path: Path) -> None:
    v2_tree(tmp_path, usage_usec=1_000_000, throttled=3)
    s, clock = sampler(tmp_path, V2_MOUNTINFO)
    first = s.sample()
    assert first.layout == "v2" and first.interval_s is None
    assert [g.path for g in first.groups] == [
        "/",
        "/system.slice",
        APP,
        f"/system.slice/docker-{DOCKER_ID}.scope",
    ]
    app = group(first, APP)
    assert app.cpu_percent is None and app.throttled_percent is None, "no rate on a first read"
    assert app.quota_cores == 0.5 and app.quota_percent == 50.0
    assert app.memory_bytes == 400 * MIB and app.memory_limit_bytes == 512 * MIB
    assert app.memory_percent == pytest.approx(78.125)
    assert app.oom_kills == 2 and app.nr_throttled == 3 and app.throttled_s == pytest.approx(0.03)
    assert app.io_read_bytes == 2_000_000 and app.io_write_bytes == 4096
    assert app.pids == (100, 101) and app.procs == 2 and app.depth == 2
    assert app.pressure is not None and app.pressure.cpu is not None
    assert app.pressure.cpu.some is not None and app.pressure.cpu.some.total_us == 500
    assert app.versions == (2,)

    # One second later the group used half a core, hit its quota in 3 of 4 periods.
    v2_tree(tmp_path, usage_usec=1_500_000, throttled=3)
    (tmp_path / "sys/fs/cgroup/system.slice/app.service/cpu.stat").write_text(
        "usage_usec 1500000\nnr_periods 10\nnr_throttled 6\nthrottled_usec 90000\n"
    )
    clock.now += 1.0
    second = s.sample()
    app = group(second, APP)
    assert second.interval_s == 1.0
    assert app.cpu_percent == pytest.approx(50.0)
    assert app.throttled_percent == pytest.approx(75.0)
    assert app.io_read_bytes_per_s == pytest.approx(1_000_000)
    assert app.io_write_bytes_per_s == 0.0


def test_v2_missing_controllers_are_none(tmp_path: Path) -> None:
    v2_tree(tmp_path)
    s, _clock = sampler(tmp_path, V2_MOUNTINFO)
    docker = group(s.sample(), f"/system.slice/docker-{DOCKER_ID}.scope")
    assert docker.quota_cores is None and docker.nr_throttled is None
    assert docker.throttled_s is None and docker.io_read_bytes is None and docker.pressure is None
    assert docker.memory_limit_bytes is None and docker.oom_kills == 0
    root = group(s.sample(V2_PIDS), "/")
    assert root.memory_bytes is None, "the v2 root has no memory.current"
    assert root.pids == (1, 2), "the root holds the processes no other group does"
    assert root.procs_total == 5 and root.depth == 0


def test_limits_bind_from_ancestors(tmp_path: Path) -> None:
    cg = v2_tree(tmp_path)
    files(cg / "system.slice", cpu_max="150000 100000", memory_max=str(300 * MIB))
    s, _clock = sampler(tmp_path, V2_MOUNTINFO)
    snap = s.sample()
    app = group(snap, APP)
    assert app.effective_quota_cores == 0.5 and app.effective_memory_limit_bytes == 300 * MIB
    docker = group(snap, f"/system.slice/docker-{DOCKER_ID}.scope")
    assert docker.effective_quota_cores == 1.5 and docker.quota_cores is None


def test_pids_under_a_group(tmp_path: Path) -> None:
    v2_tree(tmp_path)
    s, _clock = sampler(tmp_path, V2_MOUNTINFO)
    snap = s.sample(V2_PIDS)
    assert snap.pids_under("/system.slice") == {100, 101, 200}
    assert snap.pids_under(APP) == snap.pids_under(APP + "/") == {100, 101}
    assert snap.pids_under("/") == {1, 2, 100, 101, 200}
    assert snap.pids_under("/nope") == frozenset()


def test_a_group_made_again_starts_over(tmp_path: Path) -> None:
    v2_tree(tmp_path, usage_usec=5_000_000)
    s, clock = sampler(tmp_path, V2_MOUNTINFO)
    s.sample()
    v2_tree(tmp_path, usage_usec=1_000)  # removed and made again: counters from zero
    clock.now += 1
    assert group(s.sample(), APP).cpu_percent is None


def test_the_walk_is_bounded(tmp_path: Path) -> None:
    cg = v2_tree(tmp_path)
    for i in range(20):
        files(cg / "many" / f"g{i}", cgroup_procs="")
    root, proc = machine(tmp_path, V2_MOUNTINFO)
    snap = CgroupSampler(root, proc, max_groups=10).sample()
    assert len(snap.groups) == 10 and snap.truncated


# --- v1 and hybrid --------------------------------------------------------------------------------


def test_v1_figures(tmp_path: Path) -> None:
    v1_tree(tmp_path, usage_ns=10**9, throttled=4)
    s, clock = sampler(tmp_path, V1_MOUNTINFO)
    first = s.sample()
    assert first.layout == "v1"
    paths = [g.path for g in first.groups]
    assert paths == ["/", "/docker", DOCKER, "/mem-only"], "devices and named hierarchies not shown"
    d = group(first, DOCKER)
    assert d.quota_cores == pytest.approx(0.2) and d.nr_throttled == 4
    assert d.throttled_s == pytest.approx(0.04)
    assert d.memory_bytes == 100 * MIB and d.memory_limit_bytes == 256 * MIB and d.oom_kills == 1
    assert d.io_read_bytes == 10**6 and d.io_write_bytes == 512
    assert d.pids == (300,) and d.versions == (1,)
    root = group(first, "/")
    assert root.memory_limit_bytes is None, "v1's huge limit is none"
    assert root.quota_cores is None, "cfs_quota_us -1 is none"
    assert group(first, "/mem-only").cpu_usage_s is None, "the cpu hierarchy lacks that group"

    v1_tree(tmp_path, usage_ns=10**9 + 2 * 10**8, throttled=8)
    clock.now += 2.0
    d = group(s.sample(), DOCKER)
    assert d.cpu_percent == pytest.approx(10.0), "0.2 s of CPU in 2 s"
    assert d.throttled_percent == pytest.approx(100 * 4 / 16)


def test_hybrid_takes_each_figure_where_it_is(tmp_path: Path) -> None:
    hybrid_tree(tmp_path)
    s, _clock = sampler(tmp_path, HYBRID_MOUNTINFO)
    for pid in (1, 2, 300):
        (tmp_path / "proc" / str(pid)).mkdir()  # listed from /proc when none are given
    snap = s.sample()
    assert snap.layout == "hybrid"
    paths = [g.path for g in snap.groups]
    assert "/system.slice/ssh.service" in paths, "groups of the v2 tree alone are shown"
    assert DOCKER in paths and "/mem-only" in paths
    root = group(snap, "/")
    assert root.versions == (2, 1)
    assert root.cpu_usage_s == pytest.approx(5.0), "usage from v2's cpu.stat first"
    assert root.pressure is not None and root.pressure.cpu is not None, "pressure from v2"
    assert root.memory_bytes == 900 * MIB and root.nr_throttled == 0, "the rest from v1"
    d = group(snap, DOCKER)
    assert d.versions == (1,) and d.pressure is None and d.quota_cores == pytest.approx(0.2)
    assert root.pids == (1, 2), "300 is in /docker/ID (in cpu, memory, blkio and pids)"
    assert root.procs_total == 3, "one PID in several hierarchies counts once"


def test_sampler_reads_the_mounts_once(tmp_path: Path) -> None:
    hybrid_tree(tmp_path)
    s, _clock = sampler(tmp_path, HYBRID_MOUNTINFO)
    assert s.mounts.layout == "hybrid"
    (tmp_path / "proc" / "self" / "mountinfo").write_text("")
    assert s.sample().layout == "hybrid"


def test_no_cgroups_at_all(tmp_path: Path) -> None:
    s, _clock = sampler(tmp_path, "")
    snap = s.sample()
    assert snap.layout == "none" and snap.groups == ()


# --- parsers never raise ------------------------------------------------------------------------


def test_small_parsers() -> None:
    assert parse_cpu_max("max 100000") is None and parse_cpu_max("20000 100000") == (20000, 100000)
    assert parse_cpu_max("1 0") is None and parse_cpu_max(None) is None
    assert parse_memory_limit("max", 2) is None and parse_memory_limit("5", 1) == 5
    assert parse_keyed("a 1\nb x\nc 2 3\na 9") == {"a": 1}
    assert parse_io_stat("8:0 rbytes=1 wbytes=2\n8:1 rbytes=x") == (1, 2)
    assert parse_blkio("Total 0") == (0, 0) and parse_blkio("junk") is None


TEXTS = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.lists(
        st.tuples(
            st.sampled_from(["8:0", "Total", "usage_usec", "nr_throttled", "max", "oom_kill"]),
            st.sampled_from(["Read", "Write", "rbytes=", "wbytes=", "", "=", "-1", "max"]),
            st.one_of(st.integers(-10, 10**25).map(str), st.text(max_size=5)),
        ),
        max_size=5,
    ).map(lambda rows: "\n".join(" ".join(r) for r in rows)),
)


@given(TEXTS)
def test_file_parsers_take_anything(text: str | None) -> None:
    for result in (parse_io_stat(text), parse_blkio(text), parse_cpu_max(text)):
        assert result is None or all(v >= 0 for v in result)
    assert all(v >= 0 for v in parse_keyed(text).values())
    assert parse_memory_limit(text, 1) is None or parse_memory_limit(text, 1) >= 0  # type: ignore[operator]


@given(st.text(max_size=400))
def test_mountinfo_and_proc_cgroup_take_anything(text: str) -> None:
    parse_mountinfo(text, "/r")
    parse_proc_cgroup(text).primary()


NAMES = [
    "cpu.stat",
    "cpu.max",
    "memory.current",
    "memory.max",
    "memory.events",
    "io.stat",
    "cpu.pressure",
    "cgroup.procs",
    "cpuacct.usage",
    "cpu.cfs_quota_us",
    "cpu.cfs_period_us",
    "memory.usage_in_bytes",
    "memory.limit_in_bytes",
    "memory.oom_control",
    "blkio.throttle.io_service_bytes_recursive",
]


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), st.binary(max_size=120), max_size=8))
def test_a_group_of_bad_files_is_nones(
    tmp_path_factory: pytest.TempPathFactory, found: dict[str, bytes]
) -> None:
    d = tmp_path_factory.mktemp("g")
    for name, data in found.items():
        (d / name).write_bytes(data)
    mounts = CgroupMounts(
        Hierarchy(2, frozenset(), str(d)),
        (Hierarchy(1, frozenset({"cpu", "cpuacct", "memory", "blkio"}), str(d)),),
    )
    c = read_group(mounts, "/")
    for value in (c.cpu_usage_ns, c.memory_bytes, c.io_read_bytes, c.nr_throttled, c.quota_us):
        assert value is None or value >= 0


def test_processes_of_one_group_share_what_their_cgroup_file_says(tmp_path: Path) -> None:
    hybrid = "2:memory:/app\n1:cpu,cpuacct:/\n0::/app.slice/web.service\n"
    for pid, text in ((10, hybrid), (11, hybrid), (12, "0::/other.slice\n")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cgroup").write_text(text)
    a, b, c = (read_proc_cgroups(pid, str(tmp_path)) for pid in (10, 11, 12))
    assert a is not None and a is b, "one parse for the group's processes"
    assert a.v1 == {"memory": "/app", "cpu": "/", "cpuacct": "/"}
    assert a.v2 == "/app.slice/web.service"
    assert c is not None and c.v2 == "/other.slice" and not c.v1
    (tmp_path / "11" / "cgroup").write_text("0::/moved.slice\n")
    moved = read_proc_cgroups(11, str(tmp_path))
    assert moved is not None and moved.v2 == "/moved.slice", "the file is read each time"
