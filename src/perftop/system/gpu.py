"""NVIDIA GPUs through NVML (the `nvidia-ml-py` package, module `pynvml`), optional.

`pynvml` is imported only where a driver is present (`/proc/driver/nvidia/version`, or
`libnvidia-ml.so.1` loadable), so a machine without one pays nothing: no import, no call.
The library is passed in as an object (`nvml=`), so tests give a fake of its calls.

A driver that is present but refuses (permissions, a driver/library mismatch, any
`NVMLError`) is said once, in one line (`GpuReader.error`), and the reader then reads
nothing more: the panel hides and the rest of perftop goes on.
"""

from __future__ import annotations

import ctypes
import functools
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from perftop.system.samples import GpuSample, ProcessRow

if TYPE_CHECKING:  # the detail module loads when the pane first opens, not at start
    from perftop.system.detail import ProcessDetail

DRIVER_VERSION_FILE = "/proc/driver/nvidia/version"
LIBRARY = "libnvidia-ml.so.1"
# NVML's return codes (nvml.h), where the module given has no constant of its own.
NOT_SUPPORTED, NOT_FOUND = 3, 6
NOT_AVAILABLE = (1 << 64) - 1  # NVML_VALUE_NOT_AVAILABLE as an unsigned long long


class Nvml(Protocol):
    """The part of pynvml perftop calls (and the tests fake)."""

    def nvmlInit(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any: ...


@dataclass(frozen=True, slots=True)
class GpuProcess:
    """One process's use of the GPUs, summed over those it runs on."""

    sm_percent: float | None
    memory_bytes: int | None
    gpus: tuple[int, ...]


def driver_present(proc_file: str = DRIVER_VERSION_FILE) -> bool:
    """Whether an NVIDIA driver is installed, without importing pynvml."""
    if os.path.exists(proc_file):
        return True
    try:
        ctypes.CDLL(LIBRARY)
    except OSError:
        return False
    return True


def _import_pynvml() -> Nvml | None:
    try:
        import pynvml  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return None
    module: Nvml = pynvml
    return module


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class GpuReader:
    """Reads every GPU each tick; `sample()` is () where there is none or NVML refused.

    `nvml`: the library (a fake in tests); None means "import pynvml if a driver is
    present", and a missing package or driver leaves the reader off, silently.
    """

    def __init__(
        self,
        nvml: Any = None,
        *,
        present: Callable[[], bool] = driver_present,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.error: str | None = None  # the one line, set at most once
        self._told = False
        # The last reads, each replaced whole (the detail pane's thread reads them).
        self.last: tuple[GpuSample, ...] = ()
        self.last_processes: dict[int, GpuProcess] = {}
        self._clock = clock
        self._handles: list[Any] = []
        self._last_util_us: int = 0
        self._nvml: Any = None
        if nvml is None:
            if not present():
                return
            nvml = _import_pynvml()
            if nvml is None:
                return
        try:
            nvml.nvmlInit()
            count = int(nvml.nvmlDeviceGetCount())
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception as exc:
            self._refuse(exc)
            return
        self._nvml = nvml

    def untold_error(self) -> str | None:
        """The error line the first time it is asked for after it happened, then None."""
        if self.error is None or self._told:
            return None
        self._told = True
        return self.error

    @property
    def active(self) -> bool:
        return self._nvml is not None and bool(self._handles)

    def _refuse(self, exc: BaseException) -> None:
        if self.error is None:
            reason = str(exc).strip() or type(exc).__name__
            self.error = f"GPUs not shown: the NVIDIA driver refused ({reason})"
        self._nvml = None
        self._handles = []

    def _opt(self, fn: Callable[[], Any]) -> Any:
        """A figure this GPU may not support (NVML_ERROR_NOT_SUPPORTED): None, never a
        refusal."""
        try:
            return fn()
        except AttributeError:
            return None  # a binding older than the call (the old `pynvml` package)
        except Exception as exc:
            if _code(exc) == getattr(self._nvml, "NVML_ERROR_NOT_SUPPORTED", NOT_SUPPORTED):
                return None
            raise

    def sample(self) -> tuple[GpuSample, ...]:
        if not self.active:
            return ()
        n = self._nvml
        try:
            self.last = tuple(self._one(n, i, h) for i, h in enumerate(self._handles))
        except Exception as exc:
            self._refuse(exc)
            self.last = ()
        return self.last

    def _one(self, n: Any, index: int, h: Any) -> GpuSample:
        util = self._opt(lambda: n.nvmlDeviceGetUtilizationRates(h))
        mem = self._opt(lambda: n.nvmlDeviceGetMemoryInfo(h))
        temp = self._opt(lambda: n.nvmlDeviceGetTemperature(h, n.NVML_TEMPERATURE_GPU))
        power = self._opt(lambda: n.nvmlDeviceGetPowerUsage(h))
        limit = self._opt(lambda: n.nvmlDeviceGetEnforcedPowerLimit(h))
        sm = self._opt(lambda: n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_SM))
        mclk = self._opt(lambda: n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_MEM))
        return GpuSample(
            index=index,
            uuid=_text(n.nvmlDeviceGetUUID(h)),
            name=_text(n.nvmlDeviceGetName(h)),
            util_percent=None if util is None else float(util.gpu),
            memory_used_bytes=None if mem is None else int(mem.used),
            memory_total_bytes=None if mem is None else int(mem.total),
            temperature_c=None if temp is None else float(temp),
            power_w=None if power is None else power / 1000.0,  # NVML says milliwatts
            power_limit_w=None if limit is None else limit / 1000.0,
            sm_clock_mhz=None if sm is None else float(sm),
            mem_clock_mhz=None if mclk is None else float(mclk),
        )

    def processes(self) -> dict[int, GpuProcess]:
        """Each process using a GPU: its memory (compute and graphics contexts) and SM %
        (nvmlDeviceGetProcessUtilization, the samples since the last call)."""
        if not self.active:
            return {}
        n = self._nvml
        memory: dict[int, int | None] = {}
        sm: dict[int, float] = {}
        gpus: dict[int, list[int]] = {}
        since = self._last_util_us
        self._last_util_us = int(self._clock() * 1_000_000)
        try:
            for index, h in enumerate(self._handles):
                for getter in (
                    "nvmlDeviceGetComputeRunningProcesses",
                    "nvmlDeviceGetGraphicsRunningProcesses",
                ):
                    for p in self._opt(functools.partial(getattr(n, getter), h)) or ():
                        pid = int(p.pid)
                        used = getattr(p, "usedGpuMemory", None)
                        memory.setdefault(pid, None)
                        # None (MIG, some drivers) or NVML_VALUE_NOT_AVAILABLE (2^64 - 1):
                        # not known, not 16 EiB.
                        if isinstance(used, int) and 0 <= used < NOT_AVAILABLE:
                            memory[pid] = (memory[pid] or 0) + used
                        if index not in gpus.setdefault(pid, []):
                            gpus[pid].append(index)
                utilisation = self._utilisation(n, h, since)
                if utilisation is None:
                    continue  # SM use not kept by this card: its processes read '-'
                for pid in gpus:
                    if index in gpus[pid]:
                        sm.setdefault(pid, 0.0)  # on this GPU, idle in the window
                # A process may have several samples in the window: its newest on this GPU
                # counts, summed over GPUs; a driver's out-of-range value (seen as 2^32 - 1)
                # is no reading.
                here: dict[int, tuple[int, float]] = {}
                for u in utilisation:
                    pid, value = int(u.pid), float(u.smUtil)
                    stamp = int(getattr(u, "timeStamp", 0) or 0)
                    if 0.0 <= value <= 100.0 and stamp >= here.get(pid, (-1, 0.0))[0]:
                        here[pid] = (stamp, value)
                    if index not in gpus.setdefault(pid, []):
                        gpus[pid].append(index)
                for pid, (_, value) in here.items():
                    sm[pid] = sm.get(pid, 0.0) + value
        except Exception as exc:
            self._refuse(exc)
            self.last_processes = {}
            return {}
        self.last_processes = {
            pid: GpuProcess(sm.get(pid), memory.get(pid), tuple(on)) for pid, on in gpus.items()
        }
        return self.last_processes

    def fill_detail(self, detail: ProcessDetail) -> None:
        """The detail pane's GPUs of the process, from the last tick's read."""
        got = self.last_processes.get(detail.pid)
        if got is None:
            return
        known = {g.index: g for g in self.last}
        detail.gpus = tuple(
            f"{i} {known[i].name} ({known[i].uuid})" if i in known else str(i) for i in got.gpus
        )
        detail.gpu_percent, detail.gpu_memory_bytes = got.sm_percent, got.memory_bytes

    def _utilisation(self, n: Any, h: Any, since: int) -> list[Any] | None:
        """The SM samples since `since`; None where the card keeps none (NOT_SUPPORTED)."""
        try:
            return list(n.nvmlDeviceGetProcessUtilization(h, since))
        except AttributeError:
            return None  # a binding without the call
        except Exception as exc:
            code = _code(exc)
            if code == getattr(n, "NVML_ERROR_NOT_FOUND", NOT_FOUND):
                return []  # no process ran in the window
            if code == getattr(n, "NVML_ERROR_NOT_SUPPORTED", NOT_SUPPORTED):
                return None
            raise


def _code(exc: BaseException) -> int | None:
    """NVML's error code of `exc` (pynvml's NVMLError keeps it as `value`), None for another
    exception: compared by code, not by its text, which changes with the driver's language
    and version."""
    value = getattr(exc, "value", None)
    return value if isinstance(value, int) else None


def fill_rows(
    rows: Mapping[int, ProcessRow], used: Mapping[int, GpuProcess], before: set[int]
) -> set[int]:
    """Write each process's GPU use into its row; `before`: the PIDs written last tick, whose
    rows (a quiet row is reused from tick to tick) are cleared if they use no GPU now. Returns
    the PIDs written, for the next tick. Costs the GPU users, not the table."""
    for pid in before - used.keys():
        row = rows.get(pid)
        if row is not None:
            row.gpu_percent = row.gpu_memory_bytes = None
            row.gpu_indices = ()
    written: set[int] = set()
    for pid, got in used.items():
        row = rows.get(pid)
        if row is None:
            continue  # another PID namespace's, or gone since the table's read
        row.gpu_percent = got.sm_percent
        row.gpu_memory_bytes = got.memory_bytes
        row.gpu_indices = got.gpus
        written.add(pid)
    return written
