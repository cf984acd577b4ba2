"""The perf backend's costs, side by side with `perf top` in one run.

    python bench/bench_perf.py [--seconds 10] [--runs 3] [--rate 100]

A CPU-bound C program (compiled here with gcc, frame pointers kept) counts how many units of
work it does per second. Each round runs it, in turn:

- alone: its throughput with nothing sampling it;
- under `perftop record PID` (the perf backend: perf record | perf script, parsed live);
- under `perf top -p PID --stdio` at the same rate (perf's own live view);
- under consecutive one-second `perf record` runs, each read with `perf script` (the other way
  a live view could be fed, as the py-spy backend does): how many samples each way delivers.

Printed: the target's slowdown against its own run alone (budget ≤ 2 % at the default rate),
perftop's CPU (its own process, and with its perf children) beside perf top's (budget: perftop's
own ≤ perf top's), and samples per second delivered by streaming and by consecutive recordings.
Medians over `--runs`, and the load average, since on a shared machine each figure moves with
what else runs. Needs perf (linux-perf), gcc and root or kernel.perf_event_paranoid ≤ 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

WARMUP_S = 2.0

# Does a unit of work (a few hundred microseconds) in a loop for argv[1] seconds, then prints
# how many units it did. Its three functions are the stacks perf sees.
SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

volatile unsigned long sink;

__attribute__((noipa)) unsigned long leaf(unsigned long n) {
    unsigned long s = 0;
    for (unsigned long i = 0; i < n; i++) s += (i * i) ^ (s >> 3);
    return s;
}
__attribute__((noipa)) unsigned long middle(unsigned long n) { return leaf(n) + leaf(n / 2); }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    double start = now(), end = start + seconds;
    unsigned long units = 0;
    while (now() < end) {
        sink += middle(100000 + (sink & 1));
        units++;
    }
    printf("%.1f\n", units / (now() - start));
    return 0;
}
"""


def build(directory: Path) -> Path:
    source = directory / "work.c"
    source.write_text(SOURCE)
    binary = directory / "work"
    subprocess.run(
        ["gcc", "-O0", "-g", "-fno-omit-frame-pointer", "-o", str(binary), str(source)],
        check=True,
    )
    return binary


