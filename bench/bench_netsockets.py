"""What per-process TCP rates cost (perftop.system.netsockets), at a process count and with a
few hundred loopback sockets.

Run on demand: `python bench/bench_netsockets.py [--procs 475,2000] [--sockets 300] [--reads 20]`.

For each process count it tops the machine up with idle `sleep` children (bench_dashboard.py's
Sleepers), starts a server and a client process holding `--sockets` loopback connections
between them (so 2x that many sockets, each end in its own process), and measures, in thread
CPU time (user + system, the kernel's work of walking its socket tables and /proc included):

- the sock_diag dump alone (IPv4 + IPv6), median of `--reads`;
- the first read, which maps every process's sockets (a readlink of every open file);
- a steady read, no new socket since the previous one (dump + rates);
- a read after `--churn` new connections (the map mended from the processes holding sockets);
- a full map of every process's sockets (what a read costs at most, every FULL_RESCAN_S);
- and the read interval the default budget then allows.

Figures of the 2-core dev VM (kernel 6.18, a TCP hash of 262,144 buckets, load 0.4-0.9 from
other sessions' tests), ms of thread CPU a read, median of 30, two runs:

| | 475 processes | 2,000 processes |
| --- | --- | --- |
| dump alone, 600 sockets | 8.1 / 8.8 | 7.7 / 6.4 |
| first read (maps every process) | 32 / 37 | 100 / 102 |
| steady read | 9.3 / 10.0 | 11.1 / 10.8 |
| read after 10 new connections | 18.7 / 15.4 | 17.3 / 18.4 |
| full map, every process | 20.5 / 22.1 | 54 / 65 |
| interval at the default 0.5 % budget | 1.9 / 2.0 s | 2.2 / 2.2 s |

The floor is the dump: the kernel walks its whole established-connections hash once a family
(2.5-3.5 ms with no socket at all) and fills a tcp_info a socket (5-8 µs a socket with the
parse, two thirds of it the parse). The map is the dear part: in full only at the start and
when a socket no process looked at holds appears (at most every 5 s); new connections of
processes that hold sockets already cost a readlink of those processes' files (here 600). The
PIDs are handed over as the dashboard would (listing /proc, 2.6 ms at 2,000 processes, is
outside the timing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from bench_dashboard import Sleepers
from perftop.system.netsockets import DEFAULT_BUDGET_PERCENT, NetSampler, socket_inodes
from perftop.system.sockdiag import SockDiag

SERVER = """
import select, socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4096)
print(l.getsockname()[1], flush=True)
held = []
while True:
    a, _ = l.accept(); held.append(a)
"""
CLIENT = """
import socket, sys
port = int(sys.argv[1]); held = []
for line in sys.stdin:
    for _ in range(int(line)):
        c = socket.create_connection(("127.0.0.1", port)); c.sendall(b"x" * 1000); held.append(c)
    print(len(held), flush=True)
"""


def listed() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def cpu_of(fn: Callable[[], object]) -> float:
    before = time.thread_time()
    fn()
    return time.thread_time() - before


class Pair:
    """A server and a client process holding loopback connections between them."""

    def __init__(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True
        )
        assert self.server.stdout is not None
        port = self.server.stdout.readline().strip()
        self.client = subprocess.Popen(
            [sys.executable, "-c", CLIENT, port],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def open(self, n: int) -> None:
        assert self.client.stdin is not None and self.client.stdout is not None
        self.client.stdin.write(f"{n}\n")
        self.client.stdin.flush()
        self.client.stdout.readline()  # the client has them all open

    def kill(self) -> None:
        for p in (self.client, self.server):
            p.kill()
            p.wait()


def ms(values: Sequence[float]) -> str:
    return f"{statistics.median(values) * 1e3:6.1f} ms"


def run(procs: int, args: argparse.Namespace) -> None:
    sleepers = Sleepers(lifetime_s=600)
    pair = Pair()
    try:
        total = sleepers.top_up(procs)
        pair.open(args.sockets)
        time.sleep(1.0)  # let the spawn burst settle
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        fds = sum(len(os.listdir(f"/proc/{p}/fd")) for p in pids if os.access(f"/proc/{p}/fd", 4))
        diag = SockDiag()
        sockets = len(diag.tcp_sockets())
        print(f"{total} processes, {fds} open files, {sockets} TCP sockets")
        dump = [cpu_of(diag.tcp_sockets) for _ in range(args.reads)]
        sampler = NetSampler()
        # The dashboard hands over the PIDs its process table read: listing /proc is not
        # this part's cost (2.6 ms at 2,000 processes), so it is done outside the timing.
        first = cpu_of(lambda: sampler.sample(listed(), force=True))
        steady, churn, full = [], [], []
        for _ in range(args.reads):
            current = listed()
            steady.append(cpu_of(lambda c=current: sampler.sample(c, force=True)))  # type: ignore[misc]
            pair.open(args.churn)
            current = listed()
            churn.append(cpu_of(lambda c=current: sampler.sample(c, force=True)))  # type: ignore[misc]
        for _ in range(max(args.reads // 4, 3)):
            full.append(cpu_of(lambda: [socket_inodes(f"/proc/{p}/fd") for p in pids]))
        budget = statistics.median(steady) * 100.0 / DEFAULT_BUDGET_PERCENT
        print(f"  dump alone              {ms(dump)}")
        print(f"  first read (maps all)   {first * 1e3:6.1f} ms")
        print(f"  steady read             {ms(steady)}")
        print(f"  read, {args.churn} new connections {ms(churn)}")
        print(f"  full map                {ms(full)}")
        print(f"  interval at {DEFAULT_BUDGET_PERCENT:g} % budget  {budget:6.2f} s")
    finally:
        pair.kill()
        sleepers.kill()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--procs", default="475,2000", help="process counts, comma-separated")
    parser.add_argument("--sockets", type=int, default=300, help="loopback connections")
    parser.add_argument("--reads", type=int, default=20, help="reads measured")
    parser.add_argument("--churn", type=int, default=10, help="new connections between reads")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}")
    for procs in (int(p) for p in args.procs.split(",")):
        run(procs, args)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
