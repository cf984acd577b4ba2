"""The dashboard's meters: CPU, memory and swap, disk and network I/O, temperatures.

Each panel is given a SystemSample and the SystemHistory and renders them as Rich text; it
computes nothing the model does not already hold. Colours come from ok / warn / crit levels that
the stylesheet maps to colours (NO_COLOR and monochrome themes then just work).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from perftop.system.history import SystemHistory
from perftop.system.samples import Level, SystemSample, level_of
from perftop.ui.braille import bar, braille_graph
from perftop.ui.fmt import human_bytes, human_count, human_duration, human_rate
from perftop.ui.widgets.process_table import changed_span

LEVEL_CLASSES = {"meter--ok", "meter--warn", "meter--crit", "meter--label", "meter--graph"}


class Panel(Widget):
    """A bordered panel that re-renders when given a new sample."""

    COMPONENT_CLASSES = LEVEL_CLASSES

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sample: SystemSample | None = None
        self.history: SystemHistory | None = None
        self._shown: list[Text] = []  # each line as last drawn, text and styles

    def show(self, sample: SystemSample, history: SystemHistory) -> None:
        """Take a new sample and repaint only the spans of lines whose text changed.

        Panels draw through the Line API (`render_line`) from lines built here, so a partial
        refresh repaints fresh text: an idle machine sends a few bytes per tick, not the panel.
        """
        self.sample = sample
        self.history = history
        lines = self._build_lines()
        old, self._shown = self._shown, lines
        if len(old) != len(lines):
            self.refresh()
            return
        width = self.size.width
        for y, (before, after) in enumerate(zip(old, lines, strict=True)):
            if before.plain != after.plain:
                start, end = changed_span(before.plain, after.plain)
            elif before.spans != after.spans:
                start, end = 0, width  # same text, new colours (a level changed)
            else:
                continue
            self.refresh(Region(start, y, end - start, 1))

    def _build_lines(self) -> list[Text]:
        if self.sample is None or self.history is None:
            return []
        text = self.render_text(self.sample, self.history)
        return list(text.split("\n", allow_blank=True))

    def render_text(self, s: SystemSample, h: SystemHistory) -> Text:
        """The panel's content, one Text with a line per row; each panel draws its own."""
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y >= len(self._shown):
            return Strip.blank(width, base)
        segments = Segment.apply_style(self._shown[y].render(self.app.console), base)
        return Strip(segments).extend_cell_length(width, base).crop(0, width)

    def on_resize(self) -> None:
        self._shown = self._build_lines()
        self.refresh()

    def level_style(self, level: Level) -> Style:
        return self.get_component_rich_style(f"meter--{level.value}")

    @property
    def label_style(self) -> Style:
        return self.get_component_rich_style("meter--label")

    @property
    def graph_style(self) -> Style:
        return self.get_component_rich_style("meter--graph")

    def meter(self, text: Text, label: str, percent: float, width: int, tail: str) -> None:
        """`label ▕████   ▏ tail` with the bar coloured by level."""
        text.append(label, self.label_style)
        text.append("▕")
        text.append(bar(percent / 100, width), self.level_style(level_of(percent, 60, 85)))
        text.append("▏")
        text.append(tail)

    def graph(self, text: Text, values: list[float], width: int, height: int, top: float) -> None:
        for row in braille_graph(values, width, height, top):
            text.append("\n")
            text.append(row, self.graph_style)


