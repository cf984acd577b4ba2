"""`perftop serve`: the machine and its busiest processes as Prometheus metrics, headless.

Names follow node_exporter's conventions (base units in the name, `_total` for counters) with
a `perftop_` prefix, so dashboards built for node_exporter translate directly. Counters are
exported as counters and left to PromQL's `rate()`; process CPU% is a gauge because
per-process counters for every PID would make label cardinality unbounded. Only the top N
processes by CPU and the top N by memory are exported, so a scrape holds at most 2N process
series per metric however many processes the machine runs.

Sampling happens at scrape time (no background loop costs CPU between scrapes): rates and
process CPU% then cover the interval since the previous scrape, as Prometheus expects.
The HTTP server is `commands/serve_http.py`'s, bounded in threads and connections, with timeouts.
The same server answers `/debug/pprof/profile` with a pprof profile of a process
(`commands/serve_pprof.py`), and `--push` sends profiles to Pyroscope (`commands/serve_push.py`),
whose figures join the metrics. NVIDIA GPUs, where the machine has them, are exported under
the names NVIDIA's DCGM exporter uses (`DCGM_FI_DEV_GPU_UTIL`, `DCGM_FI_DEV_FB_USED`, ...).
"""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil  # type: ignore[import-untyped, unused-ignore]
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from perftop.commands.common import StopSignals
from perftop.commands.serve_http import BoundedWSGIServer, start_wsgi
from perftop.system.pressure import stall_seconds
from perftop.system.samples import ProcessRow, ProcessSnapshot, SystemSample

if TYPE_CHECKING:
    from perftop.commands.serve_pprof import ProfileEndpoint
    from perftop.commands.serve_push import PushConfig
    from perftop.profiling.backend import ProfilerOptions
    from perftop.system.source import SystemSource

DEFAULT_LISTEN = "127.0.0.1:9464"  # 9464: the port the OpenTelemetry Prometheus exporter uses
DEFAULT_TOP_N = 10
MAX_TOP_N = 500
# Two Prometheus servers scraping at once would otherwise halve each other's rate windows.
MIN_SAMPLE_INTERVAL_S = 1.0


