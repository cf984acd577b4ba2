"""The NVIDIA GPUs' panel: one row per GPU (use, memory, temperature, power against its limit,
clocks) and, where the panel has the rows, each GPU's use and memory history under its bars.

The dashboard shows it only where the sample has GPUs (`SystemSample.gpus`, read through
NVML by system/gpu.py): a machine without any has no empty panel. A figure the card does not
give (None) reads `-`. The folded dashboard (compact_meters.py) draws the GPUs with
`compact_gpu_line` instead.
"""

from __future__ import annotations

from perftop.system.history import SystemHistory
from perftop.system.levels import GpuLevels
from perftop.system.samples import GpuSample, Level, SystemSample
from perftop.ui.braille import braille_graph
from perftop.ui.fmt import human_bytes
from perftop.ui.widgets.meters import Lines, Panel, Window

_NAME_MAX = 18  # cells of a GPU's name ("A100-SXM4-80GB" is 14), its vendor dropped
_MIN_BAR = 4
_LEVELS = " ▁▂▃▄▅▆▇█"  # a GPU's use as one cell, in the folded line of many GPUs
_OK = GpuLevels(Level.OK, Level.OK, Level.OK, Level.OK)


def short_name(name: str) -> str:
    """`NVIDIA A100-SXM4-80GB` → `A100-SXM4-80GB`: every card's name starts alike."""
    for prefix in ("NVIDIA ", "Tesla ", "GeForce "):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name


