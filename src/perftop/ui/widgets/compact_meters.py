"""The dashboard's meters folded into a few borderless lines, for small terminals.

At 80x24 the bordered panels take 14 rows and leave the process table 8; htop shows 17. Below
the height where the table would keep fewer than 14 rows (the dashboard decides, see
`DashboardScreen._resize_meters`), these lines take the panels' place, as htop's header does:
CPU and each core on the left; memory, swap, disk, network and the hottest temperature on the
right; the GPUs on a line of their own; a one-row history graph after each bar where the width
leaves room for one. Pressure (PSI) takes a row a column has spare, or, where neither has one,
goes at the end of the swap line in short: it never adds a row (`rows_for` is the same with it
or without).
"""

from __future__ import annotations

from perftop.system.history import Ring, SystemHistory
from perftop.system.samples import Level, SystemSample
from perftop.ui.braille import bar, braille_graph
from perftop.ui.fmt import human_rate
from perftop.ui.widgets.gpu_panel import compact_gpu_line
from perftop.ui.widgets.meters import (
    Lines,
    Panel,
    Run,
    cpu_limited,
    memory_limited,
    psi_short,
    used_of,
    wired,
)

# A core's meter `NN 100.0% ▕██▏` needs this much; narrower, each core is one block character.
_CORE_METER = 14
_LEVELS = " ▁▂▃▄▅▆▇█"  # a core's use as one cell, from idle to full
_MAX_BAR = 24  # cells of bar before the rest of a line goes to its graph
_MIN_GRAPH = 6  # a graph narrower than this says nothing: the bar takes the room


