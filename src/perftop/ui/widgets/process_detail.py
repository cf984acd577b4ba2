"""The process detail pane: everything the table has no room for, for one process.

It renders a ProcessDetail the app read off the UI thread; fields the kernel would not show us
say so instead of disappearing, so a user knows to retry as root. Given the growth model
(`growth`, set by the dashboard), it also draws the process's memory over time, its trend and
when it would run out (`MemoryView`). Its WAIT% (run-queue wait) is drawn with its history
since the pane showed the process (`WaitHistory`), and its TCP connections with their rates.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from perftop.system.growth import WARN_WITHIN_S, GrowthModel, window_label
from perftop.system.trend import Exhaustion, Growth, time_to_exhaustion
from perftop.ui.braille import braille_graph
from perftop.ui.fmt import human_bytes, human_count, human_rate, printable
from perftop.ui.widgets.process_table import growth_per_min

if TYPE_CHECKING:  # the reader (psutil calls) loads when a detail is first asked for
    from perftop.system.detail import ProcessDetail
    from perftop.system.memprobe import MemoryProbe

DENIED = "(permission denied)"
SMAPS_DENIED = "unreadable: another user's process (run perftop as root or as its owner)"
NET_UNCOUNTED = "rates not counted for it (F1 says what NET/s leaves out)"
GRAPH_ROWS = 3
_INDENT = " " * 10
WAIT_HISTORY = 240  # ticks of WAIT% the pane keeps for the process it shows
MAX_CONNECTIONS = 50


class WaitHistory:
    """The WAIT% of the process the pane shows, one value a tick, since it was first shown;
    another process starts afresh."""

    def __init__(self, size: int = WAIT_HISTORY) -> None:
        self.key: tuple[int, float | None] | None = None
        self.values: deque[float] = deque(maxlen=size)
        self._at: float | None = None

    def add(self, d: ProcessDetail) -> list[float]:
        key = (d.pid, d.create_time)
        if key != self.key:
            self.key, self._at = key, None
            self.values.clear()
        if d.wait_percent is not None and d.wait_at is not None and d.wait_at != self._at:
            self._at = d.wait_at
            self.values.append(d.wait_percent)
        return list(self.values)


class MemoryView(NamedTuple):
    """What the pane shows of a process's memory over time, from the growth model."""

    values: list[int]  # RSS in bytes, oldest first, evenly spaced over `span_s`
    span_s: float
    growth: Growth | None
    window_s: float
    exhaustion: Exhaustion | None
    first_probe: tuple[float, MemoryProbe] | None = None  # a suspect's memory kinds, then
    last_probe: tuple[float, MemoryProbe] | None = None  # and now


def memory_view(model: GrowthModel, d: ProcessDetail, slots: int) -> MemoryView | None:
    """The model's view of the process the detail is of (None if it has no history)."""
    if d.create_time is None:
        return None
    values, span = model.series(d.pid, d.create_time, slots)
    if not values:
        return None
    growth = model.growth(d.pid, d.create_time)
    exhaustion = None
    if growth is not None and growth.suspect:
        cg = d.cgroup_memory  # read with the detail: fresher than a suspect's probe
        exhaustion = time_to_exhaustion(
            growth.bytes_per_min,
            model.available_bytes,
            cg.limit_bytes if cg else None,
            cg.usage_bytes if cg else None,
            cg.path if cg else None,
        )
    first, last = model.probes(d.pid, d.create_time)
    return MemoryView(values, span, growth, model.window_s, exhaustion, first, last)


def about(seconds: float) -> str:
    """`~42 min`, `~3.5 h`, `~4 days`: how long until it runs out."""
    if seconds < 60:
        return "under a minute"
    if seconds < 3600:
        return f"~{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"~{seconds / 3600:.1f} h"
    return f"~{round(seconds / 86400)} days"


def forecast_text(ex: Exhaustion) -> str:
    """`at +3.1M/min, out of memory in ~42 min (cgroup limit 512M)`."""
    rate = growth_per_min(ex.bytes_per_min).removesuffix("/m") + "/min"
    if ex.limit_bytes is not None:
        against = f"cgroup limit {human_bytes(ex.limit_bytes)}"
    else:
        against = f"machine's available memory {human_bytes(ex.headroom_bytes)}"
    when = "now" if ex.seconds <= 0 else f"in {about(ex.seconds)}"
    return f"at {rate}, out of memory {when} ({against})"


def _span(seconds: float) -> str:
    return f"{round(seconds / 60)} min" if seconds >= 90 else f"{round(seconds)} s"


