"""What a cgroup path says about where a process runs (a systemd unit, a docker, podman,
containerd or CRI-O container, a Kubernetes pod, an LXC or nspawn machine), the container's
name where the runtime writes it down locally, and whether perftop itself runs in one.

Paths the runtimes make, by cgroup driver:

    /system.slice/docker-<id>.scope                      docker, systemd driver
    /docker/<id>                                         docker, cgroupfs driver
    /machine.slice/libpod-<id>.scope, /libpod_parent/libpod-<id>      podman
    /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/
        cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope      Kubernetes, systemd
    /kubepods/burstable/pod<uid>/<id>                    Kubernetes, cgroupfs
    /system.slice/containerd.service/kubepods-...-pod<uid_>.slice:cri-containerd:<id>
    /default/<id>, nerdctl-<id>.scope                    containerd (nerdctl, ctr)
    /lxc.payload.<name>, /lxc/<name>                     LXC
    /machine.slice/machine-<name>.scope                  systemd-nspawn

Names, read without a network call and bounded in size and time, cached per ID: docker's
`/var/lib/docker/containers/<id>/config.v2.json` (`Name`), the containers/storage file that
podman and CRI-O share (`/var/lib/containers/storage/overlay-containers/containers.json`,
root's), and the kubelet's log links `/var/log/containers/<pod>_<ns>_<container>-<id>.log`
and directories `/var/log/pods/<ns>_<pod>_<uid>` for Kubernetes. Rootless podman's store, in
each user's home, is not looked for.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from perftop.system.cgroupfs import (
    CgroupMounts,
    parse_cpu_max,
    parse_int,
    parse_memory_limit,
    read_mounts,
    read_proc_cgroups,
    read_text,
)

_ID = r"([0-9a-f]{64})"
_SCOPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"docker-{_ID}\.scope"), "docker"),
    (re.compile(rf"libpod-{_ID}(?:\.scope)?"), "podman"),
    (re.compile(rf"cri-containerd-{_ID}\.scope"), "containerd"),
    (re.compile(rf".*:cri-containerd:{_ID}"), "containerd"),
    (re.compile(rf"nerdctl-{_ID}\.scope"), "containerd"),
    (re.compile(rf"crio-{_ID}(?:\.scope)?"), "cri-o"),
    (re.compile(rf".*:crio:{_ID}"), "cri-o"),
)
_BARE_ID = re.compile(_ID)
_UID = r"[0-9a-f]{8}{0}[0-9a-f]{4}{0}[0-9a-f]{4}{0}[0-9a-f]{4}{0}[0-9a-f]{12}"
_POD = (
    re.compile(r"pod(" + _UID.replace("{0}", "-") + ")"),
    # systemd's driver writes the UID's dashes as `_`; containerd may add `:cri-containerd:ID`
    re.compile(r"kubepods(?:-\w+)?-pod(" + _UID.replace("{0}", "_") + r")\.slice(?::.*)?"),
)
_UNIT = re.compile(r".+\.(?:service|scope)")
_MONITOR = re.compile(r"(?:libpod-conmon|crio-conmon)-[0-9a-f]{64}\.scope")


class Container(NamedTuple):
    """Where a cgroup path puts a process. `runtime` is "" for a plain systemd unit."""

    runtime: str  # docker, podman, containerd, cri-o, kubernetes, lxc, nspawn, "" (none)
    id: str = ""  # the container's full ID, where the path has one
    unit: str | None = None  # the deepest systemd unit (service or scope)
    pod_uid: str | None = None
    name: str | None = None  # the runtime's name for it, where known

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def label(self) -> str:
        """The CONTAINER column: `docker:web`, `docker:3f2a1b9c0d4e`, `k8s:pod-0f1e2d3c`,
        `nginx.service`; '' for the root group."""
        runtime = "k8s" if self.pod_uid is not None else self.runtime
        if self.name:
            return f"{runtime}:{self.name}"
        if self.id:
            return f"{runtime}:{self.short_id}"
        if self.pod_uid is not None:
            return f"k8s:pod-{self.pod_uid[:8]}"
        return self.unit or ""


def _unescape_unit(name: str) -> str:
    """systemd writes `-` inside a name as `\\x2d`, and other bytes likewise."""
    return re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), name)


def parse_container(path: str) -> Container | None:
    """What `path` (one line of /proc/PID/cgroup, as its path) says; None for the root group
    and for groups that are neither a unit nor a container."""
    parts = [p for p in path.split("/") if p]
    pod: str | None = None
    unit: str | None = None
    for i, part in enumerate(parts):
        for pattern in _POD:
            m = pattern.fullmatch(part)
            if m:
                pod = m.group(1).replace("_", "-")
        if _UNIT.fullmatch(part) and not _MONITOR.fullmatch(part):
            unit = _unescape_unit(part)
        if part.startswith("lxc.payload."):
            return Container("lxc", name=part[len("lxc.payload.") :] or None, unit=unit)
        if part in ("lxc", "lxc.payload") and i + 1 < len(parts):
            return Container("lxc", name=parts[i + 1], unit=unit)
    for i in range(len(parts) - 1, -1, -1):
        part = parts[i]
        for pattern, runtime in _SCOPES:
            m = pattern.fullmatch(part)
            if m:
                return Container(
                    "kubernetes" if pod else runtime, m.group(1), unit=unit, pod_uid=pod
                )
        m = _BARE_ID.fullmatch(part)
        if m:
            parent = parts[i - 1] if i else ""
            runtime = "docker" if parent == "docker" else "containerd"
            return Container("kubernetes" if pod else runtime, m.group(1), unit=unit, pod_uid=pod)
        if part.startswith("machine-") and part.endswith(".scope"):
            return Container("nspawn", name=_unescape_unit(part[8:-6]), unit=unit)
    if pod is not None:
        return Container("kubernetes", unit=unit, pod_uid=pod)
    if unit is not None:
        return Container("", unit=unit)
    return None


# --- names from the runtimes' own files -----------------------------------------------------

_DOCKER_CONFIG_MAX = 4 << 20  # a config.v2.json is a few KiB; a huge one is not read
_STORE_MAX = 16 << 20
_LISTING_MAX = 20000  # entries of /var/log/containers or /var/log/pods looked through
_MISS_TTL_S = 30.0  # a name not found yet (the container is starting) is looked for again


class ContainerNames:
    """The runtimes' names for containers, looked up in their local state files; bounded
    (each file read has a size cap, each listing an entry cap) and cached per ID."""

    def __init__(
        self, root: str = "/", capacity: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.root = root
        self._capacity = capacity
        self._clock = clock
        self._cache: OrderedDict[tuple[str, str], tuple[str | None, float]] = OrderedDict()
        self._store: tuple[float, dict[str, str]] | None = None  # (mtime, id -> name)

    def _path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def name_of(self, c: Container) -> str | None:
        key = (c.runtime, c.id or (c.pod_uid or ""))
        if not key[1]:
            return c.name
        hit = self._cache.get(key)
        now = self._clock()
        if hit is not None and (hit[0] is not None or now - hit[1] < _MISS_TTL_S):
            self._cache.move_to_end(key)
            return hit[0]
        name = self._look_up(c)
        self._cache[key] = (name, now)
        self._cache.move_to_end(key)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return name

    def named(self, c: Container) -> Container:
        """`c` with the runtime's name for it, where one is found."""
        name = self.name_of(c)
        if name is None or name == c.name:
            return c
        return Container(c.runtime, c.id, c.unit, c.pod_uid, name)

    def _look_up(self, c: Container) -> str | None:
        if c.runtime == "docker" and c.id:
            return self._docker(c.id)
        if c.runtime in ("podman", "cri-o") and c.id:
            return self._storage().get(c.id)
        if c.runtime == "kubernetes":
            if c.id:
                name = self._kube_container(c.id)
                if name is not None:
                    return name
            return self._kube_pod(c.pod_uid) if c.pod_uid else None
        return None

    def _docker(self, container_id: str) -> str | None:
        data = _read_json(
            self._path("var/lib/docker/containers", container_id, "config.v2.json"),
            _DOCKER_CONFIG_MAX,
        )
        name = data.get("Name") if isinstance(data, dict) else None
        return (name.lstrip("/") or None) if isinstance(name, str) else None

    def _storage(self) -> dict[str, str]:
        path = self._path("var/lib/containers/storage/overlay-containers/containers.json")
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return {}
        if self._store is not None and self._store[0] == mtime:
            return self._store[1]
        names: dict[str, str] = {}
        data = _read_json(path, _STORE_MAX)
        for entry in data if isinstance(data, list) else []:
            if not isinstance(entry, dict):
                continue
            cid, given = entry.get("id"), entry.get("names")
            if isinstance(cid, str) and isinstance(given, list) and given:
                first = given[0]
                if isinstance(first, str):
                    names[cid] = first
        self._store = (mtime, names)
        return names

    def _kube_container(self, container_id: str) -> str | None:
        """`/var/log/containers/<pod>_<namespace>_<container>-<id>.log` -> `pod/container`."""
        suffix = f"-{container_id}.log"
        for name in _listing(self._path("var/log/containers")):
            if name.endswith(suffix):
                pod, _, rest = name[: -len(suffix)].partition("_")
                container = rest.partition("_")[2]
                return f"{pod}/{container}" if pod and container else None
        return None

    def _kube_pod(self, uid: str) -> str | None:
        """`/var/log/pods/<namespace>_<pod>_<uid>` -> `pod`."""
        suffix = f"_{uid}"
        for name in _listing(self._path("var/log/pods")):
            if name.endswith(suffix):
                return name[: -len(suffix)].partition("_")[2] or None
        return None


