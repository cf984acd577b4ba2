"""ProcStat: psutil's values from the same bytes, and psutil's answer where it cannot read."""

from __future__ import annotations

import shutil
from pathlib import Path

import psutil
import pytest

from perftop.system.procstat import ProcStat
from perftop.system.sampler import SystemSampler

FILES = ("stat", "meminfo", "diskstats", "net/dev", "vmstat")


@pytest.fixture
def frozen_proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This machine's files, copied once: ProcStat and psutil (pointed there) read the same
    bytes, so their answers must be equal, not merely close."""
    root = tmp_path / "proc"
    (root / "net").mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(f"/proc/{name}", root / name)
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(root))
    return root


def test_cpu_times_are_psutils(frozen_proc: Path) -> None:
    got = ProcStat(str(frozen_proc)).cpu_times()
    assert got is not None
    total, cores = got
    want = psutil.cpu_times()
    for field in want._fields:
        assert getattr(total, field) == pytest.approx(getattr(want, field)), field
    want_cores = psutil.cpu_times(percpu=True)
    assert len(cores) == len(want_cores) >= 1
    for core, expected in zip(cores, want_cores, strict=True):
        assert core.user == pytest.approx(expected.user)
        assert core.idle == pytest.approx(expected.idle)
        assert core.iowait == pytest.approx(expected.iowait)


def test_memory_is_psutils(frozen_proc: Path) -> None:
    got = ProcStat(str(frozen_proc)).memory()
    assert got is not None
    vm, swap = psutil.virtual_memory(), psutil.swap_memory()
    assert (got.total, got.available, got.used, got.free) == (
        vm.total,
        vm.available,
        vm.used,
        vm.free,
    )
    assert (got.cached, got.buffers) == (vm.cached, vm.buffers)
    assert (got.swap_total, got.swap_used) == (swap.total, swap.used)


def test_disks_and_interfaces_are_psutils(frozen_proc: Path) -> None:
    reader = ProcStat(str(frozen_proc))
    disks = reader.disks()
    assert disks is not None
    want = psutil.disk_io_counters(perdisk=True, nowrap=False)
    assert set(disks) == set(want)
    for name, counters in disks.items():
        expected = want[name]
        assert counters == (
            expected.read_count,
            expected.write_count,
            expected.read_bytes,
            expected.write_bytes,
        ), name
    nets = reader.nets()
    assert nets is not None
    want_nets = psutil.net_io_counters(pernic=True, nowrap=False)
    assert set(nets) == set(want_nets) and nets
    for name, counters in nets.items():
        expected = want_nets[name]
        assert counters == (
            expected.bytes_sent,
            expected.bytes_recv,
            expected.packets_sent,
            expected.packets_recv,
        ), name


def test_the_files_are_read_again_each_time_through_kept_descriptors(tmp_path: Path) -> None:
    (tmp_path / "stat").write_bytes(b"cpu  100 0 50 850\ncpu0 100 0 50 850\nintr 1\n")
    reader = ProcStat(str(tmp_path))
    first = reader.cpu_times()
    assert first is not None and len(first[1]) == 1
    (tmp_path / "stat").write_bytes(b"cpu  200 0 50 850\ncpu0 200 0 50 850\nintr 1\n")
    second = reader.cpu_times()
    assert second is not None
    assert second[0].user > first[0].user  # a kernel's file reads anew at offset 0 too
    assert second[0].steal == second[0].guest_nice == 0.0  # old kernels' missing columns


def test_every_layout_of_diskstats_psutil_reads(tmp_path: Path) -> None:
    (tmp_path / "diskstats").write_text(
        "   8       0 sda 10 2 300 4 20 5 600 7 0 8 9\n"  # 2.6: 14 fields
        "   8       1 sda1 6 200 12 400\n"  # a 2.6 partition: 7 fields
        " 259       0 nvme0n1 1 0 8 0 2 0 16 0 0 0 0 0 0 0 0 0 0 0 0 0\n"  # 5.5: 20
        "   3       0   8 hda 1 2 3 4 5 6 7 8 9 10 11\n"  # 2.4: 15, the name fourth
    )
    disks = ProcStat(str(tmp_path)).disks()
    assert disks is not None
    assert disks["sda"] == (10, 20, 300 * 512, 600 * 512)
    assert disks["sda1"] == (6, 12, 200 * 512, 400 * 512)
    assert disks["nvme0n1"] == (1, 2, 8 * 512, 16 * 512)
    assert disks["hda"] == (8, 4, 2 * 512, 6 * 512)  # psutil's reading of 2.4's columns


def test_a_file_larger_than_one_read_is_read_whole(tmp_path: Path) -> None:
    lines = [f" 7 {i} loop{i} {i} 0 {2 * i} 0 {3 * i} 0 {4 * i} 0 0 0 0\n" for i in range(3000)]
    (tmp_path / "diskstats").write_text("".join(lines))  # ~140 KB: three reads
    disks = ProcStat(str(tmp_path)).disks()
    assert disks is not None and len(disks) == 3000
    assert disks["loop2999"] == (2999, 3 * 2999, 2 * 2999 * 512, 4 * 2999 * 512)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("stat", "intr 1 2 3\n"),  # no cpu line
        ("stat", "cpu  1 x 3 4\n"),  # not a number
        ("stat", "cpu  1 2\n"),  # too few columns
        ("meminfo", "MemTotal: 100 kB\nMemFree: 50 kB\n"),  # MemAvailable and the rest missing
        ("diskstats", "8 0 sda 1 2 3\n"),  # a layout of no kernel
        ("net/dev", "h\nh\n  eth0: 1 2 3\n"),  # too few columns
        ("net/dev", "h\nh\nno colon here\n"),
    ],
)
def test_what_it_cannot_make_out_is_left_to_psutil(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / name).write_text(text)
    reader = ProcStat(str(tmp_path))
    got = {
        "stat": reader.cpu_times,
        "meminfo": reader.memory,
        "diskstats": reader.disks,
        "net/dev": reader.nets,
    }[name]()
    assert got is None


def test_the_sampler_asks_psutil_where_the_reader_has_nothing(tmp_path: Path) -> None:
    """An empty /proc for the reader: every figure still comes, from psutil."""
    sampler = SystemSampler(procstat=ProcStat(str(tmp_path)))
    sample = sampler.sample()
    assert sample.memory.total_bytes == psutil.virtual_memory().total
    assert len(sample.cpu.per_core_percent) == len(psutil.cpu_times(percpu=True))
    assert {n.name for n in sample.nets} == set(psutil.net_io_counters(pernic=True))


def test_the_live_sampler_reads_proc_itself() -> None:
    sampler = SystemSampler()
    assert sampler._fast is not None  # Linux and the real psutil
    sample = sampler.sample()
    assert sample.memory.total_bytes == psutil.virtual_memory().total
    assert {n.name for n in sample.nets} == set(psutil.net_io_counters(pernic=True))