class TreeCpu:
    """CPU seconds used by a process and its descendants, children that ended included (each
    is remembered from its last reading, taken every 0.2 s)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.last: dict[int, float] = {}
        self.own = 0.0

    def poll(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            used = times.user + times.system
            self.last[proc.pid] = used
            if proc.pid == self.root.pid:
                self.own = used

    @property
    def total(self) -> float:
        return sum(self.last.values())


def run_target(
    binary: Path, seconds: float, sampler: Callable[[int], subprocess.Popen[bytes]] | None
) -> tuple[float, float, float]:
    """(target units/s, sampler's own CPU %, sampler's CPU % with its children)."""
    target = subprocess.Popen([str(binary), str(seconds)], stdout=subprocess.PIPE, text=True)
    sampler_proc = sampler(target.pid) if sampler is not None else None
    cpu = TreeCpu(sampler_proc.pid) if sampler_proc is not None else None
    started = time.monotonic()
    # The samplers' CPU is counted from WARMUP_S on: perftop's imports and perf top's symbol
    # loading are start-up, not the cost of watching a profile live.
    base_own = base_total = 0.0
    window_start = started
    warmed = False
    while target.poll() is None:
        if cpu is not None:
            cpu.poll()
            if not warmed and time.monotonic() - started >= WARMUP_S:
                warmed = True
                base_own, base_total, window_start = cpu.own, cpu.total, time.monotonic()
        time.sleep(0.2)
    wall = time.monotonic() - window_start
    out, _ = target.communicate()
    own = total = 0.0
    if sampler_proc is not None and cpu is not None:
        cpu.poll()
        if sampler_proc.poll() is None:
            sampler_proc.send_signal(signal.SIGINT)
        try:
            sampler_proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            sampler_proc.kill()
            sampler_proc.wait()
        own = 100 * (cpu.own - base_own) / wall
        total = 100 * (cpu.total - base_total) / wall
    return float(out.strip() or 0), own, total


def perftop(rate: int, out: Path) -> Callable[[int], subprocess.Popen[bytes]]:
    def start(pid: int) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "perftop", "record", str(pid), "--profiler", "perf"]
        argv += ["-r", str(rate), "-o", str(out)]
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return start


def perf_top(rate: int) -> Callable[[int], subprocess.Popen[bytes]]:
    def start(pid: int) -> subprocess.Popen[bytes]:
        argv = ["perf", "top", "--stdio", "-e", "cpu-clock", "-F", str(rate), "-g", "-p", str(pid)]
        return subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.PIPE,  # kept open: at EOF perf top polls its keys in a loop
        )

    return start


def streamed_samples(out: Path) -> int:
    """Samples in a folded file perftop record wrote."""
    total = 0
    for line in out.read_text().splitlines():
        count = line.rsplit(" ", 1)[-1]
        total += int(count) if count.isdigit() else 0
    return total


def consecutive(binary: Path, seconds: float, rate: int, work: Path) -> float:
    """Samples per second delivered by back-to-back one-second `perf record` runs, each read
    with `perf script`: what starting perf and reading its file again for each batch loses."""
    target = subprocess.Popen([str(binary), str(seconds)], stdout=subprocess.DEVNULL)
    samples = 0
    started = time.monotonic()
    n = 0
    while target.poll() is None:
        n += 1
        data = work / f"batch-{n}.data"
        subprocess.run(
            [
                "perf",
                "record",
                "-q",
                "-e",
                "cpu-clock",
                "-F",
                str(rate),
                "-g",
                "-p",
                str(target.pid),
                "-o",
                str(data),
                "--",
                "sleep",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        script = subprocess.run(
            ["perf", "script", "-i", str(data), "-F", "comm,tid"],
            capture_output=True,
            text=True,
            check=False,
        )
        samples += sum(1 for line in script.stdout.splitlines() if line.strip())
        data.unlink(missing_ok=True)
    wall = time.monotonic() - started
    target.wait()
    return samples / wall


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=100)
    args = parser.parse_args()
    for tool in ("perf", "gcc"):
        if shutil.which(tool) is None:
            print(f"bench_perf: {tool} is not installed", file=sys.stderr)
            return 2
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    alone: list[float] = []
    under_perftop: list[float] = []
    under_top: list[float] = []
    perftop_own: list[float] = []
    perftop_total: list[float] = []
    top_cpu: list[float] = []
    streamed: list[float] = []
    batched: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as tmp:
        work = Path(tmp)
        binary = build(work)
        for run in range(1, args.runs + 1):
            a, _, _ = run_target(binary, args.seconds, None)
            out = work / f"run-{run}.folded"
            p, own, total = run_target(binary, args.seconds, perftop(args.rate, out))
            t, top_total, _ = run_target(binary, args.seconds, perf_top(args.rate))
            samples = streamed_samples(out) / args.seconds if out.exists() else 0.0
            c = consecutive(binary, args.seconds, args.rate, work)
            alone.append(a)
            under_perftop.append(p)
            under_top.append(t)
            perftop_own.append(own)
            perftop_total.append(total)
            top_cpu.append(top_total)
            streamed.append(samples)
            batched.append(c)
            print(
                f"run {run}: alone {a:.0f}/s, under perftop {p:.0f}/s, under perf top {t:.0f}/s; "
                f"perftop CPU {own:.1f}% ({total:.1f}% with perf), perf top {top_total:.1f}%; "
                f"samples/s streamed {samples:.1f}, consecutive {c:.1f}",
                file=sys.stderr,
            )
    slow_perftop = 100 * (1 - median(under_perftop) / median(alone))
    slow_top = 100 * (1 - median(under_top) / median(alone))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    print(f"medians over {args.runs} runs of {args.seconds:g} s at {args.rate} Hz:")
    print("| figure | perftop (perf backend) | perf top | ratio |")
    print("| --- | --- | --- | --- |")
    print(f"| target slowdown | {slow_perftop:.1f} % | {slow_top:.1f} % | |")
    own, top = median(perftop_own), median(top_cpu)
    print(f"| own CPU | {own:.1f} % | {top:.1f} % | {own / top if top else float('nan'):.2f} |")
    print(
        f"| CPU with perf children | {median(perftop_total):.1f} % | {top:.1f} % | "
        f"{median(perftop_total) / top if top else float('nan'):.2f} |"
    )
    print(
        f"| samples/s delivered | {median(streamed):.1f} streamed | "
        f"{median(batched):.1f} consecutive recordings | "
        f"{median(streamed) / median(batched) if median(batched) else float('nan'):.2f} |"
    )
    ok = slow_perftop <= 2.0 and own <= top
    print(f"budgets (slowdown ≤ 2 %, own CPU ≤ perf top's): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