def _figure(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def util_of(g: GpuSample) -> str:
    """` 86%`, or `   -` where the card does not say."""
    return "-".rjust(4) if g.util_percent is None else f"{g.util_percent:3.0f}%"


def temperature_of(g: GpuSample) -> str:
    return "-".rjust(5) if g.temperature_c is None else f"{g.temperature_c:3.0f}°C"


def used_of(g: GpuSample) -> str:
    """`18.5G/80.0G`, or `-` where the card does not say."""
    if g.memory_used_bytes is None or g.memory_total_bytes is None:
        return "-"
    return f"{human_bytes(g.memory_used_bytes)}/{human_bytes(g.memory_total_bytes)}"


def power_of(g: GpuSample) -> str:
    """`264/400W`, `264W` without a limit, `-` without a reading."""
    if g.power_w is None:
        return "-"
    if g.power_limit_w is None:
        return f"{g.power_w:.0f}W"
    return f"{g.power_w:.0f}/{g.power_limit_w:.0f}W"


def clocks_of(g: GpuSample) -> str:
    """`1410/1593MHz`: the SM clock, then the memory's."""
    sm, mem = _figure(g.sm_clock_mhz, ".0f"), _figure(g.mem_clock_mhz, ".0f")
    return f"{sm}/{mem}MHz"


def levels_at(levels: tuple[GpuLevels, ...], i: int) -> GpuLevels:
    return levels[i] if i < len(levels) else _OK


class GpuPanel(Panel):
    """Every GPU of the sample: a line of meters each, its graphs under it where there is room."""

    @staticmethod
    def height_for(gpus: int, graph_rows: int) -> int:
        """The panel's height, border included, for `gpus` GPUs each with `graph_rows`."""
        return 2 + gpus * (1 + graph_rows) if gpus else 0

    def render_text(self, s: SystemSample, h: SystemHistory) -> Lines:
        text = Lines()
        gpus = s.gpus
        if not gpus:
            return text
        width = max(self.size.width, 40)
        graph_rows = max(self.size.height // len(gpus) - 1, 0)
        name_w = min(max(len(short_name(g.name)) for g in gpus), _NAME_MAX) + 3
        used_w = max(len(used_of(g)) for g in gpus)  # the bars after it line up
        # The figures at the right of the line: temperature, power, and clocks where wide.
        tail_w = 6 + 1 + 9 + (1 + 12 if width >= 100 else 0)
        room = max(width - name_w - tail_w - 2, 2 * (_MIN_BAR + 14))
        util_w = room * 2 // 5  # `GPU 100% ▕…▏`
        mem_w = room - util_w - 1  # `MEM 18.5G/80.0G ▕…▏`
        for i, g in enumerate(gpus):
            lv = levels_at(self.levels.gpus, i)
            if i:
                text.append("\n")
            text.append(f"{g.index:<2}{short_name(g.name)[: name_w - 3]:<{name_w - 2}}")
            figure = util_of(g)
            self.meter(
                text, "GPU ", figure, g.util_percent or 0.0, util_w - 7 - len(figure), lv.util
            )
            text.append(" ")
            used = used_of(g).rjust(used_w)
            self.meter(
                text, "MEM ", used, g.memory_percent or 0.0, mem_w - 7 - len(used), lv.memory
            )
            text.append(" ")
            text.append(temperature_of(g).rjust(6), self.level_style(lv.temperature))
            text.append(" ")
            text.append(power_of(g).rjust(9), self.level_style(lv.power))
            if width >= 100:
                text.append(" " + clocks_of(g).rjust(12))
            if graph_rows:
                self._graphs(text, h, g.index, graph_rows, name_w, util_w, mem_w)
        return text

    def _graphs(
        self,
        text: Lines,
        h: SystemHistory,
        index: int,
        rows: int,
        left: int,
        util_w: int,
        mem_w: int,
    ) -> None:
        """The GPU's use under its use bar and its memory under its memory bar."""
        util = self._rows(self.window(h.series(f"gpu{index}.util"), util_w), util_w, rows)
        mem = self._rows(self.window(h.series(f"gpu{index}.mem_percent"), mem_w), mem_w, rows)
        for a, b in zip(util, mem, strict=True):
            text.append("\n" + " " * left)
            self.graph_row(text, *a)
            text.append(" ")
            self.graph_row(text, *b)

    def _rows(self, window: Window, width: int, rows: int) -> list[tuple[str, int | None]]:
        cell = None if window.cursor is None else window.cursor // 2
        return [(row, cell) for row in braille_graph(window.values, width, rows, 100.0)]


def compact_gpu_line(panel: Panel, text: Lines, s: SystemSample, width: int) -> None:
    """The GPUs on one line of the folded dashboard: one or two side by side as meters
    (`GPU0  85% ▕███▏ 18.5G/80.0G  60°C`), more as a strip of one cell each, then their
    mean use, their memory summed and the hottest's temperature."""
    gpus = s.gpus
    levels = panel.levels.gpus
    if len(gpus) <= 2:
        half = (width - 1) // 2 if len(gpus) == 2 else width
        for i, g in enumerate(gpus):
            lv = levels_at(levels, i)
            if i:
                text.append(" ")
            label = f"GPU{g.index}"[:5].ljust(5)
            figure = util_of(g)
            tail = f" {used_of(g)} "
            temp = temperature_of(g)
            cells = max(half - len(label) - len(figure) - 3 - len(tail) - len(temp), 1)
            panel.meter(text, label, figure, g.util_percent or 0.0, cells, lv.util)
            text.append(tail)
            text.append(temp, panel.level_style(lv.temperature))
        return
    text.append("GPU ", panel.label_style)
    for i, g in enumerate(gpus):
        pct = g.util_percent or 0.0
        step = min(int(pct / 100 * (len(_LEVELS) - 1) + 0.5), len(_LEVELS) - 1)
        cell = _LEVELS[max(step, 1 if pct > 0 else 0)]
        text.append(cell, panel.level_style(levels_at(levels, i).util))
    used = sum(g.memory_used_bytes or 0 for g in gpus)
    total = sum(g.memory_total_bytes or 0 for g in gpus)
    hottest = max((g.temperature_c for g in gpus if g.temperature_c is not None), default=None)
    busy = sum(g.util_percent or 0.0 for g in gpus) / len(gpus)
    summary = f" {len(gpus)} GPUs {busy:3.0f}% mem {human_bytes(used)}/{human_bytes(total)}"
    if hottest is not None:
        summary += f" max {hottest:.0f}°C"
    text.append(summary[: max(width - 4 - len(gpus), 0)])
