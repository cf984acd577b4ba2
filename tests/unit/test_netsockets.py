"""sock_diag's messages parsed, and per-process TCP rates from a fake socket table and a fake
/proc whose fd links name socket inodes."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perftop.system.netsockets import FULL_RESCAN_S, NOT_COUNTED, NetSampler, socket_inodes
from perftop.system.sockdiag import (
    NLMSG_DONE,
    NLMSG_ERROR,
    SOCK_DIAG_BY_FAMILY,
    DiagError,
    TcpSocket,
    parse_dump,
    request,
)

SEQ = 7


def message(
    *,
    family: int = socket.AF_INET,
    state: int = 1,
    inode: int = 5001,
    cookie: int = 1,
    acked: int | None = 1000,
    received: int | None = 2000,
    src: bytes = bytes([127, 0, 0, 1]),
    dst: bytes = bytes([127, 0, 0, 1]),
    ports: tuple[int, int] = (8080, 40000),
) -> bytes:
    body = struct.pack("=BBBB", family, state, 0, 0) + struct.pack(">HH", *ports)
    body += src.ljust(16, b"\0") + dst.ljust(16, b"\0")
    body += struct.pack("=IQIIIII", 0, cookie, 0, 0, 0, 1000, inode)
    if acked is not None and received is not None:
        info = bytes(120) + struct.pack("=QQ", acked, received) + bytes(96)
        body += struct.pack("=HH", 4 + len(info), 2) + info
    return struct.pack("=IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY, 2, SEQ, 0) + body


def done(seq: int = SEQ) -> bytes:
    return struct.pack("=IHHII", 20, NLMSG_DONE, 2, seq, 0) + bytes(4)


def test_request_layout() -> None:
    r = request(socket.AF_INET6, 3)
    assert len(r) == 16 + 56
    length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", r)
    assert (length, kind, seq) == (72, SOCK_DIAG_BY_FAMILY, 3) and flags & 0x300
    family, protocol, ext = r[16], r[17], r[18]
    assert (family, protocol, ext) == (socket.AF_INET6, socket.IPPROTO_TCP, 2)


def test_messages_parsed() -> None:
    v6 = socket.inet_pton(socket.AF_INET6, "::1")
    mapped = socket.inet_pton(socket.AF_INET6, "::ffff:10.0.0.2")
    data = (
        message()
        + message(family=socket.AF_INET6, src=v6, dst=mapped, cookie=2, inode=5002)
        + message(acked=None, received=None, cookie=3)
        + done()
    )
    found, ended = parse_dump(data, SEQ)
    assert ended and len(found) == 3
    a, b, c = found
    assert (a.local, a.remote, a.state_name) == ("127.0.0.1:8080", "127.0.0.1:40000", "ESTABLISHED")
    assert (a.bytes_acked, a.bytes_received, a.inode, a.uid) == (1000, 2000, 5001, 1000)
    assert (b.local, b.remote) == ("[::1]:8080", "10.0.0.2:40000")
    assert c.bytes_acked is None, "no tcp_info: no bytes"


def test_an_error_answer_raises_a_typed_error() -> None:
    error = struct.pack("=IHHII", 36, NLMSG_ERROR, 0, SEQ, 0) + struct.pack("=i", -1) + bytes(16)
    with pytest.raises(DiagError):
        parse_dump(error, SEQ)


def test_other_sequences_and_truncation_are_skipped() -> None:
    whole = message()
    found, ended = parse_dump(whole[:-10], SEQ)
    assert not found and not ended, "a cut message ends the parse"
    found, ended = parse_dump(message() + done(seq=99), SEQ)
    assert len(found) == 1 and not ended


@given(st.binary(max_size=600))
def test_any_bytes_parse_or_raise_the_typed_error(data: bytes) -> None:
    with contextlib.suppress(DiagError):
        parse_dump(data, SEQ)


@given(st.integers(0, 300), st.binary(max_size=40))
def test_corrupted_messages_never_raise_otherwise(cut: int, junk: bytes) -> None:
    data = message() + message(cookie=2)
    with contextlib.suppress(DiagError):
        parse_dump(data[:cut] + junk + data[cut:], SEQ)


# --- the sampler over a fake machine --------------------------------------------------------------


class FakeDiag:
    def __init__(self) -> None:
        self.sockets: list[TcpSocket] = []
        self.error: DiagError | None = None

    def tcp_sockets(self) -> list[TcpSocket]:
        if self.error is not None:
            raise self.error
        return list(self.sockets)

    def close(self) -> None:
        pass


def tcp(cookie: int, inode: int, acked: int, received: int) -> TcpSocket:
    lo = bytes([127, 0, 0, 1]) + bytes(12)
    return TcpSocket(
        cookie, inode, 0, 1, socket.AF_INET, lo, 1000 + cookie, lo, 80, acked, received
    )


class Clock:
    now = 50.0

    def __call__(self) -> float:
        return self.now


class Machine:
    def __init__(self, tmp_path: Path) -> None:
        self.proc = tmp_path / "proc"
        (self.proc / "self" / "ns").mkdir(parents=True)
        os.symlink("net:[1]", self.proc / "self" / "ns" / "net")
        self.diag = FakeDiag()
        self.clock = Clock()
        self.cpu = 0.0
        self.sampler = NetSampler(
            str(self.proc),
            clock=self.clock,
            cpu_clock=lambda: self.cpu,
            diag=self.diag,  # type: ignore[arg-type]
        )
        self.readlinks = 0

    def process(self, pid: int, inodes: list[int], netns: str = "net:[1]") -> None:
        fd = self.proc / str(pid) / "fd"
        fd.mkdir(parents=True, exist_ok=True)
        for f in fd.iterdir():
            f.unlink()
        (self.proc / str(pid) / "ns").mkdir(exist_ok=True)
        ns = self.proc / str(pid) / "ns" / "net"
        if not ns.is_symlink():
            os.symlink(netns, ns)
        os.symlink("/dev/null", fd / "0")
        for i, inode in enumerate(inodes):
            os.symlink(f"socket:[{inode}]", fd / str(i + 3))

    def tick(self, seconds: float = 1.0, pids: list[int] | None = None):  # type: ignore[no-untyped-def]
        self.clock.now += seconds
        return self.sampler.sample(pids, force=True)


def test_socket_inodes(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.process(10, [5, 6])
    assert socket_inodes(str(m.proc / "10" / "fd")) == {5, 6}
    assert socket_inodes(str(m.proc / "11" / "fd")) is None


def test_rates_per_process(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.process(10, [5001])  # a sender
    m.process(20, [5002, 5003])  # a receiver with two connections
    m.process(30, [])
    m.diag.sockets = [tcp(1, 5001, 0, 0), tcp(2, 5002, 0, 0), tcp(3, 5003, 0, 0)]
    first = m.tick(pids=[10, 20, 30])
    assert first.interval_s is None and first.of(10) is None, "no rate on the first read"
    m.diag.sockets = [tcp(1, 5001, 2_000_000, 0), tcp(2, 5002, 0, 500_000), tcp(3, 5003, 0, 100)]
    snap = m.tick(2.0, [10, 20, 30])
    sender, receiver, idle = snap.of(10), snap.of(20), snap.of(30)
    assert sender is not None and sender.tx_bytes_per_s == 1_000_000 and sender.rx_bytes_per_s == 0
    assert receiver is not None and receiver.rx_bytes_per_s == 250_050
    assert idle is not None and idle.bytes_per_s == 0.0 and idle.connections() == []
    conns = receiver.connections()
    assert [c.rx_bytes_per_s for c in conns] == [250_000, 50], "busiest first"
    assert conns[0].local == "127.0.0.1:1002" and conns[0].state == "ESTABLISHED"


def test_a_new_socket_counts_from_zero_and_is_found(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.process(10, [])
    m.tick(pids=[10])
    m.tick(pids=[10])
    m.process(10, [7000])  # connected since
    m.diag.sockets = [tcp(9, 7000, 300, 0)]
    p = m.tick(pids=[10]).of(10)
    assert p is not None and p.tx_bytes_per_s == 300


def test_a_socket_shared_after_fork_counts_once(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.process(10, [5001])
    m.process(11, [5001])
    m.diag.sockets = [tcp(1, 5001, 0, 0)]
    m.tick(pids=[10, 11])
    m.diag.sockets = [tcp(1, 5001, 100, 0)]
    snap = m.tick(pids=[10, 11])
    assert set(snap.processes) == {11}, "the highest PID, the child, holds it"


def test_not_counted_processes_say_so(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.process(10, [5001], netns="net:[2]")  # a container with its own network
    (m.proc / "12").mkdir()  # its fds unreadable (another user's, without root)
    os.symlink("net:[1]", tmp_path / "ns12")
    (m.proc / "12" / "ns").mkdir()
    os.symlink("net:[1]", m.proc / "12" / "ns" / "net")
    m.diag.sockets = [tcp(1, 6000, 0, 0)]
    m.tick(pids=[10, 12])
    snap = m.tick(pids=[10, 12])
    assert snap.of(10) is None and snap.of(12) is None
    assert snap.uncounted == {10, 12}
    assert "UDP" in NOT_COUNTED and "namespace" in NOT_COUNTED


def test_an_unowned_socket_is_not_looked_for_every_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = Machine(tmp_path)
    for pid in range(10, 20):
        m.process(pid, [])
    m.diag.sockets = [tcp(1, 9999, 0, 0)]  # held by no process we can read
    looks: list[str] = []
    import perftop.system.netsockets as ns

    real = ns.socket_inodes
    monkeypatch.setattr(ns, "socket_inodes", lambda d: looks.append(d) or real(d))
    m.tick(pids=list(range(10, 20)))
    assert len(looks) == 10
    for _ in range(3):
        m.tick(0.5, list(range(10, 20)))
    assert len(looks) == 10, "an orphan costs no rescan"
    m.process(15, [8888])
    m.diag.sockets.append(tcp(2, 8888, 0, 0))
    m.tick(0.5, list(range(10, 20)))
    assert len(looks) == 10, "a new unknown socket: a full map, but not before FULL_RESCAN_S"
    snap = m.tick(FULL_RESCAN_S, list(range(10, 20)))
    assert len(looks) == 20 and 15 in snap.processes


def test_a_reused_pid_is_looked_at_afresh(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.process(10, [5001])
    m.diag.sockets = [tcp(1, 5001, 0, 0)]
    m.sampler.sample({10: 1.0}, force=True)
    m.process(10, [5002])
    m.diag.sockets = [tcp(2, 5002, 0, 0)]
    m.clock.now += 1
    m.sampler.sample({10: 2.0}, force=True)
    m.diag.sockets = [tcp(2, 5002, 0, 10)]
    m.clock.now += 1
    p = m.sampler.sample({10: 2.0}, force=True).of(10)
    assert p is not None and p.rx_bytes_per_s == 10


def test_the_budget_spaces_reads(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.sampler.budget_percent = 1.0

    def dear() -> list[TcpSocket]:
        m.cpu += 0.02  # 20 ms a read: at 1 % of a core, one read every 2 s
        return []

    m.diag.tcp_sockets = dear  # type: ignore[method-assign]
    a = m.sampler.sample([])
    assert a.cost_s == pytest.approx(0.02)
    m.clock.now += 1.0
    assert m.sampler.sample([]) is a and not m.sampler.due()
    m.clock.now += 1.01
    assert m.sampler.sample([]) is not a


def test_no_sock_diag(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.diag.error = DiagError(97, "no sock_diag: address family not supported")
    snap = m.tick(pids=[1])
    assert snap.error is not None and snap.of(1) is None


def test_without_root_other_users_sockets_cost_no_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = Machine(tmp_path)
    m.sampler._uid = 1000  # as a user: the sockets of uid 0 (tcp() makes them) are not ours
    m.process(10, [])
    m.tick(pids=[10])
    looks: list[str] = []
    import perftop.system.netsockets as ns

    monkeypatch.setattr(ns, "socket_inodes", lambda d: looks.append(d) or frozenset())
    m.diag.sockets = [tcp(1, 4242, 0, 0)]
    m.tick(FULL_RESCAN_S, [10])
    assert looks == []
