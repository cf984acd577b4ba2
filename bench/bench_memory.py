"""What perftop's memory tracker costs the Python process it is attached to.

    python bench/bench_memory.py [--seconds 5] [--runs 3] [--other-python PATH]

An allocation-heavy Python program (dicts, lists, strings and small objects made and freed in
a loop, a few thousand of them kept alive at any time) prints how many units of work it has
done, four times a second. Each round runs it and measures its throughput over `--seconds`:

- alone, before the attach;
- with perftop's memory session attached (`new_session(pid, backend="memory")`, batches read
  and absorbed once a second as the flame screen does): memray when the program runs on the
  Python perftop runs on, tracemalloc when it runs on `--other-python` (another version, for
  which perftop has no memray: the fallback the backend picks there);
- alone again, after the detach (the baseline is the mean of the two runs alone, so a machine
  getting busier or quieter during the round moves both sides).

Printed: per tracker, the median slowdown (baseline / attached throughput), the time the
attach took (gdb injecting the tracker), perftop's own CPU while attached (memray sends every
allocation to perftop's reader), and whether the target ran on after the detach at its old
speed. The load average before and after, since on a shared machine every figure moves with
what else runs. Needs gdb, and root or ptrace permission over one's own processes.

The medians feed the flame screen's head line: `SLOWDOWN` in src/perftop/ui/memory_text.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from perftop.profiling.backend import ProfilerError, ProfilerOptions
from perftop.profiling.backends import new_session
from perftop.profiling.session import ProfileSession

# Units of allocation work, counted; "<count> <monotonic time>" on stdout every 0.25 s.
TARGET = r"""
import sys, time

class Point:
    __slots__ = ("x", "y", "tag")
    def __init__(self, x, y, tag):
        self.x, self.y, self.tag = x, y, tag

def unit(i, keep):
    record = {"id": i, "name": "item-%d" % i, "tags": [str(j) for j in range(8)]}
    points = [Point(j, i, record["name"]) for j in range(16)]
    blob = ("x" * (64 + i % 64)).encode()
    keep[i % len(keep)] = (record, points, blob)  # a rolling window of live objects

def main():
    keep = [None] * 2000
    done, i = 0, 0
    last = time.monotonic()
    while True:
        for _ in range(50):
            unit(i, keep)
            i += 1
        done += 50
        now = time.monotonic()
        if now - last >= 0.25:
            print(done, now, flush=True)
            last = now

main()
"""


@dataclass
class Round:
    alone_before: float
    attached: float
    alone_after: float
    attach_s: float  # from asking to the session being live (gdb injecting, the hello)
    first_batch_s: float  # from live to the first batch: the flame's first picture
    release_s: float  # from the detach to the target back at 80 % of its speed alone
    perftop_cpu: float  # % of one core, the bench process (perftop's side) while attached
    live_bytes: int  # what the last batch held: what the tracker sees of the live objects
    tracker: str

    @property
    def baseline(self) -> float:
        return (self.alone_before + self.alone_after) / 2

    @property
    def slowdown(self) -> float:
        return self.baseline / self.attached if self.attached else float("inf")


class Counter:
    """Reads the target's `<count> <time>` lines in a thread; the rate over a window."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.points: list[tuple[int, float]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            count, at = line.split()
            with self.lock:
                self.points.append((int(count), float(at)))

    def rate(self, seconds: float) -> float:
        """Units a second over the next `seconds`."""
        with self.lock:
            start = len(self.points)
        time.sleep(seconds)
        with self.lock:
            window = self.points[max(start - 1, 0) :]
        if len(window) < 2:
            raise RuntimeError("the target printed no progress: is it running?")
        (c0, t0), (c1, t1) = window[0], window[-1]
        return (c1 - c0) / (t1 - t0)


def pump(session: ProfileSession, stop: threading.Event, first: list[float]) -> None:
    """What the flame screen does: wait for each batch and absorb it (here, on one thread).
    `first` gets the time the first batch came."""
    while not stop.is_set() and session.pumping:
        try:
            batch = session.next_batch(0.2)
        except ProfilerError as exc:
            print(f"  the session failed: {exc.message}", file=sys.stderr)
            return
        if batch is not None:
            if not first:
                first.append(time.monotonic())
            session.absorb(batch)


RELEASE_LIMIT_S = 60.0


