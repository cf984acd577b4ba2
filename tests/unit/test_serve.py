"""The Prometheus exporter without a network: a scrape's names and values, bounds, --listen."""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from perftop.commands.serve import (
    PerftopCollector,
    ServeError,
    make_registry,
    parse_listen,
    top_processes,
)
from perftop.system.samples import ProcessRow, ProcessSnapshot
from perftop.system.source import FakeSource

CpuTimes = namedtuple("CpuTimes", "user system idle iowait")


def _fake_psutil() -> SimpleNamespace:
    def cpu_times(percpu: bool = False) -> list[CpuTimes]:
        return [CpuTimes(10.0, 5.0, 100.0, 1.0), CpuTimes(20.0, 6.0, 90.0, 0.5)]

    return SimpleNamespace(cpu_times=cpu_times)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _scrape(collector: PerftopCollector) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = generate_latest(make_registry(collector)).decode()
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found.setdefault(s.name, []).append((s.labels, s.value))
    return found


def _row(pid: int, cpu: float, rss: int, name: str = "p") -> ProcessRow:
    return ProcessRow(pid, 1, name, "root", "S", cpu, 0.0, rss, 1, None, None, 0.0, name)


def test_scrape_has_node_exporter_style_names_and_values() -> None:
    collector = PerftopCollector(FakeSource(), top_n=3, psutil_module=_fake_psutil())
    metrics = _scrape(collector)
    # Counters carry _total; units are in the names.
    assert ({"cpu": "1", "mode": "user"}, 20.0) in metrics["perftop_cpu_seconds_total"]
    assert "perftop_disk_read_bytes_total" in metrics
    assert "perftop_network_receive_bytes_total" in metrics
    ((_, total),) = metrics["perftop_memory_total_bytes"]
    assert total > 0
    assert "perftop_load1" in metrics and "perftop_boot_time_seconds" in metrics
    # The exporter's own cost is visible too.
    assert "process_cpu_seconds_total" in metrics
    cores = {labels["cpu"] for labels, _ in metrics["perftop_cpu_busy_percent"]}
    assert "all" in cores and "0" in cores


def test_process_series_are_bounded_by_top_n() -> None:
    source = FakeSource()
    collector = PerftopCollector(source, top_n=2, psutil_module=_fake_psutil())
    metrics = _scrape(collector)
    pids = {labels["pid"] for labels, _ in metrics["perftop_process_cpu_percent"]}
    assert 1 <= len(pids) <= 4  # top 2 by CPU, plus top 2 by memory
    ((_, count),) = metrics["perftop_processes"]
    assert count > len(pids)


def test_top_processes_is_the_union_of_cpu_and_memory_leaders() -> None:
    rows = {
        1: _row(1, 90.0, 10),
        2: _row(2, 50.0, 20),
        3: _row(3, 0.0, 9000),
        4: _row(4, 0.0, 8000),
        5: _row(5, 1.0, 30),
    }
    chosen = top_processes(ProcessSnapshot(0.0, rows), 2)
    assert [r.pid for r in chosen] == [1, 2, 3, 4]


def test_hostile_process_names_are_escaped_in_the_exposition() -> None:
    evil = 'x"}\nperftop_fake 1\n'
    source = SimpleNamespace(
        sample_system=FakeSource().sample_system,
        sample_processes=lambda: ProcessSnapshot(0.0, {7: _row(7, 99.0, 1, name=evil)}),
    )
    collector = PerftopCollector(source, top_n=1, psutil_module=_fake_psutil())
    text = generate_latest(make_registry(collector)).decode()
    assert "\nperftop_fake 1" not in text
    metrics = _scrape(collector)
    assert metrics["perftop_process_cpu_percent"][0][0]["name"] == evil


