"""Naming where a process runs from its cgroup path, the runtimes' names from their state
files, and perftop's own limits inside a container."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perftop.system.containers import (
    Container,
    ContainerNames,
    container_of_pid,
    parse_container,
    read_own_limits,
)
from tests.unit.cgroup_trees import (
    DOCKER_ID,
    MIB,
    V1_MOUNTINFO,
    V2_MOUNTINFO,
    files,
    machine,
    proc_cgroup,
)

ID = DOCKER_ID
UID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.mark.parametrize(
    ("path", "runtime", "label"),
    [
        (f"/system.slice/docker-{ID}.scope", "docker", f"docker:{ID[:12]}"),
        (f"/docker/{ID}", "docker", f"docker:{ID[:12]}"),
        (f"/machine.slice/libpod-{ID}.scope/container", "podman", f"podman:{ID[:12]}"),
        (f"/libpod_parent/libpod-{ID}", "podman", f"podman:{ID[:12]}"),
        (f"/default/{ID}", "containerd", f"containerd:{ID[:12]}"),
        (f"/system.slice/nerdctl-{ID}.scope", "containerd", f"containerd:{ID[:12]}"),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
            f"{UID.replace('-', '_')}.slice/cri-containerd-{ID}.scope",
            "kubernetes",
            f"k8s:{ID[:12]}",
        ),
        (f"/kubepods/besteffort/pod{UID}/{ID}", "kubernetes", f"k8s:{ID[:12]}"),
        (
            "/system.slice/containerd.service/kubepods-pod"
            f"{UID.replace('-', '_')}.slice:cri-containerd:{ID}",
            "kubernetes",
            f"k8s:{ID[:12]}",
        ),
        (f"/kubepods/pod{UID}", "kubernetes", "k8s:pod-0f1e2d3c"),
        (f"/machine.slice/crio-{ID}.scope", "cri-o", f"cri-o:{ID[:12]}"),
        ("/lxc.payload.web1/init.scope", "lxc", "lxc:web1"),
        ("/lxc/db", "lxc", "lxc:db"),
        ("/machine.slice/machine-my\\x2dbox.scope", "nspawn", "nspawn:my-box"),
        ("/system.slice/nginx.service", "", "nginx.service"),
        ("/user.slice/user-1000.slice/user@1000.service/app.slice/foot.scope", "", "foot.scope"),
    ],
)
def test_paths_runtimes_make(path: str, runtime: str, label: str) -> None:
    c = parse_container(path)
    assert c is not None and c.runtime == runtime and c.label() == label


def test_the_pod_of_a_kubernetes_container() -> None:
    c = parse_container(f"/kubepods/burstable/pod{UID}/{ID}")
    assert c is not None and c.pod_uid == UID and c.id == ID


def test_neither_unit_nor_container() -> None:
    assert parse_container("/") is None
    assert parse_container("/system.slice") is None
    assert parse_container(f"/machine.slice/libpod-conmon-{ID}.scope") is None, "the monitor"
    assert parse_container("/process_api/7239a758d4fe2b1124304319ec01aafe") is None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_docker_names_from_config_v2_json(tmp_path: Path) -> None:
    config = tmp_path / "var/lib/docker/containers" / ID / "config.v2.json"
    clock = Clock()
    names = ContainerNames(str(tmp_path), clock=clock)
    c = Container("docker", ID)
    assert names.name_of(c) is None, "not there yet"
    _write(config, json.dumps({"ID": ID, "MountPoints": {"/d": {"Name": "vol"}}, "Name": "/web"}))
    assert names.name_of(c) is None, "a miss is cached a while"
    clock.now += 60
    assert names.named(c).label() == "docker:web"
    config.unlink()
    assert names.name_of(c) == "web", "a hit is cached"


def test_podman_and_crio_names_from_containers_json(tmp_path: Path) -> None:
    store = tmp_path / "var/lib/containers/storage/overlay-containers/containers.json"
    _write(store, json.dumps([{"id": ID, "names": ["db"]}, {"id": "x", "names": "bad"}, 3]))
    names = ContainerNames(str(tmp_path))
    assert names.name_of(Container("podman", ID)) == "db"
    assert names.name_of(Container("cri-o", "0" * 64)) is None


def test_kubernetes_names_from_the_kubelets_logs(tmp_path: Path) -> None:
    _write(tmp_path / "var/log/containers" / f"web-7d9f_shop_nginx-{ID}.log", "")
    (tmp_path / "var/log/pods" / f"shop_web-7d9f_{UID}").mkdir(parents=True)
    names = ContainerNames(str(tmp_path))
    assert names.name_of(Container("kubernetes", ID, pod_uid=UID)) == "web-7d9f/nginx"
    assert names.name_of(Container("kubernetes", "1" * 64, pod_uid=UID)) == "web-7d9f"
    assert names.named(Container("kubernetes", pod_uid=UID)).label() == "k8s:web-7d9f"


def test_bad_and_huge_state_files_are_no_name(tmp_path: Path) -> None:
    config = tmp_path / "var/lib/docker/containers" / ID / "config.v2.json"
    _write(config, "{not json")
    names = ContainerNames(str(tmp_path))
    assert names.name_of(Container("docker", ID)) is None
    _write(config, json.dumps({"Name": 5}))
    assert ContainerNames(str(tmp_path)).name_of(Container("docker", ID)) is None
    with config.open("w") as f:
        f.write('{"Name": "/big", "x": "' + "a" * (5 << 20) + '"}')
    assert ContainerNames(str(tmp_path)).name_of(Container("docker", ID)) is None


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    names = ContainerNames(str(tmp_path), capacity=3)
    for i in range(10):
        names.name_of(Container("docker", f"{i:064x}"))
    assert len(names._cache) == 3


def test_container_of_a_process(tmp_path: Path) -> None:
    root, proc = machine(tmp_path, V1_MOUNTINFO)
    proc_cgroup(
        tmp_path, 7, f"4:memory:/docker/{ID}\n1:name=systemd:/system.slice/x.service\n0::/\n"
    )
    _write(tmp_path / "var/lib/docker/containers" / ID / "config.v2.json", '{"Name": "/api"}')
    c = container_of_pid(7, ContainerNames(root), proc)
    assert c is not None and c.label() == "docker:api", "a container wins over a unit"
    assert container_of_pid(8, None, proc) is None


def test_own_limits_inside_a_v2_container(tmp_path: Path) -> None:
    root, proc = machine(tmp_path, V2_MOUNTINFO)
    cg = tmp_path / "sys/fs/cgroup"
    files(cg, cgroup_controllers="cpu memory")
    files(cg / "pod", cpu_max="200000 100000", memory_max=str(1024 * MIB))
    files(
        cg / "pod" / "ctr",
        cpu_max="max 100000",
        memory_max=str(512 * MIB),
        memory_current=str(100 * MIB),
    )
    proc_cgroup(tmp_path, 1, "0::/pod/ctr\n")
    (tmp_path / ".dockerenv").write_text("")
    limits = read_own_limits(1, root, proc)
    assert limits.inside and limits.how == "/.dockerenv" and limits.cgroup == "/pod/ctr"
    assert limits.cpu_limit_cores == 2.0, "the pod's quota binds the container"
    assert limits.memory_limit_bytes == 512 * MIB and limits.memory_usage_bytes == 100 * MIB
    assert limits.limited


def test_own_limits_v1_and_detection_by_cgroup(tmp_path: Path) -> None:
    root, proc = machine(tmp_path, V1_MOUNTINFO)
    cg = tmp_path / "sys/fs/cgroup"
    files(cg / "cpu,cpuacct" / "docker" / ID, cpu_cfs_quota_us="50000", cpu_cfs_period_us="100000")
    files(cg / "memory" / "docker" / ID, memory_limit_in_bytes="9223372036854771712")
    proc_cgroup(tmp_path, 1, f"3:cpu,cpuacct:/docker/{ID}\n2:memory:/docker/{ID}\n")
    limits = read_own_limits(1, root, proc)
    assert limits.inside and limits.how == f"cgroup /docker/{ID}"
    assert limits.cpu_limit_cores == 0.5 and limits.memory_limit_bytes is None


def test_outside_any_container(tmp_path: Path) -> None:
    root, proc = machine(tmp_path, V2_MOUNTINFO)
    files(tmp_path / "sys/fs/cgroup", cgroup_controllers="cpu memory")
    proc_cgroup(tmp_path, 1, "0::/init.scope\n")
    limits = read_own_limits(1, root, proc)
    assert not limits.inside and not limits.limited and limits.how == ""
    gone = read_own_limits(99, root, proc)
    assert not gone.limited and gone.cgroup == "/"


@given(st.text(max_size=200))
def test_any_path_names_or_is_none(path: str) -> None:
    c = parse_container(path)
    assert c is None or isinstance(c.label(), str)


@given(
    st.lists(
        st.sampled_from(
            [
                "docker",
                f"docker-{ID}.scope",
                ID,
                f"pod{UID}",
                "kubepods",
                "lxc",
                "lxc.payload.",
                "machine-.scope",
                "a.service",
                "x:cri-containerd:",
                "",
            ]
        ),
        max_size=6,
    )
)
def test_near_miss_paths_never_raise(parts: list[str]) -> None:
    c = parse_container("/" + "/".join(parts))
    assert c is None or isinstance(c.label(), str)


def test_process_cgroups_read_once_per_process(tmp_path: Path) -> None:
    from perftop.system.proccgroups import ProcessCgroups

    _root, proc = machine(tmp_path, V1_MOUNTINFO)
    proc_cgroup(tmp_path, 7, f"4:memory:/docker/{ID}\n1:name=systemd:/system.slice/x.service\n")
    proc_cgroup(tmp_path, 8, "1:name=systemd:/system.slice/nginx.service\n0::/\n")
    known = ProcessCgroups(proc_root=proc)
    assert known.label(7, 1.0) == f"docker:{ID[:12]}" and known.cgroup(7, 1.0) == "/docker/" + ID
    assert known.label(8, 1.0) == "nginx.service" and known.label(9, 1.0) == ""
    assert known.is_under(7, "/docker", 1.0) and not known.is_under(8, "/docker", 1.0)
    assert known.is_under(8, "/system.slice", 1.0) and known.is_under(9, "/", 1.0)
    assert not known.is_under(7, "/dock", 1.0), "a path prefix is not a parent"
    proc_cgroup(tmp_path, 8, "0::/moved\n")
    assert known.label(8, 1.0) == "nginx.service", "read once per process"
    assert known.cgroup(8, 2.0) == "/moved", "a reused PID is read afresh"
    known.retain({7})
    assert set(known._known) == {7}


def test_in_group() -> None:
    from perftop.system.proccgroups import in_group

    assert in_group(("/", "/a/b"), "/a") and in_group(("/a",), "/a/") and in_group((), "/")
    assert not in_group(("/ab",), "/a") and not in_group((), "/a")