def one_round(python: str, script: Path, seconds: float) -> Round:
    proc = subprocess.Popen(
        [python, str(script)], stdout=subprocess.PIPE, text=True, cwd=script.parent
    )
    try:
        counter = Counter(proc)
        counter.rate(1.0)  # warm up: imports done, the window of live objects full
        before = counter.rate(seconds)
        session = new_session(proc.pid, ProfilerOptions(backend="memory"))
        started = time.monotonic()
        session.start()
        live_at = time.monotonic()
        if session.error:
            raise RuntimeError(f"attach failed: {session.error}")
        stop = threading.Event()
        first: list[float] = []
        pumper = threading.Thread(target=pump, args=(session, stop, first), daemon=True)
        pumper.start()
        counter.rate(1.0)  # the tracker settled in
        me = psutil.Process()
        cpu0, wall0 = sum(me.cpu_times()[:2]), time.monotonic()
        attached = counter.rate(seconds)
        cpu = 100 * (sum(me.cpu_times()[:2]) - cpu0) / (time.monotonic() - wall0)
        while not first and time.monotonic() - live_at < RELEASE_LIMIT_S:
            time.sleep(0.1)  # a tracker slow to deliver: how slow is a figure too
        first_batch = (first[0] - live_at) if first else float("inf")
        tracker = str(getattr(session.backend, "mode", "") or "?")
        stop.set()
        pumper.join(10)
        live_bytes = session.profile.total_samples
        detached = time.monotonic()
        session.stop()
        while counter.rate(1.0) < 0.8 * before:
            if time.monotonic() - detached > RELEASE_LIMIT_S:
                break
        release = time.monotonic() - detached
        after = counter.rate(seconds)
        if proc.poll() is not None:
            raise RuntimeError("the target died after the detach")
        return Round(
            before,
            attached,
            after,
            live_at - started,
            first_batch,
            release,
            cpu,
            live_bytes,
            tracker,
        )
    finally:
        proc.kill()
        proc.wait()


@dataclass
class Figures:
    python: str
    rounds: list[Round] = field(default_factory=list)

    def line(self) -> str:
        rs = self.rounds
        med = statistics.median
        tracker = rs[0].tracker if rs else "?"
        after = med(r.alone_after / r.alone_before for r in rs)
        cells = [
            f"{tracker:<12}",
            f"{med(r.baseline for r in rs):>9,.0f}",
            f"{med(r.attached for r in rs):>10,.0f}",
            f"{med(r.slowdown for r in rs):>8.2f}x",
            f"{med(r.attach_s for r in rs):>6.1f} s",
            f"{med(r.first_batch_s for r in rs):>7.1f} s",
            f"{med(r.release_s for r in rs):>7.1f} s",
            f"{med(r.perftop_cpu for r in rs):>6.0f} %",
            f"{med(r.live_bytes for r in rs) / 2**20:>7.1f}M",
            f"{after:>6.2f}",
            self.python,
        ]
        return " ".join(cells)


HEADER = (
    f"{'tracker':<12} {'alone/s':>9} {'attached/s':>10} {'slowdown':>9} {'attach':>8}"
    f" {'1st batch':>9} {'release':>9} {'perftop':>8} {'live':>8} {'after':>6} python"
)


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="each measured window")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--other-python",
        default="/root/.pyenv/versions/3.12.1/bin/python3",
        help="a Python of another version than perftop's: the target for tracemalloc",
    )
    args = parser.parse_args()
    pythons = [sys.executable]
    if Path(args.other_python).exists():
        pythons.append(args.other_python)
    else:
        print(f"no {args.other_python}: tracemalloc not measured", file=sys.stderr)
    print(f"load average before: {load()}  ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="perftop-bench-memory-") as tmp:
        script = Path(tmp) / "allocate.py"
        script.write_text(TARGET)
        results = [Figures(python) for python in pythons]
        for n in range(args.runs):
            for figures in results:  # interleaved, so drift in the machine's load is shared
                r = one_round(figures.python, script, args.seconds)
                figures.rounds.append(r)
                print(
                    f"  run {n + 1} {r.tracker}: alone {r.alone_before:,.0f} / "
                    f"{r.alone_after:,.0f}, attached {r.attached:,.0f} units/s: "
                    f"{r.slowdown:.2f}x; attach {r.attach_s:.1f} s, first batch "
                    f"{r.first_batch_s:.1f} s, released in {r.release_s:.1f} s",
                    file=sys.stderr,
                )
    print(f"load average after:  {load()}")
    print(HEADER)
    for figures in results:
        print(figures.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