def _listing(directory: str) -> list[str]:
    out: list[str] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                out.append(entry.name)
                if len(out) >= _LISTING_MAX:
                    break
    except OSError:
        return []
    return out


def _read_json(path: str, limit: int) -> object:
    try:
        if os.stat(path).st_size > limit:
            return None
    except OSError:
        return None
    text = read_text(path, limit)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def container_of_paths(paths: list[str]) -> Container | None:
    """The container (else the unit) the deepest telling path of a process names."""
    found = None
    for path in sorted(paths, key=lambda p: -p.count("/")):
        c = parse_container(path)
        if c is not None and (found is None or (c.runtime and not found.runtime)):
            found = c
    return found


def container_of_pid(
    pid: int, names: ContainerNames | None = None, proc_root: str = "/proc"
) -> Container | None:
    """The unit or container a process runs in, named where the runtime says; None where its
    cgroup says neither (or the process is gone)."""
    groups = read_proc_cgroups(pid, proc_root)
    if groups is None:
        return None
    found = container_of_paths(groups.paths())
    return names.named(found) if found is not None and names is not None else found


# --- perftop inside a container ---------------------------------------------------------------


class OwnLimits(NamedTuple):
    """Whether perftop runs in a container, and the CPU and memory its cgroup allows.

    The limits are the tightest along the process's own cgroup and its visible ancestors, so
    a limit set on the pod above the container binds too; None where none is set."""

    inside: bool
    how: str  # what told: `/.dockerenv`, `container=podman`, `cgroup /docker/…`; '' outside
    cgroup: str  # the process's own group (the deepest of its paths)
    cpu_limit_cores: float | None
    cpuset_cores: int | None  # CPUs it may run on, where a cpuset narrows them
    memory_limit_bytes: int | None
    memory_usage_bytes: int | None

    @property
    def limited(self) -> bool:
        return self.cpu_limit_cores is not None or self.memory_limit_bytes is not None


