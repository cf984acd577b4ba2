"""The collectors' cost per tick: the process table and the system sampler, without the UI.

Run on demand: `python bench/bench_collect.py [--ticks 30] [--procs 475] [--interval 0.2]`.

Tops the machine up to `--procs` processes with idle `sleep` children (as `bench_dashboard.py`
does), then samples `--ticks` times, `--interval` seconds apart so that processes have a
baseline, and prints the mean user and system CPU time (the kernel's work of generating /proc
files counts too; os.times() has a 10 ms resolution, so only means over many ticks are
meaningful) and the median wall time per tick of `ProcessCollector.sample()` and
`SystemSampler.sample()`. The first tick (which learns every process) is reported apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from bench_dashboard import Sleepers
from perftop.system.processes import ProcessCollector
from perftop.system.sampler import SystemSampler


def timed(fn: Callable[[], object]) -> tuple[float, float, float]:
    """(user CPU seconds, system CPU seconds, wall seconds) of one call."""
    before, wall0 = os.times(), time.perf_counter()
    fn()
    after = os.times()
    return after.user - before.user, after.system - before.system, time.perf_counter() - wall0


def measure(name: str, fn: Callable[[], object], ticks: int, interval: float) -> None:
    first = timed(fn)
    user: list[float] = []
    system: list[float] = []
    wall: list[float] = []
    for _ in range(ticks):
        time.sleep(interval)
        u, s, w = timed(fn)
        user.append(u)
        system.append(s)
        wall.append(w)
    print(
        f"{name:15} first tick {(first[0] + first[1]) * 1e3:5.1f} ms CPU; then mean "
        f"{statistics.mean(user) * 1e3:5.2f} ms user + {statistics.mean(system) * 1e3:5.2f} ms "
        f"system, median {statistics.median(wall) * 1e3:5.2f} ms wall"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ticks", type=int, default=30, help="ticks measured")
    parser.add_argument("--procs", type=int, default=475, help="top the machine up to N processes")
    parser.add_argument("--interval", type=float, default=0.2, help="s between ticks")
    args = parser.parse_args(argv)
    sleepers = Sleepers(lifetime_s=int(args.ticks * args.interval * 2) + 60)
    try:
        total = sleepers.top_up(args.procs)
        time.sleep(1.0)  # let the spawn burst settle
        print(f"{total} processes, {args.ticks} ticks {args.interval:g} s apart")
        collector = ProcessCollector()
        rows = len(collector.sample().rows)
        print(f"process table ({collector.backend}): {rows} rows")
        measure("process table", collector.sample, args.ticks, args.interval)
        measure("system sampler", SystemSampler().sample, args.ticks, args.interval)
    finally:
        sleepers.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