class ServeError(Exception):
    """A bad --listen value or a port that cannot be bound; one line for the CLI."""


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/metrics"

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_listen(text: str) -> Listen:
    """`HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces, only when asked for)."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ServeError(f"invalid --listen {text!r}: use HOST:PORT, e.g. {DEFAULT_LISTEN}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        port = int(port_text)
    except ValueError:
        raise ServeError(f"invalid port in --listen {text!r}") from None
    if not 0 < port < 65536:
        raise ServeError(f"port {port} out of range in --listen {text!r}: 1 to 65535")
    return Listen(host or "0.0.0.0", port)


class PerftopCollector(Collector):
    """A prometheus_client collector that samples perftop's collectors on each scrape."""

    def __init__(
        self,
        source: SystemSource | None = None,
        *,
        top_n: int = DEFAULT_TOP_N,
        psutil_module: Any = psutil,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if source is None:
            # The dashboard's own source, built here so `perftop serve --help` stays fast.
            from perftop.system.source import LiveSource

            source = LiveSource()
        self._source = source
        self._top_n = top_n
        self._ps = psutil_module
        self._clock = clock
        self._lock = threading.Lock()  # the HTTP server answers scrapes on several threads
        self._cached: list[Metric] = []
        self._cached_at: float | None = None

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            now = self._clock()
            fresh = self._cached_at is not None and now - self._cached_at < MIN_SAMPLE_INTERVAL_S
            if not fresh:
                self._cached = list(self._metrics())
                self._cached_at = now
            return list(self._cached)

    def _metrics(self) -> Iterator[Metric]:
        sample = self._source.sample_system()
        snapshot = self._source.sample_processes()
        yield from self._cpu(sample)
        yield from _memory(sample)
        yield from _io(sample)
        yield from _pressure(sample)
        yield from _system(sample, snapshot)
        yield from _processes(snapshot, self._top_n)
        yield from _network_and_wait(snapshot, self._top_n)
        if sample.notice is not None:  # the GPUs' driver refused: said once, then not shown
            print(f"perftop serve: {sample.notice}", file=sys.stderr, flush=True)
        yield from _gpus(sample)
        yield from _gpu_processes(snapshot, self._top_n)

    def _cpu(self, sample: SystemSample) -> Iterator[Metric]:
        seconds = CounterMetricFamily(
            "perftop_cpu_seconds",
            "Seconds the CPUs spent in each mode.",
            labels=["cpu", "mode"],
        )
        try:
            per_cpu = self._ps.cpu_times(percpu=True)
        except (OSError, NotImplementedError, AttributeError):
            per_cpu = []
        for i, times in enumerate(per_cpu):
            for mode, value in times._asdict().items():
                seconds.add_metric([str(i), mode], float(value))
        yield seconds
        busy = GaugeMetricFamily(
            "perftop_cpu_busy_percent",
            "CPU busy since the previous scrape, as perftop shows it (100 = all of a CPU).",
            labels=["cpu"],
        )
        busy.add_metric(["all"], sample.cpu.total_percent)
        for i, percent in enumerate(sample.cpu.per_core_percent):
            busy.add_metric([str(i)], percent)
        yield busy
        if sample.cpu.freq_mhz is not None:
            yield GaugeMetricFamily(
                "perftop_cpu_frequency_hertz",
                "Current CPU frequency.",
                value=sample.cpu.freq_mhz * 1e6,
            )


def _memory(sample: SystemSample) -> Iterator[Metric]:
    mem = sample.memory
    figures = {
        "perftop_memory_total_bytes": (mem.total_bytes, "Physical memory."),
        "perftop_memory_used_bytes": (mem.used_bytes, "Memory in use (as perftop shows it)."),
        "perftop_memory_available_bytes": (
            mem.available_bytes,
            "Memory available for new work.",
        ),
        "perftop_memory_free_bytes": (mem.free_bytes, "Memory not used at all."),
        "perftop_memory_cached_bytes": (mem.cached_bytes, "Page cache."),
        "perftop_memory_buffers_bytes": (mem.buffers_bytes, "Kernel buffers."),
        "perftop_swap_total_bytes": (mem.swap_total_bytes, "Swap space."),
        "perftop_swap_used_bytes": (mem.swap_used_bytes, "Swap in use."),
    }
    for name, (value, doc) in figures.items():
        yield GaugeMetricFamily(name, doc, value=float(value))


def _device_counters(
    first: tuple[str, str], second: tuple[str, str], devices: Iterable[tuple[str, int, int]]
) -> Iterator[Metric]:
    """Two counter families (name, help) labelled by device, from (device, first, second)."""
    a = CounterMetricFamily(*first, labels=["device"])
    b = CounterMetricFamily(*second, labels=["device"])
    for device, value_a, value_b in devices:
        a.add_metric([device], float(value_a))
        b.add_metric([device], float(value_b))
    yield a
    yield b


def _io(sample: SystemSample) -> Iterator[Metric]:
    yield from _device_counters(
        ("perftop_disk_read_bytes", "Bytes read from the device."),
        ("perftop_disk_written_bytes", "Bytes written to the device."),
        ((d.name, d.read_bytes_total, d.write_bytes_total) for d in sample.disks),
    )
    yield from _device_counters(
        ("perftop_network_receive_bytes", "Bytes received on the interface."),
        ("perftop_network_transmit_bytes", "Bytes sent on the interface."),
        ((n.name, n.rx_bytes_total, n.tx_bytes_total) for n in sample.nets),
    )
    if sample.temps:
        temps = GaugeMetricFamily(
            "perftop_temperature_celsius", "Sensor temperature.", labels=["sensor"]
        )
        for temp in sample.temps:
            temps.add_metric([temp.label], temp.current_c)
        yield temps


def _system(sample: SystemSample, snapshot: ProcessSnapshot) -> Iterator[Metric]:
    for minutes, value in zip((1, 5, 15), sample.load_avg, strict=True):
        yield GaugeMetricFamily(f"perftop_load{minutes}", f"{minutes}m load average.", value=value)
    yield GaugeMetricFamily(
        "perftop_boot_time_seconds",
        "Boot time, seconds since the Unix epoch.",
        value=sample.timestamp - sample.uptime_s,
    )
    yield GaugeMetricFamily("perftop_cpus", "Number of logical CPUs.", value=sample.core_count)
    yield GaugeMetricFamily(
        "perftop_processes", "Processes on the machine.", value=len(snapshot.rows)
    )
    states = GaugeMetricFamily(
        "perftop_processes_state", "Processes in each state (R, S, D, Z, ...).", labels=["state"]
    )
    counts: dict[str, int] = {}
    for row in snapshot.rows.values():
        counts[row.state] = counts.get(row.state, 0) + 1
    for state, count in sorted(counts.items()):
        states.add_metric([state], count)
    yield states


_STALL_HELP = {
    "some": "Seconds at least one task stalled waiting for the resource",
    "full": "Seconds all non-idle tasks stalled on the resource at once",
}


def _pressure(sample: SystemSample) -> Iterator[Metric]:
    """The kernel's pressure stall totals under node_exporter's names (counters of seconds:
    their rate() is the share of time stalled); nothing where the kernel keeps no PSI."""
    if sample.pressure is None:
        return
    for name, resource, kind, seconds in stall_seconds(sample.pressure):
        yield CounterMetricFamily(
            name.removesuffix("_total"),
            f"{_STALL_HELP[kind]} ({resource}, /proc/pressure/{resource}).",
            value=seconds,
        )


def top_by(
    snapshot: ProcessSnapshot, n: int, value: Callable[[ProcessRow], float | None]
) -> list[ProcessRow]:
    """The `n` processes with the most of `value` (those with none or 0 left out), by PID:
    bounded series, as `top_processes`."""
    rows = [r for r in snapshot.rows.values() if (value(r) or 0.0) > 0.0]
    chosen = sorted(rows, key=lambda r: (-(value(r) or 0.0), r.pid))[:n]
    return sorted(chosen, key=lambda r: r.pid)


def _network_and_wait(snapshot: ProcessSnapshot, n: int) -> Iterator[Metric]:
    labels = ["pid", "name", "user"]
    rx = GaugeMetricFamily(
        "perftop_process_network_receive_bytes_per_second",
        "Process TCP payload bytes received a second (sock_diag; not UDP, not other network "
        "namespaces). Top N by TCP traffic only.",
        labels=labels,
    )
    tx = GaugeMetricFamily(
        "perftop_process_network_transmit_bytes_per_second",
        "Process TCP payload bytes sent and acknowledged a second (sock_diag; not UDP, not "
        "other network namespaces). Top N by TCP traffic only.",
        labels=labels,
    )
    for row in top_by(snapshot, n, lambda r: r.net_bytes_per_s):
        values = [str(row.pid), row.name, row.user]
        rx.add_metric(values, row.net_rx_bytes_per_s or 0.0)
        tx.add_metric(values, row.net_tx_bytes_per_s or 0.0)
    wait = GaugeMetricFamily(
        "perftop_process_runqueue_wait_percent",
        "Share of the interval the process was runnable but waiting for a CPU "
        "(/proc/PID/schedstat; 100 = one thread all along). Top N by it only.",
        labels=labels,
    )
    for row in top_by(snapshot, n, lambda r: r.wait_percent):
        wait.add_metric([str(row.pid), row.name, row.user], row.wait_percent or 0.0)
    yield from (rx, tx, wait)


# NVIDIA's DCGM exporter's names, units and labels (MiB for the frame buffer, W, MHz, °C),
# so its Grafana dashboards read perftop's figures as they are.
_DCGM = (
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", lambda g: g.util_percent),
    (
        "DCGM_FI_DEV_FB_USED",
        "Framebuffer memory used (in MiB).",
        lambda g: _mib(g.memory_used_bytes),
    ),
    (
        "DCGM_FI_DEV_FB_FREE",
        "Framebuffer memory free (in MiB).",
        lambda g: _mib(g.memory_free_bytes),
    ),
    ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", lambda g: g.temperature_c),
    ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", lambda g: g.power_w),
    ("DCGM_FI_DEV_POWER_MGMT_LIMIT", "Power management limit (in W).", lambda g: g.power_limit_w),
    ("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", lambda g: g.sm_clock_mhz),
    ("DCGM_FI_DEV_MEM_CLOCK", "Memory clock frequency (in MHz).", lambda g: g.mem_clock_mhz),
)


def _mib(n: int | None) -> float | None:
    return None if n is None else n / 1024**2


def _gpus(sample: SystemSample) -> Iterator[Metric]:
    """Each NVIDIA GPU under DCGM's names; nothing on a machine without one. A figure the
    card does not give is left out, not exported as 0."""
    if not sample.gpus:
        return
    labels = ["gpu", "UUID", "device", "modelName"]
    for name, doc, value in _DCGM:
        family = GaugeMetricFamily(name, doc, labels=labels)
        for g in sample.gpus:
            got = value(g)
            if got is not None:
                family.add_metric([str(g.index), g.uuid, f"nvidia{g.index}", g.name], got)
        yield family


def _gpu_processes(snapshot: ProcessSnapshot, n: int) -> Iterator[Metric]:
    """The top N processes by GPU memory (then SM use), as the other per-process figures."""
    users = [r for r in snapshot.rows.values() if r.gpu_indices]
    if not users:
        return
    labels = ["pid", "name", "user", "gpu"]
    sm = GaugeMetricFamily(
        "perftop_process_gpu_percent",
        "Process SM use on its NVIDIA GPUs, summed (NVML's per-process accounting; 100 = one "
        "whole GPU). Top N by GPU memory only.",
        labels=labels,
    )
    held = GaugeMetricFamily(
        "perftop_process_gpu_memory_bytes",
        "GPU memory the process holds, over its GPUs. Top N by GPU memory only.",
        labels=labels,
    )
    chosen = sorted(users, key=lambda r: (-(r.gpu_memory_bytes or 0), -(r.gpu_percent or 0), r.pid))
    for row in sorted(chosen[:n], key=lambda r: r.pid):
        values = [str(row.pid), row.name, row.user, ",".join(map(str, row.gpu_indices))]
        if row.gpu_percent is not None:
            sm.add_metric(values, row.gpu_percent)
        if row.gpu_memory_bytes is not None:
            held.add_metric(values, float(row.gpu_memory_bytes))
    yield from (sm, held)


def top_processes(snapshot: ProcessSnapshot, n: int) -> list[ProcessRow]:
    """The union of the top `n` by CPU and the top `n` by resident memory, by PID."""
    rows = list(snapshot.rows.values())
    by_cpu = sorted(rows, key=lambda r: (-r.cpu_percent, r.pid))[:n]
    by_mem = sorted(rows, key=lambda r: (-r.rss_bytes, r.pid))[:n]
    chosen = {r.pid: r for r in by_cpu + by_mem}
    return [chosen[pid] for pid in sorted(chosen)]


def _processes(snapshot: ProcessSnapshot, n: int) -> Iterator[Metric]:
    labels = ["pid", "name", "user"]
    cpu = GaugeMetricFamily(
        "perftop_process_cpu_percent",
        "Process CPU since the previous scrape (100 = one whole CPU, as htop). Top N only.",
        labels=labels,
    )
    rss = GaugeMetricFamily(
        "perftop_process_resident_memory_bytes",
        "Process resident memory. Top N only.",
        labels=labels,
    )
    threads = GaugeMetricFamily(
        "perftop_process_threads", "Process threads. Top N only.", labels=labels
    )
    read = GaugeMetricFamily(
        "perftop_process_read_bytes_per_second",
        "Process storage reads since the previous scrape (where readable). Top N only.",
        labels=labels,
    )
    write = GaugeMetricFamily(
        "perftop_process_written_bytes_per_second",
        "Process storage writes since the previous scrape (where readable). Top N only.",
        labels=labels,
    )
    for row in top_processes(snapshot, n):
        values = [str(row.pid), row.name, row.user]
        cpu.add_metric(values, row.cpu_percent)
        rss.add_metric(values, float(row.rss_bytes))
        threads.add_metric(values, float(row.num_threads))
        if row.read_bytes_per_s is not None:
            read.add_metric(values, row.read_bytes_per_s)
        if row.write_bytes_per_s is not None:
            write.add_metric(values, row.write_bytes_per_s)
    yield from (cpu, rss, threads, read, write)


def make_registry(collector: Collector) -> CollectorRegistry:
    """A registry of perftop's metrics plus the exporter's own process metrics (its cost)."""
    from prometheus_client import ProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)  # process_cpu_seconds_total etc. of perftop itself
    return registry


