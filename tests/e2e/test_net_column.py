"""NET/s in a real terminal: a TCP sender and receiver on loopback at a known rate, and the
NET/s column of each, in perftop's table, within 20 % of it (issue 17)."""

from __future__ import annotations

import re
import socket
import textwrap
import uuid
from pathlib import Path

from tests.e2e.harness import Tmux, needs_tmux, open_filter, perftop_command
from tests.e2e.targets import start_target

pytestmark = [needs_tmux]

RATE = 2_000_000  # bytes a second, sent in 16 KiB writes paced on the clock
PAIR = textwrap.dedent(
    """
    import socket, sys, time

    role, port = sys.argv[1], int(sys.argv[2])
    if role == "recv":
        server = socket.create_server(("127.0.0.1", port))
        conn, _ = server.accept()
        while conn.recv(1 << 16):
            pass
    else:
        rate = float(sys.argv[3])
        while True:  # until the receiver listens
            try:
                conn = socket.create_connection(("127.0.0.1", port))
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
        chunk, sent, start = b"x" * 16384, 0, time.monotonic()
        while True:
            ahead = start + sent / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            conn.sendall(chunk)
            sent += len(chunk)
    """
)
_UNITS = {"B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def rate_of(cell: str) -> float | None:
    """`1.9M/s` (or `1.9M/s~`, older than the tick) in bytes a second; None for `-`."""
    found = re.fullmatch(r"([\d.]+)([BKMG])/s~?", cell)
    return float(found.group(1)) * _UNITS[found.group(2)] if found else None


def net_of(screen: str, pid: int) -> float | None:
    """The NET/s cell of `pid`'s row (the columns are PID, NET/s, RX/s, TX/s, START, ...)."""
    for line in screen.splitlines():
        cells = line.split()
        if len(cells) > 2 and cells[0] == str(pid):
            return rate_of(cells[1])
    return None


def near(value: float | None) -> bool:
    return value is not None and abs(value - RATE) <= 0.2 * RATE


def test_net_column_shows_a_known_tcp_rate(tmux: Tmux, tmp_path: Path) -> None:
    marker = f"perftop_e2e_net_{uuid.uuid4().hex[:8]}"
    config = tmp_path / "config.toml"
    config.write_text(
        '[processes]\ncolumns = ["PID", "NET/s", "RX/s", "TX/s", "START", "COMMAND"]\n'
    )
    port = free_port()
    receiver = start_target(tmp_path, PAIR, ["recv", str(port), marker], busy_s=None)
    sender = None
    try:
        sender = start_target(
            tmp_path, PAIR, ["send", str(port), str(RATE), marker], name="send.py", busy_s=None
        )
        tmux.start(perftop_command("--config", str(config)))
        tmux.wait_for(lambda s: "NET/s" in s and "PID" in s, what="the table with NET/s")
        open_filter(tmux)
        tmux.type(marker)
        tmux.keys("Enter")
        pids = (sender.pid, receiver.pid)
        screen = tmux.wait_for(
            lambda s: all(near(net_of(s, pid)) for pid in pids),
            timeout=40,
            what=f"NET/s of the sender and the receiver within 20 % of {RATE} B/s",
        )
        assert "2 shown" in screen
    finally:
        if sender is not None:
            sender.end()
        receiver.end()


def free_port() -> int:
    """A loopback port free now (closed again, for the receiver to take)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
