"""SystemSampler: sane values on this machine, rates from deltas, no crash on missing metrics."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import namedtuple
from typing import Any

import psutil
import pytest

from perftop.system.sampler import SystemSampler

CpuTimes = namedtuple("CpuTimes", "user nice system idle iowait irq softirq steal guest guest_nice")
DiskIo = namedtuple("DiskIo", "read_count write_count read_bytes write_bytes")
NetIo = namedtuple("NetIo", "bytes_sent bytes_recv packets_sent packets_recv")
Mem = namedtuple("Mem", "total available used free")
Swap = namedtuple("Swap", "total used free")
Temp = namedtuple("Temp", "label current high critical")
Freq = namedtuple("Freq", "current min max")


def test_real_sampler_returns_sane_values() -> None:
    sampler = SystemSampler()
    first = sampler.sample()
    time.sleep(0.25)
    second = sampler.sample()
    for sample in (first, second):
        cores = sample.core_count
        assert cores >= 1
        assert len(sample.cpu.per_core_percent) == cores
        assert all(0.0 <= p <= 100.0 for p in sample.cpu.per_core_percent)
        assert 0.0 <= sample.cpu.total_percent <= 100.0
        parts = sample.cpu.user_percent + sample.cpu.system_percent + sample.cpu.iowait_percent
        assert 0.0 <= parts <= 100.0 + 1e-6
        assert sample.memory.total_bytes > 0
        assert 0 < sample.memory.used_bytes <= sample.memory.total_bytes
        assert 0.0 <= sample.memory.used_percent <= 100.0
        assert 0 <= sample.memory.swap_used_bytes <= max(sample.memory.swap_total_bytes, 0)
        assert sample.uptime_s > 0
        assert sample.hostname
        assert len(sample.load_avg) == 3
    for disk in second.disks:
        assert disk.read_bytes_per_s >= 0 and disk.write_bytes_per_s >= 0
        assert disk.read_ops_per_s >= 0 and disk.write_ops_per_s >= 0
    for net in second.nets:
        assert net.rx_bytes_per_s >= 0 and net.tx_bytes_per_s >= 0
    names = [n.name for n in second.nets]
    if "lo" in names:
        assert names[-1] == "lo"
    assert second.timestamp > first.timestamp


class FakePsutil:
    """Just enough of psutil's module API; tests adjust the counters between ticks."""

    Error = psutil.Error

    def __init__(self) -> None:
        self.cpu = CpuTimes(100.0, 0.0, 50.0, 850.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        self.cores = [self.cpu, self.cpu]
        self.disks: dict[str, DiskIo] | None = {}
        self.nets: dict[str, NetIo] | None = {}
        self.swap: Swap | None = Swap(0, 0, 0)

    def cpu_times(self, percpu: bool = False) -> Any:
        return list(self.cores) if percpu else self.cpu

    def cpu_count(self) -> int:
        return len(self.cores)

    def cpu_freq(self) -> Freq | None:
        return None

    def virtual_memory(self) -> Mem:  # no cached / buffers attributes, as on macOS
        return Mem(8 * 2**30, 4 * 2**30, 3 * 2**30, 1 * 2**30)

    def swap_memory(self) -> Swap | None:
        return self.swap

    def disk_io_counters(self, perdisk: bool = False) -> dict[str, DiskIo] | None:
        return self.disks

    def net_io_counters(self, pernic: bool = False) -> dict[str, NetIo] | None:
        return self.nets

    def getloadavg(self) -> tuple[float, float, float]:
        raise OSError("no load average here")

    def boot_time(self) -> float:
        raise psutil.AccessDenied(pid=None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_missing_metrics_never_crash() -> None:
    fake = FakePsutil()
    fake.disks = None
    fake.nets = None
    fake.swap = None
    sample = SystemSampler(psutil_module=fake).sample()
    assert sample.disks == () and sample.nets == () and sample.temps == ()
    assert sample.memory.swap_total_bytes == 0 and sample.memory.swap_percent == 0.0
    assert sample.memory.cached_bytes == 0 and sample.memory.buffers_bytes == 0
    assert sample.memory.total_bytes == 8 * 2**30
    assert sample.cpu.freq_mhz is None
    assert sample.load_avg == (0.0, 0.0, 0.0)
    assert sample.uptime_s == 0.0
    assert sample.core_count == 2


def test_raising_calls_give_empty_values() -> None:
    fake = FakePsutil()

    def denied(*_args: object, **_kwargs: object) -> Any:
        raise psutil.AccessDenied(pid=None)

    fake.sensors_temperatures = denied  # type: ignore[attr-defined]
    fake.disk_io_counters = denied  # type: ignore[method-assign]

    def unsupported() -> Any:
        raise NotImplementedError

    fake.cpu_freq = unsupported  # type: ignore[method-assign]
    fake.cpu_times = denied  # type: ignore[method-assign]
    sample = SystemSampler(psutil_module=fake).sample()
    assert sample.temps == () and sample.disks == ()
    assert sample.cpu.per_core_percent == ()
    assert sample.cpu.total_percent == 0.0
    assert sample.core_count == 2  # falls back to cpu_count()


def test_temperatures_are_read_when_available() -> None:
    fake = FakePsutil()
    fake.sensors_temperatures = lambda: {  # type: ignore[attr-defined]
        "coretemp": [Temp("Package id 0", 55.0, 80.0, 100.0), Temp("", 50.0, None, None)]
    }
    temps = SystemSampler(psutil_module=fake).sample().temps
    assert [(t.label, t.current_c, t.high_c) for t in temps] == [
        ("coretemp Package id 0", 55.0, 80.0),
        ("coretemp", 50.0, None),
    ]


def test_the_clock_and_the_sensors_are_asked_less_often_than_every_tick() -> None:
    """cpu_freq (psutil parses /proc/cpuinfo) at most every FREQ_EVERY_S; a machine without
    sensors asked again every NO_SENSORS_AGAIN_S; one with sensors every tick."""
    fake, clock = FakePsutil(), Clock()
    asked = {"freq": 0, "temps": 0}
    chips: dict[str, list[Temp]] = {}

    def freq() -> Freq:
        asked["freq"] += 1
        return Freq(1000.0 + asked["freq"], 0.0, 0.0)

    def temps() -> dict[str, list[Temp]]:
        asked["temps"] += 1
        return chips

    fake.cpu_freq = freq  # type: ignore[method-assign]
    fake.sensors_temperatures = temps  # type: ignore[attr-defined]
    sampler = SystemSampler(psutil_module=fake, clock=clock)
    shown = []
    for _ in range(12):  # a tick a second
        clock.now += 1.0
        sample = sampler.sample()
        shown.append(sample.cpu.freq_mhz)
    assert asked["freq"] == 3  # ticks 1, 6 and 11
    assert shown == [1001.0] * 5 + [1002.0] * 5 + [1003.0] * 2  # the last reading between
    assert asked["temps"] == 1  # none: not again within 30 s
    clock.now += 30.0
    chips["coretemp"] = [Temp("Package id 0", 55.0, 80.0, 100.0)]  # a driver loaded
    assert [t.label for t in sampler.sample().temps] == ["coretemp Package id 0"]
    clock.now += 1.0
    sampler.sample()
    assert asked["temps"] == 3  # found: read every tick


def test_cpu_percent_from_time_deltas() -> None:
    fake = FakePsutil()
    sampler = SystemSampler(psutil_module=fake)
    # Between ticks: core 0 fully busy (user), core 1 idle; machine: 60 user, 20 sys, 20 iowait.
    base = fake.cpu
    fake.cores = [
        base._replace(user=base.user + 100.0),
        base._replace(idle=base.idle + 100.0),
    ]
    fake.cpu = base._replace(
        user=base.user + 60.0, system=base.system + 20.0, iowait=base.iowait + 20.0
    )
    cpu = sampler.sample().cpu
    assert cpu.per_core_percent == (100.0, 0.0)
    assert cpu.total_percent == pytest.approx(80.0)
    assert cpu.user_percent == pytest.approx(60.0)
    assert cpu.system_percent == pytest.approx(20.0)
    assert cpu.iowait_percent == pytest.approx(20.0)


def test_disk_and_net_rates_from_deltas() -> None:
    fake, clock = FakePsutil(), Clock()
    fake.disks = {
        "sda": DiskIo(10, 20, 4096, 8192),
        "sda1": DiskIo(10, 20, 4096, 8192),  # a partition: already inside sda
        "nvme0n1": DiskIo(0, 0, 0, 0),
        "nvme0n1p1": DiskIo(0, 0, 0, 0),
        "dm-1": DiskIo(1, 1, 512, 512),
        "dm-10": DiskIo(1, 1, 512, 512),  # not a partition of dm-1
        "loop0": DiskIo(0, 0, 0, 0),  # an unused loop device: noise
        "loop1": DiskIo(5, 0, 1024, 0),
    }
    fake.nets = {"lo": NetIo(100, 100, 1, 1), "eth0": NetIo(1000, 2000, 10, 20)}
    sampler = SystemSampler(psutil_module=fake, clock=clock)
    first = sampler.sample()
    assert [d.name for d in first.disks] == ["dm-1", "dm-10", "loop1", "nvme0n1", "sda"]
    assert all(d.read_bytes_per_s == 0.0 for d in first.disks)  # no baseline on tick one
    assert [n.name for n in first.nets] == ["eth0", "lo"]
    clock.now += 2.0
    fake.disks["sda"] = DiskIo(30, 60, 4096 + 2000, 8192 + 4000)
    fake.disks["dm-1"] = DiskIo(0, 0, 0, 0)  # counter reset: no negative rate
    fake.nets["eth0"] = NetIo(1000 + 600, 2000 + 1000, 16, 30)
    second = sampler.sample()
    disks = {d.name: d for d in second.disks}
    assert disks["sda"].read_bytes_per_s == 1000.0
    assert disks["sda"].write_bytes_per_s == 2000.0
    assert disks["sda"].read_ops_per_s == 10.0 and disks["sda"].write_ops_per_s == 20.0
    assert disks["sda"].read_bytes_total == 6096
    assert disks["dm-1"].read_bytes_per_s == 0.0
    eth0 = second.nets[0]
    assert (eth0.tx_bytes_per_s, eth0.rx_bytes_per_s) == (300.0, 500.0)
    assert (eth0.tx_packets_per_s, eth0.rx_packets_per_s) == (3.0, 5.0)


def test_a_new_device_starts_at_zero_rate() -> None:
    fake, clock = FakePsutil(), Clock()
    fake.nets = {"eth0": NetIo(0, 0, 0, 0)}
    sampler = SystemSampler(psutil_module=fake, clock=clock)
    sampler.sample()
    clock.now += 1.0
    fake.nets = {"eth0": NetIo(10, 10, 1, 1), "veth1": NetIo(10**9, 10**9, 5, 5)}
    nets = {n.name: n for n in sampler.sample().nets}
    assert nets["eth0"].rx_bytes_per_s == 10.0
    assert nets["veth1"].rx_bytes_per_s == 0.0


def test_system_package_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "import perftop.system.sampler, perftop.system.processes, perftop.system.history\n"
        "import perftop.system.detail, perftop.system.fake, perftop.system.procfs\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'textual'], 'textual'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=None)
