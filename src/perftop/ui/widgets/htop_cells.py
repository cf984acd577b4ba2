"""The cells of htop's columns in the process table (TIME+, NCPU%, PRI, VIRT, SHR, TTY, the
page faults) and of the GPU's (GPU%, GPU MEM), each as htop (or nvtop) writes it, and the
values they read as, which the table sorts on
(stable_order.py): pure functions, tested on their own. `-` is unknown (a recording of an
older perftop, SHR while it was not read, a platform without the figure).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from perftop.system.processes import ViewRow
from perftop.system.tty import tty_name
from perftop.ui.fmt import human_bytes, shown_bytes

UNKNOWN = "-"
_MINUTE, _HOUR, _DAY, _YEAR = 60, 3600, 86400, 365 * 86400  # htop ignores leap years


def cpu_time_label(seconds: float) -> str:
    """CPU time as htop's TIME+ writes it, 8 characters at most: `1:02.03` (minutes, seconds,
    hundredths) under an hour, `5h03:12` under a day, `3d05h12m` under ten days, then
    `123d05h`, `2y012d`, `1234567y`, and beyond that `eternity`."""
    hundredths = max(round(seconds * 100), 0)
    total_s = hundredths // 100
    minutes, hours, days = total_s // _MINUTE, total_s // _HOUR, total_s // _DAY
    if minutes < 60:
        return f"{minutes}:{total_s % 60:02d}.{hundredths % 100:02d}"
    if hours < 24:
        return f"{hours}h{minutes % 60:02d}:{total_s % 60:02d}"
    if days < 10:
        return f"{days}d{hours % 24:02d}h{minutes % 60:02d}m"
    if days < 365:
        return f"{days}d{hours % 24:02d}h"
    years = days // 365
    if years < 1000:
        return f"{years}y{days % 365:03d}d"
    return f"{years}y" if years < 10_000_000 else "eternity"


def shown_cpu_time(seconds: float) -> float:
    """The seconds `cpu_time_label` reads as: rows that read the same keep their places."""
    hundredths = max(round(seconds * 100), 0)
    total_s = hundredths // 100
    for bound, step in ((_HOUR, 0.01), (_DAY, 1), (10 * _DAY, _MINUTE), (_YEAR, _HOUR)):
        if total_s < bound:
            return hundredths / 100 if step < 1 else float(total_s - total_s % step)
    step = _DAY if total_s < 1000 * _YEAR else _YEAR
    return float(total_s - total_s % step)


def count_label(n: int) -> str:
    """A count in 7 characters: whole below ten million (htop's own), then `12.3M`, `456M`."""
    if n < 10_000_000:
        return str(n)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return str(n)  # not reached: ten million is past a million


def shown_count(n: int) -> float:
    """The number `count_label(n)` reads as."""
    if n < 10_000_000:
        return float(n)
    for scale in (1e12, 1e9, 1e6):
        if n >= scale:
            value = n / scale
            return round(value, 1 if value < 100 else 0) * scale
    return float(n)


def priority_label(priority: int) -> str:
    """The kernel's priority; a real-time one (-100 and below, as htop) reads `RT`."""
    return "RT" if priority <= -100 else str(priority)


# The cells, as the table's columns call them, (row, now) → text, and what each reads as,
# for SHOWN (None where unknown: it sorts last, as in processes.py). A figure that may be
# unknown is one field of the row and one label of it: made alike, as `_cell` and `_shown`.


def _cell(field: str, label: Callable[[Any], str]) -> Callable[[ViewRow, float], str]:
    get = operator.attrgetter(field)

    def cell(v: ViewRow, _now: float) -> str:
        value = get(v.row)
        return UNKNOWN if value is None else label(value)

    return cell


def _shown(field: str, reads: Callable[[Any], float]) -> Callable[[ViewRow], float | None]:
    get = operator.attrgetter(field)

    def shown(v: ViewRow) -> float | None:
        value = get(v.row)
        return None if value is None else reads(value)

    return shown


time_cell = _cell("cpu_time_s", cpu_time_label)
priority_cell = _cell("priority", priority_label)
virt_cell = _cell("virt_bytes", human_bytes)
shr_cell = _cell("shared_bytes", human_bytes)
tty_cell = _cell("tty_nr", tty_name)
minflt_cell = _cell("minor_faults", count_label)
majflt_cell = _cell("major_faults", count_label)

shown_time = _shown("cpu_time_s", shown_cpu_time)
shown_virt = _shown("virt_bytes", shown_bytes)
shown_shr = _shown("shared_bytes", shown_bytes)
shown_minflt = _shown("minor_faults", shown_count)
shown_majflt = _shown("major_faults", shown_count)


def ncpu_cell(v: ViewRow, _now: float) -> str:
    return f"{v.row.cpu_percent / v.cores:.1f}"


def shown_ncpu(v: ViewRow) -> float:
    return round(v.row.cpu_percent / v.cores, 1)


# GPU% and GPU MEM (NVML's per-process accounting, gpu.py): blank for a process on no GPU,
# so the few that use one stand out; `-` for one on a GPU whose card does not say.


def gpu_cell(v: ViewRow, _now: float) -> str:
    row = v.row
    if row.gpu_percent is not None:
        return f"{row.gpu_percent:.1f}"
    return UNKNOWN if row.gpu_indices else ""


def gpu_memory_cell(v: ViewRow, _now: float) -> str:
    row = v.row
    if row.gpu_memory_bytes is not None:
        return human_bytes(row.gpu_memory_bytes)
    return UNKNOWN if row.gpu_indices else ""


shown_gpu = _shown("gpu_percent", lambda x: round(x, 1))
shown_gpu_memory = _shown("gpu_memory_bytes", shown_bytes)