class CpuPanel(Panel):
    """Total CPU with its user / system / iowait split, history, and every core."""

    def render_text(self, s: SystemSample, h: SystemHistory) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        width = max(self.size.width, 20)
        c = s.cpu
        self.meter(text, "CPU ", c.total_percent, max(width - 12, 4), f"{c.total_percent:5.1f}%")
        text.append("\n")
        text.append(f"usr {c.user_percent:4.1f}  sys {c.system_percent:4.1f}  ")
        text.append(
            f"io {c.iowait_percent:4.1f}", self.level_style(level_of(c.iowait_percent, 5, 20))
        )
        freq = f"  {c.freq_mhz / 1000:.2f}GHz" if c.freq_mhz else ""
        text.append(f"  {s.core_count} cores{freq}")
        graph_rows = max(self.size.height - 2 - self.core_rows(len(c.per_core_percent), width), 1)
        self.graph(text, h.series("cpu.total").values(), width, graph_rows, 100.0)
        self._cores(text, s, h, width)
        return text

    CORE_CELL = 22  # columns per core: label, sparkline, percentage

    @classmethod
    def core_columns(cls, width: int) -> int:
        return max(width // cls.CORE_CELL, 1)

    @classmethod
    def core_rows(cls, cores: int, width: int) -> int:
        """Rows the per-core meters need at this width (the dashboard sizes the panel by it)."""
        return -(-cores // cls.core_columns(width))

    def _cores(self, text: Text, s: SystemSample, h: SystemHistory, width: int) -> None:
        cores = s.cpu.per_core_percent
        cols = self.core_columns(width)
        cell = width // cols
        spark = max(cell - 10, 2)
        for i, pct in enumerate(cores):
            text.append("\n" if i % cols == 0 else " ")
            history = h.series(f"cpu.core{i}").values()
            (row,) = braille_graph(history, spark // 1, 1, 100.0)
            text.append(f"{i:>2} ", self.label_style)
            text.append(row[:spark], self.level_style(level_of(pct, 60, 85)))
            text.append(f"{pct:5.1f}%".rjust(cell - spark - 4))


class SystemPanel(Panel):
    """Load, uptime and the figures that have no graph."""

    def render_text(self, s: SystemSample, h: SystemHistory) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        one, five, fifteen = s.load_avg
        if s.hostname:
            text.append(s.hostname, "bold")
            text.append("  ")
        load_level = level_of(one / max(s.core_count, 1), 0.7, 1.0)
        text.append("load ", self.label_style)
        text.append(f"{one:.2f}", self.level_style(load_level))
        text.append(f" {five:.2f} {fifteen:.2f}  ")
        text.append("up ", self.label_style)
        text.append(human_duration(s.uptime_s))
        return text


class MemoryPanel(Panel):
    """Memory and swap: used, cached/buffers, available, with history."""

    def render_text(self, s: SystemSample, h: SystemHistory) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        m = s.memory
        width = max(self.size.width, 20)
        tail = f" {human_bytes(m.used_bytes)}/{human_bytes(m.total_bytes)}"
        self.meter(text, "Mem ", m.used_percent, max(width - 7 - len(tail), 4), tail)
        text.append("\n")
        text.append("cache ", self.label_style)
        text.append(human_bytes(m.cached_bytes + m.buffers_bytes))
        text.append("  avail ", self.label_style)
        text.append(human_bytes(m.available_bytes))
        text.append("  free ", self.label_style)
        text.append(human_bytes(m.free_bytes))
        text.append("\n")
        if m.swap_total_bytes:
            tail = f" {human_bytes(m.swap_used_bytes)}/{human_bytes(m.swap_total_bytes)}"
            self.meter(text, "Swp ", m.swap_percent, max(width - 7 - len(tail), 4), tail)
        else:
            text.append("Swp ", self.label_style)
            text.append("no swap")
        rows = max(self.size.height - 3, 1)
        self.graph(text, h.series("mem.used_percent").values(), width, rows, 100.0)
        return text


class IoPanel(Panel):
    """Per-device disk or per-interface network rates, totals, and a history graph."""

    def __init__(self, kind: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = kind  # "disk" or "net"

    def render_text(self, s: SystemSample, h: SystemHistory) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        width = max(self.size.width, 20)
        name_w = max(min(width - 34, 12), 4)
        if self.kind == "disk":
            header = ("Disk", "read", "write", "rd/s", "wr/s")
            a_name, b_name = "disk.read_bytes_per_s", "disk.write_bytes_per_s"
            items = [
                (
                    d.name,
                    d.read_bytes_per_s,
                    d.write_bytes_per_s,
                    d.read_ops_per_s,
                    d.write_ops_per_s,
                )
                for d in s.disks
            ]
        else:
            header = ("Net", "rx", "tx", "rxp/s", "txp/s")
            a_name, b_name = "net.rx_bytes_per_s", "net.tx_bytes_per_s"
            items = [
                (n.name, n.rx_bytes_per_s, n.tx_bytes_per_s, n.rx_packets_per_s, n.tx_packets_per_s)
                for n in s.nets
            ]
        text.append(
            f"{header[0]:<{name_w}} {header[1]:>9} {header[2]:>9} {header[3]:>6} {header[4]:>6}",
            self.label_style,
        )
        graph_rows = 2 if self.size.height >= 6 else 1
        list_rows = max(self.size.height - 2 - graph_rows, 0)
        if not items:
            text.append("\n(none)")
            list_rows -= 1
        for name, a, b, ops_a, ops_b in items[: max(list_rows, 0)]:
            text.append(
                f"\n{name[:name_w]:<{name_w}} {human_rate(a):>9} {human_rate(b):>9} "
                f"{human_count(ops_a):>6} {human_count(ops_b):>6}"
            )
        total_a, total_b = sum(i[1] for i in items), sum(i[2] for i in items)
        text.append(f"\n{'total':<{name_w}} ", self.label_style)
        text.append(f"{human_rate(total_a):>9} {human_rate(total_b):>9}")
        series_a = h.series(a_name).values()
        series_b = h.series(b_name).values()
        combined = [x + y for x, y in zip(series_a, series_b, strict=False)]
        top = max(max(combined[-2 * width :], default=0.0), 1024.0)
        for _ in range(max(self.size.height - 2 - len(items[:list_rows]) - graph_rows, 0)):
            text.append("\n")
        self.graph(text, combined, width, graph_rows, top)
        return text


class TempPanel(Panel):
    """Temperatures; the dashboard hides this panel when the machine exposes none."""

    def render_text(self, s: SystemSample, h: SystemHistory) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        for i, t in enumerate(s.temps):
            if i:
                text.append("\n")
            crit = t.critical_c or 100.0
            high = t.high_c or crit * 0.85
            text.append(f"{t.label[:14]:<14} ", self.label_style)
            level = level_of(t.current_c, high, crit)
            text.append(f"{t.current_c:5.1f}°C", self.level_style(level))
        return text
