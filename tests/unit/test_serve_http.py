"""`perftop serve`'s HTTP server on loopback under clients that never finish: idle sockets,
requests that stop half way, more of them than it holds. The endpoint must keep answering a
real scrape, on a few threads.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from types import SimpleNamespace

import pytest
from prometheus_client.registry import CollectorRegistry

from perftop.commands.serve import Listen, PerftopCollector, make_registry, start_server
from perftop.system.source import FakeSource
from tests.waiting import wait_until


def _registry() -> CollectorRegistry:
    cpu = SimpleNamespace(cpu_times=lambda percpu=False: [])
    return make_registry(PerftopCollector(FakeSource(), psutil_module=cpu))


@pytest.fixture
def server() -> Iterator[tuple[int, float]]:
    """A server with a short idle timeout, its port, and that timeout."""
    idle = 0.5
    srv, thread = start_server(Listen("127.0.0.1", 0), _registry(), idle_timeout=idle)
    try:
        yield srv.server_address[1], idle
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _scrape(port: int, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as reply:
        assert reply.status == 200
        return str(reply.read().decode())


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.0)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset: closed too


def test_a_scrape_answers_through_a_flood_of_idle_connections(
    server: tuple[int, float],
) -> None:
    port, idle = server
    before = threading.active_count()
    with ExitStack() as stack:
        socks = [
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            for _ in range(100)
        ]
        started = time.monotonic()
        assert "perftop_cpus" in _scrape(port)  # queued behind all 100 in the accept backlog
        assert time.monotonic() - started < 5
        # Every idle socket was accepted before the scrape was; none holds a thread.
        assert threading.active_count() - before <= 8
        wait_until(
            lambda: all(_closed_by_server(s) for s in socks), 10 * idle + 5, "idle sockets closed"
        )


def test_requests_that_stop_half_way_hold_no_worker_and_are_cut_off(
    server: tuple[int, float],
) -> None:
    port, idle = server
    before = threading.active_count()
    with ExitStack() as stack:
        socks = []
        for _ in range(20):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never the blank line
            socks.append(sock)
        started = time.monotonic()
        assert "perftop_cpus" in _scrape(port)
        assert time.monotonic() - started < 5  # not queued behind the half requests
        assert threading.active_count() - before <= 8
        wait_until(
            lambda: all(_closed_by_server(s) for s in socks), 10 * idle + 5, "half requests cut"
        )


def test_past_the_cap_the_longest_waiting_make_room_for_a_scrape() -> None:
    srv, thread = start_server(Listen("127.0.0.1", 0), _registry(), max_connections=5)
    port = srv.server_address[1]
    try:
        with ExitStack() as stack:
            socks = [
                stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
                for _ in range(12)
            ]
            # Accepted in order: each past the fifth closes the one waiting longest.
            wait_until(lambda: all(_closed_by_server(s) for s in socks[:7]), 5, "oldest closed")
            assert "perftop_cpus" in _scrape(port)  # it takes the place of the oldest left
            assert _closed_by_server(socks[7])
            assert not any(_closed_by_server(s) for s in socks[8:])
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
