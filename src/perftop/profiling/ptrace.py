"""Why this machine lets perftop read another process's memory, or not, and who traces it now.

`PtraceFacts` gathers what decides it (euid, CAP_SYS_PTRACE, Yama's ptrace_scope, a container,
a security module, seccomp, user namespaces) and `permission_advice` turns them into one line
naming the cause that applies here, so the advice never tells a root that holds CAP_SYS_PTRACE
to add it. `tracer_of` reads who holds a process under ptrace: a process has one tracer at a
time, so a second py-spy's attach fails with EPERM while the first is sampling, which is a
collision, not a permission problem (see `perftop.profiling.pyspy_cli.translate_error`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from perftop import children

__all__ = ["PtraceFacts", "permission_advice", "tracer_is_ours", "tracer_of"]

_CAP_SYS_PTRACE = 19  # bit number in the capability sets, linux/capability.h
_SECCOMP_FILTER = 2  # `Seccomp:` in /proc/PID/status: 0 off, 1 strict, 2 filter


@dataclass(frozen=True)
class PtraceFacts:
    """What decides, on this machine, whether perftop may read another process's memory."""

    euid: int
    cap_sys_ptrace: bool  # in perftop's effective capabilities, so in its children's too
    ptrace_scope: int | None  # kernel.yama.ptrace_scope; None where Yama is not built in
    in_container: bool
    target_uid: int | None = None
    kubernetes: bool = False  # the container is a Kubernetes pod's
    seccomp: bool = False  # perftop runs under a seccomp filter, which may forbid ptrace
    lsm: str = ""  # the security module's label perftop is confined by; "" when unconfined
    # The target lives in another user namespace (True), the same (False), or unknown (None):
    # capabilities count only in perftop's own namespace and those below it.
    other_userns: bool | None = None

    @classmethod
    def read(cls, pid: int | None = None) -> PtraceFacts:
        return cls(
            euid=os.geteuid(),
            cap_sys_ptrace=_has_cap_sys_ptrace(),
            ptrace_scope=_read_int("/proc/sys/kernel/yama/ptrace_scope"),
            in_container=_in_container(),
            target_uid=_owner(pid) if pid is not None else None,
            kubernetes=_in_kubernetes(),
            seccomp=_status_field("self", "Seccomp") == str(_SECCOMP_FILTER),
            lsm=_lsm_label(),
            other_userns=_other_userns(pid) if pid is not None else None,
        )


def permission_advice(pid: int, facts: PtraceFacts) -> str:
    """One line saying why reading `pid` was refused and what would allow it, here."""
    head = f"Permission denied reading PID {pid}:"
    scope = facts.ptrace_scope
    if scope == 3:
        return (
            f"{head} kernel.yama.ptrace_scope is 3, which forbids ptrace for everyone until reboot"
        )
    if facts.cap_sys_ptrace:
        return f"{head} {_refused_with_capability(pid, facts)}"
    if facts.euid == 0 and facts.in_container:
        hint = (
            "securityContext.capabilities.add: [SYS_PTRACE] in the pod spec"
            if facts.kubernetes
            else "docker or podman run --cap-add SYS_PTRACE"
        )
        return (
            f"{head} this container lacks the SYS_PTRACE capability (perftop runs as root "
            f"without it); restart the container with it ({hint})"
        )
    if facts.euid == 0:
        return (
            f"{head} perftop runs as root but without CAP_SYS_PTRACE (a capability bounding "
            "set dropped it); run it where that capability is kept"
        )
    fix = "run perftop as root (sudo) or give py-spy CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep)"
    if facts.target_uid is not None and facts.target_uid != facts.euid:
        return f"{head} it belongs to another user (uid {facts.target_uid}); {fix}"
    if scope == 1:
        return (
            f"{head} kernel.yama.ptrace_scope is 1 (only a process's own descendants may be "
            f"traced); {fix}, or set kernel.yama.ptrace_scope=0"
        )
    if scope == 2:
        return f"{head} kernel.yama.ptrace_scope is 2 (only administrators may trace); {fix}"
    return f"{head} {fix}"


def _refused_with_capability(pid: int, facts: PtraceFacts) -> str:
    """perftop holds CAP_SYS_PTRACE, so no capability is missing: what else refuses."""
    who = "perftop runs as root with CAP_SYS_PTRACE" if facts.euid == 0 else "perftop holds it"
    causes = []
    if facts.other_userns:
        causes.append(
            f"PID {pid} belongs to another user namespace (outside this container), "
            "where perftop's capabilities do not count"
        )
    if facts.lsm:
        causes.append(f"perftop is confined by the security label {facts.lsm}")
    if facts.seccomp:
        causes.append("perftop runs under a seccomp filter, which may forbid ptrace")
    if not causes:
        where = " around this container" if facts.in_container else " on this machine"
        causes.append(
            "a security module (SELinux, AppArmor, Landlock) or a sandbox"
            f"{where} guards PID {pid} from ptrace"
        )
    return f"{who}, so no capability is missing: " + "; ".join(causes)


def tracer_of(pid: int) -> int:
    """The process tracing `pid` now; 0 for none or unknown.

    `TracerPid` in /proc/PID/status names the tracing *thread* (py-spy samples from a thread
    of its own), so it is mapped to that thread's process, the PID perftop started.
    """
    value = _status_field(str(pid), "TracerPid")
    if not value or not value.isdigit() or value == "0":
        return 0
    tgid = _status_field(value, "Tgid")  # /proc/TID/ exists for every thread, unlisted
    return int(tgid) if tgid and tgid.isdigit() else int(value)


def tracer_is_ours(tracer: int) -> bool:
    """True if `tracer` is a py-spy (or other child) perftop itself started."""
    return tracer > 0 and any(p.pid == tracer for p in children.tracked())


def _status_field(pid: str, name: str) -> str | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == name:
                    return value.strip()
    except OSError:
        pass
    return None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _has_cap_sys_ptrace() -> bool:
    try:
        return bool(int(_status_field("self", "CapEff") or "0", 16) >> _CAP_SYS_PTRACE & 1)
    except ValueError:
        return False


def _in_container() -> bool:
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        return True
    # systemd-nspawn, podman and LXC set `container`, lower-case by their convention.
    if os.environ.get("container"):  # noqa: SIM112
        return True
    cgroup = _read_text("/proc/1/cgroup")
    return any(word in cgroup for word in ("docker", "kubepods", "containerd", "libpod", "lxc"))


def _in_kubernetes() -> bool:
    # The kubelet sets this in every pod; a pod's cgroups are under `kubepods`.
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    return "kubepods" in _read_text("/proc/self/cgroup")


def _lsm_label() -> str:
    # AppArmor writes `profile (mode)`, SELinux a context; "unconfined" means none applies.
    for path in ("/proc/self/attr/apparmor/current", "/proc/self/attr/current"):
        label = _read_text(path).replace("\0", "").strip()
        if label:
            return "" if label.startswith("unconfined") or label == "kernel" else label
    return ""


def _other_userns(pid: int) -> bool | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    except OSError:
        return None  # refused too (the same check as ptrace's), or gone


def _read_text(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _owner(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
