"""The cgroup memory limit of a process, from fake /proc and /sys/fs/cgroup trees."""

from __future__ import annotations

from pathlib import Path

from perftop.system.cgroup_memory import parse_proc_cgroup, read_cgroup_memory

MIB = 1024 * 1024


def _proc(tmp_path: Path, pid: int, text: str) -> str:
    d = tmp_path / "proc" / str(pid)
    d.mkdir(parents=True)
    (d / "cgroup").write_text(text)
    return str(tmp_path / "proc")


def _files(d: Path, **files: str) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name.replace("_", ".", 1)).write_text(text + "\n")


def test_parse_proc_cgroup() -> None:
    v2 = "0::/system.slice/app.service\n"
    assert parse_proc_cgroup(v2) == ("/system.slice/app.service", None)
    hybrid = "9:name=systemd:/\n4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n"
    assert parse_proc_cgroup(hybrid) == ("/", "/docker/abc")
    assert parse_proc_cgroup("5:cpu,memory:/x\nnonsense\n") == (None, "/x")


def test_v2_limit_of_the_process_cgroup(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    _files(sys_root, cgroup_controllers="cpu memory")
    app = sys_root / "system.slice" / "app.service"
    _files(sys_root / "system.slice", memory_max="max", memory_current=str(900 * MIB))
    _files(
        app,
        memory_max=str(512 * MIB),
        memory_current=str(400 * MIB),
        memory_stat=f"anon {300 * MIB}\ninactive_file {14 * MIB}\nactive_file 0",
    )
    proc = _proc(tmp_path, 42, "0::/system.slice/app.service\n")
    cg = read_cgroup_memory(42, proc, str(sys_root))
    assert cg is not None and cg.version == 2
    assert cg.path == "/system.slice/app.service" and cg.limit_bytes == 512 * MIB
    assert cg.usage_bytes == 386 * MIB, "the inactive page cache is reclaimed before an OOM"
    assert cg.headroom_bytes == 126 * MIB


def test_v2_the_tightest_ancestor_binds(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    _files(sys_root, cgroup_controllers="memory")
    _files(sys_root / "kubepods", memory_max=str(1024 * MIB), memory_current=str(1000 * MIB))
    _files(sys_root / "kubepods" / "pod1", memory_max="max", memory_current=str(200 * MIB))
    _files(
        sys_root / "kubepods" / "pod1" / "c1",
        memory_max=str(512 * MIB),
        memory_current=str(100 * MIB),
    )
    proc = _proc(tmp_path, 7, "0::/kubepods/pod1/c1\n")
    cg = read_cgroup_memory(7, proc, str(sys_root))
    assert cg is not None and cg.path == "/kubepods" and cg.headroom_bytes == 24 * MIB


def test_v2_no_limit_anywhere_is_none(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    _files(sys_root, cgroup_controllers="memory")
    _files(sys_root / "user.slice", memory_max="max", memory_current=str(MIB))
    proc = _proc(tmp_path, 5, "0::/user.slice\n")
    assert read_cgroup_memory(5, proc, str(sys_root)) is None


def test_v1_limit_and_unlimited(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    memory = sys_root / "memory"
    _files(memory, memory_limit_in_bytes="9223372036854771712", memory_usage_in_bytes="1")
    _files(
        memory / "docker" / "abc",
        memory_limit_in_bytes=str(256 * MIB),
        memory_usage_in_bytes=str(200 * MIB),
        memory_stat=f"cache 0\ntotal_inactive_file {8 * MIB}\ninactive_file {2 * MIB}",
    )
    _files(
        memory / "free",
        memory_limit_in_bytes="9223372036854771712",
        memory_usage_in_bytes=str(MIB),
    )
    proc = _proc(tmp_path, 3, "4:memory:/docker/abc\n0::/\n")
    cg = read_cgroup_memory(3, proc, str(sys_root))
    assert cg is not None and cg.version == 1 and cg.path == "/docker/abc"
    assert cg.usage_bytes == 192 * MIB, "v1 counts the hierarchy's inactive cache (total_)"
    proc = _proc(tmp_path, 4, "4:memory:/free\n")
    assert read_cgroup_memory(4, proc, str(sys_root)) is None, "v1's huge number: no limit"


def test_hybrid_falls_back_to_v1_when_v2_has_no_memory(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    _files(sys_root / "unified", cgroup_controllers="")  # v2 mounted, memory on v1
    _files(
        sys_root / "memory" / "job",
        memory_limit_in_bytes=str(64 * MIB),
        memory_usage_in_bytes=str(32 * MIB),
    )
    proc = _proc(tmp_path, 9, "4:memory:/job\n0::/job\n")
    cg = read_cgroup_memory(9, proc, str(sys_root))
    assert cg is not None and cg.version == 1 and cg.limit_bytes == 64 * MIB


def test_a_process_gone_or_without_cgroups_is_none(tmp_path: Path) -> None:
    assert read_cgroup_memory(1, str(tmp_path / "nowhere"), str(tmp_path)) is None
    proc = _proc(tmp_path, 2, "0::/x\n")
    assert read_cgroup_memory(2, proc, str(tmp_path / "no-sys")) is None


def test_this_machine_answers_without_error() -> None:
    import os

    cg = read_cgroup_memory(os.getpid())
    assert cg is None or (cg.limit_bytes > 0 and cg.usage_bytes >= 0)
