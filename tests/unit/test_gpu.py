"""GPU reading through a fake of NVML's calls: no GPU needed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from perftop.system.codec import decode_system, encode_system
from perftop.system.gpu import GpuReader
from perftop.system.samples import CpuSample, MemorySample, SystemSample


class NVMLError(Exception):
    """As pynvml's: NVML's return code in `value`."""

    def __init__(self, value: int, text: str) -> None:
        super().__init__(text)
        self.value = value


class FakeNvml:
    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse

    def nvmlInit(self) -> None:
        if self.refuse:
            raise NVMLError(18, "Driver/library version mismatch")

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, i: int) -> Any:
        return i

    def nvmlDeviceGetUUID(self, h: Any) -> str:
        return "GPU-1"

    def nvmlDeviceGetName(self, h: Any) -> bytes:
        return b"NVIDIA H200"

    def nvmlDeviceGetUtilizationRates(self, h: Any) -> Any:
        return SimpleNamespace(gpu=42, memory=10)

    def nvmlDeviceGetMemoryInfo(self, h: Any) -> Any:
        return SimpleNamespace(used=2 << 30, total=8 << 30)

    def nvmlDeviceGetTemperature(self, h: Any, kind: int) -> int:
        return 55

    def nvmlDeviceGetPowerUsage(self, h: Any) -> int:
        return 150_000

    def nvmlDeviceGetEnforcedPowerLimit(self, h: Any) -> int:
        raise NVMLError(3, "Not Supported")

    def nvmlDeviceGetClockInfo(self, h: Any, kind: int) -> int:
        return 1980 if kind == self.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetComputeRunningProcesses(self, h: Any) -> list[Any]:
        return [SimpleNamespace(pid=7, usedGpuMemory=1 << 30)]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: Any) -> list[Any]:
        return []

    def nvmlDeviceGetProcessUtilization(self, h: Any, since: int) -> list[Any]:
        return [SimpleNamespace(pid=7, smUtil=30)]


def test_reads_each_gpu_and_its_processes() -> None:
    reader = GpuReader(FakeNvml())
    (g,) = reader.sample()
    assert (g.name, g.util_percent, g.temperature_c, g.power_w) == (
        "NVIDIA H200",
        42.0,
        55.0,
        150.0,
    )
    assert g.power_limit_w is None and g.memory_percent == 25.0
    p = reader.processes()[7]
    assert (p.sm_percent, p.memory_bytes, p.gpus) == (30.0, 1 << 30, (0,))


def test_a_refusing_driver_is_one_line_and_reads_nothing() -> None:
    reader = GpuReader(FakeNvml(refuse=True))
    assert reader.sample() == () and reader.processes() == {}
    assert reader.error is not None and "mismatch" in reader.error and "\n" not in reader.error


def test_no_driver_no_import() -> None:
    assert GpuReader(present=lambda: False).sample() == ()


def test_gpus_survive_the_codec_and_old_ticks_decode() -> None:
    base = SystemSample(0.0, CpuSample(1, 1, 0, 0, (1.0,)), MemorySample(1, 1, 0, 0, 0, 0, 0, 0))
    with_gpu = SystemSample(0.0, base.cpu, base.memory, gpus=GpuReader(FakeNvml()).sample())
    assert decode_system(encode_system(with_gpu)) == with_gpu
    assert decode_system(encode_system(base)) == base