def _memory_over_time(text: Text, m: MemoryView, width: int) -> None:
    low, high = min(m.values), max(m.values)
    # From a floor under the lowest value, not from 0: a leak of 30M in 800M shows its shape.
    floor = max(low - (high - low) // 4, 0)
    graph_w = max(width - len(_INDENT), 8)
    rows = braille_graph([v - floor for v in m.values], graph_w, GRAPH_ROWS, max(high - floor, 1))
    for row in rows:
        text.append(_INDENT)
        text.append(row + "\n", "cyan")
    text.append(_INDENT)
    text.append(
        f"last {_span(m.span_s)}: {human_bytes(m.values[0])} → {human_bytes(m.values[-1])}"
        f"  (min {human_bytes(low)}, max {human_bytes(high)})\n",
        "dim",
    )
    g = m.growth
    text.append(f"{'growth':<10}", "bold")
    if g is None:
        text.append(f"not enough history yet for the {window_label(m.window_s)} window\n", "dim")
    else:
        text.append(f"{growth_per_min(g.bytes_per_min).removesuffix('/m')}/min over ")
        text.append(f"{window_label(g.window_s)} · ")
        if g.suspect:
            text.append(f"LEAK SUSPECT: {g.reason}\n", "bold red")
        else:
            text.append(f"no leak: {g.reason}\n")
    if m.exhaustion is not None:
        soon = m.exhaustion.seconds < WARN_WITHIN_S
        text.append(f"{'runs out':<10}", "bold")
        text.append(forecast_text(m.exhaustion) + "\n", "bold" if soon else "")


def _kinds(text: Text, d: ProcessDetail, m: MemoryView | None) -> None:
    text.append(f"{'kinds':<10}", "bold")
    if d.smaps is None:
        if "smaps" in d.denied:
            text.append(SMAPS_DENIED + "\n", "dim italic")
        else:
            text.append("-\n", "dim")
        return
    k = d.smaps
    text.append(
        f"anon {human_bytes(k.anonymous_bytes)}  file {human_bytes(k.file_bytes)}  "
        f"shared {human_bytes(k.shared_bytes)}  swap {human_bytes(k.swap_bytes)}  "
        f"PSS {human_bytes(k.pss_bytes)}  USS {human_bytes(k.uss_bytes)}\n"
    )
    if m is None or m.first_probe is None or m.last_probe is None:
        return
    (then, first), (now, last) = m.first_probe, m.last_probe
    if first.smaps is None or last.smaps is None or now <= then:
        return
    anon = last.smaps.anonymous_bytes - first.smaps.anonymous_bytes
    file = last.smaps.file_bytes - first.smaps.file_bytes
    text.append(_INDENT)
    text.append(
        f"anon {_signed(anon)}, file {_signed(file)} in the last {_span(now - then)}"
        " (a suspect's kinds, read every 30 s)\n",
        "dim",
    )


def _signed(n: int) -> str:
    return ("+" if n >= 0 else "-") + human_bytes(abs(n))


def _wait(text: Text, d: ProcessDetail, history: list[float], width: int) -> None:
    """WAIT% now, what it means, and its history as a one-row graph."""
    text.append(f"{'wait':<10}", "bold")
    if d.wait_percent is None:
        text.append("-", "dim")
        text.append(" (runnable, waiting for a CPU: known from its second tick)\n", "dim")
    else:
        text.append(f"{d.wait_percent:.1f}%")
        text.append(" of the tick runnable, waiting for a CPU\n", "dim")
    if len(history) > 1:
        peak = f" max {max(history):.1f}%"
        graph_w = max(width - len(_INDENT) - len(peak), 8)
        (row,) = braille_graph(history[-2 * graph_w :], graph_w, 1, max(max(history), 10.0))
        text.append(_INDENT)
        text.append(row, "cyan")
        text.append(peak + "\n", "dim")
    if d.blkio_percent is not None:
        _field(text, "blkio", f"{d.blkio_percent:.1f}% waiting for block I/O")


def _connections(text: Text, d: ProcessDetail) -> None:
    """Its TCP connections with their rates where counted, else what psutil lists."""
    listed = d.connections or ()
    # What sock_diag's list lacks: listening sockets and UDP (psutil's NONE state).
    others = [c for c in listed if c.status in ("LISTEN", "NONE")]
    if d.tcp is None:
        text.append(f"\nconnections ({len(listed)})\n", "bold underline")
        if d.connections is None:
            text.append(DENIED + "\n", "dim italic")
        else:
            text.append(f"  {NET_UNCOUNTED}\n", "dim italic")
        for laddr, raddr, status in listed[:MAX_CONNECTIONS]:
            text.append(f"  {laddr} -> {raddr or '*'} {status}\n")
        return
    age = ""
    if d.tcp_at is not None:  # against the tick the rest is of: the network's own pace
        ago = max((d.wait_at if d.wait_at is not None else time.time()) - d.tcp_at, 0.0)
        age = f", rates of {ago:.0f} s before the tick" if ago >= 1.5 else ""
    text.append(f"\nconnections ({len(d.tcp)} TCP{age})\n", "bold underline")
    if d.tcp:
        text.append(f"  {'rx':>7} {'tx':>7}  local -> remote  state\n", "dim")
    for c in d.tcp[:MAX_CONNECTIONS]:
        text.append(f"  {human_rate(c.rx_bytes_per_s):>7} {human_rate(c.tx_bytes_per_s):>7}  ")
        text.append(f"{c.local} -> {c.remote}  {c.state}\n")
    for laddr, raddr, status in others[:MAX_CONNECTIONS]:
        kind = "listening" if status == "LISTEN" else "udp"
        text.append(f"  {laddr} -> {raddr or '*'} {kind}\n", "dim")


def _field(text: Text, label: str, value: object, denied: bool = False) -> None:
    text.append(f"{label:<10}", "bold")
    if denied:
        text.append(DENIED, "dim italic")
    elif value is None or value == "":
        text.append("-", "dim")
    else:
        text.append(printable(str(value)))
    text.append("\n")


def render_detail(
    d: ProcessDetail,
    *,
    show_environ: bool = True,
    memory: MemoryView | None = None,
    width: int = 60,
    waits: list[float] | None = None,
) -> Text:
    """The pane's text, `width` columns wide; pure, so snapshot-free tests can check what it
    says."""
    denied = set(d.denied)
    text = Text(no_wrap=False)
    text.append(f"{d.pid} {printable(d.name or '')}\n", "bold reverse")
    _field(text, "command", " ".join(d.cmdline) if d.cmdline else None, "cmdline" in denied)
    _field(text, "exe", d.exe, "exe" in denied)
    _field(text, "cwd", d.cwd, "cwd" in denied)
    _field(text, "user", d.user)
    _field(text, "status", d.status)
    if d.create_time:
        _field(text, "started", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.create_time)))
    _field(text, "nice", d.nice)
    if d.memory is not None:
        rss, vms, shared = d.memory
        _field(
            text,
            "memory",
            f"rss {human_bytes(rss)}  vms {human_bytes(vms)}  shr {human_bytes(shared)}",
        )
    if memory is not None:
        _memory_over_time(text, memory, width)
    if d.smaps is not None or "smaps" in denied:
        _kinds(text, d, memory)
    if d.cpu_times is not None:
        user, system = d.cpu_times
        _field(text, "cpu time", f"user {user:.2f}s  sys {system:.2f}s")
    _wait(text, d, waits or [], width)
    if d.io is not None:
        rb, wb, rc, wc = d.io
        _field(
            text,
            "I/O",
            f"read {human_bytes(rb)} ({human_count(rc)} ops)  "
            f"write {human_bytes(wb)} ({human_count(wc)} ops)",
        )
    else:
        _field(text, "I/O", None, "io" in denied)
    if d.ctx_switches is not None:
        vol, invol = d.ctx_switches
        _field(text, "ctx sw", f"voluntary {vol}  involuntary {invol}")
    if d.gpus:
        use = "-" if d.gpu_percent is None else f"{d.gpu_percent:.1f}%"
        held = "-" if d.gpu_memory_bytes is None else human_bytes(d.gpu_memory_bytes)
        _field(text, "GPU", f"SM {use}  memory {held}")
        for gpu in d.gpus:
            text.append(f"  {printable(gpu)}\n")
    _field(text, "container", d.container)
    _field(text, "cgroup", (d.cgroup or "").strip().replace("\n", " | "), "cgroup" in denied)

    _connections(text, d)  # before the long lists: its rates change every tick

    text.append(f"\nthreads ({d.num_threads or 0})\n", "bold underline")
    if d.threads is None:
        text.append(DENIED + "\n", "dim italic")
    for tid, user, system in (d.threads or [])[:50]:
        text.append(f"  {tid:>7}  user {user:7.2f}s  sys {system:7.2f}s\n")

    text.append(f"\nopen files ({len(d.open_files or [])})\n", "bold underline")
    if d.open_files is None:
        text.append(DENIED + "\n", "dim italic")
    for path in (d.open_files or [])[:50]:
        text.append(f"  {printable(path)}\n")

    if show_environ:
        text.append(f"\nenvironment ({len(d.environ or {})})\n", "bold underline")
        if d.environ is None:
            text.append(DENIED + "\n", "dim italic")
        for key, value in sorted((d.environ or {}).items()):
            text.append(f"  {printable(key)}=", "bold")
            text.append(f"{printable(value)}\n")
    return text


class ProcessDetailPane(VerticalScroll):
    """A scrollable pane; the app hands it a detail (or a reason there is none)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.growth: GrowthModel | None = None  # every process's memory history, if kept
        self.waits = WaitHistory()

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="detail-body")

    def show_detail(self, detail: ProcessDetail) -> None:
        width = max(self.scrollable_content_region.width - 1, 20)
        memory = None
        if self.growth is not None:
            memory = memory_view(self.growth, detail, 2 * max(width - len(_INDENT), 8))
        waits = self.waits.add(detail)
        body = render_detail(detail, memory=memory, width=width, waits=waits)
        self.query_one("#detail-body", Static).update(body)

    def show_message(self, message: str) -> None:
        self.query_one("#detail-body", Static).update(Text(message, "italic"))
