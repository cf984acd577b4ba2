"""What a live profile costs in memory over an hour of call paths it has not seen.

Run on demand: `python bench/bench_profile_memory.py [--minutes 60] [--rate 100]
[--processes 6] [--new 0.25] [--unbounded-minutes 10]`.

Two parts:

1. Bytes per node and per distinct stack, under tracemalloc: `bench_flame.synthetic_stacks`
   (stacks sharing long prefixes, about 3 new nodes each) added to an unbounded Profile, one
   thread, then spread over four (the merged tree doubles what a stack costs).
2. An hour of one-second batches through `ProfileSession.absorb`, the live path (merge, then
   `Profile.bound()`), from `--processes` processes keyed as py-spy `--subprocesses` keys
   them: each second `--rate` samples a process, of which the `--new` share are call paths
   never seen before (a known stack cut short and 1-4 frames not sampled there yet: other
   lines of known functions, new callees; 24,000 lines in all), the rest drawn from a few thousand
   known stacks with heavy-tailed weights. Every 10 simulated minutes it prints the nodes,
   the distinct stacks fed so far, the share of samples folded into `(other)`, the growth of
   the process's RSS and the time a batch took (median, and the worst: a batch that folded).
   Then the same feed into an unbounded profile for `--unbounded-minutes`, for the growth
   the cap takes out. Each part runs in a process of its own.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Sequence

import psutil

from bench_flame import synthetic_stacks
from perftop.model.frames import Frame
from perftop.model.profile import Profile
from perftop.profiling.backend import (
    Batch,
    ProfilerBackend,
    ProfilerOptions,
    ThreadStack,
)
from perftop.profiling.session import MAX_LIVE_NODES, ProfileSession


class _Fed(ProfilerBackend):
    """No profiler: the bench hands the session its batches itself."""

    def start(self, pid: int, options: ProfilerOptions) -> None:
        pass

    def next_batch(self, timeout: float) -> Batch | None:
        return None

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def dump_threads(self, with_locals: bool = False) -> list[ThreadStack]:
        return []

    def stop(self) -> None:
        pass

    @property
    def coverage(self) -> float:
        return 1.0

    @property
    def running(self) -> bool:
        return True


def bytes_per_stack(n_stacks: int) -> None:
    pool, stacks = synthetic_stacks(n_stacks)
    for threads in (1, 4):
        profile = Profile()
        ids = [profile.intern(f) for f in pool]  # frames are the program's: not counted
        names = [""] if threads == 1 else [f"Thread-{i}" for i in range(threads)]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for n, (stack, count) in enumerate(stacks):
            profile.add_stack_ids([ids[i] for i in stack], count, names[n % threads])
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        nodes = profile.node_count
        print(
            f"{n_stacks:,} distinct stacks, {threads} thread(s): {nodes:,} nodes, "
            f"{used / 1e6:.1f} MB: {used / nodes:.0f} B a node, {used / n_stacks:.0f} B a stack"
        )


LINES_A_FUNCTION = 8


class Feed:
    """Each second's samples of a pool: known stacks, and call paths nobody saw before."""

    def __init__(self, args: argparse.Namespace, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        pool, known = synthetic_stacks(3_000, seed)
        self.pool = pool
        self.known = [tuple(pool[i] for i in stack) for stack, _ in known]
        self.weights = [count for _, count in known]
        self.args = args
        # The program's other lines: a few more of each function, none in a known stack. A
        # program's lines are many but not endless: new paths are new ways through them.
        self.lines = [
            Frame(f.name, f.filename, 1_000 + 100 * i + k)
            for i, f in enumerate(pool)
            for k in range(LINES_A_FUNCTION)
        ]

    def _new_frame(self) -> Frame:
        return self.lines[self.rng.randrange(len(self.lines))]

    def batch(self) -> tuple[Profile, int]:
        """One second's batch and how many of its stacks were new."""
        args, rng = self.args, self.rng
        batch = Profile()
        new = 0
        for process in range(args.processes):
            thread = "MainThread" if process == 0 else f"MainThread (pid {1000 + process})"
            picks = rng.choices(self.known, self.weights, k=args.rate)
            for stack in picks:
                if rng.random() < args.new:
                    cut = rng.randint(max(1, len(stack) - 8), len(stack))
                    extra = [self._new_frame() for _ in range(rng.randint(1, 4))]
                    stack = (*stack[:cut], *extra)
                    new += 1
                batch.add_stack(stack, 1, thread)
        return batch, new


def feed(args: argparse.Namespace, minutes: float, max_nodes: int | None) -> None:
    session = ProfileSession(1, ProfilerOptions(), _Fed)
    session.profile.max_nodes = max_nodes
    source = Feed(args)
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    times: list[float] = []
    distinct = 0
    label = f"cap {max_nodes:,} nodes" if max_nodes is not None else "no cap"
    print(f"\n{label}: {args.processes} processes x {args.rate} Hz, {args.new:.0%} new paths")
    print(
        "| minute | nodes | distinct stacks fed | in (other) | RSS growth | batch median / worst |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for second in range(1, int(minutes * 60) + 1):
        batch, new = source.batch()
        distinct += new
        t0 = time.perf_counter()
        session.absorb(Batch(batch, 1.0, batch.total_samples, 0, False))
        times.append(time.perf_counter() - t0)
        if second % 600 == 0 or second == int(minutes * 60):
            p = session.profile
            folded = 100 * p.folded_samples() / max(p.total_samples, 1)
            grown = (proc.memory_info().rss - rss0) / 1e6
            print(
                f"| {second / 60:.0f} | {p.node_count:,} | {distinct:,} | {folded:.1f} % "
                f"| {grown:.1f} MB | {1000 * statistics.median(times):.1f} / "
                f"{1000 * max(times):.0f} ms |",
                flush=True,
            )
            times = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=100, help="samples a second a process")
    parser.add_argument("--processes", type=int, default=6)
    parser.add_argument("--new", type=float, default=0.05, help="share of samples on new paths")
    parser.add_argument("--unbounded-minutes", type=float, default=10.0)
    parser.add_argument("--stacks", type=int, default=50_000, help="for bytes a stack")
    parser.add_argument("--part", choices=("bytes", "capped", "unbounded"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part == "bytes":
        bytes_per_stack(args.stacks)
    elif args.part == "capped":
        feed(args, args.minutes, MAX_LIVE_NODES)
    elif args.part == "unbounded":
        feed(args, args.unbounded_minutes, None)
    else:
        # Each part in a process of its own: RSS is not handed back to the system, so a part
        # run after another would start from the first one's high-water mark.
        parts = ["bytes", "capped"] + (["unbounded"] if args.unbounded_minutes > 0 else [])
        for part in parts:
            own = list(sys.argv[1:] if argv is None else argv)
            subprocess.run([sys.executable, __file__, *own, "--part", part], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