def start_server(
    listen: Listen,
    registry: CollectorRegistry,
    profiles: ProfileEndpoint | None = None,
    **limits: Any,
) -> tuple[BoundedWSGIServer, threading.Thread]:
    """Serve `registry` (and `profiles` under /debug/pprof/) on `listen` from a daemon
    thread: a few workers, idle and slow clients timed out (see `perftop.commands.serve_http`;
    `limits` override its bounds)."""
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if profiles is not None and str(environ.get("PATH_INFO", "")).startswith("/debug/pprof"):
            return profiles(environ, start_response)
        result: Iterable[bytes] = metrics(environ, start_response)
        return result

    return start_wsgi(listen.host, listen.port, app, **limits)


def serve(
    listen: Listen,
    top_n: int,
    *,
    options: ProfilerOptions | None = None,
    push: PushConfig | None = None,
    announce: Callable[[str], None] = print,
) -> int:
    """Serve until SIGINT, SIGTERM or SIGHUP; returns the exit code."""
    import sys

    from perftop import children
    from perftop.commands.serve_pprof import PATH, ProfileEndpoint
    from perftop.profiling.backend import ProfilerOptions

    if not 1 <= top_n <= MAX_TOP_N:
        raise ServeError(f"--top {top_n} out of range: 1 to {MAX_TOP_N}")
    options = options or ProfilerOptions()
    registry = make_registry(PerftopCollector(top_n=top_n))
    profiles = ProfileEndpoint(options)
    pusher = None
    if push is not None:
        from perftop.commands.serve_push import Pusher

        pusher = Pusher(push, options, say=lambda line: print(line, file=sys.stderr, flush=True))
        registry.register(pusher)
    try:
        server, thread = start_server(listen, registry, profiles)
    except OSError as exc:
        raise ServeError(f"cannot listen on {listen.host}:{listen.port}: {exc.strerror}") from None
    where = "" if listen.loopback else " (reachable from other machines)"
    announce(f"perftop: serving Prometheus metrics on {listen.url}{where}")
    announce(f"perftop: and pprof profiles on {listen.base}{PATH}?seconds=N&pid=PID (or name=)")
    if push is not None:
        every = f"{push.every_s:g} s"
        announce(f"perftop: pushing {len(push.targets)} target(s) to {push.url} every {every}")
    try:
        # The headless commands' one signal handling: SIGINT, SIGTERM, SIGHUP end it cleanly.
        with StopSignals() as stop:
            if pusher is not None:
                pusher.start()
            while not stop.event.wait(3600):
                pass
    finally:
        profiles.stop.set()  # captures under way end now, their profilers stopped
        if pusher is not None:
            pusher.stop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        children.terminate_all()
    return 0