def _count_cpus(text: str | None) -> int | None:
    """A cpuset list (`0-3,8`) counted; None for an empty or malformed one."""
    total = 0
    for part in (text or "").strip().split(","):
        low, _, high = part.partition("-")
        a, b = parse_int(low), parse_int(high or low)
        if a is None or b is None or b < a:
            return None
        total += b - a + 1
    return total or None


def _how_inside(root: str, proc_root: str, groups: list[str]) -> str:
    for marker in (".dockerenv", "run/.containerenv", "var/run/secrets/kubernetes.io"):
        if os.path.exists(os.path.join(root, marker)):
            return "/" + marker
    environ = read_text(os.path.join(proc_root, "1", "environ"), 1 << 16) or ""
    for entry in environ.split("\0"):
        if entry.startswith("container=") and len(entry) > 10:
            return entry
    for path in groups:
        c = parse_container(path)
        if c is not None and c.runtime:
            return f"cgroup {path}"
    return ""


def read_own_limits(
    pid: int | str = "self",
    root: str = "/",
    proc_root: str = "/proc",
    mounts: CgroupMounts | None = None,
) -> OwnLimits:
    """Whether `pid` (perftop, by default) runs in a container, and its cgroup's limits: what
    the CPU and memory meters measure against when it does."""
    mounts = mounts if mounts is not None else read_mounts(proc_root, root)
    groups = read_proc_cgroups(pid, proc_root)
    paths = groups.paths() if groups is not None else []
    cpu: float | None = None
    memory: int | None = None
    usage: int | None = None
    cpuset: int | None = None
    for h in mounts.hierarchies() if groups is not None else ():
        path = groups.path_in(h) if groups is not None else None
        if path is None:
            continue
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts), -1, -1):  # its own group first, then up
            d = h.directory("/" + "/".join(parts[:depth]))
            if d is None or not os.path.isdir(d):
                continue
            cores = _quota_at(d, h.version, h.controllers)
            if cores is not None and (cpu is None or cores < cpu):
                cpu = cores
            limit, used = _memory_at(d, h.version, h.controllers)
            if limit is not None and (memory is None or limit < memory):
                memory, usage = limit, used
            if cpuset is None and (h.version == 2 or "cpuset" in h.controllers):
                name = "cpuset.cpus.effective" if h.version == 2 else "cpuset.effective_cpus"
                cpuset = _count_cpus(read_text(os.path.join(d, name)))
    if cpuset is not None and cpuset >= (os.cpu_count() or cpuset):
        cpuset = None  # every CPU: no narrowing
    how = _how_inside(root, proc_root, paths)
    own = groups.primary() if groups is not None else "/"
    return OwnLimits(bool(how), how, own, cpu, cpuset, memory, usage)


def _quota_at(d: str, version: int, controllers: frozenset[str]) -> float | None:
    if version == 2:
        quota = parse_cpu_max(read_text(os.path.join(d, "cpu.max")))
        return quota[0] / quota[1] if quota else None
    if "cpu" not in controllers:
        return None
    q = parse_int(read_text(os.path.join(d, "cpu.cfs_quota_us")))
    period = parse_int(read_text(os.path.join(d, "cpu.cfs_period_us")))
    return q / period if q is not None and period else None


def _memory_at(d: str, version: int, controllers: frozenset[str]) -> tuple[int | None, int | None]:
    if version == 2:
        limit = parse_memory_limit(read_text(os.path.join(d, "memory.max")), 2)
        return limit, parse_int(read_text(os.path.join(d, "memory.current")))
    if "memory" not in controllers:
        return None, None
    limit = parse_memory_limit(read_text(os.path.join(d, "memory.limit_in_bytes")), 1)
    return limit, parse_int(read_text(os.path.join(d, "memory.usage_in_bytes")))