class CompactMeters(Panel):
    """Every system figure the bordered panels show, in `rows_for(...)` lines."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.warning: tuple[str, ...] = ()  # as the memory panel's: ways to say it, longest first

    @staticmethod
    def rows_for(sample: SystemSample | None, width: int) -> int:
        """The lines this widget needs at `width` (the dashboard sizes it by this)."""
        if sample is None:
            return 4
        left = 1 + _core_rows(len(sample.cpu.per_core_percent), _halves(width)[0])
        right = 5 if sample.temps else 4
        return max(left, right) + bool(sample.gpus)

    def render_text(self, s: SystemSample, h: SystemHistory) -> Lines:
        width = max(self.size.width, 20)
        left_w, right_w = _halves(width)
        left, right = Lines(), Lines()
        c = s.cpu
        own = cpu_limited(s)  # inside a container: against its limit (the top bar says so)
        cpu = own.cpu_percent if own is not None and own.cpu_percent is not None else None
        self._line(
            left,
            "CPU ",
            f"{c.total_percent if cpu is None else cpu:5.1f}%",
            c.total_percent if cpu is None else cpu,
            left_w,
            self.levels.cpu,
            h.series("cpu.total" if cpu is None else "container.cpu_percent"),
            100.0,
        )
        self._cores(left, s, left_w)
        if len(left.lines) < 4:  # room left under few cores: the split the CPU panel shows
            left.append("\nusr ", self.label_style)
            left.append(f"{c.user_percent:4.1f} ")
            left.append("sys ", self.label_style)
            left.append(f"{c.system_percent:4.1f} ")
            left.append("io ", self.label_style)
            left.append(f"{c.iowait_percent:4.1f}", self.level_style(self.levels.iowait))
        m = s.memory
        mem = memory_limited(s)
        used, total, series = m.used_bytes, m.total_bytes, "mem.used_percent"
        if mem is not None and mem.memory_limit_bytes and mem.memory_used_bytes is not None:
            used, total, series = (
                mem.memory_used_bytes,
                mem.memory_limit_bytes,
                "container.mem_percent",
            )
        self._line(
            right,
            "Mem ",
            used_of(used, total),
            100.0 * used / total if total else 0.0,
            right_w,
            self.levels.memory,
            h.series(series),
            100.0,
        )
        right.append("\n")
        # Pressure in short after the swap figures, unless a column has a row for its line.
        spare = _spare_row(s, width)
        short = psi_short(s.pressure) if s.pressure is not None and not spare else ""
        if m.swap_total_bytes:
            self._line(
                right,
                "Swp ",
                used_of(m.swap_used_bytes, m.swap_total_bytes),
                m.swap_percent,
                right_w - len(short),
                self.levels.swap,
                None,
                100.0,
            )
        else:
            right.append("Swp ", self.label_style)
            right.append("no swap")
        if short:
            right.append(short, self.label_style)
        disks, nets = s.disks, wired(s.nets)
        read = sum(d.read_bytes_per_s for d in disks)
        written = sum(d.write_bytes_per_s for d in disks)
        self._rates(
            right,
            "Dsk ",
            ("r", read),
            ("w", written),
            right_w,
            h,
            ("disk.read_bytes_per_s", "disk.write_bytes_per_s"),
        )
        rx = sum(n.rx_bytes_per_s for n in nets)
        tx = sum(n.tx_bytes_per_s for n in nets)
        self._rates(
            right,
            "Net ",
            ("rx", rx),
            ("tx", tx),
            right_w,
            h,
            ("net.rx_bytes_per_s", "net.tx_bytes_per_s"),
        )
        if s.temps:
            hottest = max(range(len(s.temps)), key=lambda i: s.temps[i].current_c)
            t = s.temps[hottest]
            levels = self.levels.temps
            right.append("\nTmp ", self.label_style)
            level = levels[hottest] if hottest < len(levels) else Level.OK
            right.append(f"{t.current_c:5.1f}°C", self.level_style(level))
            right.append(f" {t.label}"[: max(right_w - 11, 0)])
        if s.pressure is not None and spare:
            rows = max(len(left.lines), len(right.lines))
            column, column_w = (left, left_w) if len(left.lines) < rows else (right, right_w)
            column.append("\n")
            self.pressure_line(column, s.pressure, h, column_w)
        text = Lines()
        rows = max(len(left.lines), len(right.lines))
        left.lines += [[] for _ in range(rows - len(left.lines))]
        right.lines += [[] for _ in range(rows - len(right.lines))]
        text.lines = [
            [*a, (" " * (left_w - _cells(a) + 1), None), *b]
            for a, b in zip(left.lines, right.lines, strict=True)
        ]
        if s.gpus:
            gpus = Lines()
            compact_gpu_line(self, gpus, s, width)
            text.lines.append(gpus.lines[0])
        if self.warning:
            fits = [w for w in self.warning if len(w) + 2 <= width]
            line = f"⚠ {(fits or self.warning[-1:])[0]}"[:width]
            text.lines.append([(line, self.level_style(Level.CRIT))])
        return text

    def _line(
        self,
        text: Lines,
        label: str,
        figure: str,
        percent: float,
        width: int,
        level: Level,
        ring: Ring | None,
        top: float,
    ) -> None:
        """`label figure ▕███  ▏` and, where it fits, the figure's history after it."""
        room = max(width - len(label) - len(figure) - 3, 2)
        cells = min(room, _MAX_BAR)
        graph = room - cells - 1
        if ring is None or graph < _MIN_GRAPH:
            cells, graph = room, 0
        self.meter(text, label, figure, percent, cells, level)
        if graph and ring is not None:
            text.append(" ")
            self._spark(text, self.window(ring, graph).values, graph, top)

    def _rates(
        self,
        text: Lines,
        label: str,
        first: tuple[str, float],
        second: tuple[str, float],
        width: int,
        h: SystemHistory,
        series: tuple[str, str],
    ) -> None:
        """`Dsk r 44K/s w 0B/s` and the history of their sum where it fits."""
        text.append("\n")
        text.append(label, self.label_style)
        used = len(label)
        for name, rate in (first, second):
            figure = f"{name} {human_rate(rate):>7} "
            text.append(figure)
            used += len(figure)
        graph = width - used
        if graph >= _MIN_GRAPH:
            window = self.window(h.series(series[0]), graph)
            other = self.window(h.series(series[1]), graph).values
            values = [x + y for x, y in zip(window.values, other, strict=False)]
            self._spark(text, values, graph, max(max(values, default=0.0), 1024.0))

    def _spark(self, text: Lines, values: list[float], width: int, top: float) -> None:
        (row,) = braille_graph(values, width, 1, top)
        text.append(row, self.graph_style)

    def _cores(self, text: Lines, s: SystemSample, width: int) -> None:
        cores = s.cpu.per_core_percent
        levels = self.levels.cores
        if not cores:
            return
        per_row = _cores_per_row(len(cores), width)
        cell = width // per_row
        for i, pct in enumerate(cores):
            level = levels[i] if i < len(levels) else Level.OK
            if i % per_row == 0:
                text.append("\n")
            if cell < _CORE_METER:  # a strip: one block character per core
                step = min(int(pct / 100 * (len(_LEVELS) - 1) + 0.5), len(_LEVELS) - 1)
                text.append(_LEVELS[max(step, 1 if pct > 0 else 0)], self.level_style(level))
                continue
            figure = f"{pct:5.1f}%"
            cells = cell - 3 - len(figure) - 3 - (1 if i % per_row else 0)
            if i % per_row:
                text.append(" ")
            text.append(f"{i:>2} ", self.label_style)
            text.append(figure)
            text.append(" ▕")
            text.append(bar(pct / 100, max(cells, 1)), self.level_style(level))
            text.append("▏")


def _spare_row(s: SystemSample, width: int) -> bool:
    """Whether a column has a row to spare for the pressure line (the other sets the height):
    the left one has CPU, its cores and, under four lines, the usr/sys/io line."""
    cores = 1 + _core_rows(len(s.cpu.per_core_percent), _halves(width)[0])
    left = cores + 1 if cores < 4 else cores
    right = 5 if s.temps else 4
    return min(left, right) < max(cores, right)


def _halves(width: int) -> tuple[int, int]:
    """The left and right columns' widths, a blank between them."""
    left = (width - 1) // 2
    return left, width - 1 - left


def _cores_per_row(cores: int, width: int) -> int:
    """Meters side by side while they fit; past four rows of them, a strip of cells."""
    fit = max(width // _CORE_METER, 1)
    if -(-cores // fit) <= 4:
        return min(fit, max(cores, 1))
    return max(width, 1)


def _core_rows(cores: int, width: int) -> int:
    return -(-cores // _cores_per_row(cores, width)) if cores else 0


def _cells(runs: list[Run]) -> int:
    return sum(len(text) for text, _ in runs)
