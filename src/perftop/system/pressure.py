"""Pressure stall information (PSI): whether the machine, or a cgroup, is short of CPU, memory
or I/O, rather than busy.

The kernel writes one file a resource, `/proc/pressure/{cpu,memory,io}` (and `irq` on kernels
with IRQ time accounting), and the same lines in each cgroup v2 directory
(`cpu.pressure`, `memory.pressure`, `io.pressure`):

    some avg10=1.53 avg60=0.87 avg300=0.40 total=12345678
    full avg10=0.00 avg60=0.00 avg300=0.00 total=0

`some` is the share of wall time at least one task stalled on the resource, `full` the share
all non-idle tasks stalled at once; the averages are percentages over 10, 60 and 300 s,
`total` the stall time in microseconds since boot. A kernel built without PSI, or booted with
`psi=0`, has no such files (or refuses to read them: EOPNOTSUPP); a v1-only cgroup has none.
Everything here then answers None, never raises, and the dashboard hides the meters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

RESOURCES = ("cpu", "memory", "io")
# A pressure file is two short lines; anything longer is not one.
_MAX_READ = 512


class PressureLine(NamedTuple):
    """One `some` or `full` line: averages in percent of wall time, total stall in µs."""

    avg10: float
    avg60: float
    avg300: float
    total_us: int


class Pressure(NamedTuple):
    """One resource's pressure; `full` is None for the system's CPU on kernels before 5.13."""

    some: PressureLine | None
    full: PressureLine | None


class PressureSet(NamedTuple):
    """cpu, memory and io (and irq where the kernel has it) pressure; None: not available."""

    cpu: Pressure | None
    memory: Pressure | None
    io: Pressure | None
    irq: Pressure | None = None

    def of(self, resource: str) -> Pressure | None:
        return {"cpu": self.cpu, "memory": self.memory, "io": self.io, "irq": self.irq}.get(
            resource
        )

    @property
    def any(self) -> bool:
        return any(p is not None for p in (self.cpu, self.memory, self.io, self.irq))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


def parse_line(line: str) -> tuple[str, PressureLine] | None:
    """(`some` or `full`, its figures) of one line; None if the line is not one."""
    kind, _, rest = line.strip().partition(" ")
    if kind not in ("some", "full"):
        return None
    fields: dict[str, str] = {}
    for part in rest.split():
        key, sep, value = part.partition("=")
        if sep:
            fields[key] = value
    averages = [_number(fields.get(k, "")) for k in ("avg10", "avg60", "avg300")]
    total = fields.get("total", "")
    if any(a is None for a in averages) or not total.isdigit() or not total.isascii():
        return None
    a10, a60, a300 = (float(a) for a in averages if a is not None)
    return kind, PressureLine(a10, a60, a300, int(total))


def parse_pressure(text: str) -> Pressure | None:
    """One pressure file's text; None where it has no `some` or `full` line."""
    lines: dict[str, PressureLine] = {}
    for line in text.splitlines():
        parsed = parse_line(line)
        if parsed is not None:
            lines.setdefault(parsed[0], parsed[1])
    if not lines:
        return None
    return Pressure(lines.get("some"), lines.get("full"))


def read_pressure_file(path: str) -> Pressure | None:
    """A pressure file; None where it is missing, unreadable or not one."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, _MAX_READ)
    except OSError:  # EOPNOTSUPP under psi=0
        return None
    finally:
        os.close(fd)
    return parse_pressure(data.decode("ascii", "replace"))


def read_system_pressure(proc_root: str = "/proc") -> PressureSet | None:
    """The machine's pressure; None where the kernel keeps none (the meters are hidden)."""
    base = os.path.join(proc_root, "pressure")
    found = PressureSet(*(read_pressure_file(os.path.join(base, r)) for r in (*RESOURCES, "irq")))
    return found if found.any else None


def read_cgroup_pressure(directory: str) -> PressureSet | None:
    """A cgroup v2 directory's pressure; None for a v1 group or a kernel without PSI."""
    found = PressureSet(
        *(read_pressure_file(os.path.join(directory, f"{r}.pressure")) for r in RESOURCES)
    )
    return found if found.any else None


# node_exporter's pressure collector's names (seconds, from the µs totals): `some` is the
# "waiting" figure, `full` the "stalled" one; it exports no full line for CPU.
NODE_EXPORTER_NAMES: dict[tuple[str, str], str] = {
    ("cpu", "some"): "node_pressure_cpu_waiting_seconds_total",
    ("memory", "some"): "node_pressure_memory_waiting_seconds_total",
    ("memory", "full"): "node_pressure_memory_stalled_seconds_total",
    ("io", "some"): "node_pressure_io_waiting_seconds_total",
    ("io", "full"): "node_pressure_io_stalled_seconds_total",
    ("irq", "full"): "node_pressure_irq_stalled_seconds_total",
}


def stall_seconds(pressure: PressureSet) -> Iterator[tuple[str, str, str, float]]:
    """(node_exporter's metric name, resource, some/full, stall seconds since boot) for each
    figure the kernel gave, for `perftop serve` to export as counters."""
    for (resource, kind), name in NODE_EXPORTER_NAMES.items():
        p = pressure.of(resource)
        line = None if p is None else (p.some if kind == "some" else p.full)
        if line is not None:
            yield name, resource, kind, line.total_us / 1e6
