"""The dashboard's meters: CPU, memory and swap, disk and network I/O, temperatures, and the
pressure stall figures (PSI) where the kernel keeps them.

Each panel is given a SystemSample and the SystemHistory and renders them as lines of styled
runs (`Lines`); it computes nothing the model does not already hold. Colours come from ok /
warn / crit levels that the stylesheet maps to colours (NO_COLOR and monochrome themes then
just work).

Inside a container that limits perftop (`SystemSample.container`), the CPU and memory meters
measure against its limits, and their second lines and the top bar say so.

Paused (`behind` set: the moment looked at is that many samples before the newest), the
graphs mark that moment with a cursor cell, showing an older stretch of history when the
moment has left the live window; clicking a graph posts `MomentClicked`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from perftop.system.history import PSI_RESOURCES, Ring, SystemHistory
from perftop.system.levels import OK_LEVELS, SampleLevels
from perftop.system.pressure import PressureSet
from perftop.system.samples import ContainerSample, Level, NetSample, SystemSample
from perftop.ui.braille import bar, braille_graph, shown_samples
from perftop.ui.fmt import human_bytes, human_count, human_rate, human_uptime
from perftop.ui.widgets.process_table import changed_spans

LEVEL_CLASSES = {
    "meter--ok",
    "meter--warn",
    "meter--crit",
    "meter--label",
    "meter--graph",
    "meter--cursor",
}
BOLD = Style(bold=True)

Run = tuple[str, Style | None]


class Lines:
    """A panel's content: lines of (text, style) runs, appended to like a rich Text.

    Not a rich Text because every panel is rebuilt and compared line by line every tick, and a
    Text is dearer to build and split, and four times dearer to render, than these tuples.
    """

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[list[Run]] = [[]]

    def append(self, text: str, style: Style | None = None) -> None:
        """Add `text` to the last line; each newline in it starts a new line."""
        first, *rest = text.split("\n") if "\n" in text else (text,)
        line = self.lines[-1]
        if first:
            if line and line[-1][1] == style:
                # One run per style: every run is a segment with its own escape codes on
                # the way to the terminal.
                line[-1] = (line[-1][0] + first, style)
            else:
                line.append((first, style))
        for part in rest:
            self.lines.append([(part, style)] if part else [])


@dataclass(slots=True)
class Window:
    """The values a graph draws, oldest first, and where they sit in time: value `i` is
    `first_behind - i` samples before the newest; `cursor` is the index of the moment
    looked at, None when live or when that moment is outside the values."""

    values: list[float]
    first_behind: int
    cursor: int | None = None


def _plain(line: list[Run]) -> str:
    return "".join([text for text, _ in line])


class Panel(Widget):
    """A bordered panel that re-renders when given a new sample."""

    COMPONENT_CLASSES = LEVEL_CLASSES

    class MomentClicked(Message):
        """A graph was clicked: go to the moment `behind` samples before the newest."""

        def __init__(self, behind: int) -> None:
            super().__init__()
            self.behind = behind

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sample: SystemSample | None = None
        self.history: SystemHistory | None = None
        self.levels: SampleLevels = OK_LEVELS  # what the sample's figures mean, given with it
        self._shown: list[list[Run]] = []  # each line as last drawn, text and styles
        # self.rich_style and the component classes' styles, kept until the styles change
        # (notify_style_update). Textual's own cache of the latter goes at every refresh, and a
        # panel refreshes every tick: each tick asked every style afresh, ~25 µs each (the
        # ancestors' styles walked), ~0.5 ms a tick for the dashboard's panels.
        self._base: Style | None = None
        self._components: dict[str, Style] = {}
        self.behind: int | None = None  # paused: samples between the moment and the newest
        # The main graph's rows and time axis as last drawn: what a click maps to a moment.
        self._graph_at: tuple[int, int, Window] | None = None

    def show(
        self, sample: SystemSample, history: SystemHistory, levels: SampleLevels = OK_LEVELS
    ) -> None:
        """Take a new sample (and its levels) and repaint only the spans of lines whose text
        changed.

        Panels draw through the Line API (`render_line`) from lines built here, so a partial
        refresh repaints fresh text: an idle machine sends a few bytes per tick, not the panel.
        """
        self.sample = sample
        self.history = history
        self.levels = levels
        if not self.display:  # folded away (small terminal): drawn again once shown
            self._shown = []
            return
        lines = self._build_lines()
        old, self._shown = self._shown, lines
        if len(old) != len(lines):
            self.refresh()
            return
        width = self.size.width
        for y, (before, after) in enumerate(zip(old, lines, strict=True)):
            if before == after:
                continue
            plain_before, plain_after = _plain(before), _plain(after)
            if plain_before != plain_after:
                for start, end in changed_spans(plain_before, plain_after):
                    self.refresh(Region(start, y, end - start, 1))
            else:
                self.refresh(Region(0, y, width, 1))  # same text, new colours (a level changed)

    def _build_lines(self) -> list[list[Run]]:
        if self.sample is None or self.history is None:
            return []
        self._graph_at = None
        return self.render_text(self.sample, self.history).lines

    def render_text(self, s: SystemSample, h: SystemHistory) -> Lines:
        """The panel's content, line by line; each panel draws its own."""
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._base
        if base is None:
            base = self._base = self.rich_style
        if y >= len(self._shown):
            return Strip.blank(width, base)
        segments = [
            Segment(text, base + style if style is not None else base)
            for text, style in self._shown[y]
        ]
        return Strip(segments).extend_cell_length(width, base).crop(0, width)

    def on_resize(self) -> None:
        self._shown = self._build_lines()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._components.clear()

    def _component(self, name: str) -> Style:
        style = self._components.get(name)
        if style is None:
            style = self._components[name] = self.get_component_rich_style(name)
        return style

    def level_style(self, level: Level) -> Style:
        return self._component(f"meter--{level.value}")

    @property
    def label_style(self) -> Style:
        return self._component("meter--label")

    @property
    def graph_style(self) -> Style:
        return self._component("meter--graph")

    def meter(
        self, text: Lines, label: str, figure: str, percent: float, width: int, level: Level
    ) -> None:
        """`label figure ▕████   ▏` with the bar coloured by level.

        The figure comes before the bar, not after it: Textual rewrites a changed line from the
        widget's left edge to the last cell that changed, so a figure that moves every tick at
        the far right would resend the whole line, bar included, every tick.
        """
        text.append(label, self.label_style)
        text.append(figure)
        text.append(" ▕")
        text.append(bar(percent / 100, width), self.level_style(level))
        text.append("▏")

    def pressure_line(self, text: Lines, p: PressureSet, h: SystemHistory, width: int) -> None:
        """`PSI cpu  8.1% ⣀⣠⣤ mem  0.1% ⣀⣀⣀ io  3.4% ⣀⣤⣀`: each resource's `some` avg10 and
        its history, the graphs sharing what `width` leaves after the figures."""
        shown = [(r, v) for r in PSI_RESOURCES if (v := psi_some(p, r)) is not None]
        fixed = 3 + sum(len(PSI_LABELS[r]) + 7 for r, _ in shown)
        spark = (width - fixed - len(shown)) // max(len(shown), 1)
        text.append("PSI", self.label_style)
        for resource, value in shown:
            text.append(f" {PSI_LABELS[resource]} ", self.label_style)
            text.append(f"{value:4.1f}%")
            if spark >= 2:
                values = self.window(h.series(f"psi.{resource}"), spark).values
                (row,) = braille_graph(values, spark, 1, max(max(values, default=0.0), PSI_FLOOR))
                text.append(" ")
                text.append(row, self.graph_style)

    def window(self, ring: Ring, width: int) -> Window:
        """What a graph `width` cells wide draws now (see braille.py), and the cursor.

        Live, or paused on a moment still in view, the graph keeps its fixed time axis. A
        moment further back gets a stretch of history of its own, the moment three quarters
        of the way along it, so some of what followed shows too.
        """
        count = self.history.count if self.history is not None else len(ring)
        n = min(shown_samples(count, width), len(ring))
        behind = self.behind
        if behind is None or behind < n:
            cursor = None if behind is None else n - 1 - behind
            return Window(ring.last(n), n - 1, cursor)
        size = len(ring)
        if behind >= size:  # older than the graphs keep: no cursor to draw
            return Window(ring.values()[: 2 * width], size - 1)
        at = size - 1 - behind  # the moment's index, oldest first
        slots = 2 * max(width, 1)
        end = min(at + 1 + slots // 4, size)
        start = max(end - slots, 0)
        return Window(ring.values()[start:end], size - 1 - start, at - start)

    def graph(
        self, text: Lines, window: Window, width: int, height: int, top: float, *, main: bool = True
    ) -> None:
        """Draw `window` as `height` rows; `main`: the graph a click on the panel reads."""
        if main:
            self._graph_at = (len(text.lines), height, window)
        cell = None if window.cursor is None else window.cursor // 2
        for row in braille_graph(window.values, width, height, top):
            text.append("\n")
            self.graph_row(text, row, cell)

    def graph_row(self, text: Lines, row: str, cell: int | None) -> None:
        """One row of a graph, the paused moment's `cell` (None: live) marked."""
        if cell is None or cell >= len(row):
            text.append(row, self.graph_style)
            return
        text.append(row[:cell], self.graph_style)
        text.append(row[cell], self.cursor_style)
        text.append(row[cell + 1 :], self.graph_style)

    @property
    def cursor_style(self) -> Style:
        return self._component("meter--cursor")

    def on_click(self, event: events.Click) -> None:
        """A click on the main graph goes to that moment (two samples share a cell: the
        newer of them)."""
        offset = event.get_content_offset(self)
        where = self._graph_at
        if offset is None or where is None:
            return
        first_row, rows, window = where
        if not first_row <= offset.y < first_row + rows or not window.values:
            return
        index = min(2 * offset.x + 1, len(window.values) - 1)
        if 2 * offset.x >= len(window.values):
            return  # past the newest sample: the graph's empty right part
        event.stop()
        self.post_message(self.MomentClicked(window.first_behind - index))


PSI_LABELS = {"cpu": "cpu", "memory": "mem", "io": "io"}
PSI_FLOOR = 10.0  # % a PSI graph's top never goes below: a 0.3 % stall stays a ripple


def psi_some(p: PressureSet | None, resource: str) -> float | None:
    """A resource's `some` avg10 (% of the last 10 s some task stalled on it)."""
    got = p.of(resource) if p is not None else None
    return got.some.avg10 if got is not None and got.some is not None else None


def psi_short(p: PressureSet) -> str:
    """` PSI c8 m0 i3`: the three figures where a line has no room for their graphs."""
    parts = [
        f"{PSI_LABELS[r][0]}{v:.0f}" for r in PSI_RESOURCES if (v := psi_some(p, r)) is not None
    ]
    return " PSI " + " ".join(parts) if parts else ""


def cpu_limited(s: SystemSample) -> ContainerSample | None:
    """perftop's container, where it limits the CPU and its use is known."""
    own = s.container
    if own is None or own.cpu_limit_cores is None or own.cpu_percent is None:
        return None
    return own


def memory_limited(s: SystemSample) -> ContainerSample | None:
    own = s.container
    if own is None or own.memory_limit_bytes is None or own.memory_used_bytes is None:
        return None
    return own


def used_of(used: int, total: int) -> str:
    """' 428M/1.9G', right-aligned to the widest such figure so that the bar after it stays
    put while the figure changes length, and the memory and swap bars line up."""
    return f"{human_bytes(used)}/{human_bytes(total)}".rjust(11)


class CpuPanel(Panel):
    """Total CPU with its user / system / iowait split, history, and every core."""

    def render_text(self, s: SystemSample, h: SystemHistory) -> Lines:
        text = Lines()
        width = max(self.size.width, 20)
        c = s.cpu
        own = cpu_limited(s)
        percent = own.cpu_percent if own is not None else None
        total = c.total_percent if percent is None else percent
        figure = f"{total:5.1f}%"
        self.meter(text, "CPU ", figure, total, max(width - 13, 4), self.levels.cpu)
        text.append("\n")
        if own is not None and own.cpu_limit_cores is not None:
            text.append("of container's ", self.label_style)
            text.append(f"{own.cpu_limit_cores:g} cores  ")
            text.append("host ", self.label_style)
            text.append(f"{c.total_percent:4.1f}% of {s.core_count}")
        else:
            text.append(f"usr {c.user_percent:4.1f}  sys {c.system_percent:4.1f}  ")
            text.append(f"io {c.iowait_percent:4.1f}", self.level_style(self.levels.iowait))
            freq = f"  {c.freq_mhz / 1000:.2f}GHz" if c.freq_mhz else ""
            text.append(f"  {s.core_count} cores{freq}")
        psi = 0
        if s.pressure is not None:  # in place of a graph row (the dashboard sizes it so)
            text.append("\n")
            self.pressure_line(text, s.pressure, h, width)
            psi = 1
        cores = self.core_rows(len(c.per_core_percent), width)
        graph_rows = max(self.size.height - 2 - psi - cores, 1)
        series = "cpu.total" if own is None else "container.cpu_percent"
        self.graph(text, self.window(h.series(series), width), width, graph_rows, 100.0)
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

    def _cores(self, text: Lines, s: SystemSample, h: SystemHistory, width: int) -> None:
        cores = s.cpu.per_core_percent
        levels = self.levels.cores
        cols = self.core_columns(width)
        cell = width // cols
        spark = max(cell - 10, 2)
        for i, pct in enumerate(cores):
            text.append("\n" if i % cols == 0 else " ")
            values = self.window(h.series(f"cpu.core{i}"), spark).values
            (row,) = braille_graph(values, spark, 1, 100.0)
            # The figure before the sparkline, as in the CPU meter: see `Panel.meter`.
            text.append(f"{i:>2}", self.label_style)
            text.append(f"{pct:5.1f}%".rjust(cell - spark - 3) + " ")
            level = levels[i] if i < len(levels) else Level.OK
            text.append(row[:spark], self.level_style(level))


class SystemPanel(Panel):
    """Load, uptime and the figures that have no graph."""

    def render_text(self, s: SystemSample, h: SystemHistory) -> Lines:
        text = Lines()
        one, five, fifteen = s.load_avg
        if s.hostname:
            text.append(s.hostname, BOLD)
            text.append("  ")
        text.append("load ", self.label_style)
        text.append(f"{one:.2f}", self.level_style(self.levels.load))
        text.append(f" {five:.2f} {fifteen:.2f}  ")
        text.append("up ", self.label_style)
        text.append(human_uptime(s.uptime_s))
        own = s.container
        if own is not None:
            text.append("  in a container ", self.label_style)
            limits = []
            if own.cpu_limit_cores is not None:
                limits.append(f"{own.cpu_limit_cores:g} cores")
            if own.memory_limit_bytes is not None:
                limits.append(human_bytes(own.memory_limit_bytes))
            text.append("limited to " + ", ".join(limits) + ": the meters measure against it")
        return text


class MemoryPanel(Panel):
    """Memory and swap: used, cached/buffers, available, with history; and, when the
    dashboard gives one (`warning`: ways to say it, longest first; the first that fits is
    shown), the line saying which process runs out of memory soon, in place of the graph's
    top row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.warning: tuple[str, ...] = ()

    def render_text(self, s: SystemSample, h: SystemHistory) -> Lines:
        text = Lines()
        m = s.memory
        width = max(self.size.width, 20)
        own = memory_limited(s)
        if own is not None and own.memory_limit_bytes and own.memory_used_bytes is not None:
            figure = used_of(own.memory_used_bytes, own.memory_limit_bytes)
            percent = own.memory_percent or 0.0
        else:
            figure, percent = used_of(m.used_bytes, m.total_bytes), m.used_percent
        level = self.levels.memory
        self.meter(text, "Mem ", figure, percent, max(width - 7 - len(figure), 4), level)
        text.append("\n")
        if own is not None:
            text.append("of container's limit ", self.label_style)
            text.append(human_bytes(own.memory_limit_bytes or 0))
            text.append("  host avail ", self.label_style)
            text.append(human_bytes(m.available_bytes))
        else:
            text.append("cache ", self.label_style)
            text.append(human_bytes(m.cached_bytes + m.buffers_bytes))
            text.append("  avail ", self.label_style)
            text.append(human_bytes(m.available_bytes))
            text.append("  free ", self.label_style)
            text.append(human_bytes(m.free_bytes))
        text.append("\n")
        if m.swap_total_bytes:
            figure = used_of(m.swap_used_bytes, m.swap_total_bytes)
            rest = max(width - 7 - len(figure), 4)
            self.meter(text, "Swp ", figure, m.swap_percent, rest, self.levels.swap)
        else:
            text.append("Swp ", self.label_style)
            text.append("no swap")
        rows = max(self.size.height - 3, 1)
        if self.warning:
            fits = [w for w in self.warning if len(w) + 2 <= width]
            text.append("\n")
            text.append(f"⚠ {(fits or self.warning[-1:])[0]}"[:width], self.level_style(Level.CRIT))
            rows -= 1
        series = "mem.used_percent" if own is None else "container.mem_percent"
        self.graph(text, self.window(h.series(series), width), width, rows, 100.0)
        return text


def wired(nets: tuple[NetSample, ...]) -> list[NetSample]:
    """The interfaces the network panel shows and counts: all but loopback, whose traffic
    never leaves the machine. The same rule as the history's `net.*` sums that the graph
    draws (system/history.py), so that rows, total and graph always agree."""
    return [n for n in nets if n.name != "lo"]


# A row of the I/O panels: name, the two rates, the two operation counts.
_IoRow = tuple[str, float, float, float, float]


class IoPanel(Panel):
    """Per-device disk or per-interface network rates, totals, and a history graph.

    The total is the sum of the same devices the rows list and the graph draws; those that
    have no row left are counted as "+N more" on the total's line.
    """

    def __init__(self, kind: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = kind  # "disk" or "net"

    def _rows(self, s: SystemSample) -> tuple[tuple[str, ...], str, str, list[_IoRow]]:
        """The header, the history series the graph sums, and one row per device."""
        if self.kind == "disk":
            header = ("Disk", "read", "write", "rd/s", "wr/s")
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
            return header, "disk.read_bytes_per_s", "disk.write_bytes_per_s", items
        header = ("Net", "rx", "tx", "rxp/s", "txp/s")
        items = [
            (n.name, n.rx_bytes_per_s, n.tx_bytes_per_s, n.rx_packets_per_s, n.tx_packets_per_s)
            for n in wired(s.nets)
        ]
        return header, "net.rx_bytes_per_s", "net.tx_bytes_per_s", items

    def render_text(self, s: SystemSample, h: SystemHistory) -> Lines:
        text = Lines()
        width = max(self.size.width, 20)
        name_w = max(min(width - 34, 12), 4)
        header, a_name, b_name, items = self._rows(s)
        text.append(
            f"{header[0]:<{name_w}} {header[1]:>9} {header[2]:>9} {header[3]:>6} {header[4]:>6}",
            self.label_style,
        )
        graph_rows = 2 if self.size.height >= 6 else 1
        list_rows = max(self.size.height - 2 - graph_rows, 0)  # between header and total
        shown = items[:list_rows]
        for name, a, b, ops_a, ops_b in shown:
            text.append(
                f"\n{name[:name_w]:<{name_w}} {human_rate(a):>9} {human_rate(b):>9} "
                f"{human_count(ops_a):>6} {human_count(ops_b):>6}"
            )
        used = len(shown)
        if not items and list_rows:
            text.append("\n(none)")
            used = 1
        total_a, total_b = sum(i[1] for i in items), sum(i[2] for i in items)
        text.append(f"\n{'total':<{name_w}} ", self.label_style)
        text.append(f"{human_rate(total_a):>9} {human_rate(total_b):>9}")
        hidden = len(items) - len(shown)
        if hidden:
            # Where the rows have their operation counts: the total has none of its own.
            text.append(f" {f'+{hidden} more':>13}", self.label_style)
        text.append("\n" * (list_rows - used))
        window = self.window(h.series(a_name), width)
        other = self.window(h.series(b_name), width).values
        window.values = [x + y for x, y in zip(window.values, other, strict=False)]
        top = max(max(window.values, default=0.0), 1024.0)
        self.graph(text, window, width, graph_rows, top)
        return text


class TempPanel(Panel):
    """Temperatures; the dashboard hides this panel when the machine exposes none."""

    def render_text(self, s: SystemSample, h: SystemHistory) -> Lines:
        text = Lines()
        levels = self.levels.temps
        for i, t in enumerate(s.temps):
            if i:
                text.append("\n")
            text.append(f"{t.label[:14]:<14} ", self.label_style)
            level = levels[i] if i < len(levels) else Level.OK
            text.append(f"{t.current_c:5.1f}°C", self.level_style(level))
        return text