def test_scrapes_closer_than_a_second_reuse_one_sample() -> None:
    calls = []
    fake = FakeSource()

    def sample_system():  # type: ignore[no-untyped-def]
        calls.append(1)
        return fake.sample_system()

    source = SimpleNamespace(sample_system=sample_system, sample_processes=fake.sample_processes)
    clock = _Clock()
    collector = PerftopCollector(source, psutil_module=_fake_psutil(), clock=clock)
    _scrape(collector)
    clock.now += 0.2
    _scrape(collector)
    assert len(calls) == 1
    clock.now += 1.5
    _scrape(collector)
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("text", "host", "port", "loopback"),
    [
        ("127.0.0.1:9464", "127.0.0.1", 9464, True),
        ("localhost:80", "localhost", 80, True),
        ("[::1]:9000", "::1", 9000, True),
        (":9464", "0.0.0.0", 9464, False),
        ("10.1.2.3:9464", "10.1.2.3", 9464, False),
    ],
)
def test_parse_listen(text: str, host: str, port: int, loopback: bool) -> None:
    listen = parse_listen(text)
    assert (listen.host, listen.port, listen.loopback) == (host, port, loopback)


@pytest.mark.parametrize("text", ["9464", "host:", "host:http", "host:0", "host:70000"])
def test_parse_listen_rejects_bad_values(text: str) -> None:
    with pytest.raises(ServeError):
        parse_listen(text)


def test_pressure_and_per_process_network_and_waits_are_scraped_bounded() -> None:
    collector = PerftopCollector(FakeSource(), top_n=2, psutil_module=_fake_psutil())
    metrics = _scrape(collector)
    # node_exporter's names for the kernel's pressure stall totals.
    for name in (
        "node_pressure_cpu_waiting_seconds_total",
        "node_pressure_memory_stalled_seconds_total",
        "node_pressure_io_waiting_seconds_total",
    ):
        ((_, seconds),) = metrics[name]
        assert seconds >= 0, name


def test_network_series_are_the_top_n_by_traffic_and_skip_the_uncounted() -> None:
    import dataclasses

    from perftop.commands.serve import _network_and_wait

    rows = {
        pid: dataclasses.replace(
            _row(pid, 1.0, 1 << 20),
            net_rx_bytes_per_s=rx,
            net_tx_bytes_per_s=tx,
            wait_percent=None if rx is None else rx / 100,
        )
        for pid, rx, tx in ((1, 10.0, 5.0), (2, 900.0, 100.0), (3, None, None), (4, 0.0, 0.0))
    }
    snapshot = ProcessSnapshot(timestamp=0.0, rows=rows, core_count=2)
    families = {f.name: f for f in _network_and_wait(snapshot, 1)}
    received = families["perftop_process_network_receive_bytes_per_second"].samples
    assert [(s.labels["pid"], s.value) for s in received] == [("2", 900.0)]
    waits = families["perftop_process_runqueue_wait_percent"].samples
    assert [(s.labels["pid"], s.value) for s in waits] == [("2", 9.0)]


def test_no_pressure_series_where_the_kernel_keeps_none() -> None:
    collector = PerftopCollector(FakeSource(pressure=False), psutil_module=_fake_psutil())
    assert not [name for name in _scrape(collector) if name.startswith("node_pressure")]


def test_gpus_are_exported_under_dcgms_names() -> None:
    metrics = _scrape(PerftopCollector(FakeSource(gpus=2), top_n=3, psutil_module=_fake_psutil()))
    util = metrics["DCGM_FI_DEV_GPU_UTIL"]
    assert {labels["gpu"] for labels, _ in util} == {"0", "1"}
    labels, _ = util[0]
    assert labels["modelName"] == "NVIDIA A100-SXM4-80GB" and labels["UUID"].startswith("GPU-")
    ((_, used), _) = metrics["DCGM_FI_DEV_FB_USED"]
    ((_, free), _) = metrics["DCGM_FI_DEV_FB_FREE"]
    assert used + free == 80 * 1024, "MiB, as DCGM's exporter"
    for name in ("GPU_TEMP", "POWER_USAGE", "SM_CLOCK", "MEM_CLOCK"):
        assert len(metrics[f"DCGM_FI_DEV_{name}"]) == 2
    held = {labels["pid"]: v for labels, v in metrics["perftop_process_gpu_memory_bytes"]}
    assert held == {"2301": 18 * 1024**3, "2302": 6 * 1024**3}


def test_no_gpus_no_gpu_series() -> None:
    metrics = _scrape(PerftopCollector(FakeSource(), top_n=3, psutil_module=_fake_psutil()))
    assert not any(name.startswith("DCGM_") or "gpu" in name for name in metrics)
