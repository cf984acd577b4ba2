"""perftop against htop with 5,000 processes: does the refresh keep its interval, at what cost?

Run on demand, as root or with a high enough process limit:
`python bench/bench_scale.py [--procs 5000] [--seconds 20] [--runs 2] [--warmup 3]`.

The machine is topped up to `--procs` processes with idle `sleep` children (spawned with
posix_spawn into one process group, so one `killpg` ends them all, also on Ctrl-C, SIGTERM or
SIGHUP; if the bench is SIGKILLed they expire on their own). Then perftop and htop run one
after another, `--runs` times, each in a 120x40 pseudo-terminal at a 1 s refresh, through
bench_dashboard's `PtyProcess` (import, not a copy). Measured from the outside only:

- own CPU (% of one core) and RSS at the end of the window, as in bench_dashboard;
- the achieved refresh interval: the monitor's output to the pty comes in one burst per
  refresh; bursts are told apart by a quiet gap of `GAP_S`, and the interval is the time
  between the starts of consecutive bursts (median and 90th percentile over the window);
- bytes written to the terminal per second.

Medians over the runs are printed as a table with the ratios perftop/htop. Exit status: 0 if
perftop's refresh keeps its interval (median within 10 %, p90 within 50 % of 1 s) and its own
CPU is at most htop's; 1 otherwise; 130 if interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import resource
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

import psutil

from bench_dashboard import (
    COLS,
    FIRST_SCREEN_TIMEOUT_S,
    ROWS,
    Monitor,
    PtyProcess,
    busy_note,
    child_env,
    cpu_seconds,
    fmt,
    monitors,
)

REFRESH_S = 1.0
GAP_S = 0.25  # no output for this long ends a burst: well under the refresh, above a frame
SPAWN_CHUNK = 250


class Bursts(list[bytes]):
    """Stands in for `PtyProcess.recorded`: keeps the time of each chunk, not its bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self._lock = threading.Lock()

    def append(self, chunk: bytes) -> None:  # called by the drain thread
        with self._lock:
            self.times.append(time.monotonic())

    def starts(self, since: float, until: float) -> list[float]:
        with self._lock:
            times = [t for t in self.times if since <= t <= until]
        starts: list[float] = []
        last = -1e9
        for t in times:
            if t - last > GAP_S:
                starts.append(t)
            last = t
        return starts


@dataclass(frozen=True)
class Sample:
    cpu_percent: float
    rss_mb: float
    interval_median_s: float | None
    interval_p90_s: float | None
    kb_per_s: float
    procs: int


class Sleepers:
    """`count` idle `sleep` processes in one process group of their own."""

    def __init__(self, lifetime_s: int) -> None:
        self._lifetime = str(lifetime_s)
        self._pids: list[int] = []
        self._pgid = 0

    def top_up(self, target: int) -> int:
        sleep = "/bin/sleep" if os.path.exists("/bin/sleep") else "/usr/bin/sleep"
        missing = target - len(psutil.pids())
        started = time.monotonic()
        with open(os.devnull, "rb") as null:
            for i in range(max(0, missing)):
                pid = os.posix_spawn(
                    sleep,
                    [sleep, self._lifetime],
                    {},
                    setpgroup=self._pgid,
                    file_actions=[(os.POSIX_SPAWN_DUP2, null.fileno(), fd) for fd in (0, 1, 2)],
                )
                if not self._pgid:
                    self._pgid = pid  # the first one leads the group the others join
                self._pids.append(pid)
                if i % SPAWN_CHUNK == SPAWN_CHUNK - 1:
                    time.sleep(0.05)  # let the rest of the machine breathe
        if missing > 0:
            took = time.monotonic() - started
            print(f"started {missing} sleepers in {took:.1f} s", file=sys.stderr)
        return len(psutil.pids())

    def kill(self) -> None:
        if self._pgid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._pgid, signal.SIGKILL)
        for pid in self._pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self._pids.clear()
        self._pgid = 0


def raise_limits(procs: int) -> None:
    """Enough processes and open files for `procs` children; only soft limits move."""
    for which, need in ((resource.RLIMIT_NPROC, procs + 1000), (resource.RLIMIT_NOFILE, 4096)):
        soft, hard = resource.getrlimit(which)
        if soft != resource.RLIM_INFINITY and soft < need:
            new = need if hard == resource.RLIM_INFINITY else min(need, hard)
            resource.setrlimit(which, (new, hard))
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    if pid_max < procs + 2000:
        raise SystemExit(f"kernel.pid_max is {pid_max}: too low for {procs} processes")


