"""The table's issue-17 fields filled from a fake /proc and socket table: NET rates from the
second read, WAIT% only for the processes that ran (0 for the others, reading kept), the
container and cgroups once a row, every field rewritten on a reused row, and nothing measured
that is not wanted."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from perftop.system.netsockets import NetSampler
from perftop.system.process_extras import ProcessExtras
from perftop.system.processes import ProcessCollector
from perftop.system.samples import ProcessRow, ProcessSnapshot
from perftop.system.schedstat import SchedSampler
from perftop.system.sockdiag import TcpSocket
from tests.waiting import wait_until

DOCKER = "/system.slice/docker-" + "ab" * 32 + ".scope"


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeDiag:
    """The socket table of the machine it belongs to; one per NetSampler made."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def tcp_sockets(self) -> list[TcpSocket]:
        self.machine.reads += 1
        return list(self.machine.sockets)

    def close(self) -> None:
        pass


def tcp(cookie: int, inode: int, acked: int, received: int) -> TcpSocket:
    lo = bytes([127, 0, 0, 1]) + bytes(12)
    return TcpSocket(cookie, inode, 0, 1, socket.AF_INET, lo, 5000, lo, 80, acked, received)


class Machine:
    def __init__(self, tmp_path: Path) -> None:
        self.proc = tmp_path / "proc"
        (self.proc / "self" / "ns").mkdir(parents=True)
        os.symlink("net:[1]", self.proc / "self" / "ns" / "net")
        self.clock = Clock()
        self.sockets: list[TcpSocket] = []
        self.reads = 0
        self.samplers = 0  # NetSamplers made

    def process(self, pid: int, cgroup: str, inodes: tuple[int, ...] = ()) -> None:
        d = self.proc / str(pid)
        (d / "fd").mkdir(parents=True)
        (d / "ns").mkdir()
        os.symlink("net:[1]", d / "ns" / "net")
        for i, inode in enumerate(inodes):
            os.symlink(f"socket:[{inode}]", d / "fd" / str(i + 3))
        (d / "cgroup").write_text(f"0::{cgroup}\n")
        self.schedstat(pid, 0)

    def schedstat(self, pid: int, wait_ns: int) -> None:
        (self.proc / str(pid) / "schedstat").write_text(f"1000 {wait_ns} 3\n")

    def net(self) -> NetSampler:
        self.samplers += 1
        diag = FakeDiag(self)
        return NetSampler(str(self.proc), clock=self.clock, cpu_clock=lambda: 0.0, diag=diag)  # type: ignore[arg-type]

    def extras(self) -> ProcessExtras:
        return ProcessExtras(
            str(self.proc),
            make_net=self.net,
            make_sched=lambda: SchedSampler(str(self.proc), self.clock, blkio=False),
        )


def row(pid: int, threads: int = 1) -> ProcessRow:
    return ProcessRow(pid, 1, f"p{pid}", "u", "S", 0.0, 0.0, 0, threads, 0.0, 0.0, 5.0, "c")


def snap(rows: list[ProcessRow], at: float) -> ProcessSnapshot:
    return ProcessSnapshot(at, {r.pid: r for r in rows}, 2)


