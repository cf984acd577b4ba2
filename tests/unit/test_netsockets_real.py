"""A TCP sender and a receiver on loopback, at a known rate: each process's rate within 20 %,
its connection listed, and a process with no socket at zero."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from perftop.system.netsockets import NetSampler, NetSnapshot
from perftop.system.sockdiag import DiagError, SockDiag
from tests.waiting import wait_until

RATE = 2_000_000  # bytes a second
RECEIVER = """
import socket
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
print(l.getsockname()[1], flush=True)
a, _ = l.accept()
while a.recv(1 << 16):
    pass
"""
SENDER = """
import socket, sys, time
rate, chunk = int(sys.argv[2]), b"x" * 16384
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
start, sent = time.monotonic(), 0
while True:
    ahead = start + sent / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)  # paced: the rate is the test's, not the loopback's
    c.sendall(chunk)
    sent += len(chunk)
"""


def _diag_works() -> bool:
    try:
        SockDiag().tcp_sockets()
    except DiagError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not _diag_works(), reason="needs Linux sock_diag"
)


@pytest.fixture
def pair() -> Iterator[tuple[int, int]]:
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    sender: subprocess.Popen[str] | None = None
    try:
        assert receiver.stdout is not None
        port = receiver.stdout.readline().strip()
        sender = subprocess.Popen(
            [sys.executable, "-c", SENDER, port, str(RATE)], stdout=subprocess.PIPE, text=True
        )
        assert sender.stdout is not None and sender.stdout.readline().strip() == "connected"
        yield sender.pid, receiver.pid
    finally:
        for p in (sender, receiver):
            if p is not None:
                p.kill()
                p.wait()


def test_each_process_shows_the_rate_it_moves(pair: tuple[int, int]) -> None:
    sender, receiver = pair
    sampler = NetSampler()
    idle = os.getpid()
    pids = [sender, receiver, idle]
    sampler.sample(pids, force=True)
    last = [time.monotonic()]
    got: list[NetSnapshot] = []

    def within() -> bool:
        if time.monotonic() - last[0] < 1.0:
            return False  # a rate over a second, as the dashboard reads it
        last[0] = time.monotonic()
        snap = sampler.sample(pids, force=True)
        got.append(snap)
        s, r = snap.of(sender), snap.of(receiver)
        if s is None or r is None or s.tx_bytes_per_s is None or r.rx_bytes_per_s is None:
            return False
        return (
            abs(s.tx_bytes_per_s - RATE) < 0.2 * RATE and abs(r.rx_bytes_per_s - RATE) < 0.2 * RATE
        )

    wait_until(within, 30, f"both ends at {RATE} B/s within 20 %")
    snap = got[-1]
    s, r, me = snap.of(sender), snap.of(receiver), snap.of(idle)
    assert s is not None and r is not None and me is not None
    assert s.rx_bytes_per_s is not None and s.rx_bytes_per_s < 0.01 * RATE, "acks carry no data"
    assert me.bytes_per_s == 0.0, "a process holding no socket moves nothing"
    (conn,) = s.connections()
    (back,) = r.connections()
    assert conn.state == "ESTABLISHED" and conn.local == back.remote and conn.remote == back.local
    assert conn.tx_bytes is not None and conn.tx_bytes > RATE // 2
