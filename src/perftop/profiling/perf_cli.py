"""Linux perf from outside: where it is, what the kernel lets it do, its command lines, and what
it says when it refuses, as one line of advice with the way out.

The facts come from /proc (perf_event_paranoid, kptr_restrict, our capabilities, whether we
run in a container), read once per attach; `PerfFacts` can be made by hand, so each refusal is
tested without changing the machine's settings.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from perftop.profiling.backend import (
    NoSuchProcess,
    PermissionDenied,
    ProfilerError,
    ProfilerFailed,
    ProfilerMissing,
    ProfilerOptions,
)

__all__ = [
    "INSTALL_HINT",
    "PerfFacts",
    "find_perf",
    "record_args",
    "refusal",
    "script_args",
    "translate_error",
    "warnings_for",
]

INSTALL_HINT = "apt install linux-perf (Debian; linux-tools-$(uname -r) on Ubuntu)"
# The stack perf copies per sample for DWARF unwinding (its default): the cost of that mode.
DWARF_STACK_BYTES = 8192
_CAP_SYS_ADMIN = 21
_CAP_SYSLOG = 34
_CAP_PERFMON = 38


def find_perf(explicit: str | None = None) -> str:
    """The perf program: `explicit`, $PERFTOP_PERF, or `perf` on PATH. ProfilerMissing if none."""
    given = explicit or os.environ.get("PERFTOP_PERF")
    if given:
        if not os.access(given, os.X_OK):
            raise ProfilerMissing(f"perf not found at {given} (PERFTOP_PERF): {INSTALL_HINT}")
        return given
    found = shutil.which("perf")
    if found is None:
        raise ProfilerMissing(f"perf is not installed: {INSTALL_HINT}")
    return found


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _capabilities(proc: Path) -> int:
    try:
        for line in (proc / "self" / "status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _container(root: Path, proc: Path) -> str:
    """The kind of container perftop runs in, or "" on the host (as far as the files say)."""
    if (root / ".dockerenv").exists():
        return "docker"
    if (root / "run" / ".containerenv").exists():
        return "podman"
    try:
        cgroup = (proc / "1" / "cgroup").read_text()
    except OSError:
        cgroup = ""
    for marker, name in (("kubepods", "kubernetes"), ("docker", "docker"), ("lxc", "lxc")):
        if marker in cgroup:
            return name
    return ""


@dataclass(frozen=True)
class PerfFacts:
    """What decides whether perf may sample, and what it will see."""

    paranoid: int | None  # /proc/sys/kernel/perf_event_paranoid; None where unreadable
    kptr_restrict: int | None
    privileged: bool  # root, CAP_PERFMON or CAP_SYS_ADMIN: paranoid does not apply
    can_read_kernel_symbols: bool  # CAP_SYSLOG: kptr_restrict 1 does not apply
    container: str = ""

    @classmethod
    def read(cls, proc: str = "/proc", root: str = "/") -> PerfFacts:
        p = Path(proc)
        caps = _capabilities(p)
        privileged = os.geteuid() == 0 or bool(caps & (1 << _CAP_PERFMON | 1 << _CAP_SYS_ADMIN))
        return cls(
            paranoid=_read_int(p / "sys" / "kernel" / "perf_event_paranoid"),
            kptr_restrict=_read_int(p / "sys" / "kernel" / "kptr_restrict"),
            privileged=privileged,
            can_read_kernel_symbols=os.geteuid() == 0 or bool(caps & (1 << _CAP_SYSLOG)),
            container=_container(Path(root), p),
        )


def refusal(facts: PerfFacts, machine: bool) -> str | None:
    """Why perf will be refused before it is tried, as one line with the way out; None if
    nothing says it will be."""
    level = facts.paranoid
    if facts.privileged or level is None:
        return None
    if level >= 3:
        return (
            f"kernel.perf_event_paranoid is {level}: users without CAP_PERFMON may not use perf "
            "at all; run perftop as root, or allow profiling your own processes with "
            "`sysctl kernel.perf_event_paranoid=2`"
        )
    if machine and level > 0:
        return (
            f"kernel.perf_event_paranoid is {level}, which allows only your own processes: "
            "sampling every CPU needs 0 or less (`sysctl kernel.perf_event_paranoid=0`), root, "
            "or CAP_PERFMON"
        )
    return None


def warnings_for(facts: PerfFacts) -> list[str]:
    """What perf will not show though it samples: said once, with the first batch."""
    out: list[str] = []
    if not facts.privileged and facts.paranoid is not None and facts.paranoid >= 2:
        out.append(
            f"kernel frames are not sampled: kernel.perf_event_paranoid is {facts.paranoid} "
            "(`sysctl kernel.perf_event_paranoid=1` shows them, or run as root)"
        )
    restrict = facts.kptr_restrict
    if restrict is not None and (
        restrict >= 2 or (restrict == 1 and not facts.can_read_kernel_symbols)
    ):
        out.append(
            f"kernel frames show as addresses: kernel.kptr_restrict is {restrict} "
            "(`sysctl kernel.kptr_restrict=0` names them)"
        )
    return out


def _container_advice(facts: PerfFacts, said: str) -> str:
    return (
        f"perf events are blocked in this {facts.container} container ({said}): run it with "
        "--cap-add PERFMON (SYS_ADMIN before Linux 5.8) and a seccomp profile that allows "
        "perf_event_open"
    )


def translate_error(
    stderr: str, returncode: int | None, pid: int, facts: PerfFacts, *, machine: bool = False
) -> ProfilerError:
    """What a failed `perf record` printed on stderr, as a typed error with one line of advice."""
    text = stderr.strip()
    low = text.lower()
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("[ perf record:")
    ]
    first = lines[0].removeprefix("Error:").strip() if lines else ""
    if "is not installed" in low and "linux-perf" in low:
        # Debian's wrapper, when the perf for the running kernel's version is missing.
        return ProfilerMissing(
            f"{first or 'perf for this kernel is not installed'}: {INSTALL_HINT}"
        )
    if not machine and ("no such process" in low or "couldn't create thread" in low):
        return NoSuchProcess(f"PID {pid} does not exist (it may have exited)")
    if "perf_event_paranoid" in low or "access to performance monitoring" in low:
        advice = refusal(facts, machine) or (
            f"perf was refused by kernel.perf_event_paranoid ({facts.paranoid}): run perftop "
            "as root, or lower it with `sysctl kernel.perf_event_paranoid=1`"
        )
        return PermissionDenied(advice)
    blocked = (
        "permission denied",
        "operation not permitted",
        "no permission",
        "function not implemented",
        "not supported",
        "unexpected error",
    )
    if any(word in low for word in blocked):
        said = first or "refused"
        if facts.container:
            return PermissionDenied(_container_advice(facts, said))
        if "permission" in low or "not permitted" in low:
            target = "every CPU" if machine else f"PID {pid}"
            return PermissionDenied(
                f"perf may not sample {target} ({said}): run perftop as root, or as the "
                "process's owner with kernel.perf_event_paranoid 2 or less"
            )
        return ProfilerFailed(
            f"the kernel refused perf events ({said}): a kernel without CONFIG_PERF_EVENTS, "
            "or a seccomp filter that blocks perf_event_open"
        )
    if not first and not machine:
        refused = maps_refused(pid)
        if refused:
            # `perf record -q` dies with 255 and says nothing when it cannot read the maps it
            # names the sampled code by: a process closed to ptrace even for root (a VM's
            # init, a sandbox); `-v` would say "couldn't open /proc/PID/task/TID/maps".
            return PermissionDenied(
                f"perf cannot read PID {pid}'s memory map (/proc/{pid}/maps: {refused}), "
                "which it needs to name the code it samples"
            )
    if not first:
        first = f"perf ended with status {returncode}" if returncode else "perf failed"
    return ProfilerFailed(f"perf: {first}")


def maps_refused(pid: int) -> str | None:
    """Why /proc/PID/maps cannot be read (its strerror), or None where it can (or is gone)."""
    try:
        os.close(os.open(f"/proc/{pid}/maps", os.O_RDONLY))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    return None


def record_args(exe: str, pid: int | None, options: ProfilerOptions) -> list[str]:
    """`perf record` streaming to stdout, `pid` or (None) every CPU.

    cpu-clock, not cycles: a software timer that works where there is no PMU (VMs, most
    containers), and whose samples are time on CPU, as py-spy's are wall time. No buffering:
    perf writes each sample as it is taken, so the live view fills as it goes (by default it
    waits for half a ring buffer, seconds at 100 Hz).
    """
    args = [exe, "record", "--no-buffering", "-q", "-e", "cpu-clock", "-F", str(options.rate_hz)]
    if options.dwarf:
        args += ["--call-graph", f"dwarf,{DWARF_STACK_BYTES}"]
    else:
        args += ["--call-graph", "fp"]
    args += ["-a"] if pid is None else ["-p", str(pid)]
    return [*args, "-o", "-"]


# comm/pid/tid name the thread; ip/sym/dso each frame. `--force`: a JIT map written by another
# user (/tmp/perf-PID.map of a service account's node) is read when perftop runs as root.
SCRIPT_FIELDS = "comm,tid,pid,time,event,ip,sym,dso"


def script_args(exe: str) -> list[str]:
    """`perf script` reading the stream on stdin, each line written as it is made: stdbuf
    makes its stdout line-buffered (perf has no flag of its own for that; written to a pipe, its
    output would wait for 4 KB, or the end)."""
    line_buffered = ["stdbuf", "-oL"] if shutil.which("stdbuf") else []
    return [*line_buffered, exe, "script", "-i", "-", "--force", "-F", SCRIPT_FIELDS]
