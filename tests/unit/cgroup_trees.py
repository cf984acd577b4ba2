"""Fake machines for the cgroup tests: a mountinfo and a /sys/fs/cgroup tree under a
temporary root, in the v2, v1 and hybrid layouts (the hybrid one as on our own machines)."""

from __future__ import annotations

from pathlib import Path

DOCKER_ID = "3f2a1b9c0d4e" + "5" * 52
MIB = 1 << 20
V1_NONE = "9223372036854771712"

V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTINFO = "".join(
    f"{30 + i} 23 0:{26 + i} / /sys/fs/cgroup/{d} rw,nosuid - cgroup cgroup rw,{opts}\n"
    for i, (d, opts) in enumerate(
        [
            ("cpu,cpuacct", "cpu,cpuacct"),
            ("memory", "memory"),
            ("blkio", "blkio"),
            ("pids", "pids"),
            ("devices", "devices"),
            ("systemd", "xattr,name=systemd"),
        ]
    )
)
HYBRID_MOUNTINFO = (
    V1_MOUNTINFO + "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
)


def files(d: Path, **named: str) -> Path:
    """Write `memory_max="..."` as d/memory.max (the first `_` is the dot)."""
    d.mkdir(parents=True, exist_ok=True)
    for name, text in named.items():
        (d / name.replace("_", ".", 1)).write_text(text + "\n")
    return d


def machine(tmp_path: Path, mountinfo: str) -> tuple[str, str]:
    """(root, proc root) of a fake machine whose /proc/self/mountinfo is `mountinfo`."""
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "mountinfo").write_text("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" + mountinfo)
    return str(tmp_path), str(proc)


def proc_cgroup(tmp_path: Path, pid: int, text: str) -> None:
    d = tmp_path / "proc" / str(pid)
    d.mkdir(parents=True, exist_ok=True)
    (d / "cgroup").write_text(text)


PSI = (
    "some avg10=2.00 avg60=1.00 avg300=0.50 total={}\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0"
)


def v2_tree(tmp_path: Path, *, usage_usec: int = 1_000_000, throttled: int = 3) -> Path:
    """/ (cpu io memory pids), /system.slice/app.service (a quota, a memory limit),
    /system.slice/docker-ID.scope (no cpu controller enabled: no cpu.max, no throttling)."""
    cg = tmp_path / "sys" / "fs" / "cgroup"
    files(
        cg,
        cgroup_controllers="cpu io memory pids",
        cgroup_procs="1\n2",
        cpu_stat=f"usage_usec {usage_usec * 4}\nuser_usec 1\nsystem_usec 1",
        cpu_pressure=PSI.format(100),
        memory_pressure=PSI.format(0),
        io_pressure=PSI.format(0),
    )
    files(cg / "system.slice", cgroup_procs="", cpu_max="max 100000", memory_max="max")
    files(
        cg / "system.slice" / "app.service",
        cgroup_procs="100\n101",
        cpu_max="50000 100000",
        cpu_stat=(
            f"usage_usec {usage_usec}\nuser_usec 0\nsystem_usec 0\nnr_periods {throttled * 2}\n"
            f"nr_throttled {throttled}\nthrottled_usec {throttled * 10_000}"
        ),
        memory_current=str(400 * MIB),
        memory_max=str(512 * MIB),
        memory_events="low 0\nhigh 0\nmax 5\noom 2\noom_kill 2",
        io_stat=(
            f"8:0 rbytes={usage_usec} wbytes=4096 rios=1 wios=1 dbytes=0 dios=0\n"
            f"8:16 rbytes={usage_usec} wbytes=0 rios=1 wios=0"
        ),
        cpu_pressure=PSI.format(500),
        memory_pressure=PSI.format(0),
        io_pressure=PSI.format(0),
    )
    files(
        cg / "system.slice" / f"docker-{DOCKER_ID}.scope",
        cgroup_procs="200",
        cpu_stat="usage_usec 10",
        memory_current=str(10 * MIB),
        memory_max="max",
        memory_events="oom_kill 0",
    )
    return cg


def v1_tree(tmp_path: Path, *, usage_ns: int = 10**9, throttled: int = 4) -> Path:
    """cpu,cpuacct co-mounted, memory, blkio, pids; /docker/ID has a quota, a memory limit
    and an OOM kill; the memory controller also has /mem-only, which cpu lacks."""
    cg = tmp_path / "sys" / "fs" / "cgroup"
    cpu = cg / "cpu,cpuacct"
    files(
        cpu,
        cgroup_procs="1\n2\n300",
        cpuacct_usage=str(usage_ns * 3),
        cpu_cfs_quota_us="-1",
        cpu_cfs_period_us="100000",
        cpu_stat="nr_periods 0\nnr_throttled 0\nthrottled_time 0",
    )
    files(
        cpu / "docker" / DOCKER_ID,
        cgroup_procs="300",
        cpuacct_usage=str(usage_ns),
        cpu_cfs_quota_us="20000",
        cpu_cfs_period_us="100000",
        cpu_stat=(
            f"nr_periods {throttled * 4}\nnr_throttled {throttled}\n"
            f"throttled_time {throttled * 10**7}"
        ),
    )
    mem = cg / "memory"
    files(
        mem,
        cgroup_procs="1\n2",
        memory_usage_in_bytes=str(900 * MIB),
        memory_limit_in_bytes=V1_NONE,
        memory_oom_control="oom_kill_disable 0\nunder_oom 0\noom_kill 0",
    )
    files(
        mem / "docker" / DOCKER_ID,
        cgroup_procs="300",
        memory_usage_in_bytes=str(100 * MIB),
        memory_limit_in_bytes=str(256 * MIB),
        memory_oom_control="oom_kill_disable 0\nunder_oom 0\noom_kill 1",
    )
    files(
        mem / "mem-only", cgroup_procs="", memory_usage_in_bytes="0", memory_limit_in_bytes=V1_NONE
    )
    blkio = files(cg / "blkio" / "docker" / DOCKER_ID, cgroup_procs="300")
    (blkio / "blkio.throttle.io_service_bytes_recursive").write_text(
        f"8:0 Read {usage_ns // 1000}\n8:0 Write 512\n8:0 Sync 0\n8:0 Total 1024\nTotal 1024\n"
    )
    files(cg / "pids" / "docker" / DOCKER_ID, cgroup_procs="300", pids_current="1")
    files(cg / "devices" / "only-devices", cgroup_procs="")
    files(cg / "systemd" / "system.slice", cgroup_procs="")
    return cg


def hybrid_tree(tmp_path: Path, **kwargs: int) -> Path:
    """The v1 tree, plus the v2 one at unified/ with usage and pressure but no controllers."""
    cg = v1_tree(tmp_path, **kwargs)
    unified = cg / "unified"
    files(
        unified,
        cgroup_controllers="",
        cgroup_procs="1\n2\n300",
        cpu_stat="usage_usec 5000000\nuser_usec 1\nsystem_usec 1",
        cpu_pressure=PSI.format(700),
    )
    files(
        unified / "system.slice" / "ssh.service",
        cgroup_procs="",
        cpu_stat="usage_usec 7",
        cpu_pressure=PSI.format(1),
    )
    return cg
