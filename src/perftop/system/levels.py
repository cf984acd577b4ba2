"""What each figure of a tick means: ok, warn or crit, against thresholds from the config.

The dashboard works the levels out once per tick (`levels_of`) and hands them to the meters
with the sample, so widgets colour what they are given and the thresholds live in one place
(`[thresholds]` in the config) instead of as numbers inside each widget. Temperatures use the
thresholds their own sensor reports.
"""

from __future__ import annotations

from typing import NamedTuple

from perftop.system.samples import Level, SystemSample, level_of

__all__ = ["Band", "GpuLevels", "SampleLevels", "Thresholds", "levels_of"]


class Band(NamedTuple):
    """Warn at or above `warn`, crit at or above `crit`."""

    warn: float
    crit: float


class Thresholds(NamedTuple):
    cpu: Band = Band(60.0, 85.0)  # % busy: the total and each core
    memory: Band = Band(60.0, 85.0)  # % used: memory and swap
    iowait: Band = Band(5.0, 20.0)  # % of CPU time waiting on I/O
    load: Band = Band(0.7, 1.0)  # one-minute load average per core
    # °C of a GPU's core: NVIDIA's data-centre cards slow down from ~85-90 °C.
    gpu_temperature: Band = Band(80.0, 88.0)


class SampleLevels(NamedTuple):
    cpu: Level
    cores: tuple[Level, ...]
    iowait: Level
    memory: Level
    swap: Level
    load: Level
    temps: tuple[Level, ...]
    gpus: tuple[GpuLevels, ...] = ()  # each GPU of the sample's, in its order


class GpuLevels(NamedTuple):
    """A GPU's figures: its use as the CPU's, its memory as the machine's, its temperature,
    and its power against its limit (a card at its limit is being throttled)."""

    util: Level
    memory: Level
    temperature: Level
    power: Level


OK_LEVELS = SampleLevels(Level.OK, (), Level.OK, Level.OK, Level.OK, Level.OK, ())


# A GPU's power, % of its enforced limit: at the limit its clocks are being held down.
POWER = Band(90.0, 98.0)


def _in(value: float, band: Band) -> Level:
    return level_of(value, band.warn, band.crit)


def levels_of(s: SystemSample, t: Thresholds) -> SampleLevels:
    temps = []
    for temp in s.temps:
        crit = temp.critical_c or 100.0
        temps.append(level_of(temp.current_c, temp.high_c or crit * 0.85, crit))
    return SampleLevels(
        cpu=_in(s.cpu.total_percent, t.cpu),
        cores=tuple(_in(pct, t.cpu) for pct in s.cpu.per_core_percent),
        iowait=_in(s.cpu.iowait_percent, t.iowait),
        memory=_in(s.memory.used_percent, t.memory),
        swap=_in(s.memory.swap_percent, t.memory),
        load=_in(s.load_avg[0] / max(s.core_count, 1), t.load),
        temps=tuple(temps),
        gpus=tuple(
            GpuLevels(
                util=_in(g.util_percent or 0.0, t.cpu),
                memory=_in(g.memory_percent or 0.0, t.memory),
                temperature=_in(g.temperature_c or 0.0, t.gpu_temperature),
                power=_in(100.0 * (g.power_w or 0.0) / g.power_limit_w, POWER)
                if g.power_limit_w
                else Level.OK,
            )
            for g in s.gpus
        ),
    )
