"""A fake of the part of NVML (pynvml) that gpu.py calls: the fake machine's GPUs and the tests'.

It answers as pynvml 12 does on a real card: handles by index, names and UUIDs as str,
memory in bytes, power in milliwatts, errors as `NVMLError` carrying NVML's return code in
`value` (gpu.py compares codes, not texts). Every figure is a smooth function of the tick
the caller gives (`tick`), so two runs draw the same screen.

Not recorded from a card (no session has had one yet): the figures are in the range NVIDIA's
datasheet gives for an A100-SXM4-80GB (400 W limit, 1410 MHz SM boost, 1593 MHz memory), idle
at 210 MHz and ~60 W, busy near full power.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

GIB = 1024**3

# NVML's return codes (nvml.h) the fake raises.
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_NOT_FOUND: "Not Found",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "RM has detected an NVML/RM version mismatch.",
}


class NVMLError(Exception):
    """As pynvml's: the code in `value`, its message as the text."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"Unknown Error {self.value}")


@dataclass(frozen=True, slots=True)
class FakeGpuUser:
    """A process on a fake GPU: its SM use around `sm` (%) and the memory it holds."""

    gpu: int
    sm: float
    memory_bytes: int


class FakeNvml:
    """`count` GPUs; `users`: PID → its use; `refuse`: the code nvmlInit fails with;
    `unsupported`: the calls that answer NOT_SUPPORTED (a consumer card's power, say);
    `fail_after`: the tick from which every call fails with NO_PERMISSION (a driver that
    goes away while perftop runs)."""

    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_GRAPHICS, NVML_CLOCK_SM, NVML_CLOCK_MEM = 0, 1, 2
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_NOT_FOUND = NVML_ERROR_NOT_FOUND
    NVMLError = NVMLError

    def __init__(
        self,
        count: int = 2,
        tick: Callable[[], int] = lambda: 0,
        *,
        users: Mapping[int, FakeGpuUser] | None = None,
        name: str = "NVIDIA A100-SXM4-80GB",
        memory_bytes: int = 80 * GIB,
        refuse: int | None = None,
        unsupported: frozenset[str] = frozenset(),
        fail_after: int | None = None,
    ) -> None:
        self.count = count
        self.tick = tick
        self.users = dict(users or {})
        self.name = name
        self.memory_bytes = memory_bytes
        self.refuse = refuse
        self.unsupported = unsupported
        self.fail_after = fail_after
        self.calls = 0  # how many calls were made (a machine without GPUs makes none)

    def _enter(self, call: str) -> int:
        self.calls += 1
        t = self.tick()
        if self.fail_after is not None and t >= self.fail_after:
            raise NVMLError(NVML_ERROR_NO_PERMISSION)
        if call in self.unsupported:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return t

    def _load(self, index: int, t: int) -> float:
        """The GPU's SM use at tick t: its users' sum, capped, or idle."""
        busy = sum(self._sm(u, pid, t) for pid, u in self.users.items() if u.gpu == index)
        return min(busy, 100.0)

    @staticmethod
    def _sm(user: FakeGpuUser, pid: int, t: int) -> float:
        return max(min(user.sm + 8.0 * math.sin(2 * math.pi * t / (17 + pid % 5)), 100.0), 0.0)

    def nvmlInit(self) -> None:
        self.calls += 1
        if self.refuse is not None:
            raise NVMLError(self.refuse)

    def nvmlDeviceGetCount(self) -> int:
        self._enter("count")
        return self.count

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._enter("handle")
        if not 0 <= index < self.count:
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return index

    def nvmlDeviceGetName(self, h: int) -> str:
        self._enter("name")
        return self.name

    def nvmlDeviceGetUUID(self, h: int) -> str:
        self._enter("uuid")
        return f"GPU-5f3c{h:04x}-9e1b-4c2d-8a7f-0c1d2e3f{h:04x}"

    def nvmlDeviceGetUtilizationRates(self, h: int) -> Any:
        t = self._enter("utilization")
        load = self._load(h, t)
        return SimpleNamespace(gpu=round(load), memory=round(load * 0.4))

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        self._enter("memory")
        used = 512 * 1024**2 + sum(u.memory_bytes for u in self.users.values() if u.gpu == h)
        used = min(used, self.memory_bytes)
        return SimpleNamespace(total=self.memory_bytes, used=used, free=self.memory_bytes - used)

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:
        t = self._enter("temperature")
        return round(30 + 0.35 * self._load(h, t))

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        t = self._enter("power")
        return round(1000 * (60 + 2.4 * self._load(h, t)))

    def nvmlDeviceGetEnforcedPowerLimit(self, h: int) -> int:
        self._enter("power_limit")
        return 400_000

    def nvmlDeviceGetClockInfo(self, h: int, clock: int) -> int:
        t = self._enter("clock")
        if clock == self.NVML_CLOCK_MEM:
            return 1593
        return 210 if self._load(h, t) < 1 else 1410

    def _running(self, h: int) -> list[Any]:
        return [
            SimpleNamespace(pid=pid, usedGpuMemory=u.memory_bytes)
            for pid, u in sorted(self.users.items())
            if u.gpu == h
        ]

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> list[Any]:
        self._enter("compute_processes")
        return self._running(h)

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: int) -> list[Any]:
        self._enter("graphics_processes")
        return []

    def nvmlDeviceGetProcessUtilization(self, h: int, since: int) -> list[Any]:
        t = self._enter("process_utilization")
        samples = [
            SimpleNamespace(pid=pid, smUtil=round(self._sm(u, pid, t)), memUtil=0)
            for pid, u in sorted(self.users.items())
            if u.gpu == h
        ]
        if not samples:
            raise NVMLError(NVML_ERROR_NOT_FOUND)  # as NVML says when none ran
        return samples