def test_fields_filled_and_rates_from_the_second_read(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.process(10, DOCKER, (501,))
    m.process(11, "/system.slice/nginx.service")
    m.sockets = [tcp(1, 501, 0, 0)]
    extras = m.extras()
    a, b = row(10), row(11)
    first = extras.fill(snap([a, b], 1000.0), None)
    assert (a.net_rx_bytes_per_s, a.wait_percent) == (None, None), "no interval yet"
    assert a.container == "docker:" + "ab" * 6 and a.cgroups == (DOCKER,)
    assert b.container == "nginx.service"
    assert first.net_at is not None

    m.clock.now += 2.0
    m.sockets = [tcp(1, 501, 4000, 2000)]
    m.schedstat(10, 500_000_000)  # waited 0.5 s of 2 s
    m.schedstat(11, 900_000_000)  # would read 45 %, but it did not run: not read
    extras.fill(snap([a, b], 1002.0), active={10})
    assert (a.net_rx_bytes_per_s, a.net_tx_bytes_per_s) == (1000.0, 2000.0)
    assert a.net_bytes_per_s == 3000.0
    assert (b.net_rx_bytes_per_s, b.net_tx_bytes_per_s) == (0.0, 0.0), "no socket: zero"
    assert a.wait_percent == 25.0
    assert b.wait_percent == 0.0, "neither ran nor queued: no wait"
    assert extras.latest.waits[10].wait_percent == 25.0 and extras.latest.labels[11]

    m.clock.now += 2.0
    extras.fill(snap([a, b], 1004.0), active={11})  # 11 runs now: its wait since the first
    assert b.wait_percent == 22.5, "the kept reading covers the whole 4 s"


def sent_100_bytes(tmp_path: Path) -> tuple[Machine, ProcessExtras, ProcessRow]:
    """A machine whose PID 10 sent 100 bytes over the last second, as its row read it."""
    m = Machine(tmp_path)
    m.process(10, DOCKER, (501,))
    m.sockets = [tcp(1, 501, 0, 0)]
    extras = m.extras()
    a = row(10)
    extras.fill(snap([a], 1000.0), None)
    m.clock.now += 1.0
    m.sockets = [tcp(1, 501, 100, 0)]
    extras.fill(snap([a], 1001.0), None)
    return m, extras, a


def test_a_reused_row_is_rewritten_and_a_new_one_looked_up(tmp_path: Path) -> None:
    m, extras, a = sent_100_bytes(tmp_path)
    assert a.net_tx_bytes_per_s == 100.0
    m.clock.now += 1.0
    extras.fill(snap([a], 1002.0), None)  # the same object, a quiet tick
    assert a.net_tx_bytes_per_s == 0.0, "rewritten, not left from the tick before"
    fresh = row(10)
    extras.fill(snap([fresh], 1003.0), None)
    assert fresh.container == a.container and fresh.cgroups == (DOCKER,)


def test_only_what_is_wanted_is_measured(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.process(10, DOCKER, (501,))
    m.sockets = [tcp(1, 501, 0, 0)]
    extras = m.extras()
    a = row(10)
    extras.fill(snap([a], 1000.0), None)
    extras.want(net=False, wait=False)
    m.clock.now += 1.0
    reads = m.reads
    out = extras.fill(snap([a], 1001.0), None)
    assert m.reads == reads, "the socket table is not read"
    assert (a.net_rx_bytes_per_s, a.wait_percent, out.net_at) == (None, None, None)
    assert extras.net_snapshot is None
    assert a.container, "the container costs nothing a tick: always there"

    extras.want(net=True, wait=True)
    m.clock.now += 1.0
    extras.fill(snap([a], 1002.0), None)
    assert m.samplers == 2, "a fresh sampler: no rate over the whole gap"
    assert a.net_rx_bytes_per_s is None and a.wait_percent is None
    m.clock.now += 1.0
    m.sockets = [tcp(1, 501, 50, 0)]
    extras.fill(snap([a], 1003.0), None)
    assert a.net_tx_bytes_per_s == 50.0 and a.wait_percent == 0.0


def test_with_nothing_measured_only_a_new_row_is_filled(tmp_path: Path) -> None:
    """Ticks that measure neither leave last tick's rows as they are (they read None
    already) and look up a new row's container; a measured figure turned off is cleared."""
    m, extras, a = sent_100_bytes(tmp_path)
    m.process(11, "/system.slice/nginx.service")
    assert a.net_tx_bytes_per_s == 100.0 and a.wait_percent == 0.0
    extras.want(net=False, wait=False)
    for at in (1002.0, 1003.0):
        m.clock.now += 1.0
        extras.fill(snap([a], at), None)
        assert (a.net_tx_bytes_per_s, a.wait_percent) == (None, None), at
    b = row(11)
    extras.fill(snap([a, b], 1004.0), None)
    assert b.container == "nginx.service" and b.cgroups == ("/system.slice/nginx.service",)
    assert extras.latest.labels == {10: a.container, 11: "nginx.service"}


def test_the_collector_fills_the_live_table() -> None:
    """This machine for real: every row has its fields; WAIT% is read for the processes that
    ran (this one), not for one asleep all along."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        collector = ProcessCollector(extras=ProcessExtras())
        wait_until(lambda: sleeper.pid in collector.sample().rows, 10, "the sleeper listed")
        collector.sample()
        table = collector.sample()
        active = collector._table.active  # type: ignore[attr-defined]
        me = table.rows[os.getpid()]
        assert os.getpid() in active and sleeper.pid not in active
        assert me.cgroups, "its cgroup paths read"
        assert me.wait_percent is not None and me.wait_percent >= 0.0
        assert table.rows[sleeper.pid].wait_percent == 0.0, "asleep: no wait, not read"
        assert all(r.wait_percent is None or r.wait_percent >= 0 for r in table.rows.values())
    finally:
        sleeper.kill()
        sleeper.wait()