def measure(monitor: Monitor, args: argparse.Namespace, env: dict[str, str], procs: int) -> Sample:
    running = PtyProcess(monitor.argv, monitor.pattern, env)
    bursts = Bursts()
    running.recorded = bursts
    try:
        proc = psutil.Process(running.pid)
        running.screen_seen.wait(FIRST_SCREEN_TIMEOUT_S)
        start = running.started + (running.first_screen_s or FIRST_SCREEN_TIMEOUT_S)
        time.sleep(max(0.0, start + args.warmup - time.monotonic()))
        wall0, cpu0, bytes0 = time.monotonic(), cpu_seconds(proc), running.counted()
        time.sleep(args.seconds)
        wall1, cpu1, bytes1 = time.monotonic(), cpu_seconds(proc), running.counted()
        rss = proc.memory_info().rss
    finally:
        running.stop()
    starts = bursts.starts(wall0, wall1)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    wall = wall1 - wall0
    return Sample(
        cpu_percent=100 * (cpu1 - cpu0) / wall,
        rss_mb=rss / 1e6,
        interval_median_s=statistics.median(gaps) if gaps else None,
        interval_p90_s=statistics.quantiles(gaps, n=10)[-1] if len(gaps) >= 2 else None,
        kb_per_s=(bytes1 - bytes0) / wall / 1e3,
        procs=procs,
    )


def med(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def report(results: dict[str, list[Sample]], load_before: str) -> bool:
    print(f"\nbefore: {load_before}\nafter:  {busy_note()}")
    print("\n| monitor | own CPU | RSS | refresh interval (median / p90) | to terminal | procs |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows: dict[str, tuple[float | None, ...]] = {}
    for name, samples in results.items():
        row = rows[name] = (
            med([s.cpu_percent for s in samples]),
            med([s.rss_mb for s in samples]),
            med([s.interval_median_s for s in samples]),
            med([s.interval_p90_s for s in samples]),
            med([s.kb_per_s for s in samples]),
        )
        procs = int(statistics.median(s.procs for s in samples))
        print(
            f"| {name} | {fmt(row[0], '.1f', ' %')} | {fmt(row[1], '.1f', ' MB')} "
            f"| {fmt(row[2], '.2f', ' s')} / {fmt(row[3], '.2f', ' s')} "
            f"| {fmt(row[4], '.2f', ' KB/s')} | {procs} |"
        )
    ours, htop = rows["perftop"], rows.get("htop")
    if htop is not None:
        ratio = [
            "n/a" if a is None or not b else f"{a / b:.2f}x"
            for a, b in zip(ours, htop, strict=True)
        ]
        print(f"\nperftop/htop: own CPU {ratio[0]}, RSS {ratio[1]}, to terminal {ratio[4]}")
    interval, p90 = ours[2], ours[3]
    keeps = interval is not None and p90 is not None
    keeps = keeps and abs(interval - REFRESH_S) <= 0.1 * REFRESH_S and p90 <= 1.5 * REFRESH_S  # type: ignore[operator]
    cheaper = None if htop is None or ours[0] is None or htop[0] is None else ours[0] <= htop[0]
    print()
    print(f"{'PASS' if keeps else 'FAIL'}  refresh keeps its {REFRESH_S:g} s interval")
    print(f"{'SKIP' if cheaper is None else 'PASS' if cheaper else 'FAIL'}  own CPU <= htop")
    return keeps and cheaper is not False


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=5000, help="top the machine up to N")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window (s)")
    parser.add_argument("--runs", type=int, default=2, help="runs; medians are reported")
    parser.add_argument("--warmup", type=float, default=3.0, help="s after the first screen")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    chosen = [m for m in monitors() if m.name in ("perftop", "htop")]
    raise_limits(args.procs)
    per_run = args.warmup + args.seconds + FIRST_SCREEN_TIMEOUT_S + 10
    sleepers = Sleepers(lifetime_s=int(args.runs * len(chosen) * per_run) + 120)
    results: dict[str, list[Sample]] = {m.name: [] for m in chosen}
    load_before = busy_note()
    print(
        f"{COLS}x{ROWS} pty, {REFRESH_S:g} s refresh, {args.procs} processes, "
        f"{args.seconds:g} s window, {args.runs} run(s); {load_before}",
        file=sys.stderr,
    )
    try:
        procs = sleepers.top_up(args.procs)
        time.sleep(2.0)  # let the spawn burst settle
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as config_home:
            env = child_env(config_home)
            for run in range(1, args.runs + 1):
                for monitor in chosen:
                    procs = sleepers.top_up(args.procs)
                    sample = measure(monitor, args, env, procs)
                    results[monitor.name].append(sample)
                    print(
                        f"run {run} {monitor.name:8} cpu {sample.cpu_percent:5.1f} %  "
                        f"rss {sample.rss_mb:5.1f} MB  interval "
                        f"{fmt(sample.interval_median_s, '.2f', ' s')} "
                        f"(p90 {fmt(sample.interval_p90_s, '.2f', ' s')})  "
                        f"out {sample.kb_per_s:6.2f} KB/s  procs {sample.procs}",
                        file=sys.stderr,
                    )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        sleepers.kill()
    return 0 if report(results, load_before) else 1


if __name__ == "__main__":
    sys.exit(main())
