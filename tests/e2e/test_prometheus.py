"""`perftop serve` scraped by a real Prometheus server on loopback, queried through its HTTP API.

scripts/test.sh installs Debian's `prometheus`; the test starts it with a config of its own
that scrapes perftop every second, then asks Prometheus (not perftop) what it stored.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import log_tail, perftop_argv

pytestmark = [
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="Debian's prometheus is not installed (scripts/test.sh installs it)",
    ),
]

TOP_N = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def perftop_port(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    log = tmp_path / "perftop-serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            perftop_argv("serve", "--listen", f"127.0.0.1:{port}", "--top", str(TOP_N)),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: _get(f"http://127.0.0.1:{port}/metrics"), "perftop serve", proc, log)
        yield port
    finally:
        _stop(proc)
        assert proc.returncode == 0, log.read_text(errors="replace")


@pytest.fixture
def prometheus(tmp_path: Path, perftop_port: int) -> Iterator[str]:
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        textwrap.dedent(
            f"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: perftop
                static_configs:
                  - targets: ["127.0.0.1:{perftop_port}"]
            """
        )
    )
    log = tmp_path / "prometheus.log"  # a file, not a pipe: nobody reads a pipe until the end
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _get(f"{base}/-/ready"), "prometheus", proc, log)
        yield base
    finally:
        _stop(proc)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def _wait_for(
    probe: Any, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}; its output:\n{log_tail(log)}")
        try:
            probe()
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{what} did not answer within {timeout} s; its output:\n{log_tail(log)}"
                )
            time.sleep(0.2)


def _query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    answer = json.loads(_get(url))
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def _query_until(base: str, promql: str, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        result = _query(base, promql)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def test_prometheus_scrapes_perftop_serve(prometheus: str) -> None:
    up = _query_until(prometheus, 'up{job="perftop"} == 1')
    assert up, "Prometheus never scraped perftop successfully"

    memory = _query_until(prometheus, "perftop_memory_total_bytes")
    assert float(memory[0]["value"][1]) > 0

    # Counters work with rate() once there are two scrapes.
    busy = _query_until(prometheus, 'sum(rate(perftop_cpu_seconds_total{mode!="idle"}[10s]))')
    assert busy and float(busy[0]["value"][1]) >= 0

    processes = _query_until(prometheus, "perftop_process_resident_memory_bytes")
    assert 1 <= len(processes) <= 2 * TOP_N
    assert all({"pid", "name", "user"} <= set(p["metric"]) for p in processes)

    load = _query_until(prometheus, "perftop_load1")
    assert load and float(load[0]["value"][1]) >= 0
